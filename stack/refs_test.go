package stack

import (
	"bytes"
	"errors"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/refstore/refstore/reftable"
)

var testWho = Identity{Name: "A U Thor", Email: "author@example.com", Time: time.Unix(1700000000, 0).In(time.FixedZone("", 5*3600+30*60))}

func commitTx(st *Stack, updates ...Update) error {
	tx := st.NewTransaction(testWho, ReflogNormal)
	for _, u := range updates {
		tx.Add(u)
	}
	return tx.Commit(ctx)
}

func val(i int) Ref { return Ref{ID: oid(i)} }

func ptr(r Ref) *Ref { return &r }

type logLine struct {
	Ref, Old, New, Msg string
	TZ                 int16
}

func reflog(t *testing.T, st *Stack, name string) []logLine {
	t.Helper()
	s, err := st.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var out []logLine
	for l, err := range s.Merged().LogsFor([]byte(name)) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, logLine{string(l.RefName), fmt.Sprintf("%x", l.Old[:2]), fmt.Sprintf("%x", l.New[:2]), string(l.Message), l.TZOffset})
	}
	return out
}

func TestTransactionCompareAndSwap(t *testing.T) {
	st := openStack(t, t.TempDir(), testOptions())
	if err := commitTx(st, Update{Ref: Ref{Name: "refs/heads/main", ID: oid(1)}, Old: &Ref{}, Message: "create"}); err != nil {
		t.Fatal(err)
	}
	// create of an existing ref fails, naming expected and actual.
	err := commitTx(st, Update{Ref: Ref{Name: "refs/heads/main", ID: oid(2)}, Old: &Ref{}})
	var ce *RefConflictError
	if !errors.As(err, &ce) || !errors.Is(err, ErrRefConflict) || ce.Name != "refs/heads/main" || !ce.Actual.sameValue(val(1)) || !ce.Expected.Missing() {
		t.Fatalf("create existing: %v", err)
	}
	// update with the wrong old value fails and changes nothing.
	if err := commitTx(st, Update{Ref: Ref{Name: "refs/heads/main", ID: oid(3)}, Old: ptr(val(7))}, Update{Ref: Ref{Name: "refs/heads/other", ID: oid(3)}}); !errors.Is(err, ErrRefConflict) {
		t.Fatalf("wrong old value: %v", err)
	}
	if _, err := st.Ref(ctx, "refs/heads/other"); !errors.Is(err, reftable.ErrNotFound) {
		t.Fatalf("a failed transaction wrote refs/heads/other: %v", err)
	}
	// update with the right old value succeeds.
	if err := commitTx(st, Update{Ref: Ref{Name: "refs/heads/main", ID: oid(2)}, Old: ptr(val(1)), Message: "move"}); err != nil {
		t.Fatal(err)
	}
	if err := commitTx(st, Update{Ref: Ref{Name: "refs/heads/main"}, Verify: true, Old: ptr(val(2))}); err != nil {
		t.Fatalf("verify: %v", err)
	}
	if err := commitTx(st, Update{Ref: Ref{Name: "refs/heads/main"}, Verify: true, Old: ptr(val(1))}); !errors.Is(err, ErrRefConflict) {
		t.Fatalf("verify of a stale value: %v", err)
	}
	want := []logLine{
		{"refs/heads/main", "0001", "0002", "move\n", 530},
		{"refs/heads/main", "0000", "0001", "create\n", 530},
	}
	if diff := cmp.Diff(want, reflog(t, st, "refs/heads/main")); diff != "" {
		t.Errorf("reflog (-want +got):\n%s", diff)
	}
	// Deleting the ref deletes its reflog.
	if err := commitTx(st, Update{Ref: Ref{Name: "refs/heads/main"}, Old: ptr(val(2))}); err != nil {
		t.Fatal(err)
	}
	if got := reflog(t, st, "refs/heads/main"); len(got) != 0 {
		t.Errorf("reflog after delete: %v", got)
	}
	if _, err := st.Ref(ctx, "refs/heads/main"); !errors.Is(err, reftable.ErrNotFound) {
		t.Errorf("deleted ref: %v", err)
	}
}

