// Seed for the .gopclntab fuzzer (tests/fuzz/fuzz_gopclntab.c): a small Go
// program whose pclntab section, built with -ldflags='-s -w', is the seed.
package main

import "os"

//go:noinline
func spin(n int) int {
	s := 0
	for i := 0; i < n; i++ {
		s += i * i
	}
	return s
}

func main() {
	os.Exit(spin(len(os.Args)) & 1)
}
