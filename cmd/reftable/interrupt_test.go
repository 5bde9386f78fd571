//go:build unix

package main

import (
	"bufio"
	"errors"
	"io"
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
		{"start\ncreate refs/heads/held " + oidA + "\nprepare\n", []string{"start: ok\n", "prepare: ok\n"}, true},
		{"start\n", []string{"start: ok\n"}, false},
	} {
		repo := makeRepo(t, "sha1-basic", "")
		lock := filepath.Join(repo, ".git", "reftable", "tables.list.lock")
		before := snapshot(t, repo)

		cmd := exec.Command(os.Args[0], "update", repo)
		cmd.Env = append(os.Environ(), asCLI+"=1")
		stdin, err := cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer cmd.Process.Kill()
		out := bufio.NewReader(stdout)
		io.WriteString(stdin, tc.script)
		for _, want := range tc.says {
			if line, err := out.ReadString('\n'); line != want {
				t.Fatalf("update said %q, %v (stderr %q); want %q", line, err, stderr.String(), want)
			}
		}
		if _, err := os.Stat(lock); (err == nil) != tc.locked {
			t.Fatalf("update after %q: lock file: %v", tc.script, err)
		}
		if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
			t.Fatal(err)
		}
		err = cmd.Wait()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != exitInterrupted || !strings.Contains(stderr.String(), "interrupted") {
			t.Fatalf("interrupted update: %v, stderr %q; want exit %d saying interrupted", err, stderr.String(), exitInterrupted)
		}
		if _, err := os.Stat(lock); !os.IsNotExist(err) {
			t.Errorf("lock after the interrupt: %v", err)
		}
		unchanged(t, repo, before)
	}
}
