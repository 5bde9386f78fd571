package reftable

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestObjIDsSorted checks the bucketed sort against a plain stable sort,
// for sizes on both sides of the bucketing and chunking thresholds, with
// many repeated ids and ids sharing their leading bytes.
func TestObjIDsSorted(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{0, 1, 2, 15, 16, 17, 300, objChunk + 7, 70_000} {
		for _, shape := range []string{"random", "repeats", "common-prefix"} {
			o := objIDs{hashSize: 20}
			var want [][]byte
			for i := range n {
				id := make([]byte, 20)
				for j := range id {
					id[j] = byte(rng.Uint32())
				}
				switch shape {
				case "repeats":
					if i > 0 && rng.IntN(3) > 0 {
						id = want[rng.IntN(len(want))]
					}
				case "common-prefix":
					copy(id, "\x07\x07\x07\x07\x07\x07\x07\x07\x07")
					id[9] = byte(rng.IntN(2))
				}
				want = append(want, id)
				o.add(id, uint64(i/10*4096))
			}
			got := o.sorted()
			idx := make([]uint32, n)
			for i := range idx {
				idx[i] = uint32(i)
			}
			slices.SortStableFunc(idx, func(a, b uint32) int { return bytes.Compare(want[a], want[b]) })
			for k, e := range got {
				if e.i != idx[k] {
					t.Fatalf("n=%d %s: position %d holds id %d, a stable sort has %d", n, shape, k, e.i, idx[k])
				}
				if !bytes.Equal(o.id(e.i), want[e.i]) || o.offsets[e.blk] != uint64(e.i/10*4096) {
					t.Fatalf("n=%d %s: id %d reads back wrong", n, shape, e.i)
				}
				if k > 0 {
					prev := want[got[k-1].i]
					if o.same(got[k-1], e) != bytes.Equal(prev, want[e.i]) ||
						o.commonLen(got[k-1], e) != commonPrefix(prev, want[e.i]) {
						t.Fatalf("n=%d %s: same or commonLen wrong at %d", n, shape, k)
					}
				}
			}
		}
	}
}
