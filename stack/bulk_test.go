package stack

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// listedTables returns the bytes of the stack's tables, in list order.
func listedTables(t *testing.T, dir string) [][]byte {
	t.Helper()
	list, err := os.ReadFile(filepath.Join(dir, "tables.list"))
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for _, name := range strings.Fields(string(list)) {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// randomBatch returns n updates of names drawn from a tree of names (so
// that some are directories of others), of every kind a transaction
// takes; mostly creates, as a bulk update has.
func randomBatch(rng *rand.Rand, n int) []Update {
	name := func() string {
		var b strings.Builder
		b.WriteString([]string{"refs/heads/", "refs/tags/", "refs/heads/b/"}[rng.IntN(3)])
		for d := range 1 + rng.IntN(3) {
			if d > 0 {
				b.WriteByte([]byte{'/', '/', '-'}[rng.IntN(3)])
			}
			fmt.Fprintf(&b, "%c%d", 'a'+rng.IntN(3), rng.IntN(40))
		}
		return b.String()
	}
	var us []Update
	for range n {
		u := Update{Ref: Ref{Name: name(), ID: oid(1 + rng.IntN(3))}, Deref: rng.IntN(2) == 0, Message: "bulk\nline"}
		switch rng.IntN(12) {
		case 0:
			u.ID = nil // delete
		case 1:
			u.Old = &Ref{ID: oid(1 + rng.IntN(3))}
		case 2:
			u.ID, u.Target = nil, name()
		case 3:
			u.Verify, u.Old = true, &Ref{}
		case 4:
			u.Name = "HEAD"
		default:
			u.Old = &Ref{}
		}
		us = append(us, u)
	}
	return us
}

// TestFusedWriteSameTables commits random transactions, small ones and
// bulk ones, to two stacks, one with the fused write (addFused) and one
// writing its table before fusing it: every commit must fail or succeed
// alike, with the same error, and leave byte-identical tables.
func TestFusedWriteSameTables(t *testing.T) {
	rng := rand.New(rand.NewPCG(20, 1))
	dirA, dirB := t.TempDir(), t.TempDir()
	optB := testOptions()
	optB.noFusedWrite = true
	a, b := openStack(t, dirA, testOptions()), openStack(t, dirB, optB)
	for _, st := range []*Stack{a, b} {
		if err := commitTx(st, Update{Ref: Ref{Name: "HEAD", Target: "refs/heads/main"}}, Update{Ref: Ref{Name: "refs/heads/main", ID: oid(1)}, Message: "init"}); err != nil {
			t.Fatal(err)
		}
	}
	for round := range 60 {
		n := 1 + rng.IntN(6)
		if round%3 == 0 {
			n = 200 + rng.IntN(2000)
		}
		us := randomBatch(rng, n)
		if round%2 == 0 {
			// Bulk inputs come sorted, and mostly do not conflict.
			slices.SortStableFunc(us, func(x, y Update) int { return strings.Compare(x.Name, y.Name) })
			us = slices.CompactFunc(us, func(x, y Update) bool { return x.Name == y.Name })
		}
		var errs [2]string
		for i, st := range []*Stack{a, b} {
			tx := st.NewTransaction(testWho, ReflogNormal)
			tx.Add(us...)
			if err := tx.Commit(ctx); err != nil {
				errs[i] = err.Error()
			}
		}
		if errs[0] != errs[1] {
			t.Fatalf("round %d: fused write: %q, table written first: %q", round, errs[0], errs[1])
		}
		if diff := cmp.Diff(listedTables(t, dirB), listedTables(t, dirA)); diff != "" {
			t.Fatalf("round %d (%d updates, error %q): tables differ (-written first +fused write)", round, n, errs[0])
		}
		if round%20 == 19 {
			// A large stack is not fused: start again from a small one.
			for _, st := range []*Stack{a, b} {
				if err := st.CompactAll(ctx, nil); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	if a.fusedWrites == 0 {
		t.Error("no commit took the fused write")
	}
}

// splitOptions are testOptions with directory/file conflicts checked in
// two halves at once from 2 changes on (see checkDirFile).
func splitOptions() Options {
	o := testOptions()
	o.dirFileSplit = 2
	return o
}

// TestBulkConflicts checks the directory/file conflicts and the
// duplicates of a large sorted transaction, the conflict placed early,
// in the middle and last, against what checking each name by searching
// reports. The conflicts are checked in two halves at once (as a bulk
// transaction's are), so each case has a conflict in either half or
// across them, and the first in order is the one reported.
func TestBulkConflicts(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	const n = 5000
	base := func() []Update {
		us := make([]Update, n)
		for i := range us {
			us[i] = Update{Ref: Ref{Name: fmt.Sprintf("refs/heads/b/%05d", i), ID: oid(1)}, Old: &Ref{}, Deref: true}
		}
		return us
	}
	existing := []string{"refs/heads/b/00100-x", "refs/heads/b/02000-y", "refs/heads/b/04999.z", "refs/heads/c"}
	for _, at := range []int{0, 1, 2500, n - 1} {
		name := fmt.Sprintf("refs/heads/b/%05d", at)
		cases := []struct {
			what string
			edit func([]Update) []Update
			want string
		}{
			{"below, in the transaction", func(us []Update) []Update {
				return slices.Insert(us, at+1, Update{Ref: Ref{Name: name + "/sub", ID: oid(2)}})
			}, "ref " + name + ": conflicts with ref " + name + "/sub in the same transaction"},
			{"existing below", func(us []Update) []Update {
				return append(us, Update{Ref: Ref{Name: "refs/heads/c/" + name, ID: oid(2)}})
			}, "ref refs/heads/c/" + name + ": conflicts with existing ref refs/heads/c"},
			{"updated twice", func(us []Update) []Update {
				return slices.Insert(us, at+1, us[at])
			}, "ref " + name + ": updated twice in one transaction"},
			{"updated twice, unsorted", func(us []Update) []Update {
				us = append(us, us[at])
				us[0], us[n-1] = us[n-1], us[0]
				return us
			}, "ref " + name + ": updated twice in one transaction"},
		}
		for _, c := range cases {
			t.Run(fmt.Sprintf("%s/%d", c.what, at), func(t *testing.T) {
				st := openStack(t, t.TempDir(), splitOptions())
				var setup []Update
				for _, e := range existing {
					setup = append(setup, Update{Ref: Ref{Name: e, ID: oid(3)}})
				}
				if err := commitTx(st, setup...); err != nil {
					t.Fatal(err)
				}
				err := commitTx(st, c.edit(base())...)
				got := ""
				if err != nil {
					got = strings.TrimSuffix(err.Error(), ": "+ErrRefName.Error())
				}
				if got != c.want {
					t.Errorf("got %q, want %q", got, c.want)
				}
			})
		}
	}
	// Existing refs below the names of the batch, and a batch name below
	// an existing ref, wherever they sort.
	for _, tc := range []struct{ existing, want string }{
		{"refs/heads/b/00100/x refs/heads/b/04000/x", "ref refs/heads/b/00100: conflicts with existing ref refs/heads/b/00100/x"},
		{"refs/heads/b/00100/x", "ref refs/heads/b/00100: conflicts with existing ref refs/heads/b/00100/x"},
		{"refs/heads/b/04999/x/y", "ref refs/heads/b/04999: conflicts with existing ref refs/heads/b/04999/x/y"},
		{"refs/heads/b", "ref refs/heads/b/00000: conflicts with existing ref refs/heads/b"},
		{"refs/heads/b/02000-y", ""},
	} {
		t.Run("existing "+tc.existing, func(t *testing.T) {
			st := openStack(t, t.TempDir(), splitOptions())
			var setup []Update
			for _, name := range strings.Fields(tc.existing) {
				setup = append(setup, Update{Ref: Ref{Name: name, ID: oid(3)}})
			}
			if err := commitTx(st, setup...); err != nil {
				t.Fatal(err)
			}
			err := commitTx(st, base()...)
			got := ""
			if err != nil {
				got = strings.TrimSuffix(err.Error(), ": "+ErrRefName.Error())
			}
			if got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// TestRefsBelowSteps checks the stepping cursor of checkDirFile against
// seeking for every key, over keys that mostly increase.
func TestRefsBelowSteps(t *testing.T) {
	st := openStack(t, t.TempDir(), testOptions())
	var us []Update
	for i := range 300 {
		us = append(us, Update{Ref: Ref{Name: fmt.Sprintf("refs/x/%03d/%d", i/3, i%3), ID: oid(1)}})
	}
	if err := commitTx(st, us...); err != nil {
		t.Fatal(err)
	}
	snap, err := st.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	var b refsBelow
	b.snap = snap
	defer b.close()
	for i := range 2000 {
		k := i / 20
		if rng.IntN(10) == 0 {
			k = rng.IntN(110)
		}
		key := []byte(fmt.Sprintf("refs/x/%03d/", k))
		gone := func(name []byte) bool { return bytes.HasSuffix(name, []byte("/0")) && k%2 == 0 }
		got, err := b.first(key, gone)
		if err != nil {
			t.Fatal(err)
		}
		var want []byte
		for r, err := range snap.merged.Refs(key) {
			if err != nil {
				t.Fatal(err)
			}
			if !gone(r.Name) {
				want = r.Name
				break
			}
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("key %s: got %q, want %q", key, got, want)
		}
	}
}

// TestRefWalker: the forward lookups of a bulk transaction, of refs and
// of reflogs, answer as a search for each name does, in a stack of
// several tables with refs deleted (and their reflogs) and changed in
// newer ones, for names that increase densely, skip ahead, go back,
// repeat, or are absent.
func TestRefWalker(t *testing.T) {
	opts := testOptions()
	opts.DisableAutoCompaction = true
	st := openStack(t, t.TempDir(), opts)
	rng := rand.New(rand.NewPCG(3, 4))
	name := func(i int) string { return fmt.Sprintf("refs/heads/r%05d", i) }
	for table := range 3 {
		var us []Update
		for i := range 3000 {
			switch {
			case table == 0 && i%2 == 0:
				us = append(us, Update{Ref: Ref{Name: name(i), ID: oid(i%50 + 1)}})
			case table > 0 && rng.IntN(10) == 0:
				us = append(us, Update{Ref: Ref{Name: name(i)}}) // a deletion
			case table > 0 && rng.IntN(10) == 0:
				us = append(us, Update{Ref: Ref{Name: name(i), ID: oid(table)}})
			}
		}
		if err := commitTx(st, us...); err != nil {
			t.Fatal(err)
		}
	}
	snap, err := st.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Close()
	walk := refWalker{snap: snap}
	defer walk.close()
	logs := logWalker{snap: snap}
	defer logs.close()
	var sc lookupScratch
	i := 0
	for range 5000 {
		switch r := rng.IntN(20); {
		case r < 14:
			i++
		case r < 17:
			i += rng.IntN(100)
		case r < 18: // the same name again
		default:
			i = max(0, i-rng.IntN(200))
		}
		n := name(i % 3100)
		want, err := lookup(snap, n, &sc)
		if err != nil {
			t.Fatal(err)
		}
		got, err := walk.lookup(n)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("%s (-search +walk):\n%s", n, diff)
		}
		var wantLogs []uint64
		for l, err := range snap.merged.LogsFor([]byte(n)) {
			if err != nil {
				t.Fatal(err)
			}
			wantLogs = append(wantLogs, l.UpdateIndex)
		}
		gotLogs, err := logs.indexes(n, nil)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(wantLogs, gotLogs); diff != "" {
			t.Fatalf("%s reflog (-search +walk):\n%s", n, diff)
		}
	}
}
