//go:build unix

package tool

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestInterruptRemovesLock stops update processes with SIGINT (a user's
// Ctrl-C), SIGTERM and SIGHUP, as git cleans up after each. One holding
// tables.list.lock after "prepare" and waiting for input exits 128 plus
// the signal's number saying so, removes the lock and its holder file,
// and the repository is as before. One that committed and waits for
// input again exits the same way and the commit stays. One that never
// held anything exits the same way.
func TestInterruptRemovesLock(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP} {
		for _, tc := range []struct {
			script    string
			says      []string
			locked    bool
			committed bool // refs/heads/held exists afterwards
		}{
			{"start\ncreate refs/heads/held " + oidA + "\nprepare\n", []string{"start: ok", "prepare: ok"}, true, false},
			{"start\ncreate refs/heads/held " + oidA + "\ncommit\n", []string{"start: ok", "commit: ok"}, false, true},
			{"start\n", []string{"start: ok"}, false, false},
		} {
			repo := makeRepo(t, "sha1-basic", "")
			dir := filepath.Join(repo, ".git", "reftable")
			lock := filepath.Join(dir, "tables.list.lock")
			before := snapshot(t, repo)

			u := startUpdate(t, repo, tc.script, tc.says...)
			if _, err := os.Stat(lock); (err == nil) != tc.locked {
				t.Fatalf("update after %q: lock file: %v", tc.script, err)
			}
			if err := u.cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			timer := time.AfterFunc(10*time.Second, func() { u.cmd.Process.Kill() })
			err := u.cmd.Wait()
			if !timer.Stop() {
				t.Fatalf("update after %q ignored %v: killed after 10 s", tc.script, sig)
			}
			var exit *exec.ExitError
			if !errors.As(err, &exit) {
				t.Fatalf("update after %q stopped by %v: %v; want it to fail", tc.script, sig, err)
			}
			if exit.ExitCode() != 128+int(sig) || !strings.Contains(u.stderr.String(), sig.String()) {
				t.Errorf("update after %q stopped by %v: %v, stderr %q; want exit %d naming the signal", tc.script, sig, err, u.stderr.String(), 128+int(sig))
			}
			ents, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range ents {
				if name := e.Name(); name != "tables.list" && !strings.HasSuffix(name, ".ref") {
					t.Errorf("after %v: %s left behind", sig, name)
				}
			}
			if !tc.committed {
				unchanged(t, repo, before)
				continue
			}
			if out := mustRun(t, "", "show", repo, "refs/heads/held"); out != "refs/heads/held "+oidA+"\n" {
				t.Errorf("show after the stopped update: %q", out)
			}
		}
	}
}
