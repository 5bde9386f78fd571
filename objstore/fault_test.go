package objstore

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/refstore/refstore/stack"
	"github.com/refstore/refstore/stack/stacktest"
	"github.com/refstore/refstore/stack/storage"
)

var errFault = errors.New("injected fault")

// faultMode is what happens to the faulted call.
type faultMode string

const (
	failCall  faultMode = "fail"  // fails without effect
	loseReply faultMode = "lost"  // takes effect, then fails
	loseRace  faultMode = "rival" // another stack commits first
)

// TestFaults injects, for every store operation and every n, a fault into
// the n-th call of the operation during a commit (with auto-compaction)
// and during a full compaction: the call fails, or takes effect and loses
// its reply, or another Stack commits just before it. Afterwards no
// listed table is missing, a commit that returned nil is there, one that
// failed (not after its commit point) is not, the other Stack's commits
// are all there, the stack takes a new commit, and Clean leaves exactly
// the listed tables.
func TestFaults(t *testing.T) {
	ops := []Op{OpGet, OpHead, OpReadAt, OpPut, OpDelete, OpList}
	for _, mode := range []faultMode{failCall, loseReply, loseRace} {
		for _, work := range []string{"commit", "compact"} {
			for _, op := range ops {
				for n := 1; ; n++ {
					if !faultTrial(t, mode, work, op, n) {
						t.Logf("%s %s %s: %d trials", mode, work, op, n-1)
						break
					}
					if n > 200 {
						t.Fatalf("%s %s %s: no end", mode, work, op)
					}
				}
			}
		}
	}
}

