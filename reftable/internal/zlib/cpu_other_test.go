//go:build !unix

package zlib

// cpuTime returns 0: without getrusage benchmarks report wall time only.
func cpuTime() int64 { return 0 }
