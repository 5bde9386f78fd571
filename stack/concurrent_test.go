package stack

import (
	"fmt"
	"sync"
	"testing"
)

// TestConcurrentTransactionsOneStack: a Stack is safe for concurrent use,
// so two goroutines may commit through one Stack while a third reloads
// it. The directory backend's list cache is shared by them (a commit
// hands the list it wrote to the cache, a reload and the next commit's
// lock read it); run with -race.
func TestConcurrentTransactionsOneStack(t *testing.T) {
	dir := t.TempDir()
	opts := testOptions()
	opts.LockTimeout = -1
	st := openStack(t, dir, opts)
	const n = 30
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Go(func() {
			for i := range n {
				tx := st.NewTransaction(testWho, ReflogNormal)
				tx.Add(Update{Ref: Ref{Name: fmt.Sprintf("refs/heads/w%d/%02d", w, i), ID: val(i).ID}})
				if err := tx.Commit(ctx); err != nil {
					t.Errorf("writer %d, commit %d: %v", w, i, err)
					return
				}
			}
		})
	}
	wg.Go(func() {
		for range 2 * n {
			if err := st.Reload(ctx); err != nil {
				t.Errorf("reload: %v", err)
				return
			}
		}
	})
	wg.Wait()
	count := 0
	for _, err := range st.Refs(ctx, "refs/heads/") {
		if err != nil {
			t.Fatal(err)
		}
		count++
	}
	if count != 2*n {
		t.Errorf("%d refs, want %d", count, 2*n)
	}
}
