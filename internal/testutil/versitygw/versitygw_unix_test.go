//go:build unix

package versitygw

import (
	"errors"
	"net/http"
	"os"
	"syscall"
	"testing"
)

// TestStartStop: a started gateway answers on 127.0.0.1 and its process
// is gone after stop.
func TestStartStop(t *testing.T) {
	g := Start(t, "")
	resp, err := http.Get(g.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("Server") != "VERSITYGW" {
		t.Errorf("Server: %q", resp.Header.Get("Server"))
	}
	if fi, err := os.Stat(g.Root + "/" + Bucket); err != nil || !fi.IsDir() {
		t.Errorf("bucket directory: %v", err)
	}
	pid := g.Pid()
	g.stop()
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("gateway process %d still exists after stop: %v", pid, err)
	}
}
