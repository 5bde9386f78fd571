//go:build !unix

package stack

import "time"

// processLiveness cannot check processes on this platform.
func processLiveness(pid int, start int64, created time.Time) Liveness { return HolderUnknown }
