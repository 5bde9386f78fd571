package objstore

import (
	"errors"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/refstore/refstore/stack"
	"github.com/refstore/refstore/stack/stacktest"
)

// TestReloadWhileCompacted: a reader whose every attempt to open the
// tables of the list finds one removed by a compaction that published a
// new list meanwhile, on a store that takes a second to answer, keeps
// reading the list again and then loads the stack, however many tries
// and seconds that takes within the reload's bound. Before, it gave up
// after 3 tries and 3 seconds with "corrupt stack", for a stack that
// was never damaged; now "corrupt" is only a listed table missing while
// the list stays unchanged. A stack that changes for longer than the
// bound fails the reload without calling it corrupt.
func TestReloadWhileCompacted(t *testing.T) {
	for _, tc := range []struct {
		vanish int // how many of the reader's table opens find the table gone
	}{{vanish: 12}, {vanish: 1 << 20}} {
		synctest.Test(t, func(t *testing.T) {
			m := NewMem()
			opts := stack.Options{DisableAutoCompaction: true}
			w := openMem(t, m, opts)
			r := openMem(t, m, opts)
			n := 0
			set := func(name string) {
				n++
				if err := stacktest.Set(w, name, n, nil); err != nil {
					t.Fatal(err)
				}
			}
			set("refs/heads/main")
			if _, err := r.Ref("refs/heads/main"); err != nil {
				t.Fatal(err)
			}
			set("refs/heads/next")
			vanished, inWriter := 0, false
			m.SetHook(func(op Op, key string, _ int, apply func() error) error {
				if op != OpHead || inWriter || vanished == tc.vanish {
					return apply()
				}
				vanished++
				time.Sleep(time.Second)
				inWriter = true
				set(fmt.Sprintf("refs/heads/b%d", vanished))
				if err := w.CompactAll(nil); err != nil {
					t.Error(err)
				}
				inWriter = false
				return apply()
			})
			got, err := r.Ref("refs/heads/next")
			m.SetHook(nil)
			if tc.vanish < 1000 {
				if err != nil || string(got.Value) != string(stacktest.OID(2)) {
					t.Errorf("after %d vanished tables: %x, %v", vanished, got.Value, err)
				}
				return
			}
			if err == nil || errors.Is(err, stack.ErrCorrupt) {
				t.Errorf("tables vanishing for %d tries: %v, want an error that does not call the stack corrupt", vanished, err)
			}
		})
	}
}
