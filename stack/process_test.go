package stack_test

// Cross-process tests: the test binary re-executes itself with
// -test.run=^TestHelperProcess$ and a role in the environment variable
// procHelperEnv (as cmd/go's lockedfile tests do). The children are separate
// processes with their own Stack, file descriptors and scheduling, so they
// exercise the directory protocol (tables.list.lock, renames, the stat
// cache) rather than the in-process mutex.

import (
	"bufio"
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/refstore/refstore/reftable"
	"github.com/refstore/refstore/stack"
)

// procHelperEnv names the environment variable that carries a child's
// procArgs as JSON. TestHelperProcess does nothing without it.
const procHelperEnv = "REFSTORE_STACK_HELPER"

// procArgs is the role and parameters of a child process.
type procArgs struct {
	// Role is one of:
	//   writer     Commits single-ref transactions creating
	//              refs/heads/<Prefix>/c<j> for j < Commits, then prints a
	//              procWriterReport.
	//   reader     Reloads and reads in a loop until its stdin reaches
	//              EOF, then prints a procReaderReport.
	//   killwriter Prints "ready", then commits refs/heads/<Prefix>/c<j>
	//              forever, printing "begin <name>" before and
	//              "committed <name>" after each commit.
	//   compactor  Prints "ready", then alternates CompactAll and
	//              AutoCompact forever.
	Role    string
	Dir     string
	Prefix  string
	Commits int
	Expect  int // reader: refs the final read must see
	Content bool
	Seed    uint64
}

