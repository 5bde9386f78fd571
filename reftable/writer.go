package reftable

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
)

// WriterOptions configures a Writer. The zero value means git's defaults.
type WriterOptions struct {
	// BlockSize is the size of ref, obj and index blocks, and the most
	// uncompressed bytes of a log block. 0 means 4096; at most
	// MaxBlockSize.
	BlockSize int
	// RestartInterval is how many records may share a prefix-compression
	// run before a restart point. 0 means 16; at most 65535.
	RestartInterval int
	// SkipIndexObjects turns off the object index (git's
	// reftable.indexObjects=false).
	SkipIndexObjects bool
	// Unpadded writes blocks back to back instead of padding them to
	// BlockSize.
	Unpadded bool
	// UnalignedHeader, with Unpadded, writes block_size 0 in the header
	// and footer, as the format's specification asks of unaligned
	// tables; git writes BlockSize there even when unpadded (which JGit
	// does not read). BlockSize still bounds the blocks.
	UnalignedHeader bool
	// Hash is the object id hash. SHA1 (the zero value) writes format
	// version 1, SHA256 version 2.
	Hash Hash
	// MinUpdateIndex and MaxUpdateIndex bound the update indexes of the
	// refs in the table (see Writer.SetLimits).
	MinUpdateIndex, MaxUpdateIndex uint64
	// ExactLogMessage stores log messages as given; by default they are
	// normalised as git does (trailing newlines removed, one appended,
	// embedded newlines rejected).
	ExactLogMessage bool
}

// withDefaults returns a copy of o with zero fields set to git's defaults,
// or an error if a field is out of range.
func (o WriterOptions) withDefaults() (WriterOptions, error) {
	if o.BlockSize == 0 {
		o.BlockSize = DefaultBlockSize
	}
	if o.RestartInterval == 0 {
		o.RestartInterval = DefaultRestartInterval
	}
	o.Hash = o.Hash.norm()
	switch {
	case o.BlockSize < 0 || o.BlockSize > MaxBlockSize:
		return o, fmt.Errorf("reftable: block size %d outside 1..%d: %w", o.BlockSize, MaxBlockSize, ErrOptions)
	case o.RestartInterval < 0 || o.RestartInterval > 65535:
		return o, fmt.Errorf("reftable: restart interval %d outside 1..65535: %w", o.RestartInterval, ErrOptions)
	case o.Hash != SHA1 && o.Hash != SHA256:
		return o, fmt.Errorf("reftable: unknown hash %v: %w", o.Hash, ErrOptions)
	case o.UnalignedHeader && !o.Unpadded:
		return o, fmt.Errorf("reftable: block size 0 in the header of a padded table: %w", ErrOptions)
	case o.MinUpdateIndex > o.MaxUpdateIndex:
		return o, fmt.Errorf("reftable: min update index %d above max %d: %w", o.MinUpdateIndex, o.MaxUpdateIndex, ErrOptions)
	}
	return o, nil
}

// WriterStats describes what a Writer wrote.
type WriterStats struct {
	Refs, Logs, Objs int // records written to each section
	Blocks           int // blocks of every kind
	ObjIDLen         int // length of abbreviated object ids in the obj section, 0 if none
	Size             int64
}

// sectionStats tracks one section (ref, obj or log) as git's writer does.
type sectionStats struct {
	blocks      int
	offset      int64 // offset of the first block, 0 if it starts the file
	indexOffset int64 // offset of the highest index level, 0 if none
}

// Writer writes one table to an io.Writer. Records must be added in order:
// all refs sorted by name, then all logs sorted by name and newest first.
// A Writer keeps the first error it meets and returns it from every later
// call. It is not safe for concurrent use.
type Writer struct {
	w        io.Writer
	opts     WriterOptions
	hashSize int
	version  int
	err      error
	closed   bool

	next    int64 // file offset where the next block starts (padding included)
	pending int   // zero bytes owed before the next write
	zeros   []byte

	bw      blockWriter
	active  bool // bw holds a block being filled
	section byte // blockTypeRef until the first log, then blockTypeLog
	lastKey []byte
	scratch []byte
	keybuf  []byte
	msgbuf  []byte // the normalised message of the log being added

	index []indexEntry // index records for the blocks of the current level

	objs    objIDs // object ids of refs and the blocks naming them
	objLen  int
	refStat sectionStats
	objStat sectionStats
	logStat sectionStats
	stats   WriterStats

	quirks     writerQuirks
	headerOwed bool // the header stands alone and is not written yet

	// Log blocks being compressed, oldest first, and spares (see
	// logpipe.go).
	inflight  []*inflightLog
	spareLogs []*inflightLog
	pipeline  bool
	busyMax   int // the goroutines compressing at which the writer compresses a block itself
}

