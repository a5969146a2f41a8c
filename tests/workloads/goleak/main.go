// goleak: a Go workload with known goroutine behaviour, for ctop-prof tests.
//
//	goleak [N [INTERVAL_MS [K [OUTFILE]]]]
//
// Starts K goroutines blocked for ever in fixedWaiter, one goroutine burning
// CPU in burn, one blocked in a read(2) of a pipe in syscallWaiter (status
// "syscall"), then leaks one goroutine blocked in leakyReceiver every
// INTERVAL_MS until N have leaked, and stays alive until killed.
// OUTFILE gets runtime.NumGoroutine() after each change and periodically;
// OUTFILE.progress gets burn's iteration count (grows while the process runs,
// so tests can check the target was never stopped). OUTFILE.leaked gets the
// number of leaked goroutines so far. All files are replaced atomically
// (write to a temporary file, then rename).
package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"
)

var (
	never    = make(chan int) // never written, never closed
	progress uint64
	sink     uint64
)

//go:noinline
func fixedWaiter(ch chan int) {
	<-ch
}

// syscallWaiter blocks in a raw read(2) on a pipe nobody writes to: a
// goroutine in the syscall state, on a thread of its own.
//
//go:noinline
func syscallWaiter(fd int) {
	var b [1]byte
	syscall.Read(fd, b[:])
	fmt.Fprintln(os.Stderr, "goleak: syscallWaiter returned")
}

//go:noinline
func leakyReceiver(ch chan int) {
	<-ch
}

// burn spins for ever; all its CPU time is its own (flat), no callees but
// the atomic add, which the compiler turns into one instruction.
//
//go:noinline
func burn() {
	x := uint64(1)
	for {
		for i := 0; i < 1000; i++ {
			x = x*6364136223846793005 + 1442695040888963407
			x ^= x >> 29
		}
		atomic.AddUint64(&progress, 1)
		sink = x
	}
}

func writeFile(path, s string) {
	if path == "" {
		return
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(s+"\n"), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "goleak:", err)
		os.Exit(1)
	}
	if err := os.Rename(tmp, path); err != nil {
		fmt.Fprintln(os.Stderr, "goleak:", err)
		os.Exit(1)
	}
}

func intArg(i, def int) int {
	if len(os.Args) <= i {
		return def
	}
	v, err := strconv.Atoi(os.Args[i])
	if err != nil || v < 0 {
		fmt.Fprintf(os.Stderr, "goleak: bad argument %q\n", os.Args[i])
		os.Exit(2)
	}
	return v
}

func main() {
	n := intArg(1, 400)
	interval := intArg(2, 10)
	k := intArg(3, 5)
	out := ""
	if len(os.Args) > 4 {
		out = os.Args[4]
	}
	report := func(leaked int) {
		if out == "" {
			return
		}
		writeFile(out, strconv.Itoa(runtime.NumGoroutine()))
		writeFile(out+".leaked", strconv.Itoa(leaked))
		writeFile(out+".progress", strconv.FormatUint(atomic.LoadUint64(&progress), 10))
	}

	for i := 0; i < k; i++ {
		go fixedWaiter(never)
	}
	go burn()
	var pipe [2]int
	if err := syscall.Pipe(pipe[:]); err != nil { // blocking fds
		fmt.Fprintln(os.Stderr, "goleak:", err)
		os.Exit(1)
	}
	go syscallWaiter(pipe[0])
	report(0)
	leaked := 0
	// interval 0: leak all N at once.
	var tickC <-chan time.Time
	if interval > 0 {
		tickC = time.NewTicker(time.Duration(interval) * time.Millisecond).C
	} else {
		for ; leaked < n; leaked++ {
			go leakyReceiver(never)
		}
		report(leaked)
	}
	status := time.NewTicker(100 * time.Millisecond)
	for {
		select {
		case <-tickC:
			if leaked < n {
				go leakyReceiver(never)
				leaked++
				report(leaked)
			}
		case <-status.C:
			report(leaked)
		}
	}
}
