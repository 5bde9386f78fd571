package stack

import (
	"bytes"
	"errors"
	"testing"

	"github.com/refstore/refstore/reftable"
)

// TestTransactionLock checks Lock: the snapshot it returns is the stack
// under the lock, which other writers cannot take until Commit or Close;
// updates added after it commit under that lock; Close, a failed Prepare
// and a failed Commit release it; and it cannot come twice or after
// Prepare.
func TestTransactionLock(t *testing.T) {
	dir := t.TempDir()
	opts := testOptions()
	opts.LockTimeout = NoWait
	st := openStack(t, dir, opts)
	other := openStack(t, dir, opts)
	setRef(t, st, "refs/heads/main", 1)
	if err := commitTx(st, Update{Ref: Ref{Name: "HEAD", Target: "refs/heads/main"}}); err != nil {
		t.Fatal(err)
	}

	// Read under the lock, then decide what to write.
	tx := st.NewTransaction(testWho, ReflogNormal)
	snap, err := tx.Lock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var head reftable.RefRecord
	if found, err := snap.Merged().LookupRef([]byte("HEAD"), &head); err != nil || !found || string(head.Target) != "refs/heads/main" {
		t.Fatalf("HEAD under the lock: %v, %v, %v", head, found, err)
	}
	if err := commitTx(other, Update{Ref: Ref{Name: "HEAD", Target: "refs/heads/other"}}); !errors.Is(err, ErrLocked) {
		t.Fatalf("another writer while locked: %v, want ErrLocked", err)
	}
	tx.Add(Update{Ref: Ref{Name: string(head.Target), ID: oid(2)}, Old: ptr(val(1))})
	tx.Add(Update{Ref: Ref{Name: "HEAD", ID: oid(3)}, Deref: true, Old: ptr(val(1))}) // resolved under the same lock
	if _, err := tx.Lock(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("Lock twice: %v, want ErrClosed", err)
	}
	if err := tx.Commit(ctx); err == nil || !errors.Is(err, ErrRefName) {
		t.Fatalf("HEAD's branch updated twice: %v, want ErrRefName", err)
	}
	if err := commitTx(other, Update{Ref: Ref{Name: "refs/heads/x", ID: oid(9)}}); err != nil {
		t.Fatalf("commit after a failed commit: %v", err)
	}

	tx = st.NewTransaction(testWho, ReflogNormal)
	if _, err := tx.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	tx.Add(Update{Ref: Ref{Name: "HEAD", ID: oid(2)}, Deref: true, Old: ptr(val(1))})
	if err := tx.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	if err := commitTx(other, Update{Ref: Ref{Name: "refs/heads/y", ID: oid(9)}}); !errors.Is(err, ErrLocked) {
		t.Fatalf("another writer while prepared after Lock: %v, want ErrLocked", err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if got := refValue(t, other, "refs/heads/main"); !bytes.Equal(got, oid(2)) {
		t.Errorf("main = %x after commit", got)
	}
	if got := reflog(t, other, "HEAD"); len(got) == 0 || got[0].New != "0002" {
		t.Errorf("HEAD's reflog: %v", got)
	}

	// Close after Lock releases the lock and writes nothing.
	tx = st.NewTransaction(testWho, ReflogNormal)
	if _, err := tx.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	tx.Add(Update{Ref: Ref{Name: "refs/heads/main", ID: oid(4)}})
	if err := tx.Close(); err != nil {
		t.Fatal(err)
	}
	if err := commitTx(other, Update{Ref: Ref{Name: "refs/heads/z", ID: oid(9)}}); err != nil {
		t.Fatalf("commit after Close: %v", err)
	}
	if got := refValue(t, other, "refs/heads/main"); !bytes.Equal(got, oid(2)) {
		t.Errorf("main = %x after an abandoned transaction", got)
	}

	// A Prepare that fails before reading, on a bad name, releases it.
	tx = st.NewTransaction(testWho, ReflogNormal)
	if _, err := tx.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	tx.Add(Update{Ref: Ref{Name: "refs/heads/a..b", ID: oid(4)}})
	if err := tx.Prepare(ctx); !errors.Is(err, ErrRefName) {
		t.Fatalf("prepare of a bad name: %v", err)
	}
	if err := commitTx(other, Update{Ref: Ref{Name: "refs/heads/w", ID: oid(9)}}); err != nil {
		t.Fatalf("commit after a failed prepare: %v", err)
	}

	// Lock after Prepare, and a Lock that cannot take the lock.
	tx = st.NewTransaction(testWho, ReflogNormal)
	tx.Add(Update{Ref: Ref{Name: "refs/heads/v", ID: oid(4)}})
	if err := tx.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Lock(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("Lock after Prepare: %v, want ErrClosed", err)
	}
	tx2 := other.NewTransaction(testWho, ReflogNormal)
	if _, err := tx2.Lock(ctx); !errors.Is(err, ErrLocked) {
		t.Errorf("Lock while another holds it: %v, want ErrLocked", err)
	}
	if err := tx2.Commit(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("Commit after a failed Lock: %v, want ErrClosed", err)
	}
	tx.Close()
}

// TestTransactionUnlock: Unlock lets another writer take the lock, keeps
// the updates queued before and after it, and Lock takes the lock again
// for the commit; it refuses a transaction prepared or ended.
func TestTransactionUnlock(t *testing.T) {
	dir := t.TempDir()
	opts := testOptions()
	opts.LockTimeout = NoWait
	st := openStack(t, dir, opts)
	other := openStack(t, dir, opts)
	tx := st.NewTransaction(testWho, ReflogNormal)
	tx.Add(Update{Ref: Ref{Name: "refs/heads/a", ID: oid(1)}})
	if _, err := tx.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	if err := commitTx(other, Update{Ref: Ref{Name: "refs/heads/b", ID: oid(2)}}); !errors.Is(err, ErrLocked) {
		t.Fatalf("a commit while the lock is held: %v, want ErrLocked", err)
	}
	if err := tx.Unlock(); err != nil {
		t.Fatal(err)
	}
	if err := commitTx(other, Update{Ref: Ref{Name: "refs/heads/b", ID: oid(2)}}); err != nil {
		t.Fatalf("a commit after Unlock: %v", err)
	}
	tx.Add(Update{Ref: Ref{Name: "refs/heads/c", ID: oid(3)}})
	snap, err := tx.Lock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if r, err := snap.Ref("refs/heads/b"); err != nil || !bytes.Equal(r.ID, oid(2)) {
		t.Errorf("the snapshot of the second Lock: refs/heads/b %v, %v", r, err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	for i, name := range []string{"refs/heads/a", "refs/heads/b", "refs/heads/c"} {
		if r, err := st.Ref(ctx, name); err != nil || !bytes.Equal(r.ID, oid(i+1)) {
			t.Errorf("%s: %v, %v", name, r, err)
		}
	}
	if err := tx.Unlock(); !errors.Is(err, ErrClosed) {
		t.Errorf("Unlock after Commit: %v, want ErrClosed", err)
	}
}
