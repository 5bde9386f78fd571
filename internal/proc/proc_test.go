package proc

import (
	"os"
	"runtime"
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