// writerQuirks make a Writer lay tables out as other writers (JGit) do,
// where the format allows what git's writer never does: tests set them
// to check that the reader takes every such table. The zero value is
// git's layout.
type writerQuirks struct {
	// indexBlockSize lets index blocks grow to this size, past the
	// block size: JGit writes a single index level in one block, up to
	// the format's maximum. Padding fills an index block to the next
	// multiple of the block size.
	indexBlockSize int
	// logBlockSize is the most uncompressed bytes of a log block, past
	// the block size (JGit: twice the block size, and more).
	logBlockSize int
	// headerApart writes the header of a log-only table alone: the first
	// log block starts after it with a block length and restart offsets
	// of its own, and the footer's log_position is the header size.
	headerApart bool
}

type indexEntry struct {
	key    []byte
	offset uint64
}

// NewWriter returns a Writer that writes a table to w with the given
// options.
func NewWriter(w io.Writer, opts WriterOptions) (*Writer, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	wr := &Writer{
		w:        w,
		opts:     o,
		hashSize: o.Hash.Size(),
		version:  o.Hash.version(),
		section:  blockTypeRef,
		objs:     objIDs{hashSize: o.Hash.Size()},
		pipeline: pipelineLogs(),
		busyMax:  maxInflightLogs,
	}
	return wr, nil
}

// SetLimits sets the range of update indexes of the table's refs. It must be
// called before the first record is added.
func (w *Writer) SetLimits(min, max uint64) error {
	if w.err != nil {
		return w.err
	}
	if w.next != 0 || w.active || w.closed || w.stats.Refs+w.stats.Logs > 0 {
		return w.fail(fmt.Errorf("reftable: SetLimits after the first record: %w", ErrWriterState))
	}
	if min > max {
		return w.fail(fmt.Errorf("reftable: min update index %d above max %d: %w", min, max, ErrOptions))
	}
	w.opts.MinUpdateIndex, w.opts.MaxUpdateIndex = min, max
	return nil
}

func (w *Writer) fail(err error) error {
	if w.err == nil {
		w.err = err
	}
	return w.err
}

// checkName rejects names the format cannot store.
func checkName(name []byte) error {
	if len(name) == 0 {
		return fmt.Errorf("reftable: empty name: %w", ErrRefName)
	}
	if bytes.IndexByte(name, 0) >= 0 {
		return fmt.Errorf("reftable: name %q contains NUL: %w", name, ErrRefName)
	}
	return nil
}

func (w *Writer) checkID(what string, name, id []byte) error {
	if len(id) != w.hashSize {
		return fmt.Errorf("reftable: %s of %q has %d bytes, want %d for %v: %w", what, name, len(id), w.hashSize, w.opts.Hash, ErrHashMismatch)
	}
	return nil
}

// AddRef adds a ref record. Refs must be added in strictly increasing name
// order, before any log, with an update index within the limits.
func (w *Writer) AddRef(r *RefRecord) error {
	if w.err != nil {
		return w.err
	}
	if err := w.checkRef(r); err != nil {
		return w.fail(err)
	}
	w.scratch = appendRefValue(w.scratch[:0], r, w.opts.MinUpdateIndex)
	if err := w.addRecord(blockTypeRef, r.Name, byte(r.Type), w.scratch); err != nil {
		return w.fail(err)
	}
	w.stats.Refs++
	if !w.opts.SkipIndexObjects {
		switch r.Type {
		case RefVal1:
			w.indexObject(r.Value)
		case RefVal2:
			w.indexObject(r.Value)
			w.indexObject(r.Peeled)
		}
	}
	return nil
}

func (w *Writer) checkRef(r *RefRecord) error {
	if w.closed {
		return fmt.Errorf("reftable: AddRef after Close: %w", ErrWriterState)
	}
	if w.section != blockTypeRef {
		return fmt.Errorf("reftable: ref %q added after logs: %w", r.Name, ErrWriterState)
	}
	if err := checkName(r.Name); err != nil {
		return err
	}
	if r.UpdateIndex < w.opts.MinUpdateIndex || r.UpdateIndex > w.opts.MaxUpdateIndex {
		return fmt.Errorf("reftable: ref %q has update index %d outside %d..%d: %w",
			r.Name, r.UpdateIndex, w.opts.MinUpdateIndex, w.opts.MaxUpdateIndex, ErrUpdateIndex)
	}
	switch r.Type {
	case RefDeletion:
	case RefVal1:
		return w.checkID("value", r.Name, r.Value)
	case RefVal2:
		if err := w.checkID("value", r.Name, r.Value); err != nil {
			return err
		}
		return w.checkID("peeled value", r.Name, r.Peeled)
	case RefSymref:
		if len(r.Target) == 0 {
			return fmt.Errorf("reftable: symref %q has an empty target: %w", r.Name, ErrRefName)
		}
	default:
		return fmt.Errorf("reftable: ref %q has invalid value type %d: %w", r.Name, r.Type, ErrWriterState)
	}
	return nil
}

