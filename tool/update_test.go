package tool

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const (
	oidA = "8b9a799bd1dee9e5a5153871d9297948cbd138ce" // refs/heads/feature/x
	oidB = "fc3b8d2a0add5379c0acc14b7fef8550261bf1e2" // refs/heads/main
	zero = "0000000000000000000000000000000000000000"
)

// TestUpdate runs update scripts on copies of the sha1-basic stack and
// compares the output, the refs and the new reflog entries with golden
// files.
func TestUpdate(t *testing.T) {
	t.Setenv("GIT_COMMITTER_NAME", "T Ester")
	t.Setenv("GIT_COMMITTER_EMAIL", "tester@example.com")
	t.Setenv("GIT_COMMITTER_DATE", "@1700002000 -0800")
	for _, tc := range []struct {
		name  string
		flags []string
		stdin string
	}{
		{"update/basic", []string{"-m", "move main"}, "update refs/heads/main " + oidA + " " + oidB + "\ncreate refs/heads/new " + oidB + "\n"},
		{"update/delete", nil, "delete refs/heads/feature/x " + oidA + "\ndelete refs/tags/light\n"},
		{"update/head-deref", []string{"-m", "via HEAD"}, "update HEAD " + oidA + "\n"},
		{"update/no-deref", nil, "option no-deref\nupdate HEAD " + oidA + "\n"},
		{"update/symref", nil, "option no-deref\nsymref-update HEAD refs/heads/feature/x ref refs/heads/main\nsymref-create refs/heads/alias refs/heads/main\noption no-deref\nsymref-delete refs/remotes/origin/HEAD refs/remotes/origin/main\noption no-deref\nsymref-verify refs/heads/alias2\n"},
		{"update/symref-deref", nil, "symref-delete refs/remotes/origin/HEAD\n"},
		// As git: without no-deref the branch HEAD points at becomes the
		// symbolic ref, and an expected old target is checked there.
		{"update/symref-update-deref", nil, "symref-update HEAD refs/heads/feature/x\n"},
		{"update/symref-update-deref-old", nil, "symref-update HEAD refs/heads/feature/x ref refs/heads/main\n"},
		{"update/verify-ok", nil, "verify refs/heads/main " + oidB + "\nverify refs/heads/nope\nverify refs/heads/nope2 " + zero + "\n"},
		{"update/conflict", nil, "update refs/heads/new " + oidA + "\nupdate refs/heads/main " + oidB + " " + oidA + "\n"},
		{"update/create-exists", nil, "create refs/heads/main " + oidA + "\n"},
		{"update/malformed", nil, "update refs/heads/main " + oidA + "\nupdate refs/heads/x nothex\n"},
		{"update/unknown-command", nil, "verify refs/heads/main\nfrob refs/heads/main\n"},
		{"update/bad-refname", nil, "create refs/heads/a..b " + oidA + "\n"},
		{"update/no-newline", nil, "delete refs/heads/main"},
		{"update/transactions", nil, "start\ncreate refs/heads/t1 " + oidA + "\nprepare\ncommit\nstart\ncreate refs/heads/t2 " + oidA + "\nabort\n"},
		// git's framing: a started transaction not committed by the
		// end of input is aborted (exit 0), and after commit or abort
		// only start may follow.
		{"update/start-no-commit", nil, "start\ncreate refs/heads/t1 " + oidA + "\n"},
		{"update/prepare-no-commit", nil, "start\ncreate refs/heads/t1 " + oidA + "\nprepare\n"},
		{"update/after-commit", nil, "start\ncreate refs/heads/t1 " + oidA + "\ncommit\ncreate refs/heads/t2 " + oidA + "\n"},
		{"update/after-abort", nil, "create refs/heads/t1 " + oidA + "\nabort\noption no-deref\n"},
		{"update/restart", nil, "start\ncreate refs/heads/t1 " + oidA + "\nstart\n"},
		{"update/after-prepare", nil, "start\ncreate refs/heads/t1 " + oidA + "\nprepare\ncreate refs/heads/t2 " + oidA + "\n"},
		{"update/start-late", nil, "create refs/heads/t1 " + oidA + "\nstart\ncreate refs/heads/t2 " + oidA + "\ncommit\nstart\ncreate refs/heads/t3 " + oidA + "\ncommit\n"},
		{"update/z", []string{"-z"}, "update refs/heads/main\x00" + oidA + "\x00\x00delete refs/heads/feature/x\x00" + oidA + "\x00create refs/heads/z\x00" + oidB + "\x00option no-deref\x00symref-delete refs/remotes/origin/HEAD\x00verify refs/tags/light\x00" + oidB + "\x00"},
		{"update/z-malformed", []string{"-z"}, "update refs/heads/main\x00" + oidA + "\x00\x00bogus\x00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "reftable")
			copyDir(t, filepath.Join(fixtures, "sha1-basic", "reftable"), dir)
			before := mustRun(t, "", "logs", dir)
			r := runTool(t, tc.stdin, append(append([]string{"update"}, tc.flags...), dir)...)
			after := mustRun(t, "", "logs", dir)
			newLogs := ""
			for _, l := range strings.SplitAfter(after, "\n") {
				if !strings.Contains(before, l) {
					newLogs += l
				}
			}
			got := r.String() + "-- refs --\n" + mustRun(t, "", "refs", dir) + "-- new logs --\n" + newLogs
			checkGolden(t, tc.name, got)
			// A failure after a commit keeps what was committed.
			if r.code != 0 && !strings.Contains(r.stdout, "commit: ok") && after != before {
				t.Errorf("failed update changed the reflogs")
			}
		})
	}
}

