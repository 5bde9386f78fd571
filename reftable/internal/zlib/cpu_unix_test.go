//go:build unix

package zlib

import "syscall"

// cpuTime returns the CPU time the process has used, in nanoseconds, for
// benchmarks on shared machines, where wall time counts other processes.
func cpuTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
