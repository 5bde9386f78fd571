//go:build unix

package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestInterruptRemovesLock interrupts (SIGINT) an update holding
// tables.list.lock after "prepare", as a user's Ctrl-C would: the process
// exits 130 saying so, removes the lock, and the repository is as before.
// An update waiting for input, which watches no context, must not ignore
// the interrupt either.
func TestInterruptRemovesLock(t *testing.T) {
	for _, tc := range []struct {
		script string
		says   []string
		locked bool
	}{
		{"start\ncreate refs/heads/held " + oidA + "\nprepare\n", []string{"start: ok", "prepare: ok"}, true},
		{"start\n", []string{"start: ok"}, false},
	} {
		repo := makeRepo(t, "sha1-basic", "")
		lock := filepath.Join(repo, ".git", "reftable", "tables.list.lock")
		before := snapshot(t, repo)

		u := startUpdate(t, repo, tc.script, tc.says...)
		if _, err := os.Stat(lock); (err == nil) != tc.locked {
			t.Fatalf("update after %q: lock file: %v", tc.script, err)
		}
		if err := u.cmd.Process.Signal(syscall.SIGINT); err != nil {
			t.Fatal(err)
		}
		err := u.cmd.Wait()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != exitInterrupted || !strings.Contains(u.stderr.String(), "interrupted") {
			t.Fatalf("interrupted update: %v, stderr %q; want exit %d saying interrupted", err, u.stderr.String(), exitInterrupted)
		}
		if _, err := os.Stat(lock); !os.IsNotExist(err) {
			t.Errorf("lock after the interrupt: %v", err)
		}
		unchanged(t, repo, before)
	}
}
