package odb

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"io/fs"
	"os"

	"github.com/refstore/refstore/vfs"
)

// A pack index (.idx), version 2, big-endian:
//
//	0      ff 74 4f 63, 00 00 00 02
//	8      fanout: 256 counts, entry b = objects whose id's first byte is <= b
//	1032   n ids, sorted
//	       n CRC-32s
//	       n 4-byte offsets; one with the high bit set indexes instead
//	       k 8-byte offsets (objects past 2 GiB), k < n
//	       the pack's checksum and the index's
//
// Version 1 has no magic and no version: the fanout at 0, then n entries
// of a 4-byte offset and an id, then the two checksums.
//
// A pack (.pack) starts with "PACK", its version (2 or 3) and its object
// count. Each entry starts with a header: a byte holding a continuation
// bit, the type in 3 bits and 4 bits of size, then 7 more bits of size a
// byte while the continuation bit is set. An OFS_DELTA entry (type 6)
// goes on with its base's distance back (7 bits a byte, most significant
// first, each continued byte adding one), a REF_DELTA (type 7) with its
// base's id. A delta has its base's type.
const (
	idxMagic      = 0xff744f63
	fanoutLen     = 256 * 4
	packHeaderLen = 12
	ofsDelta      = 6
	refDelta      = 7

	// maxDeltaChain bounds the deltas followed to a base: git's deepest
	// chains are 4095 long (pack.depth's maximum).
	maxDeltaChain = 10000
	// maxEntryHeader is the most of an entry read for its header: 10
	// bytes of type and size, and 10 of base offset or a 32-byte id.
	maxEntryHeader = 64
	// After loadIDsAfter lookups in one index its table of ids, if at
	// most maxIDTable bytes, is read whole, instead of a read a step of
	// each binary search.
	loadIDsAfter = 64
	maxIDTable   = 64 << 20
)

// A pack is one pack of the database, opened when first needed.
type pack struct {
	db                *DB
	idxPath, packPath string

	opened   bool
	openErr  error // of the index, kept
	idx      vfs.File
	idxSize  int64
	version  int
	n        uint32
	fanout   [256]uint32
	ids      []byte // the id table once read whole (version 2)
	lookups  int
	data     vfs.File // the pack, once an entry is read
	dataErr  error    // of the pack, kept
	packSize int64
	buf      [maxEntryHeader]byte // an entry's header
	idBuf    [64]byte             // an id of the index
}

// open opens and checks the index, once.
func (p *pack) open() error {
	if p.opened {
		return p.openErr
	}
	p.opened = true
	p.openErr = p.openIdx()
	return p.openErr
}

func (p *pack) openIdx() error {
	f, err := p.db.fsys.OpenFile(p.idxPath, os.O_RDONLY, 0)
	if err != nil {
		return err
	}
	p.idx = f
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	p.idxSize = fi.Size()
	hs := int64(p.db.hashSize)
	var head [8]byte
	if err := readFull(f, head[:], 0); err != nil {
		return p.idxErr(0, "too short for an index (%d bytes)", p.idxSize)
	}
	fanoutAt := int64(0)
	p.version = 1
	if binary.BigEndian.Uint32(head[:]) == idxMagic {
		p.version = int(binary.BigEndian.Uint32(head[4:]))
		if p.version != 2 {
			return p.idxErr(4, "index version %d, not 2", p.version)
		}
		fanoutAt = 8
	}
	var fanout [fanoutLen]byte
	if err := readFull(f, fanout[:], fanoutAt); err != nil {
		return p.idxErr(fanoutAt, "too short for a fanout table (%d bytes)", p.idxSize)
	}
	for b := range p.fanout {
		p.fanout[b] = binary.BigEndian.Uint32(fanout[4*b:])
		if b > 0 && p.fanout[b] < p.fanout[b-1] {
			return p.idxErr(fanoutAt+4*int64(b), "fanout entry %d (%d) below the one before (%d)", b, p.fanout[b], p.fanout[b-1])
		}
	}
	p.n = p.fanout[255]
	n := int64(p.n)
	if p.version == 1 {
		if want := fanoutLen + n*(4+hs) + 2*hs; p.idxSize != want {
			return p.idxErr(0, "%d bytes for %d objects, want %d", p.idxSize, n, want)
		}
		return nil
	}
	minSize := 8 + fanoutLen + n*(hs+8) + 2*hs
	maxSize := minSize
	if n > 0 {
		maxSize += (n - 1) * 8
	}
	if p.idxSize < minSize || p.idxSize > maxSize || (p.idxSize-minSize)%8 != 0 {
		return p.idxErr(0, "%d bytes for %d objects, want %d to %d", p.idxSize, n, minSize, maxSize)
	}
	return nil
}

