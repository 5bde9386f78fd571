package zlib

import (
	"container/heap"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
)

// refHuffmanCost is the cost (sum of freq*length) of an optimal prefix
// code without a length limit, computed with a heap.
func refHuffmanCost(freq []uint32) uint64 {
	h := &uintHeap{}
	for _, f := range freq {
		if f > 0 {
			heap.Push(h, uint64(f))
		}
	}
	cost := uint64(0)
	for h.Len() > 1 {
		a, b := heap.Pop(h).(uint64), heap.Pop(h).(uint64)
		cost += a + b
		heap.Push(h, a+b)
	}
	return cost
}

type uintHeap []uint64

func (h uintHeap) Len() int           { return len(h) }
func (h uintHeap) Less(i, j int) bool { return h[i] < h[j] }
func (h uintHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *uintHeap) Push(x any)        { *h = append(*h, x.(uint64)) }
func (h *uintHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// refLimitedCost is the cost of an optimal code with lengths at most
// limit, by the coin collector's method written plainly: items of
// denomination 2^-j for each symbol, the cheapest packages of two taken
// level by level, and the n-1 cheapest items of denomination 1/2.
func refLimitedCost(freq []uint32, limit int) uint64 {
	var leaves []uint64
	for _, f := range freq {
		if f > 0 {
			leaves = append(leaves, uint64(f))
		}
	}
	slices.Sort(leaves)
	var list []uint64
	for range limit {
		merged := slices.Clone(leaves)
		for i := 0; i+1 < len(list); i += 2 {
			merged = append(merged, list[i]+list[i+1])
		}
		slices.Sort(merged)
		list = merged
	}
	cost := uint64(0)
	for _, w := range list[:2*len(leaves)-2] {
		cost += w
	}
	return cost
}

func TestHuffmanBuild(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	var cases [][]uint32
	fib := make([]uint32, 30)
	fib[0], fib[1] = 1, 1
	for i := 2; i < len(fib); i++ {
		fib[i] = fib[i-1] + fib[i-2]
	}
	cases = append(cases, fib, fib[:19], []uint32{5, 0}, []uint32{0, 0, 7}, []uint32{3, 3}, make([]uint32, 19))
	for range 300 {
		n := 2 + r.IntN(numLitLen-1)
		f := make([]uint32, n)
		for i := range f {
			switch r.IntN(3) {
			case 0:
			case 1:
				f[i] = uint32(r.IntN(10))
			default:
				f[i] = uint32(r.ExpFloat64() * 1000)
			}
		}
		cases = append(cases, f)
	}
	var h huffBuilder
	lens := make([]uint8, maxSyms)
	for i, freq := range cases {
		for _, limit := range []int{maxCodeBits, maxCLBits} {
			if len(freq) > 1<<limit {
				continue
			}
			h.build(freq, limit, lens)
			kraft, used := uint64(0), 0
			cost := uint64(0)
			for s, l := range lens[:len(freq)] {
				if int(l) > limit {
					t.Fatalf("case %d, limit %d: symbol %d has length %d", i, limit, s, l)
				}
				if freq[s] > 0 && l == 0 {
					t.Fatalf("case %d: used symbol %d has no code", i, s)
				}
				if l > 0 {
					used++
					kraft += 1 << (maxCodeBits - l)
				}
				cost += uint64(freq[s]) * uint64(l)
			}
			if kraft != 1<<maxCodeBits || used < 2 {
				t.Fatalf("case %d, limit %d: %d codes, Kraft sum %d/%d: not a complete code", i, limit, used, kraft, 1<<maxCodeBits)
			}
			nonzero := 0
			for _, f := range freq {
				if f > 0 {
					nonzero++
				}
			}
			if nonzero < 2 {
				continue
			}
			if want := refLimitedCost(freq, limit); cost != want {
				t.Errorf("case %d, limit %d: cost %d, optimum %d", i, limit, cost, want)
			}
			if want := refHuffmanCost(freq); cost < want {
				t.Errorf("case %d, limit %d: cost %d below the unlimited optimum %d", i, limit, cost, want)
			}
		}
	}
}

func TestSortKeys(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	var h huffBuilder
	for range 500 {
		n := 2 + r.IntN(maxSyms-1)
		top := []int{3, 300, 70000}[r.IntN(3)]
		for i := range n {
			h.keys[i] = uint64(r.IntN(top))<<16 | uint64(i)
		}
		want := slices.Clone(h.keys[:n])
		sort.Slice(want, func(i, j int) bool { return want[i] < want[j] })
		if got := h.sortKeys(n); !slices.Equal(got, want) {
			t.Fatalf("sortKeys of %d keys below %d<<16 is not sorted", n, top)
		}
	}
}
