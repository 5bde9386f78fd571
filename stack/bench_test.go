package stack

import (
	"fmt"
	"testing"

	"github.com/refstore/refstore/reftable"
)

// BenchmarkCommit commits one ref per transaction with auto-compaction,
// without fsync, as git's update-ref does with core.fsync=none.
func BenchmarkCommit(b *testing.B) {
	st, err := Open(b.TempDir(), Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		tx := st.NewTransaction(testWho, ReflogNormal)
		tx.Add(Update{Name: fmt.Sprintf("refs/heads/branch-%07d", i), New: val(i), Message: "bench"})
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkReloadUnchanged measures the up-to-date check: one stat call.
func BenchmarkReloadUnchanged(b *testing.B) {
	dir := b.TempDir()
	st, err := Open(dir, Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	if err := st.Add(func(w *reftable.Writer) error {
		return w.AddRef(&reftable.RefRecord{Name: []byte("refs/heads/a"), UpdateIndex: 1, Type: reftable.RefVal1, Value: oid(1)})
	}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := st.Reload(); err != nil {
			b.Fatal(err)
		}
	}
}
