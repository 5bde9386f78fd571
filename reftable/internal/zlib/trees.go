package zlib

import "math/bits"

// maxSyms is the largest alphabet a code is built for: the literal/length
// alphabet with room for the two symbols only the fixed code uses.
const maxSyms = 288

// heapSize is the number of nodes of the largest code's tree, leaves and
// inner nodes: zlib's HEAP_SIZE.
const heapSize = 2*numLitLen + 1

// huffCode is one dynamic code of a block: the frequencies of its
// symbols, then its tree and code lengths as zlib's build_tree makes
// them, and the codes.
type huffCode struct {
	freq    [heapSize]uint32 // by node: symbols, then inner nodes
	dad     [heapSize]uint16
	lens    [heapSize]uint8
	codes   [numLitLen]uint16
	maxCode int // largest symbol with a code
}

// codeKind is what zlib's static_tree_desc says of an alphabet.
type codeKind struct {
	elems     int     // symbols
	static    []uint8 // lengths of the fixed code, or nil
	extra     []uint8 // extra bits of symbols from extraBase on
	extraBase int
	maxLen    int // longest code
}

// The three alphabets of a dynamic block, which initTables sets (as
// package variables they would be initialised when a program starts).
var litKind, distKind, blKind codeKind

// codeLenExtra are the extra bits of the code length symbols.
var codeLenExtra = [numCodeLen]uint8{16: 2, 17: 3, 18: 7}

// treeBuilder is the scratch of building a code: a heap of nodes (from
// index 1) that also lists, from its end down, the nodes by decreasing
// frequency once the tree is built, each node's order in the heap
// (frequency<<8 | depth), and the number of codes of each length.
type treeBuilder struct {
	heap    [heapSize]uint16
	key     [heapSize]uint64
	blCount [maxCodeBits + 1]int
}

// build gives t's symbols code lengths as zlib's build_tree does: a
// Huffman tree over the symbols with a frequency (two at least: unused
// low symbols are added), merging the two least frequent nodes first and
// of equal ones the shallower; lengths beyond k.maxLen are then cut as
// gen_bitlen cuts them. It adds the block's bits in this code to c.optLen
// and in the fixed code to c.staticLen, as zlib counts them.
func (c *Compressor) build(t *huffCode, k *codeKind) {
	b := &c.tb
	heap := &b.heap
	hlen := 0
	maxCode := -1
	for n := range k.elems {
		if t.freq[n] != 0 {
			hlen++
			heap[hlen] = uint16(n)
			maxCode = n
			b.key[n] = uint64(t.freq[n]) << 8
		} else {
			t.lens[n] = 0
		}
	}
	for hlen < 2 {
		node := 0
		if maxCode < 2 {
			maxCode++
			node = maxCode
		}
		hlen++
		heap[hlen] = uint16(node)
		t.freq[node] = 1
		b.key[node] = 1 << 8
		c.optLen--
		if k.static != nil {
			c.staticLen -= int(k.static[node])
		}
	}
	t.maxCode = maxCode
	for i := hlen / 2; i >= 1; i-- {
		b.down(hlen, i)
	}
	hmax := heapSize
	for node := k.elems; ; node++ {
		n := heap[1]
		heap[1] = heap[hlen]
		hlen--
		b.down(hlen, 1)
		m := heap[1]
		hmax -= 2
		heap[hmax+1], heap[hmax] = n, m
		t.freq[node] = t.freq[n] + t.freq[m]
		depth := max(uint8(b.key[n]), uint8(b.key[m])) + 1
		b.key[node] = uint64(t.freq[node])<<8 | uint64(depth)
		t.dad[n], t.dad[m] = uint16(node), uint16(node)
		heap[1] = uint16(node)
		b.down(hlen, 1)
		if hlen < 2 {
			break
		}
	}
	hmax--
	heap[hmax] = heap[1]
	c.lengths(t, k, hmax)
	canonical(t.lens[:maxCode+1], t.codes[:])
}

// down restores the heap property from index i down: zlib's pqdownheap,
// whose order breaks frequency ties by depth, the shallower first.
func (b *treeBuilder) down(hlen, i int) {
	heap := &b.heap
	key := &b.key
	v := heap[i]
	for j := 2 * i; j <= hlen; j *= 2 {
		if j < hlen && key[heap[j+1]] <= key[heap[j]] {
			j++
		}
		if key[v] <= key[heap[j]] {
			break
		}
		heap[i] = heap[j]
		i = j
	}
	heap[i] = v
}

// lengths is zlib's gen_bitlen: every node's depth from the root, the
// root at heap[hmax] and the nodes below it in order of decreasing
// frequency; a length over k.maxLen is cut to it, and then the lengths of
// the least frequent symbols are redistributed so that the code is
// complete again.
func (c *Compressor) lengths(t *huffCode, k *codeKind, hmax int) {
	b := &c.tb
	clear(b.blCount[:])
	t.lens[b.heap[hmax]] = 0
	overflow := 0
	h := hmax + 1
	for ; h < heapSize; h++ {
		n := b.heap[h]
		l := int(t.lens[t.dad[n]]) + 1
		if l > k.maxLen {
			l = k.maxLen
			overflow++
		}
		t.lens[n] = uint8(l)
		if int(n) > t.maxCode {
			continue // an inner node
		}
		b.blCount[l]++
		x := 0
		if int(n) >= k.extraBase {
			x = int(k.extra[int(n)-k.extraBase])
		}
		f := int(t.freq[n])
		c.optLen += f * (l + x)
		if k.static != nil {
			c.staticLen += f * (int(k.static[n]) + x)
		}
	}
	if overflow == 0 {
		return
	}
	for ; overflow > 0; overflow -= 2 {
		l := k.maxLen - 1
		for b.blCount[l] == 0 {
			l--
		}
		b.blCount[l]--
		b.blCount[l+1] += 2
		b.blCount[k.maxLen]--
	}
	for l := k.maxLen; l != 0; l-- {
		for n := b.blCount[l]; n != 0; {
			h--
			m := b.heap[h]
			if int(m) > t.maxCode {
				continue
			}
			if int(t.lens[m]) != l {
				c.optLen += (l - int(t.lens[m])) * int(t.freq[m])
				t.lens[m] = uint8(l)
			}
			n--
		}
	}
}

// scanLengths is zlib's scan_tree and send_tree: it appends to rle the
// code length symbols that describe lens (runs of a length repeated with
// symbol 16, runs of zeros with 17 and 18, each run as zlib cuts it) and
// counts them in c.bl.
func (c *Compressor) scanLengths(rle []uint16, lens []uint8) []uint16 {
	emit := func(sym, extra int) {
		rle = append(rle, uint16(sym|extra<<5))
		c.bl.freq[sym]++
	}
	prev := -1
	next := int(lens[0])
	count := 0
	maxCount, minCount := 7, 4
	if next == 0 {
		maxCount, minCount = 138, 3
	}
	for n := range lens {
		cur := next
		next = -1 // past the end: ends every run
		if n+1 < len(lens) {
			next = int(lens[n+1])
		}
		if count++; count < maxCount && cur == next {
			continue
		}
		switch {
		case count < minCount:
			for range count {
				emit(cur, 0)
			}
		case cur != 0:
			if cur != prev {
				emit(cur, 0)
				count--
			}
			emit(16, count-3)
		case count <= 10:
			emit(17, count-3)
		default:
			emit(18, count-11)
		}
		count, prev = 0, cur
		switch {
		case next == 0:
			maxCount, minCount = 138, 3
		case cur == next:
			maxCount, minCount = 6, 3
		default:
			maxCount, minCount = 7, 4
		}
	}
	return rle
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
