// Package proc inspects processes of this host, to tell whether the
// holder recorded in a lock file still runs.
package proc

import (
	"bytes"
	"strconv"
	"strings"
	"time"

	"github.com/refstore/refstore/vfs"
)

// clockTicks is the unit of /proc/<pid>/stat times (USER_HZ), 100 on
// every Linux architecture Go supports.
const clockTicks = 100

// StartTime returns when process pid started, where the system tells
// (Linux); ok is false elsewhere or when pid does not exist.
func StartTime(pid int) (t time.Time, ok bool) {
	stat, err := vfs.ReadFile(vfs.OS, "/proc/"+strconv.Itoa(pid)+"/stat")
	if err != nil {
		return time.Time{}, false
	}
	// The command name is in parentheses and may contain spaces.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return time.Time{}, false
	}
	fields := strings.Fields(string(stat[i+1:]))
	if len(fields) < 20 {
		return time.Time{}, false
	}
	ticks, err := strconv.ParseInt(fields[19], 10, 64) // field 22: starttime
	if err != nil {
		return time.Time{}, false
	}
	boot, ok := BootTime()
	if !ok {
		return time.Time{}, false
	}
	return boot.Add(time.Duration(ticks) * time.Second / clockTicks), true
}
