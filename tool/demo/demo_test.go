package demo

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/refstore/refstore/internal/proc"
	"github.com/refstore/refstore/stack"
	"github.com/refstore/refstore/tool"
)

// config is the tool with demo, as the reftable programs configure it.
var config = tool.Config{Commands: []*tool.Command{Command}}

// TestMain makes the test binary a demo worker when the demo started it
// (demoWorkerEnv set), as the reftable binary is: the demo re-executes
// os.Executable, which in tests is this binary.
func TestMain(m *testing.M) {
	if os.Getenv(demoWorkerEnv) != "" {
		os.Exit(tool.Process(config, os.Args[1:]))
	}
	os.Exit(m.Run())
}

var ctx = context.Background()

// result is what one run of the tool did.
type result struct {
	code           int
	stdout, stderr string
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\n-- stdout --\n%s-- stderr --\n%s", r.code, r.stdout, r.stderr)
}

// run runs the tool with demo in-process.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return tool.Main(ctx, config, args, stdin, stdout, stderr)
}

func runTool(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(ctx, args, strings.NewReader(stdin), &stdout, &stderr)
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// mustRun runs the tool and fails the test unless it exits 0.
func mustRun(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	r := runTool(t, stdin, args...)
	if r.code != 0 {
		t.Fatalf("reftable %s: %v", strings.Join(args, " "), r)
	}
	return r.stdout
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// demoTempDir points os.TempDir at a new empty directory and returns it,
// so a test can check that the demo leaves nothing there.
func demoTempDir(t *testing.T) string {
	t.Helper()
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	return tmp
}

func checkEmptyDir(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) > 0 {
		t.Errorf("%s not empty after the demo: %v", dir, entries)
	}
}

// match returns the submatches of re in s, failing the test without one.
func match(t *testing.T, s, re string) []string {
	t.Helper()
	m := regexp.MustCompile(re).FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("output lacks %q:\n%s", re, s)
	}
	return m
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// demoExpectedDigest computes, as the help of digest defines it and not
// from any stack, the digest of the refs demo promises: every branch
// with its id and the counter at writers*commits.
func demoExpectedDigest(writers, commits int) string {
	refs := map[string][]byte{demoCounter: counterID(uint64(writers * commits))}
	for k := 1; k <= writers; k++ {
		for j := range commits {
			refs[demoBranch(k, j)] = demoID(demoBranch(k, j))
		}
	}
	h := sha256.New()
	for _, name := range slices.Sorted(maps.Keys(refs)) {
		fmt.Fprintf(h, "%s\x001%x\n", name, refs[name])
	}
	return fmt.Sprintf("sha256:%x %d refs", h.Sum(nil), len(refs))
}

// TestDemoKeep runs the demo with real worker processes, keeps its stack
// and checks the stack independently of what the demo says.
func TestDemoKeep(t *testing.T) {
	tmp := demoTempDir(t)
	const writers, commits = 3, 20
	r := runTool(t, "", "demo", "-keep", "-writers", strconv.Itoa(writers), "-commits", strconv.Itoa(commits))
	if r.code != 0 {
		t.Fatalf("demo: %v", r)
	}
	out := r.stdout
	dir := match(t, out, `(?m)^stack: (.*) \(kept\)$`)[1]
	if filepath.Dir(dir) != tmp {
		t.Errorf("stack %s not in the temporary directory %s", dir, tmp)
	}
	m := match(t, out, `(?m)^writers: (\d+) processes made (\d+) commits`)
	if atoi(t, m[1]) != writers || atoi(t, m[2]) != writers*commits {
		t.Errorf("writers line %q, want %d writers and %d commits", m[0], writers, writers*commits)
	}
	match(t, out, `(?m)^compare-and-swap: \d+ conflicts on refs/heads/counter`)
	m = match(t, out, `(?m)^auto-compaction: (\d+) compactions`)
	if atoi(t, m[1]) == 0 {
		t.Errorf("no compaction in %d commits: %s", writers*commits, m[0])
	}
	m = match(t, out, `(?m)^reader: (\d+) states checked, \d+ reloads of a new tables.list, at most \d+ tables, (\d+) inconsistencies$`)
	if atoi(t, m[1]) < 2 || m[2] != "0" {
		t.Errorf("reader line %q, want at least 2 states and no inconsistency", m[0])
	}
	want := writers * commits
	match(t, out, fmt.Sprintf(`(?m)^nothing lost: %d of %d updates present`, want, want))
	match(t, out, fmt.Sprintf(`(?m)^  refs/heads/counter %x \(%d\)$`, counterID(uint64(want)), want))

	// The stack is valid, and holds exactly the refs promised.
	if v := mustRun(t, "", "verify", dir); v != "" {
		t.Errorf("verify %s:\n%s", dir, v)
	}
	digest := strings.TrimSpace(mustRun(t, "", "digest", dir))
	if d := match(t, out, `(?m)^digest: (.*)$`)[1]; d != digest {
		t.Errorf("demo printed digest %s, reftable digest says %s", d, digest)
	}
	if e := demoExpectedDigest(writers, commits); digest != e {
		t.Errorf("digest %s, want %s", digest, e)
	}
	// Every increment of the counter is in its reflog exactly once.
	logs := strings.Split(strings.TrimSpace(mustRun(t, "", "logs", "-ref", demoCounter, dir)), "\n")
	if len(logs) != want {
		t.Errorf("%s has %d reflog entries, want %d", demoCounter, len(logs), want)
	}
	for i, l := range logs {
		if n := want - i; !strings.HasSuffix(l, fmt.Sprintf("\tdemo: counter %d", n)) {
			t.Errorf("reflog entry %d = %q, want counter %d", i, l, n)
			break
		}
	}
	// The final tables printed are the stack's.
	m = match(t, out, `(?m)^final tables \((\d+)\)`)
	names := regexp.MustCompile(`(?m)^  table (\S+) size=(\d+)`).FindAllStringSubmatch(out, -1)
	if len(names) != atoi(t, m[1]) {
		t.Fatalf("%d table lines, want %d:\n%s", len(names), atoi(t, m[1]), out)
	}
	list := strings.Fields(readFile(t, filepath.Join(dir, "tables.list")))
	for i, n := range names {
		fi, err := os.Stat(filepath.Join(dir, n[1]))
		if err != nil || i >= len(list) || list[i] != n[1] || strconv.FormatInt(fi.Size(), 10) != n[2] {
			t.Errorf("table line %q does not match tables.list %v (%v)", n[0], list, err)
		}
	}
}

// TestDemoTempDir checks that the default temporary directory is removed.
func TestDemoTempDir(t *testing.T) {
	tmp := demoTempDir(t)
	r := runTool(t, "", "demo", "-writers", "2", "-commits", "5")
	if r.code != 0 || !strings.Contains(r.stdout, "nothing lost: 10 of 10 updates present") {
		t.Fatalf("demo: %v", r)
	}
	checkEmptyDir(t, tmp)
}

func TestDemoDir(t *testing.T) {
	demoTempDir(t)
	dir := filepath.Join(t.TempDir(), "new", "stack")
	r := runTool(t, "", "demo", "-writers", "2", "-commits", "3", dir)
	if r.code != 0 || !strings.Contains(r.stdout, "stack: "+dir+" (kept)\n") {
		t.Fatalf("demo %s: %v", dir, r)
	}
	if got, want := strings.TrimSpace(mustRun(t, "", "digest", dir)), demoExpectedDigest(2, 3); got != want {
		t.Errorf("digest %s, want %s", got, want)
	}
	// A directory that is not empty is refused and left alone.
	before := readFile(t, filepath.Join(dir, "tables.list"))
	r = runTool(t, "", "demo", dir)
	if r.code != 1 || !strings.Contains(r.stderr, dir+": not empty") {
		t.Errorf("demo on a non-empty directory: %v", r)
	}
	if after := readFile(t, filepath.Join(dir, "tables.list")); after != before {
		t.Errorf("tables.list changed from %q to %q", before, after)
	}
}

// TestDemoDirNotUTF8: the workers find a directory whose name is not
// UTF-8, which a JSON string could not carry.
func TestDemoDirNotUTF8(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("file names need not be valid UTF-8 on Linux only")
	}
	demoTempDir(t)
	dir := filepath.Join(t.TempDir(), "stack-\xff\xfe")
	r := runTool(t, "", "demo", "-writers", "2", "-commits", "3", dir)
	if r.code != 0 || !strings.Contains(r.stdout, "nothing lost: 6 of 6 updates present") {
		t.Fatalf("demo %q: %v", dir, r)
	}
	if got, want := strings.TrimSpace(mustRun(t, "", "digest", dir)), demoExpectedDigest(2, 3); got != want {
		t.Errorf("digest %s, want %s", got, want)
	}
}

