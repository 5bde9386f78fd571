package zlib

import (
	"math/bits"
	"slices"
)

// maxSyms is the largest alphabet a code is built for: the literal/length
// alphabet with room for the two symbols only the fixed code uses.
const maxSyms = 288

// huffBuilder computes length-limited Huffman code lengths. Its arrays are
// scratch space reused from one code to the next.
type huffBuilder struct {
	keys [maxSyms]uint64 // frequency<<16 | symbol, sorted
	tmp  [maxSyms]uint64
	w    [maxSyms]uint32 // weights, then lengths (see huffmanLengths)

	pm *packageMergeLists // allocated for the first code that needs it
}

// packageMergeLists are the lists of the package-merge method, one per
// code length, for the rare code whose unlimited lengths are too long.
type packageMergeLists struct {
	weight [maxCodeBits][2 * maxSyms]uint64
	leaf   [maxCodeBits][2 * maxSyms]bool
}

// build sets lens[s] to the code length of symbol s for frequencies freq,
// no length above maxBits, minimising the sum of freq[s]*lens[s]. Symbols
// of frequency 0 get length 0, except that a code always gets at least two
// symbols (adding unused low symbols), so that every code it builds is
// complete, which every decoder accepts. freq has at least two symbols.
func (h *huffBuilder) build(freq []uint32, maxBits int, lens []uint8) {
	lens = lens[:len(freq)]
	clear(lens)
	n := 0
	for s, f := range freq {
		if f != 0 {
			h.keys[n] = uint64(f)<<16 | uint64(s)
			n++
		}
	}
	for s := 0; n < 2; s++ {
		if freq[s] == 0 {
			h.keys[n] = uint64(s)
			n++
		}
	}
	keys := h.sortKeys(n)
	w := h.w[:n]
	for i, k := range keys {
		w[i] = uint32(k >> 16)
	}
	huffmanLengths(w)
	if int(w[0]) > maxBits {
		h.packageMerge(keys, maxBits)
	}
	for i, k := range keys {
		lens[uint16(k)] = uint8(w[i])
	}
}

// sortKeys sorts h.keys[:n] by frequency, keeping symbols of equal
// frequency in order, and returns them. Small alphabets use insertion
// sort, others a radix sort on the bytes of the frequency.
func (h *huffBuilder) sortKeys(n int) []uint64 {
	keys := h.keys[:n]
	if n <= 32 {
		slices.Sort(keys)
		return keys
	}
	top := uint64(0)
	for _, k := range keys {
		top |= k
	}
	src, dst := keys, h.tmp[:n]
	for shift := uint(16); shift < 64 && top>>shift != 0; shift += 8 {
		var count [257]uint16
		for _, k := range src {
			count[int(byte(k>>shift))+1]++
		}
		for i := 1; i < 256; i++ {
			count[i] += count[i-1]
		}
		for _, k := range src {
			b := byte(k >> shift)
			dst[count[b]] = k
			count[b]++
		}
		src, dst = dst, src
	}
	if &src[0] != &keys[0] {
		copy(keys, src)
	}
	return keys
}

// huffmanLengths replaces the ascending weights w (at least two) with the
// lengths of an optimal prefix code, computed in place (the method of
// Moffat and Katajainen): first each internal node's weight, with leaves
// and then nodes turned into parent indexes, then node depths, then leaf
// depths. The result is non-increasing.
func huffmanLengths(w []uint32) {
	n := len(w)
	leaf, node := 0, 0 // next unused leaf, next unused internal node
	for t := 0; t < n-1; t++ {
		// Each internal node t is the sum of the two lightest remaining
		// leaves or nodes; a used node records its parent t.
		for k := range 2 {
			var v uint32
			if leaf >= n || (node < t && w[node] < w[leaf]) {
				v = w[node]
				w[node] = uint32(t)
				node++
			} else {
				v = w[leaf]
				leaf++
			}
			if k == 0 {
				w[t] = v
			} else {
				w[t] += v
			}
		}
	}
	w[n-2] = 0 // the root
	for t := n - 3; t >= 0; t-- {
		w[t] = w[w[t]] + 1
	}
	// Hand out leaf depths: at each depth, the nodes not internal there
	// are leaves, given to the heaviest leaves first.
	avail, used, depth := 1, 0, uint32(0)
	t, x := n-2, n-1
	for avail > 0 {
		for t >= 0 && w[t] == depth {
			used++
			t--
		}
		for avail > used {
			w[x] = depth
			x--
			avail--
		}
		avail, depth, used = 2*used, depth+1, 0
	}
}

// packageMerge sets h.w to optimal lengths of at most maxBits for the
// sorted keys (at least two, at most 2^maxBits): the coin collector's
// method, where list j holds the leaves merged with pairs ("packages") of
// list j+1, and the 2n-2 lightest items of the first list decide, level by
// level, how many leaves are one bit longer.
func (h *huffBuilder) packageMerge(keys []uint64, maxBits int) {
	n := len(keys)
	if h.pm == nil {
		h.pm = new(packageMergeLists)
	}
	pm := h.pm
	prevLen := 0
	for j := maxBits - 1; j >= 0; j-- {
		wt, lf := &pm.weight[j], &pm.leaf[j]
		npk := 0
		if j < maxBits-1 {
			npk = prevLen / 2
		}
		li, pi, k := 0, 0, 0
		for li < n || pi < npk {
			var pw uint64
			if pi < npk {
				pw = pm.weight[j+1][2*pi] + pm.weight[j+1][2*pi+1]
			}
			if li < n && (pi >= npk || keys[li]>>16 <= pw) {
				wt[k], lf[k] = keys[li]>>16, true
				li++
			} else {
				wt[k], lf[k] = pw, false
				pi++
			}
			k++
		}
		prevLen = k
	}
	w := h.w[:n]
	clear(w)
	take := 2*n - 2
	for j := 0; j < maxBits && take > 0; j++ {
		leaves := 0
		for _, isLeaf := range pm.leaf[j][:take] {
			if isLeaf {
				leaves++
			}
		}
		for i := range leaves {
			w[i]++
		}
		take = 2 * (take - leaves)
	}
}

// canonical sets codes[s] to the canonical code of symbol s for lengths
// lens, bit-reversed, ready to be written least significant bit first.
func canonical(lens []uint8, codes []uint16) {
	var count, next [maxCodeBits + 2]uint16
	for _, l := range lens {
		count[l]++
	}
	count[0] = 0
	code := uint16(0)
	for l := 1; l <= maxCodeBits+1; l++ {
		code = (code + count[l-1]) << 1
		next[l] = code
	}
	for s, l := range lens {
		if l != 0 {
			codes[s] = bits.Reverse16(next[l]) >> (16 - l)
			next[l]++
		}
	}
}
