package reftable

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

// Table is one reftable file opened for reading. It reads blocks on demand
// through its io.ReaderAt and loads the whole file only when it is small. A Table is safe
// for concurrent use if its io.ReaderAt is (as *os.File is); iterators
// obtained from it are independent of each other.
//
// A Table keeps what lookups use again in memory: the index blocks they
// read and, once merged lookups have searched the table in vain about as
// often as decoding its ref section would cost, a filter of its ref
// names (1.25 bytes a ref, for tables of up to 32 MiB of refs) that lets
// later lookups skip it when it lacks the name. Reuse a Table across
// Merged views (as package stack does across reloads) to keep them.
type Table struct {
	src        io.ReaderAt
	mem        []byte // the table's bytes, for a table in memory
	name       string
	size       int64 // file size
	dataEnd    int64 // offset of the footer
	version    int
	headerSize int
	hash       Hash
	blockSize  int
	minIndex   uint64
	maxIndex   uint64

	firstType byte  // type of the first block, 0 if the table is empty
	first     int64 // offset of the first block: 0, or the header size (see readHeaderFooter)
	refIndex  int64
	objOffset int64
	objIDLen  int
	objIndex  int64
	logOffset int64
	logIndex  int64
	hasLogs   bool
	header    [headerSizeV2]byte

	index indexCache
	filt  tableFilter
}

// NewTable opens the table held by src, size bytes long. The name is used
// in errors only. It validates the header and the footer (including its
// CRC-32) and reads the type of the first block.
//
// A table of at most smallTable bytes is read whole, with one read, and
// served from memory: the tables a stack adds one commit at a time are
// that small, and reading their header, footer and blocks separately
// would cost a system call each.
func NewTable(src io.ReaderAt, size int64, name string) (*Table, error) {
	t := &Table{src: src, name: name, size: size}
	if size > 0 && size <= smallTable {
		buf := make([]byte, size)
		if err := t.readAt(buf, 0); err != nil {
			return nil, err
		}
		t.mem, t.src = buf, bytes.NewReader(buf)
	}
	if err := t.readHeaderFooter(); err != nil {
		return nil, err
	}
	return t, nil
}

// NewTableBytes opens the table whose bytes are data, like NewTable. The
// table reads its blocks in place, without copying them: data must not
// change while the table is in use. This is the way to read a table held
// in memory or mapped into memory.
func NewTableBytes(data []byte, name string) (*Table, error) {
	t := &Table{src: bytes.NewReader(data), mem: data, name: name, size: int64(len(data))}
	if err := t.readHeaderFooter(); err != nil {
		return nil, err
	}
	return t, nil
}

func (t *Table) corrupt(off int64, format string, args ...any) error {
	return &CorruptError{Table: t.name, Offset: off, Reason: fmt.Sprintf(format, args...), Err: ErrFormat}
}

// smallTable is the size up to which NewTable reads a table whole.
const smallTable = 16 << 10

func (t *Table) readAt(buf []byte, off int64) error {
	if t.mem != nil {
		if off < 0 || int64(len(buf)) > int64(len(t.mem))-off {
			return t.corrupt(off, "table truncated")
		}
		copy(buf, t.mem[off:])
		return nil
	}
	if _, err := t.src.ReadAt(buf, off); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return t.corrupt(off, "table truncated")
		}
		return ioError(t.name, off, err)
	}
	return nil
}