func TestTransactionSymrefDeref(t *testing.T) {
	st := openStack(t, t.TempDir(), testOptions())
	if err := commitTx(st,
		Update{Ref: Ref{Name: "HEAD", Target: "refs/heads/main"}},
		Update{Ref: Ref{Name: "refs/heads/main", ID: oid(1)}, Message: "init"},
	); err != nil {
		t.Fatal(err)
	}
	if err := commitTx(st, Update{Ref: Ref{Name: "HEAD", ID: oid(2)}, Deref: true, Old: ptr(val(1)), Message: "commit: two"}); err != nil {
		t.Fatal(err)
	}
	r, err := st.Ref(ctx, "HEAD")
	if err != nil || !r.Symbolic() || r.Target != "refs/heads/main" {
		t.Fatalf("HEAD = %v, %v", r, err)
	}
	if got := refValue(t, st, "refs/heads/main"); !bytes.Equal(got, oid(2)) {
		t.Fatalf("main = %x", got)
	}
	if diff := cmp.Diff([]logLine{{"HEAD", "0001", "0002", "commit: two\n", 530}}, reflog(t, st, "HEAD")); diff != "" {
		t.Errorf("HEAD reflog (-want +got):\n%s", diff)
	}
	if n := len(reflog(t, st, "refs/heads/main")); n != 2 {
		t.Errorf("main reflog has %d entries, want 2", n)
	}
	// Updating the current branch directly logs HEAD too, as git does.
	if err := commitTx(st, Update{Ref: Ref{Name: "refs/heads/main", ID: oid(3)}, Message: "reset: moving"}); err != nil {
		t.Fatal(err)
	}
	if got := reflog(t, st, "HEAD"); len(got) != 2 || got[0].New != "0003" {
		t.Errorf("HEAD reflog after a direct update of its branch: %v", got)
	}
}

func TestTransactionDirFileConflicts(t *testing.T) {
	st := openStack(t, t.TempDir(), testOptions())
	if err := commitTx(st, Update{Ref: Ref{Name: "refs/heads/a", ID: oid(1)}}, Update{Ref: Ref{Name: "refs/heads/b/c", ID: oid(1)}}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"refs/heads/a/b", "refs/heads/b", "refs/heads/a/b/c"} {
		if err := commitTx(st, Update{Ref: Ref{Name: name, ID: oid(2)}}); !errors.Is(err, ErrRefName) {
			t.Errorf("create %s: %v, want a directory/file conflict", name, err)
		}
	}
	// Deleting the blocking ref in the same transaction resolves it.
	if err := commitTx(st, Update{Ref: Ref{Name: "refs/heads/a"}}, Update{Ref: Ref{Name: "refs/heads/a/b", ID: oid(2)}}); err != nil {
		t.Errorf("replace refs/heads/a by refs/heads/a/b: %v", err)
	}
	if err := commitTx(st, Update{Ref: Ref{Name: "refs/heads/x", ID: oid(2)}}, Update{Ref: Ref{Name: "refs/heads/x/y", ID: oid(2)}}); !errors.Is(err, ErrRefName) {
		t.Errorf("conflict inside one transaction: %v", err)
	}
}