// TestHelperProcess is the body of the child processes; it returns at once
// in a normal test run.
func TestHelperProcess(t *testing.T) {
	raw := os.Getenv(procHelperEnv)
	if raw == "" {
		return
	}
	var a procArgs
	err := json.Unmarshal([]byte(raw), &a)
	if err == nil {
		err = runProcHelper(a, os.Stdin, os.Stdout)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "helper %s: %v\n", a.Role, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// procOptions are the options of every child: wait forever for the
// lock, skip fsync for speed, auto-compaction on.
func procOptions(a procArgs) stack.Options {
	return stack.Options{LockTimeout: -1, NoSync: true, ContentCompare: a.Content}
}

// procWho is the identity of the reflog entries the tests write.
var procWho = stack.Identity{Name: "A U Thor", Email: "author@example.com", Time: time.Unix(1700000000, 0).UTC()}

// procRefID is the object id stored in the test ref name: SHA-1 of the name.
func procRefID(name string) []byte {
	sum := sha1.Sum([]byte(name))
	return sum[:]
}

// procCreateRef commits one transaction that creates name, which must not
// exist yet.
func procCreateRef(st *stack.Stack, name string, id []byte) error {
	tx := st.NewTransaction(procWho, stack.ReflogNormal)
	tx.Add(stack.Update{Ref: stack.Ref{Name: name, ID: id}, Old: &stack.Ref{}, Message: "create"})
	return tx.Commit(ctx)
}

func runProcHelper(a procArgs, stdin io.Reader, stdout io.Writer) error {
	switch a.Role {
	case "writer":
		return runProcWriter(a, stdout)
	case "reader":
		return runProcReader(a, stdin, stdout)
	case "killwriter":
		return runProcKillWriter(a, stdout)
	case "compactor":
		return runProcCompactor(a, stdout)
	}
	return fmt.Errorf("unknown role %q", a.Role)
}

// procWriterReport is what a writer prints when it is done.
type procWriterReport struct {
	Committed        int
	Latency          [3]time.Duration // median, 90th percentile and maximum time of a commit
	CompactionErrors []string
	Stats            stack.Stats
}

func runProcWriter(a procArgs, stdout io.Writer) error {
	var mu sync.Mutex
	var rep procWriterReport
	opts := procOptions(a)
	opts.OnCompactionError = func(err error) {
		mu.Lock()
		defer mu.Unlock()
		rep.CompactionErrors = append(rep.CompactionErrors, err.Error())
	}
	st, err := stack.Open(a.Dir, opts)
	if err != nil {
		return err
	}
	defer st.Close()
	var lat []time.Duration
	for j := range a.Commits {
		name := fmt.Sprintf("refs/heads/%s/c%d", a.Prefix, j)
		start := time.Now()
		if err := procCreateRef(st, name, procRefID(name)); err != nil {
			return fmt.Errorf("commit %d (%s): %w", j, name, err)
		}
		lat = append(lat, time.Since(start))
		rep.Committed++
	}
	if len(lat) > 0 {
		slices.Sort(lat)
		rep.Latency = [3]time.Duration{lat[len(lat)/2], lat[len(lat)*9/10], lat[len(lat)-1]}
	}
	rep.Stats = st.Stats()
	mu.Lock()
	defer mu.Unlock()
	return json.NewEncoder(stdout).Encode(rep)
}

// procReaderReport is what a reader prints when its stdin is closed. Every
// list is capped at procMaxProblems entries; the counters are exact.
type procReaderReport struct {
	Iterations  int
	MaxRefs     int
	MaxIndex    uint64
	FinalRefs   int
	NumProblems int
	Errors      []string // errors of Reload, Snapshot, iteration or Ref
	Disappeared []string // refs seen before and missing later
	Decreased   []string // max update index went down
	// Inconsistent records snapshots whose refs are not exactly one per
	// update index 1..MaxUpdateIndex, as every commit of the test adds
	// one ref with its own update index.
	Inconsistent []string
}

const procMaxProblems = 20

func (r *procReaderReport) add(list *[]string, format string, args ...any) {
	r.NumProblems++
	if len(*list) < procMaxProblems {
		*list = append(*list, fmt.Sprintf(format, args...))
	}
}

func runProcReader(a procArgs, stdin io.Reader, stdout io.Writer) error {
	st, err := stack.Open(a.Dir, procOptions(a))
	if err != nil {
		return err
	}
	defer st.Close()
	var stop atomic.Bool
	go func() {
		io.Copy(io.Discard, stdin)
		stop.Store(true)
	}()
	rng := rand.New(rand.NewPCG(a.Seed, 1))
	var rep procReaderReport
	seen := map[string]uint64{} // name -> update index
	var lastMax uint64
	var held *stack.Snapshot
	var heldRefs map[string]uint64
	checkHeld := func() {
		if held == nil {
			return
		}
		defer held.Close()
		n := 0
		for r, err := range held.Merged().Refs(nil) {
			if err != nil {
				rep.add(&rep.Errors, "iteration %d: held snapshot: %v", rep.Iterations, err)
				return
			}
			if idx, ok := heldRefs[string(r.Name)]; !ok || idx != r.UpdateIndex {
				rep.add(&rep.Inconsistent, "iteration %d: held snapshot has %s at update index %d, had it: %v at %d",
					rep.Iterations, r.Name, r.UpdateIndex, ok, idx)
			}
			n++
		}
		if n != len(heldRefs) {
			rep.add(&rep.Inconsistent, "iteration %d: held snapshot has %d refs, had %d", rep.Iterations, n, len(heldRefs))
		}
	}
	read := func() (refs int) {
		rep.Iterations++
		if err := st.Reload(ctx); err != nil {
			rep.add(&rep.Errors, "Reload: %v", err)
			return -1
		}
		snap, err := st.Snapshot(ctx)
		if err != nil {
			rep.add(&rep.Errors, "Snapshot: %v", err)
			return -1
		}
		keep := false
		defer func() {
			if !keep {
				snap.Close()
			}
		}()
		maxIndex := snap.Merged().MaxUpdateIndex()
		if maxIndex < lastMax {
			rep.add(&rep.Decreased, "iteration %d: max update index %d after %d (tables %v)", rep.Iterations, maxIndex, lastMax, snap.TableNames())
		}
		lastMax = max(lastMax, maxIndex)
		rep.MaxIndex = lastMax
		cur := make(map[string]uint64, len(seen)+16)
		indexes := make([]bool, maxIndex+1)
		for r, err := range snap.Merged().Refs(nil) {
			if err != nil {
				rep.add(&rep.Errors, "iterate: %v", err)
				return -1
			}
			name := string(r.Name)
			cur[name] = r.UpdateIndex
			if !bytes.Equal(r.Value, procRefID(name)) {
				rep.add(&rep.Inconsistent, "iteration %d: %s = %x, want %x", rep.Iterations, name, r.Value, procRefID(name))
			}
			if r.UpdateIndex == 0 || r.UpdateIndex > maxIndex || indexes[r.UpdateIndex] {
				rep.add(&rep.Inconsistent, "iteration %d: %s has update index %d (max %d, duplicate %v)",
					rep.Iterations, name, r.UpdateIndex, maxIndex, r.UpdateIndex <= maxIndex && indexes[r.UpdateIndex])
				continue
			}
			indexes[r.UpdateIndex] = true
		}
		if uint64(len(cur)) != maxIndex {
			rep.add(&rep.Inconsistent, "iteration %d: %d refs but max update index %d (tables %v)", rep.Iterations, len(cur), maxIndex, snap.TableNames())
		}
		for name, idx := range seen {
			got, ok := cur[name]
			switch {
			case !ok:
				rep.add(&rep.Disappeared, "iteration %d: %s (update index %d) missing (tables %v)", rep.Iterations, name, idx, snap.TableNames())
			case got != idx:
				rep.add(&rep.Inconsistent, "iteration %d: %s changed update index %d -> %d", rep.Iterations, name, idx, got)
			}
		}
		seen = cur
		rep.MaxRefs = max(rep.MaxRefs, len(cur))
		if rep.Iterations%20 == 0 {
			// A snapshot stays valid whatever happens to the stack: the
			// one held for the last 20 iterations, while other
			// processes compacted and deleted its tables, still reads
			// the same refs.
			checkHeld()
			held, heldRefs, keep = snap, cur, true
		}
		// Point lookups through the Stack, which reloads: a ref seen in
		// this snapshot must be found in any later state.
		if len(cur) > 0 {
			names := make([]string, 0, len(cur))
			for name := range cur {
				names = append(names, name)
			}
			for range 4 {
				name := names[rng.IntN(len(names))]
				r, err := st.Ref(ctx, name)
				if err != nil {
					rep.add(&rep.Errors, "Ref(%s): %v", name, err)
					continue
				}
				if r.UpdateIndex != cur[name] {
					rep.add(&rep.Inconsistent, "Ref(%s): update index %d, iteration saw %d", name, r.UpdateIndex, cur[name])
				}
			}
		}
		if _, err := st.Ref(ctx, "refs/heads/never"); !errors.Is(err, reftable.ErrNotFound) {
			rep.add(&rep.Errors, "Ref(refs/heads/never) = %v, want ErrNotFound", err)
		}
		return len(cur)
	}
	for !stop.Load() {
		read()
		// Leave CPU to the writers: a reader that spins slows down
		// whoever holds the lock, and every waiter backs off longer.
		time.Sleep(time.Duration(5000+rng.IntN(10000)) * time.Microsecond)
	}
	rep.FinalRefs = read()
	checkHeld()
	if rep.FinalRefs != a.Expect {
		rep.add(&rep.Inconsistent, "final read: %d refs, want %d", rep.FinalRefs, a.Expect)
	}
	return json.NewEncoder(stdout).Encode(rep)
}

func runProcKillWriter(a procArgs, stdout io.Writer) error {
	opts := procOptions(a)
	opts.OnCompactionError = func(err error) { fmt.Fprintf(stdout, "compaction-error %v\n", err) }
	st, err := stack.Open(a.Dir, opts)
	if err != nil {
		return err
	}
	defer st.Close()
	fmt.Fprintln(stdout, "ready")
	for j := 0; ; j++ {
		name := fmt.Sprintf("refs/heads/%s/c%d", a.Prefix, j)
		fmt.Fprintln(stdout, "begin", name)
		if err := procCreateRef(st, name, procRefID(name)); err != nil {
			return fmt.Errorf("commit %s: %w", name, err)
		}
		fmt.Fprintln(stdout, "committed", name)
	}
}

func runProcCompactor(a procArgs, stdout io.Writer) error {
	st, err := stack.Open(a.Dir, procOptions(a))
	if err != nil {
		return err
	}
	defer st.Close()
	fmt.Fprintln(stdout, "ready")
	for i := 0; ; i++ {
		// A non-nil expiry that expires nothing makes CompactAll rewrite
		// even a single table, so there is always work to interrupt.
		if err := st.CompactAll(ctx, &stack.LogExpiry{}); err != nil {
			return fmt.Errorf("CompactAll %d: %w", i, err)
		}
		if err := st.AutoCompact(ctx); err != nil {
			return fmt.Errorf("AutoCompact %d: %w", i, err)
		}
		fmt.Fprintln(stdout, "compacted", i)
	}
}

// procChild is a running child process.
type procChild struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan string // stdout, line by line; closed at EOF
	stderr *bytes.Buffer
}

// startProcChild starts the test binary as a child with role a.
func startProcChild(t *testing.T, a procArgs) *procChild {
	t.Helper()
	raw, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	// A child stuck for minutes (waiting forever for a lock, say) dies
	// with a goroutine dump on stderr, which the parent reports.
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1", "-test.timeout=3m")
	cmd.Env = append(os.Environ(), procHelperEnv+"="+string(raw))
	h := &procChild{cmd: cmd, lines: make(chan string, 1024), stderr: new(bytes.Buffer)}
	cmd.Stderr = h.stderr
	if h.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	go func() {
		defer close(h.lines)
		defer pr.Close()
		sc := bufio.NewScanner(pr)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			h.lines <- sc.Text()
		}
	}()
	return h
}

