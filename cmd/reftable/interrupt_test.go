//go:build unix

package main

import (
	"errors"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestInterruptRemovesLock interrupts (SIGINT) update processes as a
// user's Ctrl-C would. One holding tables.list.lock after "prepare" and
// waiting for input exits 130 saying so, removes the lock, and the
// repository is as before. One that committed and waits for input again
// has the handler too (it ignored interrupts while committing): it exits
// 130 and the commit stays. One that never held anything dies of the
// signal at once (a shell reports 130 as well). None ignores the
// interrupt.
func TestInterruptRemovesLock(t *testing.T) {
	for _, tc := range []struct {
		script    string
		says      []string
		locked    bool
		committed bool // refs/heads/held exists afterwards
		handled   bool // exit 130 saying so, rather than death by SIGINT
	}{
		{"start\ncreate refs/heads/held " + oidA + "\nprepare\n", []string{"start: ok", "prepare: ok"}, true, false, true},
		{"start\ncreate refs/heads/held " + oidA + "\ncommit\n", []string{"start: ok", "commit: ok"}, false, true, true},
		{"start\n", []string{"start: ok"}, false, false, false},
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
		timer := time.AfterFunc(10*time.Second, func() { u.cmd.Process.Kill() })
		err := u.cmd.Wait()
		if !timer.Stop() {
			t.Fatalf("update after %q ignored the interrupt: killed after 10 s", tc.script)
		}
		var exit *exec.ExitError
		if !errors.As(err, &exit) {
			t.Fatalf("interrupted update after %q: %v; want it to fail", tc.script, err)
		}
		ws := exit.Sys().(syscall.WaitStatus)
		if tc.handled && (exit.ExitCode() != exitInterrupted || !strings.Contains(u.stderr.String(), "interrupted")) {
			t.Errorf("interrupted update after %q: %v, stderr %q; want exit %d saying interrupted", tc.script, err, u.stderr.String(), exitInterrupted)
		}
		if !tc.handled && (!ws.Signaled() || ws.Signal() != syscall.SIGINT) {
			t.Errorf("interrupted update after %q: %v, stderr %q; want death by SIGINT", tc.script, err, u.stderr.String())
		}
		if _, err := os.Stat(lock); !os.IsNotExist(err) {
			t.Errorf("lock after the interrupt: %v", err)
		}
		if !tc.committed {
			unchanged(t, repo, before)
			continue
		}
		if out := mustRun(t, "", "show", repo, "refs/heads/held"); out != "refs/heads/held "+oidA+"\n" {
			t.Errorf("show after the interrupted update: %q", out)
		}
	}
}

// TestInterruptsHoldGrace: a process about to hold files ignores SIGINT,
// and installs its handler once it has held for holdGrace or talks to
// the user. Each case runs in a child process (this test binary again):
// a signal's default action cannot be given back to a Go process.
func TestInterruptsHoldGrace(t *testing.T) {
	const child = "REFTABLE_TEST_HOLD_GRACE"
	mode := os.Getenv(child)
	if mode == "" {
		for _, mode := range []string{"wait", "talk"} {
			cmd := exec.Command(os.Args[0], "-test.run=^TestInterruptsHoldGrace$", "-test.count=1", "-test.v")
			cmd.Env = append(os.Environ(), child+"="+mode)
			if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "--- PASS") {
				t.Errorf("%s: %v\n%s", mode, err, out)
			}
		}
		return
	}
	h := &interrupts{cancel: func() {}}
	if signal.Ignored(os.Interrupt) {
		t.Fatal("SIGINT ignored before holding")
	}
	h.holding()
	if !signal.Ignored(os.Interrupt) {
		t.Fatal("SIGINT not ignored while holding")
	}
	if mode == "talk" {
		h.talk()
	} else {
		time.Sleep(holdGrace)
		for deadline := time.Now().Add(10 * time.Second); signal.Ignored(os.Interrupt) && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond)
		}
	}
	if signal.Ignored(os.Interrupt) {
		t.Fatalf("%s: SIGINT still ignored", mode)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.state != sigHandled {
		t.Fatalf("%s: state %d, want the handler", mode, h.state)
	}
}