// indexObject records that the current ref block names object id.
func (w *Writer) indexObject(id []byte) {
	w.objs.add(id, uint64(w.next))
}

// AddLog adds a log record. Logs must be added after all refs, in
// increasing order of (RefName, newest UpdateIndex first). An update may
// have an update index below the writer's minimum (rewritten reflog
// entries keep their index) but not above its maximum.
func (w *Writer) AddLog(l *LogRecord) error {
	if w.err != nil {
		return w.err
	}
	msg, err := w.checkLog(l)
	if err != nil {
		return w.fail(err)
	}
	if w.section == blockTypeRef {
		if err := w.finishPublicSection(); err != nil {
			return w.fail(err)
		}
		w.section = blockTypeLog
	}
	// The log section starts right after the previous block's data.
	w.next -= int64(w.pending)
	w.pending = 0
	rec := *l
	rec.Message = msg
	w.scratch = appendLogValue(w.scratch[:0], &rec, w.hashSize)
	w.keybuf = appendLogKey(w.keybuf[:0], l.RefName, l.UpdateIndex)
	if err := w.addRecord(blockTypeLog, w.keybuf, byte(l.Type), w.scratch); err != nil {
		return w.fail(err)
	}
	w.stats.Logs++
	return nil
}

// checkLog validates l and returns the message to store.
func (w *Writer) checkLog(l *LogRecord) ([]byte, error) {
	if w.closed {
		return nil, fmt.Errorf("reftable: AddLog after Close: %w", ErrWriterState)
	}
	if err := checkName(l.RefName); err != nil {
		return nil, err
	}
	switch l.Type {
	case LogDeletion:
		return nil, nil
	case LogUpdate:
	default:
		return nil, fmt.Errorf("reftable: log of %q has invalid value type %d: %w", l.RefName, l.Type, ErrWriterState)
	}
	if l.UpdateIndex > w.opts.MaxUpdateIndex {
		return nil, fmt.Errorf("reftable: log of %q has update index %d above %d: %w",
			l.RefName, l.UpdateIndex, w.opts.MaxUpdateIndex, ErrUpdateIndex)
	}
	for _, id := range [][]byte{l.Old, l.New} {
		if id != nil {
			if err := w.checkID("log id", l.RefName, id); err != nil {
				return nil, err
			}
		}
	}
	if w.opts.ExactLogMessage {
		return l.Message, nil
	}
	msg := bytes.TrimRight(l.Message, "\n")
	if bytes.IndexByte(msg, '\n') >= 0 {
		return nil, fmt.Errorf("reftable: log message of %q has several lines: %w", l.RefName, ErrLogMessage)
	}
	w.msgbuf = append(append(w.msgbuf[:0], msg...), '\n')
	return w.msgbuf, nil
}

// addRecord adds a record to the current section, flushing the block when
// it is full. Keys must increase within a section.
func (w *Writer) addRecord(typ byte, key []byte, extra byte, val []byte) error {
	if len(w.lastKey) > 0 && bytes.Compare(key, w.lastKey) <= 0 {
		return fmt.Errorf("reftable: key %q not after %q: %w", key, w.lastKey, ErrKeyOrder)
	}
	w.lastKey = append(w.lastKey[:0], key...)
	return w.addToBlock(typ, key, extra, val)
}

// addToBlock adds a record to the current block, flushing the block and
// retrying once in a fresh one when it is full.
func (w *Writer) addToBlock(typ byte, key []byte, extra byte, val []byte) error {
	if !w.active {
		w.startBlock(typ)
	}
	if w.bw.add(key, extra, val) {
		return nil
	}
	if err := w.flushBlock(); err != nil {
		return err
	}
	w.startBlock(typ)
	if w.bw.add(key, extra, val) {
		return nil
	}
	return fmt.Errorf("reftable: record %q (%d bytes) does not fit block size %d: %w",
		printableKey(typ, key), len(key)+len(val), w.opts.BlockSize, ErrEntryTooBig)
}

// printableKey returns the ref name part of a key for error messages.
func printableKey(typ byte, key []byte) []byte {
	if typ == blockTypeLog && len(key) > logKeySuffix {
		return key[:len(key)-logKeySuffix]
	}
	return key
}