// TestUpdateFailureChangesNothing checks that a failing script leaves the
// stack's table list untouched.
func TestUpdateFailureChangesNothing(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "reftable")
	copyDir(t, filepath.Join(fixtures, "sha1-basic", "reftable"), dir)
	list := readFile(t, filepath.Join(dir, "tables.list"))
	for _, stdin := range []string{
		"create refs/heads/ok " + oidA + "\nupdate refs/heads/main " + oidA + " " + oidA + "\n",
		"create refs/heads/ok " + oidA + "\nupdate refs/heads/main zz\n",
	} {
		if r := runTool(t, stdin, "update", dir); r.code == 0 {
			t.Errorf("update succeeded: %v", r)
		}
		if diff := cmp.Diff(list, readFile(t, filepath.Join(dir, "tables.list"))); diff != "" {
			t.Errorf("tables.list changed (-want +got):\n%s", diff)
		}
	}
}

// TestUpdateLocked checks that a held lock fails the update, naming the
// lock file, and that unlock -stale keeps a lock of unknown holder.
func TestUpdateLocked(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "reftable")
	copyDir(t, filepath.Join(fixtures, "sha1-basic", "reftable"), dir)
	lock := filepath.Join(dir, "tables.list.lock")
	writeFile(t, lock, "")
	r := runTool(t, "create refs/heads/x "+oidA+"\n", "update", "-lock-timeout", "1ms", dir)
	if r.code != 1 || !strings.Contains(r.stderr, lock) || !strings.Contains(r.stderr, "stack is locked") {
		t.Errorf("update with lock held: %v", r)
	}
	if got := mustRun(t, "", "locks", dir); !strings.HasPrefix(got, "lock "+lock+" pid=0 holder=unknown") {
		t.Errorf("locks: %q", got)
	}
	if r := runTool(t, "", "unlock", "-stale", dir); r.code != 1 || !strings.Contains(r.stderr, "kept") {
		t.Errorf("unlock -stale of an unknown holder: %v", r)
	}
	if r := runTool(t, "", "unlock", dir); r.code != 2 {
		t.Errorf("unlock without -stale: %v", r)
	}
}

