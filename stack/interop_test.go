package stack_test

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/refstore/refstore/internal/testutil/gittest"
	"github.com/refstore/refstore/reftable"
	"github.com/refstore/refstore/stack"
)

// interopWho is the identity of the reflog entries our side writes.
var interopWho = stack.Identity{Name: "O U Rs", Email: "ours@example.com", Time: time.Unix(1700000000, 0).UTC()}

// TestGitInterop has real git and this package write the same stack at
// the same time, both with auto-compaction, then checks that each side
// reads everything, that git's fsck and refs verify are clean, and that
// each side reads what the other compacted.
func TestGitInterop(t *testing.T) {
	n := 500 // about 10 s with -race on 2 cores
	if testing.Short() {
		n = 100
	}
	t.Run("sha1", func(t *testing.T) { testGitInterop(t, "sha1", reftable.SHA1, n) })
	t.Run("sha256", func(t *testing.T) { testGitInterop(t, "sha256", reftable.SHA256, 50) })
}

func testGitInterop(t *testing.T, format string, hash reftable.Hash, n int) {
	r := gittest.Init(t, format)
	// gittest.Init turns git's auto-compaction off so that every git
	// command adds one table; here git must compact as it does for users,
	// concurrently with our compactions.
	env := r.Env[:0:0]
	for _, kv := range r.Env {
		if !strings.HasPrefix(kv, "GIT_TEST_REFTABLE_AUTOCOMPACTION=") {
			env = append(env, kv)
		}
	}
	r.Env = env
	r.Run("commit", "-q", "--allow-empty", "-m", "initial")
	// git's default of 100 ms is too short against a writer that commits
	// in a loop (t0610 "many concurrent writers" uses 10 s too).
	r.Run("config", "reftable.lockTimeout", "10000")
	oidHex := strings.TrimSpace(r.Run("rev-parse", "HEAD"))
	oid, err := hex.DecodeString(oidHex)
	if err != nil || len(oid) != hash.Size() {
		t.Fatalf("git rev-parse HEAD = %q: %v", oidHex, err)
	}
	dir := r.ReftableDir()
	opts := stack.Options{LockTimeout: -1, Hash: hash}

	want := map[string]string{"refs/heads/main": oidHex}
	for i := range n {
		want[fmt.Sprintf("refs/heads/git/%d", i)] = oidHex
		want[fmt.Sprintf("refs/heads/ours/%d", i)] = oidHex
	}

	start := time.Now()
	var wg sync.WaitGroup
	var gitErr, ourErr error
	var gitTime, ourTime time.Duration
	wg.Go(func() {
		// Not r.Run: it calls t.Fatal, which must not run off the test's
		// goroutine. Only this goroutine uses r until wg.Wait.
		for i := range n {
			if _, err := r.RunInput("", "update-ref", fmt.Sprintf("refs/heads/git/%d", i), oidHex); err != nil {
				gitErr = err
				return
			}
		}
		gitTime = time.Since(start)
	})
	var ourStats stack.Stats
	var compactionErrs []error
	wg.Go(func() {
		var mu sync.Mutex
		o := opts
		o.OnCompactionError = func(err error) {
			mu.Lock()
			defer mu.Unlock()
			compactionErrs = append(compactionErrs, err)
		}
		st, err := stack.Open(dir, o)
		if err != nil {
			ourErr = err
			return
		}
		defer st.Close()
		for i := range n {
			tx := st.NewTransaction(interopWho, stack.ReflogNormal)
			tx.Add(stack.Update{Ref: stack.Ref{Name: fmt.Sprintf("refs/heads/ours/%d", i), ID: oid}, Old: &stack.Ref{}, Message: "ours"})
			if err := tx.Commit(ctx); err != nil {
				ourErr = fmt.Errorf("commit %d: %w", i, err)
				return
			}
		}
		ourTime = time.Since(start)
		ourStats = st.Stats()
	})
	wg.Wait()
	if gitErr != nil {
		t.Fatalf("git: %v", gitErr)
	}
	if ourErr != nil {
		t.Fatalf("ours: %v", ourErr)
	}
	for _, err := range compactionErrs {
		t.Errorf("our auto-compaction: %v", err)
	}
	t.Logf("%d git update-refs in %v, %d of our commits in %v (%+v); %d tables",
		n, gitTime.Round(time.Millisecond), n, ourTime.Round(time.Millisecond), ourStats, len(interopTables(t, dir)))

	interopCheck(t, r, opts, want, "after the concurrent writes")
	interopReflogs(t, r, opts, oid, "after the concurrent writes")
	for _, args := range [][]string{{"fsck", "--strict", "--no-progress"}, {"refs", "verify", "--strict"}} {
		if out := interopClean(t, r, args...); out != "" {
			t.Errorf("git %s:\n%s", strings.Join(args, " "), out)
		}
	}

	// We compact everything; git reads it.
	st, err := stack.Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.CompactAll(ctx, nil); err != nil {
		t.Fatalf("CompactAll: %v", err)
	}
	if tables := interopTables(t, dir); len(tables) != 1 {
		t.Errorf("tables after CompactAll: %q, want one", tables)
	}
	interopCheck(t, r, opts, want, "after our CompactAll")

	// Git writes one more table and compacts everything; we read it,
	// through the stack open since before and through a fresh one.
	r.Run("update-ref", "refs/heads/git/last", oidHex)
	want["refs/heads/git/last"] = oidHex
	r.Run("pack-refs", "--all")
	if tables := interopTables(t, dir); len(tables) != 1 {
		t.Errorf("tables after git pack-refs --all: %q, want one", tables)
	}
	got, err := interopOurRefs(st)
	if err != nil {
		t.Fatalf("reading git's compacted stack: %v", err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("our refs after git pack-refs --all, stack opened before (-want +got):\n%s", diff)
	}
	interopCheck(t, r, opts, want, "after git pack-refs --all")
	interopReflogs(t, r, opts, oid, "after git pack-refs --all")
	for _, args := range [][]string{{"fsck", "--strict", "--no-progress"}, {"refs", "verify", "--strict"}} {
		if out := interopClean(t, r, args...); out != "" {
			t.Errorf("git %s at the end:\n%s", strings.Join(args, " "), out)
		}
	}
}

// interopCheck compares the refs git lists and the refs a fresh Stack
// lists with want, and checks HEAD.
func interopCheck(t *testing.T, r *gittest.Repo, opts stack.Options, want map[string]string, when string) {
	t.Helper()
	gitRefs := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(r.Run("for-each-ref", "--format=%(refname) %(objectname)")), "\n") {
		name, id, ok := strings.Cut(line, " ")
		if !ok {
			t.Fatalf("git for-each-ref: bad line %q", line)
		}
		gitRefs[name] = id
	}
	if diff := cmp.Diff(want, gitRefs); diff != "" {
		t.Errorf("git for-each-ref %s (-want +got):\n%s", when, diff)
	}
	st, err := stack.Open(r.ReftableDir(), opts)
	if err != nil {
		t.Fatalf("open %s: %v", when, err)
	}
	defer st.Close()
	ours, err := interopOurRefs(st)
	if err != nil {
		t.Fatalf("our refs %s: %v", when, err)
	}
	if diff := cmp.Diff(want, ours); diff != "" {
		t.Errorf("our refs %s (-want +got):\n%s", when, diff)
	}
	head, err := st.Ref(ctx, "HEAD")
	if err != nil {
		t.Fatalf("HEAD %s: %v", when, err)
	}
	if head.Target != "refs/heads/main" {
		t.Errorf("HEAD %s: %+v, want a symref to refs/heads/main", when, head)
	}
	if got := strings.TrimSpace(r.Run("symbolic-ref", "HEAD")); got != "refs/heads/main" {
		t.Errorf("git symbolic-ref HEAD %s = %q", when, got)
	}
}

