package reftable

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestObjIDsSorted checks what the obj section is built from against a
// model: each distinct id with the blocks naming it, in increasing order,
// and the ids in increasing order. Sizes lie on both sides of the
// bucketing and chunking thresholds; shapes have repeated ids (nearby,
// and far apart so that the cache of recent ids has evicted them), ids
// sharing their leading bytes, and one id named by every ref.
func TestObjIDsSorted(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{0, 1, 2, 15, 16, 17, 300, objChunk + 7, 70_000} {
		for _, shape := range []string{"random", "repeats", "common-prefix", "far-repeats", "one-id"} {
			o := objIDs{hashSize: 20}
			model := map[string][]uint64{}
			var seen [][]byte
			for i := range n {
				id := make([]byte, 20)
				for j := range id {
					id[j] = byte(rng.Uint32())
				}
				switch shape {
				case "repeats":
					if i > 0 && rng.IntN(3) > 0 {
						id = seen[max(0, len(seen)-1-rng.IntN(20))]
					}
				case "far-repeats":
					if i > 2*objRecent && rng.IntN(2) > 0 {
						id = seen[rng.IntN(len(seen))]
					}
				case "common-prefix":
					copy(id, "\x07\x07\x07\x07\x07\x07\x07\x07\x07")
					id[9] = byte(rng.IntN(2))
				case "one-id":
					id = []byte("01234567890123456789")
				}
				seen = append(seen, id)
				off := uint64(i / 10 * 4096)
				if b := model[string(id)]; len(b) == 0 || b[len(b)-1] != off {
					model[string(id)] = append(b, off)
				}
				o.add(id, off)
			}
			es := o.sorted()
			var ids []string
			got := map[string][]uint64{}
			for k, e := range es {
				id := string(o.id(e.i))
				if k > 0 {
					prev := o.id(es[k-1].i)
					if bytes.Compare(prev, []byte(id)) > 0 {
						t.Fatalf("n=%d %s: ids out of order at %d", n, shape, k)
					}
					if o.same(es[k-1], e) != bytes.Equal(prev, []byte(id)) || o.commonLen(es[k-1], e) != commonPrefix(prev, []byte(id)) {
						t.Fatalf("n=%d %s: same or commonLen wrong at %d", n, shape, k)
					}
				}
				if len(ids) == 0 || ids[len(ids)-1] != id {
					ids = append(ids, id)
				}
				for _, b := range o.blocks(nil, e) {
					if l := got[id]; len(l) == 0 || l[len(l)-1] != o.offsets[b] {
						got[id] = append(l, o.offsets[b])
					}
				}
			}
			if len(ids) != len(model) {
				t.Fatalf("n=%d %s: %d distinct ids, want %d", n, shape, len(ids), len(model))
			}
			for id, want := range model {
				if !slices.Equal(got[id], want) {
					t.Fatalf("n=%d %s: id %x in blocks %v, want %v", n, shape, id, got[id], want)
				}
			}
			if shape == "one-id" && n > 0 && o.n != 1 {
				t.Errorf("n=%d: one id named by every ref takes %d entries", n, o.n)
			}
		}
	}
}