func TestCompactClean(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "reftable")
	copyDir(t, filepath.Join(fixtures, "sha1-basic", "reftable"), dir)
	want := readFile(t, filepath.Join(fixtures, "sha1-basic", "expected.txt"))
	wantLogs := readFile(t, filepath.Join(fixtures, "sha1-basic", "expected-logs.txt"))
	if got := mustRun(t, "", "compact", "-auto", dir); got != "tables 15 -> 2\n" {
		t.Errorf("compact -auto: %q", got)
	}
	if got := mustRun(t, "", "compact", dir); got != "tables 2 -> 1\n" {
		t.Errorf("compact: %q", got)
	}
	if diff := cmp.Diff(want, mustRun(t, "", "refs", dir)); diff != "" {
		t.Errorf("refs after compaction (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantLogs, mustRun(t, "", "logs", dir)); diff != "" {
		t.Errorf("logs after compaction (-want +got):\n%s", diff)
	}
	mustRun(t, "", "clean", dir)
	mustRun(t, "", "compact", "-expire-logs", "1700000600", dir)
	if got := mustRun(t, "", "logs", dir); strings.Contains(got, " 1700000540 ") || !strings.Contains(got, " 1700000600 ") {
		t.Errorf("logs after expiry:\n%s", got)
	}
	if r := runTool(t, "", "compact", "-auto", "-expire-logs", "1", dir); r.code != 2 {
		t.Errorf("compact -auto -expire-logs: %v", r)
	}
}

// TestUpdatePrepareHoldsLock checks that prepare takes the lock at once:
// while one update waits between prepare and commit, another fails,
// naming the lock and its holder (this process), and changes nothing.
func TestUpdatePrepareHoldsLock(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "reftable")
	copyDir(t, filepath.Join(fixtures, "sha1-basic", "reftable"), dir)
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	done := make(chan result)
	go func() {
		var stderr bytes.Buffer
		code := run(context.Background(), []string{"update", dir}, inR, outW, &stderr)
		outW.Close()
		done <- result{code: code, stderr: stderr.String()}
	}()
	out := bufio.NewReader(outR)
	expect := func(want string) {
		t.Helper()
		line, err := out.ReadString('\n')
		if err != nil || line != want {
			t.Fatalf("read %q, %v; want %q", line, err, want)
		}
	}
	io.WriteString(inW, "start\ncreate refs/heads/first "+oidA+"\n")
	expect("start: ok\n")
	io.WriteString(inW, "prepare\n")
	expect("prepare: ok\n")

	list := readFile(t, filepath.Join(dir, "tables.list"))
	r := runTool(t, "create refs/heads/second "+oidA+"\n", "update", "-lock-timeout", "1ms", dir)
	lock := filepath.Join(dir, "tables.list.lock")
	if r.code != 1 || !strings.Contains(r.stderr, lock) || !strings.Contains(r.stderr, fmt.Sprintf("pid %d (alive)", os.Getpid())) {
		t.Errorf("update while another is prepared: %v", r)
	}
	if got := readFile(t, filepath.Join(dir, "tables.list")); got != list {
		t.Errorf("tables.list changed while prepared")
	}
	io.WriteString(inW, "commit\n")
	expect("commit: ok\n")
	inW.Close()
	if r := <-done; r.code != 0 {
		t.Fatalf("first update: %v", r)
	}
	if got := mustRun(t, "", "refs", dir, "refs/heads/"); !strings.Contains(got, "refs/heads/first ") || strings.Contains(got, "second") {
		t.Errorf("refs after commit:\n%s", got)
	}
	if _, err := os.Stat(lock); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("lock left behind: %v", err)
	}
}

