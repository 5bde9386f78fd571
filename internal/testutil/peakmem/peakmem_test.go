package peakmem

import (
	"runtime"
	"testing"
)

// TestPeak checks that a phase holding 64 MiB reports at least that, and
// that one holding nothing reports much less.
func TestPeak(t *testing.T) {
	s := Start()
	buf := make([]byte, 64<<20)
	for i := range buf {
		buf[i] = byte(i)
	}
	peak := s.Stop()
	runtime.KeepAlive(buf)
	// The baseline's own garbage (the test's, the runtime's) may be
	// freed by a collection the 64 MiB trigger: a reading above the
	// baseline can fall short of 64 MiB by that much (once 64.0 MiB
	// rounded, under load in CI), never by megabytes.
	if peak < 63<<20 {
		t.Errorf("peak %.2f MiB while holding 64 MiB", MiB(peak))
	}

	s = Start()
	if idle := s.Stop(); idle > 8<<20 {
		t.Errorf("peak %.1f MiB while allocating nothing", MiB(idle))
	}
}
