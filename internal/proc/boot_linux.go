package proc

import (
	"time"

	"golang.org/x/sys/unix"
)

// BootTime returns when the system booted, in whole seconds as the btime
// line of /proc/stat gives it (the kernel computes that line as we do:
// the wall clock less the time since boot), without reading /proc/stat,
// whose generation costs a commit more than the two clock reads. A file
// older than that was not created by a running process.
func BootTime() (time.Time, bool) {
	var real, up unix.Timespec
	if unix.ClockGettime(unix.CLOCK_REALTIME, &real) != nil || unix.ClockGettime(unix.CLOCK_BOOTTIME, &up) != nil {
		return time.Time{}, false
	}
	boot := real.Nano() - up.Nano()
	sec := boot / 1e9
	if boot < 0 && boot%1e9 != 0 {
		sec-- // floor, as the kernel's normalized timespec
	}
	return time.Unix(sec, 0), true
}