// TestUpdateNames checks object ids given as ref names, abbreviated ids
// and C-quoted arguments.
func TestUpdateNames(t *testing.T) {
	t.Setenv("GIT_COMMITTER_DATE", "@1700002000 +0000")
	for _, tc := range []struct{ name, stdin string }{
		{"update/names", "update refs/heads/main refs/heads/feature/x main\ncreate refs/heads/n1 @\ncreate refs/heads/n2 v1.0\ncreate \"refs/heads/caf\\303\\251\" \"" + oidA + "\"\n"},
		{"update/abbreviated", "create refs/heads/n " + oidA[:12] + "\n"},
		{"update/expression", "create refs/heads/n HEAD~1\n"},
		{"update/no-such-name", "create refs/heads/n nosuchbranch\n"},
		{"update/bad-quote", "create \"refs/heads/n " + oidA + "\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "reftable")
			copyDir(t, filepath.Join(fixtures, "sha1-basic", "reftable"), dir)
			r := runTool(t, tc.stdin, "update", dir)
			checkGolden(t, tc.name, r.String()+"-- refs --\n"+mustRun(t, "", "refs", dir, "refs/heads/"))
		})
	}
}

// longInput is a reader of head followed by n bytes of fill and a
// newline, which allocates nothing however long it is; read counts the
// bytes taken from it.
type longInput struct {
	head string
	n    int64
	fill byte
	read int64
}

func (r *longInput) Read(p []byte) (int, error) {
	total := int64(len(r.head)) + r.n + 1
	i := 0
	for ; i < len(p) && r.read < total; i, r.read = i+1, r.read+1 {
		switch {
		case r.read < int64(len(r.head)):
			p[i] = r.head[r.read]
		case r.read < total-1:
			p[i] = r.fill
		default:
			p[i] = '\n'
		}
	}
	if i == 0 {
		return 0, io.EOF
	}
	return i, nil
}

// TestUpdateLongLine feeds update a 100 MB line, in text mode and with
// -z (a regression test: update read the whole line, taking ten times its
// size in memory, and printed it whole in its error). It must be refused
// having read little of it, in little memory, with a short message that
// changes nothing.
func TestUpdateLongLine(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "reftable")
	copyDir(t, filepath.Join(fixtures, "sha1-basic", "reftable"), dir)
	list := readFile(t, filepath.Join(dir, "tables.list"))
	for _, z := range []bool{false, true} {
		args := []string{"update", dir}
		if z {
			args = []string{"update", "-z", dir}
		}
		in := &longInput{head: "create refs/heads/", n: 100 << 20, fill: 'a'}
		var stdout, stderr bytes.Buffer
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		code := run(context.Background(), args, in, &stdout, &stderr)
		runtime.ReadMemStats(&after)
		if code != 2 || !strings.Contains(stderr.String(), "longer than 65536 bytes") {
			t.Errorf("-z %v: exit %d, stderr %.300q; want exit 2 and the line refused", z, code, stderr.String())
		}
		if stderr.Len() > 512 {
			t.Errorf("-z %v: a message of %d bytes", z, stderr.Len())
		}
		if in.read > 1<<20 {
			t.Errorf("-z %v: read %d bytes of the line", z, in.read)
		}
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 16<<20 {
			t.Errorf("-z %v: allocated %d bytes", z, alloc)
		}
		if got := readFile(t, filepath.Join(dir, "tables.list")); got != list {
			t.Errorf("-z %v: tables.list changed", z)
		}
	}
}