func TestDemoUsage(t *testing.T) {
	for _, args := range [][]string{
		{"demo", "-writers", "0"},
		{"demo", "-commits", "-1"},
		{"demo", "a", "b"},
	} {
		if r := runTool(t, "", args...); r.code != 2 {
			t.Errorf("%v: %v, want exit 2", args, r)
		}
	}
}

// TestDemoLoss injects a loss before the final check: demo must notice
// it, name it and exit 1.
func TestDemoLoss(t *testing.T) {
	who := stack.Identity{Name: "T", Email: "t@example.com", Time: time.Unix(1700000000, 0)}
	for _, tc := range []struct {
		name   string
		update func(dir string) stack.Update
		want   string
	}{
		{"branch", func(string) stack.Update {
			return stack.Update{Ref: stack.Ref{Name: demoBranch(2, 3)}}
		}, "updates lost: 9 of 10 present; refs/heads/writer-2/commit-0003: "},
		{"counter", func(string) stack.Update {
			return stack.Update{Ref: stack.Ref{Name: demoCounter, ID: counterID(9)}}
		}, "updates lost: 9 of 10 present; refs/heads/counter = 9, want 10"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tmp := demoTempDir(t)
			demoBeforeCheck = func(dir string) error {
				st, err := stack.Open(dir, stack.Options{})
				if err != nil {
					return err
				}
				defer st.Close()
				tx := st.NewTransaction(who, stack.ReflogNormal)
				tx.Add(tc.update(dir))
				return tx.Commit(ctx)
			}
			defer func() { demoBeforeCheck = nil }()
			r := runTool(t, "", "demo", "-writers", "2", "-commits", "5")
			if r.code != 1 || !strings.Contains(r.stderr, tc.want) || !strings.Contains(r.stdout, "LOST: ") ||
				strings.Contains(r.stdout, "nothing lost") {
				t.Errorf("demo with a loss: %v\nwant exit 1 and %q", r, tc.want)
			}
			checkEmptyDir(t, tmp)
		})
	}
}

