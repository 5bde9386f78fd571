//go:build !linux && !darwin

package bench

import "os"

// peakRSS reports no peak resident set size: this system's rusage has
// none bench reads (bench prints n/a).
func peakRSS(*os.ProcessState) (int64, bool) { return 0, false }

// selfPeakRSS reports no peak resident set size of this process.
func selfPeakRSS() (int64, bool) { return 0, false }