// TestUpdateLongNames checks that names too long for a table block are
// refused when read, and that every message shows a long name or line
// clipped.
func TestUpdateLongNames(t *testing.T) {
	long := "refs/heads/" + strings.Repeat("n", 5000)
	fits := "refs/heads/" + strings.Repeat("f", 1000)
	bad := "refs/heads/" + strings.Repeat("b", 1000) + ".lock"
	for _, tc := range []struct{ stdin, want string }{
		{"create " + long + " " + oidA + "\n", `line 1: create: "refs/heads/nnn`},
		{"symref-create refs/heads/s " + long + "\n", "line 1: symref target: "},
		{"create " + bad + " " + oidA + "\n", "ends with .lock"},
		{"create " + fits + " " + long + "\n", "invalid <new-oid>"},
		{"frob " + long + "\n", "unknown command"},
		{"start " + long + "\n", "extra input"},
		{"create " + fits + " " + oidA + " " + long + "\n", "extra input"},
		{"create \"" + long + "\n", "badly quoted argument"},
		{"create " + fits + "\t" + long + "\n", "expected SP"},
		{"option " + long + "\n", "unknown option"},
		{"update refs/heads/main " + oidA + " " + strings.Repeat("z", 60000) + "\n", "invalid <old-oid>"},
	} {
		dir := filepath.Join(t.TempDir(), "reftable")
		copyDir(t, filepath.Join(fixtures, "sha1-basic", "reftable"), dir)
		r := runTool(t, tc.stdin, "update", dir)
		if r.code != 2 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%.40q...: %.300v; want exit 2 and %q", tc.stdin, r, tc.want)
		}
		if len(r.stderr) > 512 {
			t.Errorf("%.40q...: a message of %d bytes: %.600q", tc.stdin, len(r.stderr), r.stderr)
		}
	}

	// With larger blocks (reftable.blockSize), longer names fit.
	repo := makeRepo(t, "sha1-basic", "")
	cfg := filepath.Join(repo, ".git", "config")
	writeFile(t, cfg, readFile(t, cfg)+"[reftable]\n\tblockSize = 8k\n")
	mustRun(t, "create "+long+" "+oidA+"\n", "update", repo)
	if got := mustRun(t, "", "refs", repo, long); got != long+" "+oidA+"\n" {
		t.Errorf("refs %.40s...: %.100q", long, got)
	}
}

// TestUpdateLongInput: update parses each line in the reader's buffer
// and hands the names and targets it reads there to the transaction,
// which copies them: after more than three buffers of input, every ref
// and target written is the one its line named, as are the expected old
// targets checked.
func TestUpdateLongInput(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "reftable")
	copyDir(t, filepath.Join(fixtures, "sha1-basic", "reftable"), dir)
	var in, in2 strings.Builder
	var want []string
	for i := 0; in.Len() < 3*maxInputLine; i++ {
		fmt.Fprintf(&in, "create refs/heads/b%06d %s\n", i, oidA)
		fmt.Fprintf(&in, "symref-create refs/heads/s%06d refs/heads/b%06d\n", i, i)
		fmt.Fprintf(&in2, "option no-deref\nsymref-update refs/heads/s%06d refs/heads/c%06d ref refs/heads/b%06d\n", i, i, i)
		want = append(want, fmt.Sprintf("refs/heads/b%06d %s", i, oidA), fmt.Sprintf("refs/heads/s%06d ref: refs/heads/c%06d", i, i))
	}
	mustRun(t, in.String(), "update", dir)
	mustRun(t, in2.String(), "update", dir) // fails unless each old target was s's
	got := map[string]bool{}
	for _, l := range strings.Split(mustRun(t, "", "refs", dir), "\n") {
		got[l] = true
	}
	for _, w := range want {
		if !got[w] {
			t.Fatalf("refs lacks %q", w)
		}
	}
}

// TestDecodeHex: decodeHex takes hex digits of either case and nothing
// else, and says whether the id is all zeros.
func TestDecodeHex(t *testing.T) {
	for _, tc := range []struct {
		s           string
		want        string // hex of the id, lowercase
		nonzero, ok bool
	}{
		{"00ff7Fa9", "00ff7fa9", true, true},
		{"00000000", "00000000", false, true},
		{"0000000g", "", false, false},
		{"G0000000", "", false, false},
		{"0000 000", "", false, false},
		{"\xc3\xa90000000", "", false, false},
	} {
		id := make([]byte, len(tc.s)/2)
		nonzero, ok := decodeHex(id, tc.s)
		if ok != tc.ok || ok && (nonzero != tc.nonzero || fmt.Sprintf("%x", id) != tc.want) {
			t.Errorf("decodeHex(%q) = %x, %v, %v; want %s, %v, %v", tc.s, id, nonzero, ok, tc.want, tc.nonzero, tc.ok)
		}
	}
}
