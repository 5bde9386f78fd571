//go:build unix

package stack

import (
	"errors"
	"syscall"
	"time"

	"github.com/refstore/refstore/internal/proc"
)

// processLiveness reports whether process pid, recorded (with its start
// time in Unix seconds, 0 if unknown) as the holder of a lock created at
// created, still runs on this host.
func processLiveness(pid int, start int64, created time.Time) Liveness {
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
	if actual, ok := proc.StartTime(pid); ok {
		if start != 0 && (actual.Unix() < start-1 || actual.Unix() > start+1) {
			return HolderGone // the id now belongs to another process
		}
		if actual.After(created.Add(time.Second)) {
			return HolderGone // the id was reused by a younger process
		}
	}
	return HolderAlive
}