// rest returns the remaining lines of stdout, waiting for EOF.
func (h *procChild) rest() []string {
	var out []string
	for l := range h.lines {
		out = append(out, l)
	}
	return out
}

// wait waits for the child to exit normally and returns its stdout.
func (h *procChild) wait(t *testing.T, what string) []string {
	t.Helper()
	out := h.rest()
	if err := h.cmd.Wait(); err != nil {
		t.Errorf("%s: %v\nstderr:\n%s", what, err, h.stderr)
	}
	return out
}

// procDecodeLast decodes the last stdout line of a child as JSON into v.
func procDecodeLast(t *testing.T, what string, lines []string, v any) bool {
	t.Helper()
	if len(lines) == 0 {
		t.Errorf("%s printed nothing", what)
		return false
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), v); err != nil {
		t.Errorf("%s: report %q: %v", what, lines[len(lines)-1], err)
		return false
	}
	return true
}

// procReadAll returns every ref under refs/ as name -> hex value, and the
// update indexes of the refs.
func procReadAll(t *testing.T, dir string, opts stack.Options) (map[string]string, []uint64) {
	t.Helper()
	st, err := stack.Open(dir, opts)
	if err != nil {
		t.Fatalf("open %s: %v", dir, err)
	}
	defer st.Close()
	got := map[string]string{}
	var indexes []uint64
	for r, err := range st.Refs(ctx, "refs/") {
		if err != nil {
			t.Fatalf("read %s: %v", dir, err)
		}
		got[r.Name] = hex.EncodeToString(r.ID)
		indexes = append(indexes, r.UpdateIndex)
	}
	return got, indexes
}