func (t *Table) readHeaderFooter() error {
	if t.size < headerSizeV1+footerSizeV1 {
		return t.corrupt(0, "table of %d bytes is shorter than header and footer", t.size)
	}
	// One read for the header of either version and the type of the
	// first block: the table is longer than header and footer.
	var start [headerSizeV2 + 1]byte
	if err := t.readAt(start[:], 0); err != nil {
		return err
	}
	h := start[:headerSizeV1]
	if string(h[:4]) != magic {
		return t.corrupt(0, "bad magic %q", h[:4])
	}
	t.version = int(h[4])
	if t.version != 1 && t.version != 2 {
		return t.corrupt(4, "unknown format version %d", t.version)
	}
	t.headerSize = headerSize(t.version)
	fs := int64(footerSize(t.version))
	if t.size < int64(t.headerSize)+fs {
		return t.corrupt(0, "table of %d bytes is shorter than header and footer", t.size)
	}
	h = t.header[:t.headerSize]
	copy(h, start[:])
	t.blockSize = int(uint24(h[5:]))
	t.minIndex = binary.BigEndian.Uint64(h[8:])
	t.maxIndex = binary.BigEndian.Uint64(h[16:])
	t.hash = SHA1
	if t.version == 2 {
		switch id := binary.BigEndian.Uint32(h[24:]); id {
		case formatIDSHA1:
		case formatIDSHA256:
			t.hash = SHA256
		default:
			return t.corrupt(24, "unknown hash id %#x", id)
		}
	}

	t.dataEnd = t.size - fs
	var fbuf [footerSizeV2]byte
	f := fbuf[:fs]
	if err := t.readAt(f, t.dataEnd); err != nil {
		return err
	}
	if got, want := binary.BigEndian.Uint32(f[fs-4:]), crc32.ChecksumIEEE(f[:fs-4]); got != want {
		return &CorruptError{Table: t.name, Offset: t.size - 4, Reason: fmt.Sprintf("footer CRC %#08x, computed %#08x", got, want), Err: ErrChecksum}
	}
	if !bytes.Equal(f[:t.headerSize], h) {
		return t.corrupt(t.dataEnd, "footer does not repeat the header")
	}
	p := f[t.headerSize:]
	t.refIndex = int64(binary.BigEndian.Uint64(p[0:]))
	obj := binary.BigEndian.Uint64(p[8:])
	t.objOffset, t.objIDLen = int64(obj>>5), int(obj&31)
	t.objIndex = int64(binary.BigEndian.Uint64(p[16:]))
	t.logOffset = int64(binary.BigEndian.Uint64(p[24:]))
	t.logIndex = int64(binary.BigEndian.Uint64(p[32:]))
	for i, off := range []int64{t.refIndex, t.objOffset, t.objIndex, t.logOffset, t.logIndex} {
		if off < 0 || off >= t.dataEnd {
			return t.corrupt(t.dataEnd+int64(t.headerSize+8*i), "section offset %d outside table data", off)
		}
	}
	if t.objOffset > 0 && (t.objIDLen == 0 || t.objIDLen > t.hash.Size()) {
		return t.corrupt(t.dataEnd+int64(t.headerSize+8), "invalid object id length %d", t.objIDLen)
	}
	if t.dataEnd > int64(t.headerSize) {
		t.firstType = start[t.headerSize]
		if !isBlockType(t.firstType) {
			return t.corrupt(int64(t.headerSize), "unknown block type %q", t.firstType)
		}
	}
	if t.firstType == blockTypeLog && t.logOffset == int64(t.headerSize) {
		// A log-only table as JGit writes it: the header stands alone,
		// and the first log block starts after it with a block length
		// and restart offsets of its own, where log_position says. (git
		// starts the first log block at 0, sharing its bytes with the
		// header, and writes log_position 0.)
		t.first = t.logOffset
	}
	t.hasLogs = t.firstType == blockTypeLog || t.logOffset > 0
	t.filt.after = filterAfter(t.refSectionBytes())
	return nil
}

// Name returns the name the table was opened with.
func (t *Table) Name() string { return t.name }

// Hash returns the hash function of the table's object ids.
func (t *Table) Hash() Hash { return t.hash }

// Version returns the format version, 1 or 2.
func (t *Table) Version() int { return t.version }

// BlockSize returns the block size declared in the header (0: unaligned).
func (t *Table) BlockSize() int { return t.blockSize }

// MinUpdateIndex returns the lowest update index of the table's refs.
func (t *Table) MinUpdateIndex() uint64 { return t.minIndex }

// MaxUpdateIndex returns the highest update index of the table's records.
func (t *Table) MaxUpdateIndex() uint64 { return t.maxIndex }

// Size returns the size of the table file in bytes.
func (t *Table) Size() int64 { return t.size }

// Layout describes where a table keeps its sections, as recorded in its
// footer. Offsets are 0 when a section or index is absent (a section can
// also start at 0 when it is the first one).
type Layout struct {
	HasRefs, HasObjs, HasLogs bool
	// FirstBlock is the offset of the first block: 0, where it shares
	// its bytes with the file header, or the header size for a log-only
	// table whose header stands alone (as JGit writes them; LogOffset is
	// then the header size too, where git writes 0).
	FirstBlock          int64
	RefIndex            int64
	ObjOffset, ObjIndex int64
	ObjIDLen            int
	LogOffset, LogIndex int64
	FooterOffset        int64
}

// Layout returns the section offsets recorded in the footer.
func (t *Table) Layout() Layout {
	return Layout{
		HasRefs:      t.firstType == blockTypeRef,
		HasObjs:      t.objOffset > 0,
		HasLogs:      t.hasLogs,
		FirstBlock:   t.first,
		RefIndex:     t.refIndex,
		ObjOffset:    t.objOffset,
		ObjIndex:     t.objIndex,
		ObjIDLen:     t.objIDLen,
		LogOffset:    t.logOffset,
		LogIndex:     t.logIndex,
		FooterOffset: t.dataEnd,
	}
}

// section returns where the section of block type typ starts and its index
// root, and whether the table has that section at all.
func (t *Table) section(typ byte) (start, index int64, ok bool) {
	switch typ {
	case blockTypeRef:
		return 0, t.refIndex, t.firstType == blockTypeRef
	case blockTypeLog:
		return t.logOffset, t.logIndex, t.hasLogs
	case blockTypeObj:
		return t.objOffset, t.objIndex, t.objOffset > 0
	}
	return 0, 0, false
}
