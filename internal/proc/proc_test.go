package proc

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestStartTimeOfSelf(t *testing.T) {
	start, ok := StartTime(os.Getpid())
	if runtime.GOOS != "linux" {
		if ok {
			t.Fatalf("StartTime on %s = %v, want not ok", runtime.GOOS, start)
		}
		return
	}
	if !ok {
		t.Fatal("StartTime of this process unknown")
	}
	if d := time.Since(start); d < 0 || d > time.Hour {
		t.Fatalf("this process started %v ago", d)
	}
	if _, ok := StartTime(1 << 30); ok {
		t.Fatal("StartTime of a process that cannot exist")
	}
}

// TestBootTimeMatchesProcStat: the boot time from the clocks is the btime
// line of /proc/stat (give or take the second the two reads may straddle).
func TestBootTimeMatchesProcStat(t *testing.T) {
	boot, ok := BootTime()
	if runtime.GOOS != "linux" {
		if ok {
			t.Fatalf("BootTime on %s = %v, want not ok", runtime.GOOS, boot)
		}
		return
	}
	if !ok {
		t.Fatal("BootTime unknown")
	}
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		t.Fatal(err)
	}
	var btime int64 = -1
	for line := range strings.Lines(string(data)) {
		if v, ok := strings.CutPrefix(line, "btime "); ok {
			if btime, err = strconv.ParseInt(strings.TrimSpace(v), 10, 64); err != nil {
				t.Fatal(err)
			}
		}
	}
	if btime < 0 {
		t.Fatal("no btime line in /proc/stat")
	}
	if d := boot.Unix() - btime; d < -1 || d > 1 {
		t.Fatalf("BootTime = %d, /proc/stat btime %d", boot.Unix(), btime)
	}
}
