package tool

import (
	"bufio"
	"crypto/sha256"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// snapshot lists every file under dir with its size, mode, modification
// time and a hash of its contents, and every directory, one a line, so
// that two snapshots differ when anything under dir changed.
func snapshot(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if d.IsDir() {
			fmt.Fprintf(&b, "%s/ %v\n", rel, fi.Mode())
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s %v %d %d %x\n", rel, fi.Mode(), fi.Size(), fi.ModTime().UnixNano(), sha256.Sum256(data))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// unchanged fails the test if dir differs from its snapshot before.
func unchanged(t *testing.T, dir, before string) {
	t.Helper()
	if diff := cmp.Diff(before, snapshot(t, dir)); diff != "" {
		t.Errorf("%s changed (-before +after):\n%s", dir, diff)
	}
}

// pathCommands are the commands that take a PATH, each as arguments with
// PATH as "%s"; stdin is what update reads.
var pathCommands = [][]string{
	{"refs", "%s"}, {"show", "%s", "HEAD"}, {"logs", "%s"}, {"dump", "%s"},
	{"stats", "%s"}, {"digest", "%s"}, {"verify", "%s"},
	{"update", "%s"}, {"compact", "%s"}, {"locks", "%s"},
	{"unlock", "-stale", "%s"}, {"clean", "%s"},
}

func withPath(args []string, path string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = strings.ReplaceAll(a, "%s", path)
	}
	return out
}

const updateStdin = "create refs/heads/new " + oidA + "\n"

// TestNotARepository runs every command that takes PATH on a directory
// that is neither a repository nor a stack: each fails with exit 1,
// naming the directory, and changes nothing.
func TestNotARepository(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "notes.txt"), "not a repository\n")
	before := snapshot(t, dir)
	want := "reftable %s: " + dir + ": not a git repository or reftable stack directory\n"
	for _, args := range pathCommands {
		r := runTool(t, updateStdin, withPath(args, dir)...)
		if r.code != 1 || r.stdout != "" || r.stderr != fmt.Sprintf(want, args[0]) {
			t.Errorf("reftable %s: %v", strings.Join(withPath(args, dir), " "), r)
		}
	}
	unchanged(t, dir, before)

	// Without PATH, from a directory outside any repository.
	t.Chdir(dir)
	r := runTool(t, updateStdin, "update")
	if r.code != 1 || !strings.Contains(r.stderr, "not a git repository (or any parent up to /)") {
		t.Errorf("update without PATH outside a repository: %v", r)
	}
	unchanged(t, dir, before)
}

// TestFilesBackendEveryCommand runs every command that takes PATH, and
// export, on a files-backend repository: each fails saying so and
// suggesting reftable import, and changes nothing.
func TestFilesBackendEveryCommand(t *testing.T) {
	wt := t.TempDir()
	for _, d := range []string{".git/objects", ".git/refs/heads"} {
		if err := os.MkdirAll(filepath.Join(wt, d), 0o777); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(wt, ".git", "HEAD"), "ref: refs/heads/main\n")
	writeFile(t, filepath.Join(wt, ".git", "config"), "[core]\n\tbare = false\n")
	writeFile(t, filepath.Join(wt, ".git", "refs", "heads", "main"), oidA+"\n")
	before := snapshot(t, wt)
	want := filepath.Join(wt, ".git") + ` uses the "files" ref backend, not reftable (convert it with 'reftable import')`
	out := filepath.Join(t.TempDir(), "out")
	cmds := append(pathCommands, []string{"export", "%s", out})
	for _, args := range cmds {
		for _, path := range []string{wt, filepath.Join(wt, ".git")} {
			r := runTool(t, updateStdin, withPath(args, path)...)
			if r.code != 1 || r.stdout != "" || r.stderr != "reftable "+args[0]+": "+want+"\n" {
				t.Errorf("reftable %s: %v", strings.Join(withPath(args, path), " "), r)
			}
		}
	}
	unchanged(t, wt, before)
	if _, err := os.Stat(out); err == nil {
		t.Errorf("export of a files-backend repository created %s", out)
	}
}

// TestCorruptTable damages one table of a repository's stack: verify
// names the file and the offset; the other commands fail naming the
// table; nothing changes.
func TestCorruptTable(t *testing.T) {
	for _, tc := range []struct {
		name   string
		offset int // negative: from the end
		// fail are the commands that must fail: a broken footer stops
		// every reader, a broken ref block those that read all refs (a
		// lookup stops at the newest table holding the name, and this
		// table's only ref is overwritten by a newer one).
		fail   [][]string
		verify string
	}{
		{"footer-crc", -1, [][]string{
			{"refs", "%s"}, {"show", "%s", "HEAD"}, {"logs", "%s"}, {"dump", "%s"}, {"stats", "%s"},
			{"digest", "%s"}, {"update", "%s"}, {"compact", "%s"}, {"compact", "-auto", "%s"},
		}, sha1Table + ": offset 262: footer CRC 0xa59c596d, computed 0xa59c5992\n"},
		{"ref-block", 28, [][]string{
			{"refs", "%s"}, {"dump", "-records", "%s"}, {"stats", "%s"},
			{"digest", "%s"}, {"update", "%s"}, {"compact", "%s"},
		}, sha1Table + ": offset 28: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			repo := makeRepo(t, "sha1-basic", "")
			path := filepath.Join(repo, ".git", "reftable", sha1Table)
			data := []byte(readFile(t, path))
			off := tc.offset
			if off < 0 {
				off += len(data)
			}
			data[off] ^= 0xff
			writeFile(t, path, string(data))
			before := snapshot(t, repo)

			r := runTool(t, "", "verify", repo)
			if r.code != 1 || !strings.HasPrefix(r.stdout, tc.verify) {
				t.Errorf("verify: %v, want findings starting with %q", r, tc.verify)
			}
			for _, args := range tc.fail {
				r := runTool(t, updateStdin, withPath(args, repo)...)
				if r.code != 1 || !strings.Contains(r.stderr, "reftable "+sha1Table+": offset ") {
					t.Errorf("reftable %s: %v, want an error naming %s and the offset", strings.Join(withPath(args, repo), " "), r, sha1Table)
				}
			}
			unchanged(t, repo, before)
		})
	}
}