func TestTransactionRejects(t *testing.T) {
	st := openStack(t, t.TempDir(), testOptions())
	tests := []struct {
		name    string
		updates []Update
		want    error
	}{
		{"invalid name", []Update{{Ref: Ref{Name: "refs/heads/a..b", ID: oid(1)}}}, ErrRefName},
		{"not under refs", []Update{{Ref: Ref{Name: "main", ID: oid(1)}}}, ErrRefName},
		{"invalid symref target", []Update{{Ref: Ref{Name: "HEAD", Target: "refs/heads/a b"}}}, ErrRefName},
		{"twice", []Update{{Ref: Ref{Name: "refs/heads/a", ID: oid(1)}}, {Ref: Ref{Name: "refs/heads/a", ID: oid(2)}}}, ErrRefName},
		{"short id", []Update{{Ref: Ref{Name: "refs/heads/a", ID: []byte{1, 2}}}}, reftable.ErrHashMismatch},
	}
	for _, tt := range tests {
		if err := commitTx(st, tt.updates...); !errors.Is(err, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
	}
	if s, _ := st.Snapshot(ctx); len(s.TableNames()) != 0 {
		t.Errorf("rejected transactions wrote tables: %v", s.TableNames())
	}
}

// TestTransactionPrepare checks that Prepare holds the lock until Commit
// or Close, and that a failed Prepare releases it.
func TestTransactionPrepare(t *testing.T) {
	dir := t.TempDir()
	opts := testOptions()
	opts.LockTimeout = NoWait
	st := openStack(t, dir, opts)
	other := openStack(t, dir, opts)
	setRef(t, st, "refs/heads/main", 1)

	tx := st.NewTransaction(testWho, ReflogNormal)
	tx.Add(Update{Ref: Ref{Name: "refs/heads/main", ID: oid(2)}, Old: ptr(val(1))})
	if err := tx.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	if err := commitTx(other, Update{Ref: Ref{Name: "refs/heads/x", ID: oid(3)}}); !errors.Is(err, ErrLocked) {
		t.Fatalf("commit while prepared elsewhere: %v, want ErrLocked", err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if got := refValue(t, other, "refs/heads/main"); !bytes.Equal(got, oid(2)) {
		t.Errorf("main = %x after commit", got)
	}
	if err := tx.Commit(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("second commit: %v", err)
	}

	// Close after Prepare releases the lock and writes nothing.
	tx = st.NewTransaction(testWho, ReflogNormal)
	tx.Add(Update{Ref: Ref{Name: "refs/heads/main", ID: oid(4)}})
	if err := tx.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	if err := tx.Close(); err != nil {
		t.Fatal(err)
	}
	if err := commitTx(other, Update{Ref: Ref{Name: "refs/heads/x", ID: oid(3)}}); err != nil {
		t.Fatalf("commit after close: %v", err)
	}
	if got := refValue(t, other, "refs/heads/main"); !bytes.Equal(got, oid(2)) {
		t.Errorf("main = %x after an abandoned transaction", got)
	}

	// A failed Prepare releases the lock.
	tx = st.NewTransaction(testWho, ReflogNormal)
	tx.Add(Update{Ref: Ref{Name: "refs/heads/main", ID: oid(5)}, Old: ptr(val(1))})
	if err := tx.Prepare(ctx); !errors.Is(err, ErrRefConflict) {
		t.Fatalf("prepare with a wrong old value: %v", err)
	}
	if err := commitTx(other, Update{Ref: Ref{Name: "refs/heads/y", ID: oid(3)}}); err != nil {
		t.Fatalf("commit after failed prepare: %v", err)
	}
	if err := tx.Commit(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("commit after failed prepare: %v", err)
	}
}

// TestTransactionLogOnly checks that a LogOnly update writes a reflog
// entry and leaves the ref alone.
func TestTransactionLogOnly(t *testing.T) {
	st := openStack(t, t.TempDir(), testOptions())
	setRef(t, st, "refs/heads/main", 1)
	if err := commitTx(st,
		Update{Ref: Ref{Name: "HEAD", ID: oid(2)}, Old: ptr(val(1)), LogOnly: true, Message: "moved elsewhere"},
		Update{Ref: Ref{Name: "refs/heads/x", ID: oid(3)}, Message: "create"},
	); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Ref(ctx, "HEAD"); !errors.Is(err, reftable.ErrNotFound) {
		t.Errorf("HEAD exists after a log-only update: %v", err)
	}
	want := []logLine{{"HEAD", "0000", "0000", "moved elsewhere\n", 530}}
	want[0].Old, want[0].New = fmt.Sprintf("%x", oid(1)[:2]), fmt.Sprintf("%x", oid(2)[:2])
	if diff := cmp.Diff(want, reflog(t, st, "HEAD")); diff != "" {
		t.Errorf("HEAD reflog (-want +got):\n%s", diff)
	}
}

// TestTransactionSkipHEADLog checks that SkipHEADLog keeps a change of
// HEAD's branch out of HEAD's reflog.
func TestTransactionSkipHEADLog(t *testing.T) {
	st := openStack(t, t.TempDir(), testOptions())
	if err := commitTx(st, Update{Ref: Ref{Name: "HEAD", Target: "refs/heads/main"}}, Update{Ref: Ref{Name: "refs/heads/main", ID: oid(1)}, Message: "init"}); err != nil {
		t.Fatal(err)
	}
	n := len(reflog(t, st, "HEAD"))
	tx := st.NewTransaction(testWho, ReflogNormal)
	tx.SkipHEADLog()
	tx.Add(Update{Ref: Ref{Name: "refs/heads/main", ID: oid(2)}, Message: "elsewhere"})
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if got := len(reflog(t, st, "HEAD")); got != n {
		t.Errorf("HEAD reflog has %d entries, want %d", got, n)
	}
	if got := len(reflog(t, st, "refs/heads/main")); got != 2 {
		t.Errorf("main reflog has %d entries, want 2", got)
	}
}

// TestUpdateQueue: updates come back as added, in order, across chunks,
// with Grow in between, whether the queue holds them compactly (a name,
// ids of the stack's size, an expected id or absence, flags, a message
// shared with the update before) or whole (anything else).
func TestUpdateQueue(t *testing.T) {
	var q updateQueue
	id := func(i, n int) []byte {
		b := make([]byte, n)
		b[0], b[1] = byte(i), byte(i>>8)
		return b
	}
	mk := func(i int) Update {
		u := Update{Ref: Ref{Name: fmt.Sprint("refs/heads/", i)}, Message: fmt.Sprint("m", i/3)}
		switch i % 9 {
		case 0:
			u.ID, u.Old = id(i, 20), &Ref{}
		case 1:
			u.ID, u.Old, u.Deref = id(i, 20), &Ref{ID: id(i+1, 20)}, true
		case 2:
			u.Old, u.Verify = &Ref{ID: id(i, 20)}, true
		case 3:
			u.ID = id(i, 32) // not the stack's size: kept whole
		case 4:
			u.Target = "refs/heads/main"
		case 5:
			u.ID, u.Peeled = id(i, 20), id(i+2, 20)
		case 6:
			u.Old = &Ref{Target: "refs/heads/x"}
		case 7:
			u.LogOnly, u.ID = true, id(i, 20)
		case 8:
			u.ID, u.Message = id(i, 20), "" // a delete
			u.ID = nil
		}
		return u
	}
	const n = 5000
	for i := range n {
		if i == 100 || i == 3000 {
			q.grow(3000)
		}
		u := mk(i)
		q.add(&u, 20)
	}
	if q.n != n {
		t.Fatalf("queue holds %d updates, want %d", q.n, n)
	}
	var u Update
	var old Ref
	for i := range n {
		q.get(i, &u, &old)
		if diff := cmp.Diff(mk(i), u); diff != "" {
			t.Fatalf("update %d (-want +got):\n%s", i, diff)
		}
		var v Ref
		v.ID, v.Peeled, v.Target = q.value(i)
		if diff := cmp.Diff(u.Ref, v, cmpopts.IgnoreFields(Ref{}, "Name")); diff != "" || q.message(i) != u.Message {
			t.Fatalf("update %d: value (-want +got):\n%s\nmessage %q, want %q", i, diff, q.message(i), u.Message)
		}
	}
	if len(q.msgs) > n/3+1 {
		t.Errorf("%d messages held for %d different ones", len(q.msgs), n/3+1)
	}
}

// TestQueueChunksMadeAhead: a queue long enough for its chunks of updates
// and ids to be made ahead on another processor (see chunkSource) holds
// every update as added.
func TestQueueChunksMadeAhead(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	var q updateQueue
	const n = 4 * prefaultAfter * chunkLen
	name := func(i int) string { return fmt.Sprint("refs/heads/b", i) }
	id := func(i int) []byte { return oid(i) }
	for i := range n {
		u := Update{Ref: Ref{Name: name(i), ID: id(i)}, Old: &Ref{}, Message: "bulk"}
		if i%2 == 1 {
			u.Old = &Ref{ID: id(i + 1)}
		}
		q.add(&u, 20)
	}
	var u Update
	var old Ref
	for i := range n {
		q.get(i, &u, &old)
		wantOld := []byte(nil)
		if i%2 == 1 {
			wantOld = id(i + 1)
		}
		if u.Name != name(i) || !bytes.Equal(u.ID, id(i)) || u.Old == nil || !bytes.Equal(u.Old.ID, wantOld) || u.Message != "bulk" {
			t.Fatalf("update %d: %s %x old %+v %q", i, u.Name, u.ID, u.Old, u.Message)
		}
	}
	if q.entries.src.ready == nil || q.ids.src.ready == nil {
		t.Error("no chunks were made ahead")
	}
}

// TestTransactionLogsAsGit: the reflog entries and tables a transaction
// writes follow git's reftable backend where it is particular: an update
// that leaves a ref at the id it has writes and logs nothing for it (HEAD
// still logs it when it points at the ref), HEAD logs the deletion of its
// branch, a symbolic ref's entry records as old the id its target has,
// HEAD's entry for its branch made symbolic records no new id, and a
// deleted symbolic ref's reflog records the deletion instead of going.
func TestTransactionLogsAsGit(t *testing.T) {
	for _, tc := range []struct {
		name   string
		update Update
		tables int       // tables added
		logs   []logLine // entries added, by ref name, newest first
	}{
		{"no-op", Update{Ref: Ref{Name: "refs/heads/topic", ID: oid(2)}}, 0, nil},
		{"no-op of HEAD's branch", Update{Ref: Ref{Name: "refs/heads/main", ID: oid(1)}, Message: "m"}, 1,
			[]logLine{{"HEAD", "0001", "0001", "m\n", 530}}},
		{"no-op through HEAD", Update{Ref: Ref{Name: "HEAD", ID: oid(1)}, Deref: true, Message: "m"}, 1,
			[]logLine{{"HEAD", "0001", "0001", "m\n", 530}}},
		{"deleting a missing ref", Update{Ref: Ref{Name: "refs/heads/none"}}, 0, nil},
		{"symbolic ref replaced", Update{Ref: Ref{Name: "HEAD", Target: "refs/heads/topic"}, Message: "m"}, 1,
			[]logLine{{"HEAD", "0001", "0002", "m\n", 530}}},
		{"HEAD's branch made symbolic", Update{Ref: Ref{Name: "refs/heads/main", Target: "refs/heads/topic"}, Message: "m"}, 1,
			[]logLine{{"HEAD", "0001", "0000", "m\n", 530}, {"refs/heads/main", "0001", "0002", "m\n", 530}}},
		{"HEAD's branch deleted", Update{Ref: Ref{Name: "refs/heads/main"}, Message: "m"}, 1,
			[]logLine{{"HEAD", "0001", "0000", "m\n", 530}}},
		{"symbolic ref deleted", Update{Ref: Ref{Name: "refs/heads/sym"}, Message: "m"}, 1,
			[]logLine{{"refs/heads/sym", "0002", "0000", "m\n", 530}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := testOptions()
			opts.DisableAutoCompaction = true
			st := openStack(t, t.TempDir(), opts)
			tableCount := func() int {
				s, err := st.Snapshot(ctx)
				if err != nil {
					t.Fatal(err)
				}
				defer s.Close()
				return len(s.TableNames())
			}
			if err := commitTx(st, Update{Ref: Ref{Name: "refs/heads/main", ID: oid(1)}}, Update{Ref: Ref{Name: "refs/heads/topic", ID: oid(2)}}); err != nil {
				t.Fatal(err)
			}
			if err := commitTx(st, Update{Ref: Ref{Name: "HEAD", Target: "refs/heads/main"}}, Update{Ref: Ref{Name: "refs/heads/sym", Target: "refs/heads/topic"}}); err != nil {
				t.Fatal(err)
			}
			names := []string{"HEAD", "refs/heads/main", "refs/heads/sym", "refs/heads/topic"}
			before := map[string]int{}
			for _, n := range names {
				before[n] = len(reflog(t, st, n))
			}
			tables := tableCount()
			if err := commitTx(st, tc.update); err != nil {
				t.Fatal(err)
			}
			if got := tableCount() - tables; got != tc.tables {
				t.Errorf("%d tables added, want %d", got, tc.tables)
			}
			var got []logLine
			for _, n := range names {
				l := reflog(t, st, n)
				got = append(got, l[:max(0, len(l)-before[n])]...) // a deleted ref's reflog goes
			}
			if diff := cmp.Diff(tc.logs, got); diff != "" {
				t.Errorf("reflog entries added (-want +got):\n%s", diff)
			}
		})
	}
}

// TestReflogPolicies: which refs each policy logs, as git's
// core.logAllRefUpdates (true, always, false) and none at all.
func TestReflogPolicies(t *testing.T) {
	names := []string{"HEAD", "refs/heads/b", "refs/other/logged", "refs/other/x", "refs/remotes/o/m", "refs/tags/t"}
	for _, tc := range []struct {
		policy ReflogPolicy
		logged []string
	}{
		{ReflogNormal, []string{"HEAD", "refs/heads/b", "refs/other/logged", "refs/remotes/o/m"}},
		{ReflogAlways, names},
		{ReflogExisting, []string{"refs/other/logged"}},
		{ReflogNever, nil},
	} {
		st := openStack(t, t.TempDir(), testOptions())
		// refs/other/logged has a reflog already.
		tx := st.NewTransaction(testWho, ReflogAlways)
		tx.Add(Update{Ref: Ref{Name: "refs/other/logged", ID: oid(1)}})
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		tx = st.NewTransaction(testWho, tc.policy)
		for _, n := range names {
			tx.Add(Update{Ref: Ref{Name: n, ID: oid(2)}, Message: "m"})
		}
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		var logged []string
		for _, n := range names {
			if l := reflog(t, st, n); len(l) > 0 && l[0].New == "0002" {
				logged = append(logged, n)
			}
		}
		if diff := cmp.Diff(tc.logged, logged); diff != "" {
			t.Errorf("policy %d: refs logged (-want +got):\n%s", tc.policy, diff)
		}
	}
}

// TestReflogMessage: messages are logged as git's copy_reflog_msg
// leaves them.
func TestReflogMessage(t *testing.T) {
	for in, want := range map[string]string{
		"":                        "",
		"commit: two":             "commit: two",
		"  spaced  ":              "spaced",
		"line1\nline2\n":          "line1 line2",
		"tab\there\r\n":           "tab here",
		"a  \t b":                 "a b",
		" \t\n ":                  "",
		"keeps\vvertical\ftabs":   "keeps\vvertical\ftabs",
		"caf\xc3\xa9  \xff bytes": "caf\xc3\xa9 \xff bytes",
	} {
		if got := string(reflogMessage(in)); got != want {
			t.Errorf("reflogMessage(%q) = %q, want %q", in, got, want)
		}
	}
}

// recordedSink records what a transaction writes, as text.
type recordedSink struct{ lines []string }

func (s *recordedSink) AddRef(r *reftable.RefRecord) error {
	s.lines = append(s.lines, fmt.Sprintf("ref %s %d %d %x %s", r.Name, r.UpdateIndex, r.Type, r.Value, r.Target))
	return nil
}

func (s *recordedSink) AddLog(l *reftable.LogRecord) error {
	s.lines = append(s.lines, fmt.Sprintf("log %s %d %d %x %x %q", l.RefName, l.UpdateIndex, l.Type, l.Old, l.New, l.Message))
	return nil
}

// TestTransactionDecidesUnderLock: what a transaction's records depend on
// in the stack (a deleted ref's reflog entries, in every table that holds
// some; whether a ref has a reflog; the id a symbolic ref's new target
// has, or that it dangles) is read by Prepare, and writing is a function
// of what it prepared: twice the same records, and the reflogs git's
// rules give.
func TestTransactionDecidesUnderLock(t *testing.T) {
	opts := testOptions()
	opts.DisableAutoCompaction = true
	st := openStack(t, t.TempDir(), opts)
	// refs/heads/old's reflog spans three tables; refs/tags/t has a
	// reflog (made under ReflogAlways), so the default policy logs it.
	for i := 1; i <= 3; i++ {
		if err := commitTx(st, Update{Ref: Ref{Name: "refs/heads/old", ID: oid(i)}, Message: fmt.Sprint("m", i)}); err != nil {
			t.Fatal(err)
		}
	}
	always := st.NewTransaction(testWho, ReflogAlways)
	always.Add(Update{Ref: Ref{Name: "refs/tags/t", ID: oid(1)}})
	if err := always.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(reflog(t, st, "refs/heads/old")); n != 3 {
		t.Fatalf("refs/heads/old has %d reflog entries, want 3", n)
	}
	tx := st.NewTransaction(testWho, ReflogNormal)
	tx.Add(Update{Ref: Ref{Name: "refs/heads/old"}, Message: "delete"},
		Update{Ref: Ref{Name: "refs/tags/t", ID: oid(2)}, Message: "tag"},
		Update{Ref: Ref{Name: "refs/tags/u", ID: oid(2)}, Message: "untagged"},
		Update{Ref: Ref{Name: "refs/heads/dangling", Target: "refs/heads/none"}, Message: "dangles"},
		Update{Ref: Ref{Name: "refs/heads/sym", Target: "refs/tags/t"}, Message: "to t"})
	if err := tx.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	var a, b recordedSink
	if err := tx.write(&a, tx.prep, tx.a.next); err != nil {
		t.Fatal(err)
	}
	if err := tx.write(&b, tx.prep, tx.a.next); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(a.lines, b.lines); diff != "" {
		t.Fatalf("a second write differs (-first +second):\n%s", diff)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		want []logLine
	}{
		{"refs/heads/old", nil}, // all three tables' entries deleted
		{"refs/tags/t", []logLine{{"refs/tags/t", "0001", "0002", "tag\n", 530}, {"refs/tags/t", "0000", "0001", "\n", 530}}},
		{"refs/tags/u", nil},         // no reflog, and the policy does not log tags
		{"refs/heads/dangling", nil}, // its target dangles: no entry, as git
		{"refs/heads/sym", []logLine{{"refs/heads/sym", "0000", "0001", "to t\n", 530}}}, // t's id under the lock
	} {
		if diff := cmp.Diff(tc.want, reflog(t, st, tc.name)); diff != "" {
			t.Errorf("%s reflog (-want +got):\n%s", tc.name, diff)
		}
	}
}

// TestAddCopiesIDs: a transaction keeps copies of the ids it is given,
// in the compact form and kept whole (a peeled id), so that a caller may
// reuse their memory once Add returns.
func TestAddCopiesIDs(t *testing.T) {
	st := openStack(t, t.TempDir(), testOptions())
	tx := st.NewTransaction(testWho, ReflogNormal)
	id, peeled, old := oid(1), oid(2), Ref{}
	tx.Add(Update{Ref: Ref{Name: "refs/heads/a", ID: id}, Old: &old},
		Update{Ref: Ref{Name: "refs/tags/b", ID: id, Peeled: peeled}, Old: &old})
	copy(id, oid(7))
	copy(peeled, oid(8))
	old.ID = oid(9) // a reused Old
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	s, err := st.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, want := range []Ref{{Name: "refs/heads/a", ID: oid(1)}, {Name: "refs/tags/b", ID: oid(1), Peeled: oid(2)}} {
		got, err := s.Ref(want.Name)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(Ref{}, "UpdateIndex")); diff != "" {
			t.Errorf("%s (-want +got):\n%s", want.Name, diff)
		}
	}
}

// TestPrefaultTail: a slice filled as prefaultTail says, waiting at the
// position it returns, holds every value appended: the goroutine writing
// to its tail never writes over one (the race detector sees it if it
// did).
func TestPrefaultTail(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	for _, n := range []int{100, 4 * prefaultMin} {
		s := make([]int, 0, n)
		at, wait := prefaultTail(s)
		if n >= prefaultMin && (at <= 0 || at >= n) {
			t.Fatalf("%d elements: wait at %d", n, at)
		}
		for i := range n {
			if i == at {
				wait()
			}
			s = append(s, i+1)
		}
		for i, v := range s {
			if v != i+1 {
				t.Fatalf("%d elements: element %d is %d, want %d", n, i, v, i+1)
			}
		}
	}
}
