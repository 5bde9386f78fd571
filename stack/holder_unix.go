//go:build unix

package stack

import (
	"errors"
	"syscall"
	"time"

	"github.com/refstore/refstore/internal/proc"
)

// processLiveness reports whether process pid, recorded as the holder of
// a lock created at created, still runs.
func processLiveness(pid int, created time.Time) Liveness {
	// The system restarted since the lock was taken (with a margin for a
	// clock corrected shortly after boot).
	if boot, ok := proc.BootTime(); ok && created.Before(boot.Add(-5*time.Minute)) {
		return HolderGone
	}
	if pid <= 0 {
		return HolderUnknown
	}
	err := syscall.Kill(pid, 0)
	if errors.Is(err, syscall.ESRCH) {
		return HolderGone
	}
	if err != nil && !errors.Is(err, syscall.EPERM) {
		return HolderUnknown
	}
	if start, ok := proc.StartTime(pid); ok && start.After(created.Add(time.Second)) {
		return HolderGone // the id was reused by a younger process
	}
	return HolderAlive
}