// interopReflogs checks that git reads the reflog entry of one of our
// refs and that we read the reflog entry of one of git's.
func interopReflogs(t *testing.T, r *gittest.Repo, opts stack.Options, oid []byte, when string) {
	t.Helper()
	if got := strings.TrimSpace(r.Run("log", "-g", "--format=%H %gs", "refs/heads/ours/0")); got != hex.EncodeToString(oid)+" ours" {
		t.Errorf("git log -g refs/heads/ours/0 %s = %q, want %q", when, got, hex.EncodeToString(oid)+" ours")
	}
	st, err := stack.Open(r.ReftableDir(), opts)
	if err != nil {
		t.Fatalf("open %s: %v", when, err)
	}
	defer st.Close()
	snap, err := st.Snapshot(ctx)
	if err != nil {
		t.Fatalf("snapshot %s: %v", when, err)
	}
	defer snap.Close()
	var news []string
	for l, err := range snap.Merged().LogsFor([]byte("refs/heads/git/0")) {
		if err != nil {
			t.Fatalf("reflog of refs/heads/git/0 %s: %v", when, err)
		}
		news = append(news, hex.EncodeToString(l.New))
	}
	if diff := cmp.Diff([]string{hex.EncodeToString(oid)}, news); diff != "" {
		t.Errorf("our reading of git's reflog of refs/heads/git/0 %s (-want +got):\n%s", when, diff)
	}
}

// interopOurRefs lists the refs under refs/ as name -> hex object id.
func interopOurRefs(st *stack.Stack) (map[string]string, error) {
	got := map[string]string{}
	for rec, err := range st.Refs(ctx, "refs/") {
		if err != nil {
			return nil, err
		}
		got[rec.Name] = hex.EncodeToString(rec.ID)
	}
	return got, nil
}

// interopClean runs a checking git command and returns its output, empty
// when it succeeded silently.
func interopClean(t *testing.T, r *gittest.Repo, args ...string) string {
	t.Helper()
	cmd := exec.Command(r.Git, append([]string{"-C", r.Dir}, args...)...)
	cmd.Env = r.Env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Sprintf("%v\n%s", err, out.String())
	}
	return out.String()
}

// interopTables returns the tables listed in dir's tables.list.
func interopTables(t *testing.T, dir string) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "tables.list"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.Fields(string(data))
}