// TestDemoCancel cancels the demo while its writers commit: every worker
// process must be gone when run returns, and the temporary directory too.
func TestDemoCancel(t *testing.T) {
	if _, ok := proc.StartTime(os.Getpid()); !ok {
		t.Skip("process start times are not available here")
	}
	tmp := demoTempDir(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type started struct {
		pid   int
		start time.Time
	}
	var procs []started
	demoStarted = func(dir string, pids []int) {
		for _, pid := range pids {
			st, ok := proc.StartTime(pid)
			if !ok {
				t.Errorf("worker %d not running after start", pid)
			}
			procs = append(procs, started{pid, st})
		}
		go func() {
			// Cancel once the writers have committed something.
			defer cancel()
			for deadline := time.Now().Add(time.Minute); ctx.Err() == nil; time.Sleep(10 * time.Millisecond) {
				if data, err := os.ReadFile(filepath.Join(dir, "tables.list")); err == nil && len(data) > 0 {
					return
				}
				if time.Now().After(deadline) {
					t.Error("no table after a minute")
					return
				}
			}
		}()
	}
	defer func() { demoStarted = nil }()
	var stdout, stderr bytes.Buffer
	code := run(ctx, []string{"demo", "-writers", "3", "-commits", "100000"}, strings.NewReader(""), &stdout, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), "reftable demo: interrupted") {
		t.Errorf("demo cancelled: exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
	if len(procs) != 4 {
		t.Fatalf("%d worker processes started, want 4", len(procs))
	}
	for _, p := range procs {
		if st, ok := proc.StartTime(p.pid); ok && st.Equal(p.start) {
			t.Errorf("worker process %d survived the demo", p.pid)
		}
	}
	checkEmptyDir(t, tmp)
}

// TestDemoReaderDetects gives the reader states that break the demo's
// invariants and checks that it reports them.
func TestDemoReaderDetects(t *testing.T) {
	dir := t.TempDir()
	st, err := stack.Open(dir, stack.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	tx := st.NewTransaction(stack.Identity{Name: "T", Email: "t@example.com", Time: time.Unix(1700000000, 0)}, stack.ReflogNormal)
	tx.Add(stack.Update{Ref: stack.Ref{Name: demoCounter, ID: counterID(3)}})
	tx.Add(stack.Update{Ref: stack.Ref{Name: demoBranch(1, 0), ID: demoID(demoBranch(1, 0))}})
	tx.Add(stack.Update{Ref: stack.Ref{Name: demoBranch(1, 1), ID: demoID(demoBranch(1, 0))}})
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // one check only
	rep, err := demoRead(ctx, demoArgs{Role: "reader", Dir: []byte(dir)})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"state 1: refs/heads/writer-1/commit-0001 " + hex.EncodeToString(demoID(demoBranch(1, 0))),
		"state 1: refs/heads/counter = 3 but 2 branches",
	}
	if rep.Snapshots != 1 || rep.NumProblems != len(want) || !slices.Equal(rep.Problems, want) {
		t.Errorf("reader report %+v, want problems %q", rep, want)
	}
}

// TestDemoMessages: a worker's arguments and reports come back as they
// were written, the directory whatever its bytes; a field the type does
// not have, a value of the wrong type or anything after the object is an
// error.
func TestDemoMessages(t *testing.T) {
	rnd := rand.New(rand.NewPCG(3, 4))
	for range 100 {
		for _, in := range []any{&demoArgs{}, &demoWriterReport{}, &demoReaderReport{}} {
			fillRandom(rnd, reflect.ValueOf(in).Elem())
			var b bytes.Buffer
			if err := json.NewEncoder(&b).Encode(in); err != nil {
				t.Fatal(err)
			}
			out := reflect.New(reflect.TypeOf(in).Elem()).Interface()
			if err := decodeDemo(b.Bytes(), out); err != nil {
				t.Fatalf("%s: %v", b.Bytes(), err)
			}
			if diff := cmp.Diff(in, out); diff != "" {
				t.Fatalf("%s (-written +read):\n%s", b.Bytes(), diff)
			}
		}
	}
	for _, bad := range []string{`{"Nope":1}`, `{"Commits":"x"}`, `{"Role":1}`, `{"Stats":{"Nope":1}}`,
		`{"Dir":"not base64!"}`, `{"Commits":1} {}`, `{"Commits":1} x`, `Commits 1`, ``} {
		var w demoWriterReport
		var a demoArgs
		if decodeDemo([]byte(bad), &w) == nil && decodeDemo([]byte(bad), &a) == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// demoStrings are strings JSON encoders treat specially.
var demoStrings = []string{
	"", "refs/heads/main", "a\"b\\c", "<tag>&amp;", "\x00\x01\x1f\x7f", "\b\f\n\r\t",
	"\u2028\u2029", "é日本\U0001F600", "\ufffd",
}

// fillRandom sets v, of the types demo's messages hold, to random
// values: strings valid UTF-8 (as JSON strings are), byte slices any
// bytes.
func fillRandom(rnd *rand.Rand, v reflect.Value) {
	switch v.Kind() {
	case reflect.Int:
		v.SetInt([]int64{0, 1, -1, rnd.Int64(), -rnd.Int64(), math.MaxInt64, math.MinInt64}[rnd.IntN(7)])
	case reflect.Uint64:
		v.SetUint([]uint64{0, 1, rnd.Uint64(), math.MaxUint64}[rnd.IntN(4)])
	case reflect.String:
		v.SetString(demoStrings[rnd.IntN(len(demoStrings))] + demoStrings[rnd.IntN(len(demoStrings))])
	case reflect.Slice:
		n := rnd.IntN(4) - 1
		if n < 0 {
			v.SetZero()
			return
		}
		v.Set(reflect.MakeSlice(v.Type(), n, n))
		if v.Type().Elem().Kind() == reflect.Uint8 {
			for i := range n {
				v.Index(i).SetUint(uint64(rnd.Uint32() & 0xff))
			}
			return
		}
		for i := range n {
			fillRandom(rnd, v.Index(i))
		}
	case reflect.Struct:
		for i := range v.NumField() {
			fillRandom(rnd, v.Field(i))
		}
	default:
		panic("fillRandom: no values for " + v.Type().String())
	}
}