func (w *Writer) startBlock(typ byte) {
	headerOff := 0
	if w.next == 0 {
		headerOff = headerSize(w.version)
		if typ == blockTypeLog && w.quirks.headerApart {
			w.next, headerOff, w.headerOwed = int64(headerOff), 0, true
		}
	}
	size := w.opts.BlockSize
	switch {
	case typ == blockTypeIndex && w.quirks.indexBlockSize > 0:
		size = w.quirks.indexBlockSize
	case typ == blockTypeLog && w.quirks.logBlockSize > 0:
		size = w.quirks.logBlockSize
	}
	w.bw.init(typ, size, headerOff, w.opts.RestartInterval)
	w.active = true
}

// flushBlock writes the current block if it holds records, and adds an
// index record for it.
func (w *Writer) flushBlock() error {
	if !w.active || w.bw.entries == 0 {
		return nil
	}
	typ := w.bw.typ
	if typ == blockTypeLog && w.pipeline && w.next > 0 && !w.headerOwed && w.bw.headerOff == 0 {
		return w.submitLog()
	}
	if err := w.drainLogs(0); err != nil {
		return err
	}
	raw, err := w.bw.finish()
	if err != nil {
		return fmt.Errorf("reftable: compressing log block: %w", err)
	}
	padding := 0
	if bs := w.opts.BlockSize; !w.opts.Unpadded && typ != blockTypeLog {
		padding = (len(raw)+bs-1)/bs*bs - len(raw)
	}
	st := w.sectionStats(typ)
	if st != nil {
		if st.blocks == 0 {
			st.offset = w.next
		}
		st.blocks++
	}
	w.stats.Blocks++
	if w.next == 0 {
		w.putHeader(raw[:0])
	}
	if w.headerOwed {
		if err := w.write(w.putHeader(nil)); err != nil {
			return err
		}
		w.headerOwed = false
	}
	if err := w.write(raw); err != nil {
		return err
	}
	w.pending = padding
	w.index = append(w.index, indexEntry{key: clone(w.bw.lastKey), offset: uint64(w.next)})
	w.next += int64(len(raw) + padding)
	w.active = false
	return nil
}

func (w *Writer) sectionStats(typ byte) *sectionStats {
	switch typ {
	case blockTypeRef:
		return &w.refStat
	case blockTypeObj:
		return &w.objStat
	case blockTypeLog:
		return &w.logStat
	}
	return nil
}

// write writes the pending padding, then b.
func (w *Writer) write(b []byte) error {
	if w.pending > 0 {
		if cap(w.zeros) < w.pending {
			w.zeros = make([]byte, w.pending)
		}
		if _, err := w.w.Write(w.zeros[:w.pending]); err != nil {
			return fmt.Errorf("reftable: write: %w", err)
		}
		w.pending = 0
	}
	if _, err := w.w.Write(b); err != nil {
		return fmt.Errorf("reftable: write: %w", err)
	}
	return nil
}

// putHeader appends the file header to dst.
func (w *Writer) putHeader(dst []byte) []byte {
	dst = append(dst, magic...)
	dst = append(dst, byte(w.version))
	if w.opts.UnalignedHeader {
		dst = appendUint24(dst, 0)
	} else {
		dst = appendUint24(dst, uint32(w.opts.BlockSize))
	}
	dst = binary.BigEndian.AppendUint64(dst, w.opts.MinUpdateIndex)
	dst = binary.BigEndian.AppendUint64(dst, w.opts.MaxUpdateIndex)
	if w.version == 2 {
		id := uint32(formatIDSHA1)
		if w.opts.Hash == SHA256 {
			id = formatIDSHA256
		}
		dst = binary.BigEndian.AppendUint32(dst, id)
	}
	return dst
}

// finishSection flushes the last block of the current section and writes
// its index: one level of index blocks after another until a level has at
// most threshold blocks. It returns the offset of the highest level, or 0.
func (w *Writer) finishSection() (int64, error) {
	if err := w.flushBlock(); err != nil {
		return 0, err
	}
	if err := w.drainLogs(0); err != nil {
		return 0, err
	}
	threshold := 3
	if w.opts.Unpadded {
		threshold = 1
	}
	var indexStart int64
	for len(w.index) > threshold {
		indexStart = w.next
		level := w.index
		w.index = nil
		w.startBlock(blockTypeIndex)
		for _, e := range level {
			w.scratch = appendVarint(w.scratch[:0], e.offset)
			if err := w.addToBlock(blockTypeIndex, e.key, 0, w.scratch); err != nil {
				return 0, err
			}
		}
		if err := w.flushBlock(); err != nil {
			return 0, err
		}
		if len(w.index) >= len(level) {
			// Keys this long for the block size fit one per index
			// block: another level would not be smaller. Stop with a
			// root of several blocks, which readers scan linearly.
			break
		}
	}
	w.index = w.index[:0]
	w.lastKey = w.lastKey[:0]
	return indexStart, nil
}