// procTables returns the number of tables listed in dir's tables.list
// (0 if there is none).
func procTables(t *testing.T, dir string) int {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "tables.list"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	return len(strings.Fields(string(data)))
}

// procLeftovers lists the files of a stack directory that are neither
// tables.list nor a table it lists.
func procLeftovers(t *testing.T, dir string) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "tables.list"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	listed := map[string]bool{"tables.list": true}
	for _, name := range strings.Fields(string(data)) {
		listed[name] = true
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if !listed[e.Name()] {
			out = append(out, e.Name())
		}
	}
	return out
}

// TestProcessWritersAndReaders runs writer processes, each committing
// single-ref transactions with auto-compaction, against reader processes
// that reload and read in a loop. Nothing committed may be lost, readers
// never fail, never see a ref vanish and never see the stack go back in
// time; every snapshot holds exactly one ref per update index.
func TestProcessWritersAndReaders(t *testing.T) {
	// With -race on 2 cores the commits are serialized at about 15 ms each
	// (plus lock backoff, git's n² ms up to 1 s a try): about 60 s a
	// variant; -short scales it down.
	writers, commits, readers := 8, 250, 4
	if testing.Short() {
		writers, commits, readers = 4, 25, 2
	}
	for _, tc := range []struct {
		name    string
		content bool
	}{{"identity", false}, {"content", true}} {
		if !tc.content && os.Getenv("REFSTORE_CONTENT_COMPARE") == "1" {
			// Every stack compares contents in this run: the identity
			// variant would repeat the content one.
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			start := time.Now()
			var rs []*procChild
			for i := range readers {
				rs = append(rs, startProcChild(t, procArgs{Role: "reader", Dir: dir, Content: tc.content, Seed: uint64(i), Expect: writers * commits}))
			}
			var ws []*procChild
			for i := range writers {
				ws = append(ws, startProcChild(t, procArgs{Role: "writer", Dir: dir, Prefix: fmt.Sprintf("w%d", i), Commits: commits, Content: tc.content}))
			}
			var total stack.Stats
			for i, w := range ws {
				what := fmt.Sprintf("writer %d", i)
				var rep procWriterReport
				if !procDecodeLast(t, what, w.wait(t, what), &rep) {
					continue
				}
				if rep.Committed != commits {
					t.Errorf("%s committed %d, want %d", what, rep.Committed, commits)
				}
				for _, e := range rep.CompactionErrors {
					t.Errorf("%s: auto-compaction: %s", what, e)
				}
				t.Logf("%s: commit latency median %v, p90 %v, max %v", what, rep.Latency[0], rep.Latency[1], rep.Latency[2])
				total.Commits += rep.Stats.Commits
				total.Compactions += rep.Stats.Compactions
				total.CompactionFailures += rep.Stats.CompactionFailures
				total.Reloads += rep.Stats.Reloads
			}
			writeTime := time.Since(start)
			for _, r := range rs {
				r.stdin.Close()
			}
			for i, r := range rs {
				what := fmt.Sprintf("reader %d", i)
				var rep procReaderReport
				if !procDecodeLast(t, what, r.wait(t, what), &rep) {
					continue
				}
				t.Logf("%s: %d iterations, up to %d refs, max update index %d", what, rep.Iterations, rep.MaxRefs, rep.MaxIndex)
				if rep.NumProblems > 0 {
					t.Errorf("%s: %d problems:\nerrors: %q\ndisappeared: %q\ndecreased: %q\ninconsistent: %q",
						what, rep.NumProblems, rep.Errors, rep.Disappeared, rep.Decreased, rep.Inconsistent)
				}
				if rep.Iterations < 2 {
					t.Errorf("%s read only %d times", what, rep.Iterations)
				}
			}
			t.Logf("%d writers x %d commits in %v: %+v", writers, commits, writeTime.Round(time.Millisecond), total)

			want := map[string]string{}
			for i := range writers {
				for j := range commits {
					name := fmt.Sprintf("refs/heads/w%d/c%d", i, j)
					want[name] = hex.EncodeToString(procRefID(name))
				}
			}
			got, indexes := procReadAll(t, dir, stack.Options{ContentCompare: tc.content})
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("refs after the run (-want +got):\n%s", diff)
			}
			slices.Sort(indexes)
			wantIndexes := make([]uint64, writers*commits)
			for i := range wantIndexes {
				wantIndexes[i] = uint64(i + 1)
			}
			if diff := cmp.Diff(wantIndexes, indexes); diff != "" {
				t.Errorf("update indexes after the run (-want +got):\n%s", diff)
			}
			t.Logf("%d tables at the end", procTables(t, dir))
			if left := procLeftovers(t, dir); len(left) > 0 {
				t.Errorf("files left behind by processes that exited normally: %q", left)
			}
		})
	}
}