func (p *pack) idxErr(off int64, format string, args ...any) error {
	return formatErr(p.idxPath, off, format, args...)
}

// idAt returns where the id of entry i starts in the index.
func (p *pack) idAt(i uint32) int64 {
	hs := int64(p.db.hashSize)
	if p.version == 1 {
		return fanoutLen + int64(i)*(4+hs) + 4
	}
	return 8 + fanoutLen + int64(i)*hs
}

// find looks id up in the index: its entry number, and whether it is
// there.
func (p *pack) find(id []byte) (uint32, bool, error) {
	if err := p.open(); err != nil {
		return 0, false, err
	}
	hs := p.db.hashSize
	if p.ids == nil && p.version == 2 {
		if p.lookups++; p.lookups > loadIDsAfter && int64(p.n)*int64(hs) <= maxIDTable {
			ids := make([]byte, int(p.n)*hs)
			if err := readFull(p.idx, ids, p.idAt(0)); err != nil {
				return 0, false, err
			}
			p.ids = ids
		}
	}
	lo, hi := uint32(0), p.fanout[id[0]]
	if id[0] > 0 {
		lo = p.fanout[id[0]-1]
	}
	for lo < hi {
		mid := lo + (hi-lo)/2
		var got []byte
		if p.ids != nil {
			got = p.ids[int(mid)*hs : int(mid+1)*hs]
		} else {
			got = p.idBuf[:hs]
			if err := readFull(p.idx, got, p.idAt(mid)); err != nil {
				return 0, false, err
			}
		}
		switch c := bytes.Compare(id, got); {
		case c == 0:
			return mid, true, nil
		case c < 0:
			hi = mid
		default:
			lo = mid + 1
		}
	}
	return 0, false, nil
}

// offset returns where entry i of the index is in the pack.
func (p *pack) offset(i uint32) (int64, error) {
	hs := int64(p.db.hashSize)
	n := int64(p.n)
	var b [8]byte
	if p.version == 1 {
		at := fanoutLen + int64(i)*(4+hs)
		if err := readFull(p.idx, b[:4], at); err != nil {
			return 0, err
		}
		return int64(binary.BigEndian.Uint32(b[:4])), nil
	}
	at := 8 + fanoutLen + n*(hs+4) + int64(i)*4
	if err := readFull(p.idx, b[:4], at); err != nil {
		return 0, err
	}
	off := binary.BigEndian.Uint32(b[:4])
	if off&0x80000000 == 0 {
		return int64(off), nil
	}
	j := int64(off & 0x7fffffff)
	large := 8 + fanoutLen + n*(hs+8)
	if count := (p.idxSize - large - 2*hs) / 8; j >= count {
		return 0, p.idxErr(at, "64-bit offset %d of %d", j, count)
	}
	if err := readFull(p.idx, b[:], large+8*j); err != nil {
		return 0, err
	}
	off64 := binary.BigEndian.Uint64(b[:])
	if off64 >= 1<<63 {
		return 0, p.idxErr(large+8*j, "offset %d out of range", off64)
	}
	return int64(off64), nil
}

