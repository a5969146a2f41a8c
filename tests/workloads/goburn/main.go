// goburn [SECONDS]: a Go program that spends its CPU time in goBurn.
// goBurn does not allocate, so the GC stays idle and nearly every sample's
// leaf is goBurn. Runs until killed, or SECONDS.
package main

import (
	"os"
	"strconv"
	"time"
)

var sink uint64

//go:noinline
func goBurn(n int) uint64 {
	x := sink
	for i := 0; i < n; i++ {
		x = x*6364136223846793005 + 1442695040888963407
	}
	return x
}

func main() {
	var seconds float64
	if len(os.Args) > 1 {
		seconds, _ = strconv.ParseFloat(os.Args[1], 64)
	}
	end := time.Now().Add(time.Duration(seconds * float64(time.Second)))
	for {
		sink += goBurn(10000000)
		if seconds > 0 && time.Now().After(end) {
			break
		}
	}
}