// TestMalformedUpdateChangesNothing checks that a malformed update line
// is named by its number and leaves the repository as it was.
func TestMalformedUpdateChangesNothing(t *testing.T) {
	repo := makeRepo(t, "sha1-basic", "")
	before := snapshot(t, repo)
	for _, tc := range []struct{ stdin, want string }{
		{"create refs/heads/ok " + oidA + "\nupdate refs/heads/x nothex\n", "line 2: "},
		{"create refs/heads/ok " + oidA + "\nverify refs/heads/main\n\tfrob refs/heads/main\n", "line 3: "},
		{"start\ncreate refs/heads/ok " + oidA + "\nprepare\ncreate refs/heads/no " + oidA + "\n", "line 4: "},
	} {
		r := runTool(t, tc.stdin, "update", repo)
		if r.code != 2 || !strings.HasPrefix(r.stderr, "reftable update: "+tc.want) {
			t.Errorf("update with %q: %v, want exit 2 and %q", tc.stdin, r, tc.want)
		}
	}
	unchanged(t, repo, before)
}

// An updateProcess is "reftable update REPO" running as a separate
// process (this test binary acting as reftable), fed through stdin.
type updateProcess struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	out    *bufio.Reader
	stderr *strings.Builder
}

// startUpdate starts an update process on repo, writes script to it and
// waits for it to answer each of says, one line each.
func startUpdate(t *testing.T, repo, script string, says ...string) *updateProcess {
	t.Helper()
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
	u := &updateProcess{cmd: cmd, stdin: stdin, out: bufio.NewReader(stdout), stderr: &strings.Builder{}}
	cmd.Stderr = u.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	io.WriteString(stdin, script)
	for _, want := range says {
		if line, err := u.out.ReadString('\n'); line != want+"\n" {
			t.Fatalf("update said %q, %v (stderr %q); want %q", line, err, u.stderr.String(), want)
		}
	}
	return u
}

// TestLockHeldByAnotherProcess starts a second process (this test binary
// acting as reftable) that prepares an update and so holds
// tables.list.lock, then checks that update and compact fail naming the
// lock and its holder's pid, change nothing, and that a lock recorded on
// another host names that host.
func TestLockHeldByAnotherProcess(t *testing.T) {
	repo := makeRepo(t, "sha1-basic", "")
	dir := filepath.Join(repo, ".git", "reftable")
	lock := filepath.Join(dir, "tables.list.lock")
	initial := snapshot(t, repo)

	u := startUpdate(t, repo, "start\ncreate refs/heads/held "+oidA+"\nprepare\n", "start: ok", "prepare: ok")
	cmd, stdin, out, stderr := u.cmd, u.stdin, u.out, u.stderr

	held := snapshot(t, repo)
	holder := fmt.Sprintf("by pid %d (alive))", cmd.Process.Pid)
	for _, args := range [][]string{
		{"update", "-lock-timeout", "1ms", repo},
		{"compact", "-lock-timeout", "1ms", repo},
		{"compact", "-auto", "-lock-timeout", "1ms", repo},
	} {
		r := runTool(t, updateStdin, args...)
		if r.code != 1 || !strings.Contains(r.stderr, lock+": stack is locked (created ") || !strings.Contains(r.stderr, holder) {
			t.Errorf("reftable %s: %v, want the lock %s held %s", strings.Join(args, " "), r, lock, holder)
		}
	}
	unchanged(t, repo, held)

	io.WriteString(stdin, "abort\n")
	stdin.Close()
	if line, _ := out.ReadString('\n'); line != "abort: ok\n" {
		t.Errorf("holder said %q after abort", line)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("holder: %v: %s", err, stderr.String())
	}
	// The directory's own modification time changed with the lock; its
	// files are as they were.
	unchanged(t, repo, initial)

	// A lock recorded on another host names the host.
	writeFile(t, lock, "pid 4242\nhost elsewhere.example\nstart 1\n")
	before := snapshot(t, repo)
	for _, args := range [][]string{
		{"update", "-lock-timeout", "1ms", repo},
		{"compact", "-lock-timeout", "1ms", repo},
	} {
		r := runTool(t, updateStdin, args...)
		if r.code != 1 || !strings.Contains(r.stderr, lock+": stack is locked") || !strings.Contains(r.stderr, "by pid 4242 on elsewhere.example (unknown)") {
			t.Errorf("reftable %s: %v, want the holder on elsewhere.example", strings.Join(args, " "), r)
		}
	}
	unchanged(t, repo, before)
}