// openData opens and checks the pack, once.
func (p *pack) openData() error {
	if p.data != nil || p.dataErr != nil {
		return p.dataErr
	}
	f, err := p.db.fsys.OpenFile(p.packPath, os.O_RDONLY, 0)
	if err != nil {
		p.dataErr = err
		return err
	}
	p.data = f
	fi, err := f.Stat()
	if err != nil {
		p.dataErr = err
		return err
	}
	p.packSize = fi.Size()
	var h [packHeaderLen]byte
	switch {
	case readFull(f, h[:], 0) != nil || !bytes.Equal(h[:4], []byte("PACK")):
		p.dataErr = formatErr(p.packPath, 0, "not a pack")
	case binary.BigEndian.Uint32(h[4:]) != 2 && binary.BigEndian.Uint32(h[4:]) != 3:
		p.dataErr = formatErr(p.packPath, 4, "pack version %d", binary.BigEndian.Uint32(h[4:]))
	case binary.BigEndian.Uint32(h[8:]) != p.n:
		p.dataErr = formatErr(p.packPath, 8, "%d objects, its index %s has %d", binary.BigEndian.Uint32(h[8:]), p.idxPath, p.n)
	case p.packSize < packHeaderLen+int64(p.db.hashSize):
		p.dataErr = formatErr(p.packPath, 0, "too short for a pack (%d bytes)", p.packSize)
	}
	return p.dataErr
}

// entryType returns the type of the entry at off: its own, or for a delta
// its base's, following at most budget deltas.
func (p *pack) entryType(off int64, budget int) (Type, error) {
	if err := p.openData(); err != nil {
		return 0, err
	}
	hs := p.db.hashSize
	end := p.packSize - int64(hs) // the trailing checksum
	for ; budget >= 0; budget-- {
		if off < packHeaderLen || off >= end {
			return 0, p.packErr(off, "entry offset out of the pack's %d bytes", p.packSize)
		}
		h := p.buf[:min(int64(len(p.buf)), end-off)]
		if err := readFull(p.data, h, off); err != nil {
			return 0, err
		}
		c := h[0]
		t := Type(c >> 4 & 7)
		i := 1
		for ; c&0x80 != 0; i++ {
			if i == len(h) || i > 9 {
				return 0, p.packErr(off, "entry size runs past %d bytes", i)
			}
			c = h[i]
		}
		switch t {
		case Commit, Tree, Blob, Tag:
			return t, nil
		case ofsDelta:
			back, ok := baseDistance(h[i:])
			if !ok || back > off-packHeaderLen {
				return 0, p.packErr(off, "bad delta base distance")
			}
			off -= back
		case refDelta:
			if len(h) < i+hs {
				return 0, p.packErr(off, "delta base id runs past the pack")
			}
			base := bytes.Clone(h[i : i+hs])
			j, ok, err := p.find(base)
			if err != nil {
				return 0, err
			}
			if !ok {
				// A thin pack's base is elsewhere (git completes
				// thin packs when it receives them).
				return p.db.typeOf(base, budget-1)
			}
			if off, err = p.offset(j); err != nil {
				return 0, err
			}
		default:
			return 0, p.packErr(off, "invalid object type %d", t)
		}
	}
	return 0, p.packErr(off, "delta chain longer than %d", maxDeltaChain)
}

func (p *pack) packErr(off int64, format string, args ...any) error {
	return formatErr(p.packPath, off, format, args...)
}

// baseDistance decodes an OFS_DELTA's distance back to its base; ok is
// false if it runs past b, overflows or is zero.
func baseDistance(b []byte) (int64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	c := b[0]
	d := int64(c & 0x7f)
	for i := 1; c&0x80 != 0; i++ {
		if i == len(b) || d >= 1<<55 {
			return 0, false
		}
		c = b[i]
		d = (d+1)<<7 | int64(c&0x7f)
	}
	return d, d > 0
}

func (p *pack) close() error {
	var errs []error
	if p.idx != nil {
		errs = append(errs, p.idx.Close())
	}
	if p.data != nil {
		errs = append(errs, p.data.Close())
	}
	p.idx, p.data = nil, nil
	return errors.Join(errs...)
}

// readFull reads len(b) bytes of f at off; a file shorter than that is
// an io.ErrUnexpectedEOF. The error names the file.
func readFull(f vfs.File, b []byte, off int64) error {
	n, err := f.ReadAt(b, off)
	if n == len(b) {
		return nil
	}
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return &fs.PathError{Op: "read", Path: f.Name(), Err: err}
}
