package stack_test

import (
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/refstore/refstore/internal/testutil/gittest"
	"github.com/refstore/refstore/stack"
	"github.com/refstore/refstore/vfs"
)

// relockHook is the operating system's file system, calling before once,
// right before the process creates the nth file named tables.list.* (the
// n-th time it takes tables.list.lock).
type relockHook struct {
	vfs.FS
	mu     sync.Mutex
	n      int
	before func()
}

func (h *relockHook) OpenFile(name string, flag int, perm fs.FileMode) (vfs.File, error) {
	if flag&os.O_CREATE != 0 && strings.HasPrefix(filepath.Base(name), "tables.list.") {
		h.mu.Lock()
		h.n--
		run := h.n == 0
		h.mu.Unlock()
		if run {
			h.before()
		}
	}
	return h.FS.OpenFile(name, flag, perm)
}

// TestCompactionBesideGitMaintenance runs git's maintenance (pack-refs
// --auto or --all, gc) while our compaction merges, between its releasing
// tables.list.lock and taking it again, where a compaction is for as long
// as it merges. git's cleanup removes, under the lock, every table file
// that the list does not name and whose update indexes the stack has
// passed: a merged table renamed into place before the list names it is
// such a file, and publishing a list naming it after git removed it
// loses every ref it held. Every ref must survive, and git must find the
// repository sound.
func TestCompactionBesideGitMaintenance(t *testing.T) {
	for _, git := range [][]string{{"pack-refs", "--auto"}, {"pack-refs", "--all"}, {"gc", "--quiet"}} {
		for _, full := range []bool{true, false} {
			name := strings.Join(git, " ")
			if full {
				name += "/compact-all"
			} else {
				name += "/auto"
			}
			t.Run(name, func(t *testing.T) { testCompactionBesideGit(t, git, full) })
		}
	}
}

func testCompactionBesideGit(t *testing.T, git []string, full bool) {
	r := gittest.Init(t, "sha1")
	r.Run("commit", "-q", "--allow-empty", "-m", "initial")
	oidHex := strings.TrimSpace(r.Run("rev-parse", "HEAD"))
	oid, err := hex.DecodeString(oidHex)
	if err != nil {
		t.Fatal(err)
	}
	dir := r.ReftableDir()
	opts := stack.Options{DisableAutoCompaction: true, LockTimeout: 10 * time.Second}
	st, err := stack.Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"refs/heads/main": oidHex}
	// For a full compaction, a stack git's auto-compaction leaves alone
	// (tables of 1024 refs and git's, 256, 64, 16, 2), so that git's
	// pack-refs --auto goes on to its cleanup: git cleans only after
	// compacting, which fails while our compaction holds table locks.
	// For an auto-compaction, tables of 1, 2, 4 ... refs, newest largest,
	// which it merges all.
	sizes := []int{1, 2, 4, 8, 16}
	if full {
		sizes = []int{1024, 256, 64, 16, 2}
	}
	for i, size := range sizes {
		tx := st.NewTransaction(stack.Identity{Name: "T", Email: "t@example.com", Time: time.Unix(1700000000, 0)}, stack.ReflogNormal)
		for j := range size {
			name := fmt.Sprintf("refs/heads/t%d/r%04d", i, j)
			tx.Add(stack.Update{Ref: stack.Ref{Name: name, ID: oid}, Message: "test"})
			want[name] = oidHex
		}
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		if i == 0 && full {
			r.Run("pack-refs", "--all")
		}
	}
	if err := st.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if full && st.CompactionRequired() {
		t.Fatal("git would compact the stack: its cleanup would not run")
	}
	st.Close()

	var gitErr error
	hook := &relockHook{FS: vfs.OS, n: 2, before: func() { _, gitErr = r.RunInput("", git...) }}
	opts.FS = hook
	st, err = stack.Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if full {
		err = st.CompactAll(ctx, nil)
	} else {
		err = st.AutoCompact(ctx)
	}
	if hook.n > 0 {
		t.Fatalf("the compaction did not take the lock again (err %v)", err)
	}
	t.Logf("compaction: %v; git %s meanwhile: %v", err, strings.Join(git, " "), gitErr)

	interopCheckRefs(t, r, want)
	for _, args := range [][]string{{"fsck", "--strict", "--no-progress"}, {"refs", "verify", "--strict"}} {
		if out := interopClean(t, r, args...); out != "" {
			t.Errorf("git %s:\n%s", strings.Join(args, " "), out)
		}
	}
	// And git goes on writing and compacting.
	r.Run("update-ref", "refs/heads/after", oidHex)
	want["refs/heads/after"] = oidHex
	r.Run("pack-refs", "--all")
	interopCheckRefs(t, r, want)
}

// interopCheckRefs compares the refs git lists and those a fresh Stack
// lists with want.
func interopCheckRefs(t *testing.T, r *gittest.Repo, want map[string]string) {
	t.Helper()
	out, err := r.RunInput("", "for-each-ref", "--format=%(refname) %(objectname)")
	if err != nil {
		t.Errorf("git for-each-ref: %v", err)
	}
	got := map[string]string{}
	for _, line := range strings.Fields(strings.ReplaceAll(out, " ", "=")) {
		name, id, _ := strings.Cut(line, "=")
		got[name] = id
	}
	var lost []string
	for name := range want {
		if got[name] != want[name] {
			lost = append(lost, name)
		}
	}
	if len(lost) > 0 || len(got) != len(want) {
		t.Errorf("git for-each-ref lists %d refs, want %d; missing or changed: %d %v", len(got), len(want), len(lost), lost)
	}
	st, err := stack.Open(r.ReftableDir(), stack.Options{})
	if err != nil {
		t.Errorf("open: %v", err)
		return
	}
	defer st.Close()
	ours, err := interopOurRefs(st)
	if err != nil {
		t.Errorf("our refs: %v", err)
	}
	if len(ours) != len(want) {
		t.Errorf("we list %d refs, want %d", len(ours), len(want))
	}
}