// faultTrial runs one trial and reports whether the fault was injected.
func faultTrial(t *testing.T, mode faultMode, work string, op Op, n int) bool {
	where := fmt.Sprintf("%s the %s #%d during %s", mode, op, n, work)
	m := NewMem()
	stor := stacktest.Storage(func() storage.Backend {
		b, err := NewBackend(t.Context(), m, Options{Prefix: "p/", CacheSize: -1})
		if err != nil {
			t.Fatal(err)
		}
		return b
	})
	opts := stacktest.Options()
	opts.LockTimeout = 0
	var compactionErrs []error
	opts.OnCompactionError = func(err error) { compactionErrs = append(compactionErrs, err) }
	st, err := stack.OpenBackend(ctx, stor(), where, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rival, err := stack.OpenBackend(ctx, stor(), "rival", opts)
	if err != nil {
		t.Fatal(err)
	}
	defer rival.Close()
	setupOpts := opts
	setupOpts.DisableAutoCompaction = true
	setup, err := stack.OpenBackend(ctx, stor(), "setup", setupOpts)
	if err != nil {
		t.Fatal(err)
	}
	defer setup.Close()
	for i := range 4 {
		if err := stacktest.Set(setup, fmt.Sprintf("refs/heads/b%d", i), i, nil); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]int{"refs/heads/b0": 0, "refs/heads/b1": 1, "refs/heads/b2": 2, "refs/heads/b3": 3}

	// The hook may run on several goroutines at once (a stack opens its
	// tables together); only the n-th op injects.
	var injected, inRival atomic.Bool
	rivals := 0
	m.SetHook(func(o Op, key string, k int, apply func() error) error {
		if inRival.Load() || o != op || k != n {
			return apply()
		}
		injected.Store(true)
		switch mode {
		case failCall:
			return errFault
		case loseReply:
			if err := apply(); err != nil {
				return err
			}
			return errFault
		}
		inRival.Store(true)
		rivals++
		name := fmt.Sprintf("refs/heads/rival%d", rivals)
		if err := stacktest.Set(rival, name, 50+rivals, nil); err != nil {
			t.Errorf("%s: the rival's commit: %v", where, err)
		} else {
			want[name] = 50 + rivals
		}
		inRival.Store(false)
		return apply()
	})
	switch work {
	case "commit":
		err = stacktest.Set(st, "refs/heads/x", 100, &stack.Ref{})
	case "compact":
		err = st.CompactAll(ctx, nil)
	}
	m.SetHook(nil)
	if !injected.Load() {
		return false
	}

	got := stacktest.Check(t, stor)
	var committed *stack.CommittedError
	if work == "commit" {
		switch {
		case err == nil || errors.As(err, &committed):
			want["refs/heads/x"] = 100
		case errors.Is(err, stack.ErrCommitUncertain):
			if _, ok := got["refs/heads/x"]; ok {
				want["refs/heads/x"] = 100
			}
		case mode == loseRace:
			t.Errorf("%s: the commit failed: %v", where, err)
		}
		if err != nil && !errors.Is(err, errFault) {
			t.Errorf("%s: error %v does not report the fault", where, err)
		}
	}
	if work == "compact" && mode == loseRace && err != nil && !errors.Is(err, stack.ErrOutdated) {
		t.Errorf("%s: the compaction failed: %v", where, err)
	}
	for name, v := range want {
		if got[name] != fmt.Sprintf("%x", stacktest.OID(v)) {
			t.Errorf("%s: %s = %q, want %x (err %v)", where, name, got[name], stacktest.OID(v), err)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%s: refs %v, want %v (err %v)", where, got, want, err)
	}
	if err := stacktest.Set(st, "refs/heads/after", 7, &stack.Ref{}); err != nil {
		t.Errorf("%s: a commit after the fault: %v", where, err)
	}
	checkClean(t, where, st, m, "p/")
	return true
}

// checkClean runs Clean and checks that it leaves only the listed tables
// and those it keeps because a listed run spans their update indexes (a
// failed commit's table may span the run a later commit wrote); after
// another commit and a full compaction no run spans them, and a second
// Clean leaves exactly the listed tables.
func checkClean(t *testing.T, where string, st *stack.Stack, m *Mem, prefix string) {
	t.Helper()
	stored := func() (stored, listed []string) {
		listed = tableKeys(t, m, prefix+"tables.list")
		objs, _ := m.List(t.Context(), prefix)
		for _, o := range objs {
			if strings.HasSuffix(o.Key, ".ref") {
				stored = append(stored, strings.TrimPrefix(o.Key, prefix))
			}
		}
		slices.Sort(listed)
		return stored, listed
	}
	res, err := st.Clean(ctx, 0)
	if err != nil {
		t.Errorf("%s: Clean: %v", where, err)
	}
	tables, listed := stored()
	for _, n := range tables {
		if !slices.Contains(listed, n) && !slices.Contains(res.Kept, n+": a compaction of the listed tables it spans may still publish it") {
			t.Errorf("%s: Clean kept %s (%q)", where, n, res.Kept)
		}
	}
	if err := stacktest.Set(st, "refs/heads/after2", 8, &stack.Ref{}); err != nil {
		t.Errorf("%s: a second commit after the fault: %v", where, err)
	}
	if err := st.CompactAll(ctx, nil); err != nil {
		t.Errorf("%s: compaction after the fault: %v", where, err)
	}
	if _, err := st.Clean(ctx, 0); err != nil {
		t.Errorf("%s: Clean: %v", where, err)
	}
	if tables, listed := stored(); !slices.Equal(listed, tables) {
		t.Errorf("%s: after commits, a compaction and Clean, tables %v, listed %v", where, tables, listed)
	}
}

func tableKeys(t *testing.T, m *Mem, key string) []string {
	t.Helper()
	data, _, err := m.Get(t.Context(), key, "")
	if err != nil {
		t.Fatal(err)
	}
	names, err := storage.ParseList(data)
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// TestCommitUncertain: when the list's PUT loses its reply and the list
// cannot be read back, the commit reports ErrCommitUncertain and keeps
// its table, whether the PUT took effect (the ref is there and readable)
// or not (Clean removes the table once it is provably unpublished).
func TestCommitUncertain(t *testing.T) {
	for _, applied := range []bool{true, false} {
		m := NewMem()
		st := openMem(t, m, stack.Options{DisableAutoCompaction: true})
		if err := stacktest.Set(st, "refs/heads/a", 1, nil); err != nil {
			t.Fatal(err)
		}
		listPut := false
		m.SetHook(func(op Op, key string, n int, apply func() error) error {
			switch {
			case op == OpPut && strings.HasSuffix(key, "tables.list"):
				listPut = true
				if applied {
					apply()
				}
				return errFault
			case op == OpGet && listPut:
				return errFault
			}
			return apply()
		})
		err := stacktest.Set(st, "refs/heads/x", 2, nil)
		m.SetHook(nil)
		if !errors.Is(err, stack.ErrCommitUncertain) || !errors.Is(err, errFault) {
			t.Fatalf("applied %v: %v, want ErrCommitUncertain", applied, err)
		}
		objs, _ := m.List(t.Context(), "repo/")
		tables := 0
		for _, o := range objs {
			if strings.HasSuffix(o.Key, ".ref") {
				tables++
			}
		}
		if tables != 2 {
			t.Errorf("applied %v: %d tables stored, want 2 (the uncertain one kept)", applied, tables)
		}
		got := stacktest.Check(t, func() storage.Backend {
			b, _ := NewBackend(t.Context(), m, Options{Prefix: "repo/", AllowUnsafe: true})
			return b
		})
		if _, ok := got["refs/heads/x"]; ok != applied {
			t.Errorf("applied %v: refs %v", applied, got)
		}
		if err := stacktest.Set(st, "refs/heads/after", 3, nil); err != nil {
			t.Fatal(err)
		}
		checkClean(t, fmt.Sprintf("applied %v", applied), st, m, "repo/")
	}
}

// TestCommitAppliedLate: the list's PUT fails at the client (its reply
// is lost, a timeout) while the store applies it only after the commit
// read the list back, unchanged. The commit must report
// ErrCommitUncertain and keep its table: the list the late PUT installs
// names it. (Before, the read-back was taken for a refusal, the table
// was removed, and the stack named a missing table.)
func TestCommitAppliedLate(t *testing.T) {
	for _, fused := range []bool{true, false} {
		m := NewMem()
		st := openMem(t, m, stack.Options{DisableAutoCompaction: !fused})
		if err := stacktest.Set(st, "refs/heads/a", 1, nil); err != nil {
			t.Fatal(err)
		}
		var late func() error
		m.SetHook(func(op Op, key string, n int, apply func() error) error {
			switch {
			case op == OpPut && strings.HasSuffix(key, "tables.list") && late == nil:
				late = apply
				return errFault
			case op == OpGet && late != nil:
				err := apply()
				late()
				return err
			}
			return apply()
		})
		err := stacktest.Set(st, "refs/heads/x", 2, nil)
		m.SetHook(nil)
		if !errors.Is(err, stack.ErrCommitUncertain) || !errors.Is(err, errFault) {
			t.Errorf("fused %v: %v, want ErrCommitUncertain", fused, err)
		}
		got := stacktest.Check(t, func() storage.Backend {
			b, _ := NewBackend(t.Context(), m, Options{Prefix: "repo/", AllowUnsafe: true})
			return b
		})
		if _, ok := got["refs/heads/x"]; !ok {
			t.Errorf("fused %v: the late PUT's commit is not readable: %v", fused, got)
		}
	}
}
