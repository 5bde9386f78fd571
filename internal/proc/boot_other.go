//go:build !linux

package proc

import "time"

// BootTime returns when the system booted where the system tells (Linux
// only); ok is false here.
func BootTime() (time.Time, bool) { return time.Time{}, false }
