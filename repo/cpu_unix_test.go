//go:build unix

package repo

import "syscall"

// cpuTime returns the CPU time the process has used, in nanoseconds:
// benchmarks report it beside wall time, which on a shared machine counts
// the time other processes run.
func cpuTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
