//go:build !unix

package repo

// cpuTime returns 0: this platform has no getrusage, and benchmarks
// report wall time only.
func cpuTime() int64 { return 0 }
