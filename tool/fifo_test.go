//go:build unix

package tool

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// runCLI runs the test binary as reftable in dir with stdin, killing it
// after timeout; it returns its output and exit code, -1 if it was
// killed.
func runCLI(t *testing.T, timeout time.Duration, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], args...)
	cmd.Env = append(os.Environ(), asCLI+"=1")
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case ctx.Err() != nil:
		return out.String(), errOut.String(), -1
	case errors.As(err, &exit):
		return out.String(), errOut.String(), exit.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	return out.String(), errOut.String(), 0
}

// TestFIFOsRefused: a named pipe where the stack has a lock file, or an
// unlisted one named like a table, would block every command that opens
// it until someone writes to the pipe (clean while holding the list's
// lock). Commands refuse such files at once, naming them.
func TestFIFOsRefused(t *testing.T) {
	for _, tc := range []struct {
		fifo string
		// fails lists the commands that must fail naming the FIFO; the
		// others must succeed.
		fails []string
	}{
		{"tables.list.lock", []string{"update", "compact", "stats", "locks", "unlock", "clean"}},
		{"0x000000000001-0x000000000001-0badcafe.ref", nil},
		{"0x000000000001-0x000000000001-0badcafe.ref.lock", []string{"stats", "locks", "unlock"}},
	} {
		repo := makeRepo(t, "sha1-basic", "")
		fifo := filepath.Join(repo, ".git", "reftable", tc.fifo)
		if err := syscall.Mkfifo(fifo, 0o666); err != nil {
			t.Fatal(err)
		}
		for _, args := range [][]string{
			{"update", repo},
			{"compact", repo},
			{"stats", repo},
			{"locks", repo},
			{"unlock", "-stale", repo},
			{"clean", "-grace", "0", repo},
		} {
			stdin := "create refs/heads/fifo-" + args[0] + " " + oidA + "\n"
			stdout, stderr, code := runCLI(t, 20*time.Second, stdin, args...)
			fails := strings.Contains(" "+strings.Join(tc.fails, " ")+" ", " "+args[0]+" ")
			switch {
			case code < 0:
				t.Errorf("%s beside a FIFO %s: blocked, killed after 20 s", args[0], tc.fifo)
			case fails && (code != exitFailure || !strings.Contains(stderr, tc.fifo+": a named pipe (FIFO), not a regular file")):
				t.Errorf("%s beside a FIFO %s: exit %d, stderr %q; want exit 1 naming it", args[0], tc.fifo, code, stderr)
			case !fails && code != exitOK:
				t.Errorf("%s beside a FIFO %s: exit %d, stderr %q", args[0], tc.fifo, code, stderr)
			case args[0] == "clean" && strings.HasSuffix(tc.fifo, ".ref") && !strings.Contains(stdout, "kept "+tc.fifo+": not a regular file"):
				t.Errorf("clean beside a FIFO %s: %q; want it kept as not a regular file", tc.fifo, stdout)
			}
		}
		if fi, err := os.Lstat(fifo); err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
			t.Errorf("the FIFO %s: %v; want it left alone", tc.fifo, err)
		}
	}
}