// finishPublicSection ends the ref or log section, writing its index and,
// after refs, the obj section.
func (w *Writer) finishPublicSection() error {
	typ := w.section
	off, err := w.finishSection()
	if err != nil {
		return err
	}
	if typ == blockTypeLog {
		w.logStat.indexOffset = off
		return nil
	}
	w.refStat.indexOffset = off
	if !w.opts.SkipIndexObjects && off > 0 {
		if err := w.writeObjSection(); err != nil {
			return err
		}
	}
	w.objs = objIDs{hashSize: w.hashSize}
	// Without object ids the obj block stays empty and unwritten: drop
	// it, or the first log would go into it (git resets its block
	// writer here).
	w.active = false
	return nil
}

// writeObjSection writes the obj blocks and their index, mapping every
// object id named by a ref to the ref blocks that name it.
func (w *Writer) writeObjSection() error {
	o := &w.objs
	w.objLen = max(o.sort(), 1) + 1 // git keeps obj_id_len at 2 or more
	if w.objLen > 31 {
		// The footer has 5 bits for the length; ids this alike cannot be
		// abbreviated, so the table goes without object index.
		w.objLen = 0
		return nil
	}
	w.startBlock(blockTypeObj)
	if err := o.each(func(id []byte, offsets []uint64) error { return w.addObj(id[:w.objLen], offsets) }); err != nil {
		return err
	}
	off, err := w.finishSection()
	w.objStat.indexOffset = off
	return err
}

// addObj adds one obj record; when it does not fit a fresh block, it is
// written without offsets, which tells readers to scan all ref blocks.
func (w *Writer) addObj(key []byte, offsets []uint64) error {
	var extra byte
	w.scratch, extra = appendObjValue(w.scratch[:0], offsets)
	if w.bw.add(key, extra, w.scratch) {
		w.stats.Objs++
		return nil
	}
	if err := w.flushBlock(); err != nil {
		return err
	}
	w.startBlock(blockTypeObj)
	if !w.bw.add(key, extra, w.scratch) {
		w.scratch, extra = appendObjValue(w.scratch[:0], nil)
		if !w.bw.add(key, extra, w.scratch) {
			return fmt.Errorf("reftable: obj record does not fit block size %d: %w", w.opts.BlockSize, ErrEntryTooBig)
		}
	}
	w.stats.Objs++
	return nil
}

// Close finishes the table: it flushes the last block, writes the indexes
// and the footer. A table without records is a header and a footer. Close
// does not close the underlying io.Writer.
func (w *Writer) Close() error {
	if w.err != nil {
		return w.err
	}
	if w.closed {
		return fmt.Errorf("reftable: Close called twice: %w", ErrWriterState)
	}
	if err := w.finishPublicSection(); err != nil {
		return w.fail(err)
	}
	if err := w.drainLogs(0); err != nil { // finishSection did, unless no section was open
		return w.fail(err)
	}
	w.closed = true
	// The footer follows the last block's data: its padding is dropped.
	w.next -= int64(w.pending)
	w.pending = 0
	var buf []byte
	if w.next == 0 {
		buf = w.putHeader(buf)
	}
	footerStart := len(buf)
	buf = w.putHeader(buf)
	buf = binary.BigEndian.AppendUint64(buf, uint64(w.refStat.indexOffset))
	buf = binary.BigEndian.AppendUint64(buf, uint64(w.objStat.offset)<<5|uint64(w.objLen))
	buf = binary.BigEndian.AppendUint64(buf, uint64(w.objStat.indexOffset))
	buf = binary.BigEndian.AppendUint64(buf, uint64(w.logStat.offset))
	buf = binary.BigEndian.AppendUint64(buf, uint64(w.logStat.indexOffset))
	buf = binary.BigEndian.AppendUint32(buf, crc32.ChecksumIEEE(buf[footerStart:]))
	if err := w.write(buf); err != nil {
		return w.fail(err)
	}
	w.stats.ObjIDLen = w.objLen
	w.stats.Size = w.next + int64(len(buf))
	return nil
}

// Stats returns what the writer has written so far; after Close it
// describes the whole table.
func (w *Writer) Stats() WriterStats { return w.stats }
