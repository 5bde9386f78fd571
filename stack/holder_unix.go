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
