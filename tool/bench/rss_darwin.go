package bench

import (
	"os"
	"syscall"
)

// peakRSS returns the peak resident set size of the exited process ps
// describes, in bytes, from its rusage: macOS counts ru_maxrss in bytes.
func peakRSS(ps *os.ProcessState) (int64, bool) {
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok || ru == nil || ru.Maxrss <= 0 {
		return 0, false
	}
	return int64(ru.Maxrss), true
}

// selfPeakRSS returns the peak resident set size of this process so far,
// in bytes.
func selfPeakRSS() (int64, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil || ru.Maxrss <= 0 {
		return 0, false
	}
	return int64(ru.Maxrss), true
}