// TestProcessKill kills writer and compactor processes with SIGKILL at
// random moments. After each kill the stack must open, hold every ref the
// child reported as committed, and no ref the child never began. Files a
// killed process leaves (locks, temp files, unlisted tables) are allowed
// and logged.
//
// A killed child can leave tables.list.lock and table locks behind. Nobody
// removes them by hand: the next writer or compactor (the parent's
// commits, the next child) finds their holder gone and breaks them
// itself. Temp files, holder files and unlisted tables are left in place:
// later trials must cope with such debris.
func TestProcessKill(t *testing.T) {
	trials := 200
	if testing.Short() {
		trials = 20
	}
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(20240808, 1))
	want := map[string]string{} // refs that must exist: name -> hex value
	// The parent runs alone, so it never waits for a lock. Its commits
	// auto-compact, which keeps the stack geometric even though killed
	// compactions leave table locks that hold back the writers' own
	// auto-compactions.
	parentOpts := stack.Options{NoSync: true, LockTimeout: stack.NoWait}
	prevLeft := map[string]bool{}
	var stats struct{ killed, exited, committed, inFlight int }
	start := time.Now()
	for trial := range trials {
		compactor := trial%2 == 1
		role := "killwriter"
		prefix := fmt.Sprintf("t%03d", trial)
		if compactor {
			role = "compactor"
			// Give the compactor a few more tables to merge.
			st, err := stack.Open(dir, parentOpts)
			if err != nil {
				t.Fatalf("trial %d: open: %v", trial, err)
			}
			for j := range 1 + trial%5 {
				name := fmt.Sprintf("refs/heads/%s/p%d", prefix, j)
				if err := procCreateRef(st, name, procRefID(name)); err != nil {
					t.Fatalf("trial %d: %v", trial, err)
				}
				want[name] = hex.EncodeToString(procRefID(name))
			}
			st.Close()
		}
		delay := time.Duration(rng.IntN(50_001)) * time.Microsecond
		h := startProcChild(t, procArgs{Role: role, Dir: dir, Prefix: prefix, Content: trial%4 >= 2})
		if l, ok := <-h.lines; !ok || l != "ready" {
			h.cmd.Process.Kill()
			h.wait(t, "child")
			t.Fatalf("trial %d: %s did not start: %q\nstderr:\n%s", trial, role, l, h.stderr)
		}
		time.Sleep(delay)
		if err := h.cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		lines := h.rest()
		// The children loop until killed; they exit on their own only on
		// an error, which they print to stderr (as does the race
		// detector).
		if err := h.cmd.Wait(); err == nil || h.stderr.Len() > 0 {
			stats.exited++
			t.Errorf("trial %d: %s failed before the kill: %v\nstderr:\n%s", trial, role, err, h.stderr)
		} else {
			stats.killed++
		}

		// What the child reported.
		var begun string
		for _, l := range lines {
			verb, arg, _ := strings.Cut(l, " ")
			switch verb {
			case "begin":
				begun = arg
			case "committed":
				if arg != begun {
					t.Fatalf("trial %d: committed %s while %s was begun", trial, arg, begun)
				}
				want[arg] = hex.EncodeToString(procRefID(arg))
				begun = ""
				stats.committed++
			case "compaction-error":
				t.Errorf("trial %d: auto-compaction: %s", trial, arg)
			}
		}

		got, _ := procReadAll(t, dir, stack.Options{ContentCompare: trial%4 >= 2})
		if begun != "" {
			// Killed during this commit: it may or may not have happened,
			// but from now on it must stay whichever it is.
			if _, ok := got[begun]; ok {
				want[begun] = hex.EncodeToString(procRefID(begun))
				stats.inFlight++
			}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("trial %d (%s killed after %v): refs (-want +got):\n%s", trial, role, delay, diff)
		}

		var fresh []string
		for _, name := range procLeftovers(t, dir) {
			if !prevLeft[name] {
				fresh = append(fresh, name)
				prevLeft[name] = true
			}
		}
		if len(fresh) > 0 {
			t.Logf("trial %d: %s killed after %v (%d lines of output, %d tables) left %q", trial, role, delay, len(lines), procTables(t, dir), fresh)
		}
	}

	// Whatever the kills left behind, the stack still compacts (breaking
	// the locks left) and keeps everything.
	st, err := stack.Open(dir, parentOpts)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CompactAll(ctx, nil); err != nil {
		t.Errorf("CompactAll after the trials: %v", err)
	}
	st.Close()
	got, _ := procReadAll(t, dir, stack.Options{})
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("refs after the final CompactAll (-want +got):\n%s", diff)
	}
	// Clean removes the rest: stale locks of tables compacted away, and
	// the holder files and temporary tables of killed processes.
	if st, err = stack.Open(dir, parentOpts); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Clean(ctx, time.Hour); err != nil {
		t.Errorf("Clean after the trials: %v", err)
	}
	st.Close()
	for _, name := range procLeftovers(t, dir) {
		if strings.HasSuffix(name, ".lock") || strings.HasSuffix(name, ".holder") || strings.HasSuffix(name, ".temp") {
			t.Errorf("left after the final CompactAll and Clean: %s", name)
		}
	}
	t.Logf("%d trials in %v: %d killed, %d exited, %d refs reported committed, %d committed in flight, %d refs in all",
		trials, time.Since(start).Round(time.Millisecond), stats.killed, stats.exited, stats.committed, stats.inFlight, len(want))
}
