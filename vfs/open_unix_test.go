//go:build unix

package vfs

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestOSFIFO: opening a named pipe, which would wait for a writer (or a
// reader), returns at once: for reading with an error matching
// ErrNotRegular that names the path; for writing with an error.
func TestOSFIFO(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "tables.list")
	if err := syscall.Mkfifo(fifo, 0o666); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		flag       int
		notRegular bool // else writing without a reader fails first (ENXIO)
	}{
		{os.O_RDONLY, true},
		{os.O_RDWR, true},
		{os.O_WRONLY, false},
		{os.O_WRONLY | os.O_APPEND, false},
		{os.O_WRONLY | os.O_CREATE, false},
	} {
		done := make(chan error, 1)
		go func() {
			f, err := OS.OpenFile(fifo, tc.flag, 0o666)
			if err == nil {
				f.Close()
			}
			done <- err
		}()
		select {
		case err := <-done:
			var pe *fs.PathError
			switch {
			case err == nil:
				t.Errorf("flag %#x: opened the FIFO", tc.flag)
			case !errors.As(err, &pe) || pe.Op != "open" || pe.Path != fifo:
				t.Errorf("flag %#x: %v, want an *fs.PathError naming open and the path", tc.flag, err)
			case tc.notRegular && !errors.Is(err, ErrNotRegular):
				t.Errorf("flag %#x: %v, want ErrNotRegular", tc.flag, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("flag %#x: open of a FIFO blocked", tc.flag)
		}
	}
}
