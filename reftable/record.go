package reftable

import (
	"encoding/binary"
	"fmt"
	"math/bits"
)

// RefValueType says what a ref record holds.
type RefValueType uint8

// The ref value types, as stored in the low 3 bits of a record's key
// header.
const (
	RefDeletion RefValueType = 0 // a tombstone: the ref was deleted
	RefVal1     RefValueType = 1 // one object id
	RefVal2     RefValueType = 2 // an object id and its peeled id (annotated tags)
	RefSymref   RefValueType = 3 // a symbolic ref
)

// String returns a short name of the value type.
func (t RefValueType) String() string {
	switch t {
	case RefDeletion:
		return "deletion"
	case RefVal1:
		return "val1"
	case RefVal2:
		return "val2"
	case RefSymref:
		return "symref"
	}
	return fmt.Sprintf("RefValueType(%d)", uint8(t))
}

// RefRecord is one reference. Records returned by iterators alias buffers
// of the iterator and are valid until the next iteration step; use Clone to
// keep one.
type RefRecord struct {
	Name        []byte       // full reference name, such as refs/heads/main
	UpdateIndex uint64       // the update index of the transaction that wrote it
	Type        RefValueType // what the record holds
	Value       []byte       // object id (RefVal1, RefVal2)
	Peeled      []byte       // peeled object id (RefVal2)
	Target      []byte       // target reference name (RefSymref)
}

// IsDeletion reports whether r is a tombstone.
func (r *RefRecord) IsDeletion() bool { return r.Type == RefDeletion }

// Clone returns a deep copy of r that shares no memory with it.
func (r *RefRecord) Clone() RefRecord {
	return RefRecord{
		Name:        clone(r.Name),
		UpdateIndex: r.UpdateIndex,
		Type:        r.Type,
		Value:       clone(r.Value),
		Peeled:      clone(r.Peeled),
		Target:      clone(r.Target),
	}
}

// copyTo copies r into dst, reusing the memory of dst's slices. Fields r
// does not hold become empty.
func (r *RefRecord) copyTo(dst *RefRecord) {
	dst.Name = append(dst.Name[:0], r.Name...)
	dst.UpdateIndex = r.UpdateIndex
	dst.Type = r.Type
	dst.Value = append(dst.Value[:0], r.Value...)
	dst.Peeled = append(dst.Peeled[:0], r.Peeled...)
	dst.Target = append(dst.Target[:0], r.Target...)
}

// LogValueType says what a log record holds.
type LogValueType uint8

// The log value types.
const (
	LogDeletion LogValueType = 0 // a tombstone hiding an older entry with the same key
	LogUpdate   LogValueType = 1 // a reflog entry
)

// LogRecord is one reflog entry. Records returned by iterators alias buffers
// of the iterator and are valid until the next iteration step; use Clone to
// keep one.
type LogRecord struct {
	RefName     []byte
	UpdateIndex uint64
	Type        LogValueType
	Old, New    []byte // object ids before and after the update
	Name        []byte // committer name
	Email       []byte // committer email, without angle brackets
	Time        uint64 // seconds since the Unix epoch
	// TZOffset is the time-zone offset as git stores it: the digits of
	// +HHMM read as a decimal number, so +0530 is 530 and -0800 is -800.
	TZOffset int16
	// Message is the reflog message. Writers normalise it as git does
	// unless WriterOptions.ExactLogMessage is set: trailing newlines are
	// removed and exactly one is appended.
	Message []byte
}

// IsDeletion reports whether l is a tombstone.
func (l *LogRecord) IsDeletion() bool { return l.Type == LogDeletion }

// IsExistenceMarker reports whether l is git's reflog existence marker:
// an update whose old and new object ids are both zero. git writes one
// (empty identity and message, time 0) when it creates a reflog without
// an entry and when expiry (git reflog expire, git gc) empties a reflog,
// so that the reflog still exists; its readers never show the marker as
// an entry. As git's, the test looks at the ids only: compaction stores
// the marker's empty message as a lone newline.
func (l *LogRecord) IsExistenceMarker() bool {
	return l.Type == LogUpdate && isZero(l.Old) && isZero(l.New)
}

// isZero reports whether id has only zero bytes (an absent id, as the
// writer stores it, too).
func isZero(id []byte) bool {
	for _, b := range id {
		if b != 0 {
			return false
		}
	}
	return true
}

// Clone returns a deep copy of l that shares no memory with it.
func (l *LogRecord) Clone() LogRecord {
	c := *l
	c.RefName = clone(l.RefName)
	c.Old = clone(l.Old)
	c.New = clone(l.New)
	c.Name = clone(l.Name)
	c.Email = clone(l.Email)
	c.Message = clone(l.Message)
	return c
}

func clone(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte{}, b...)
}

// appendKey appends the prefix-compressed key header and suffix of key
// against prev. It reports whether the record is a restart point (shares
// no prefix with prev).
func appendKey(dst, prev, key []byte, extra byte) ([]byte, bool) {
	p := commonPrefix(prev, key)
	dst = appendVarint(dst, uint64(p))
	dst = appendVarint(dst, uint64(len(key)-p)<<3|uint64(extra))
	return append(dst, key[p:]...), p == 0
}

func commonPrefix(a, b []byte) int {
	n := min(len(a), len(b))
	i := 0
	for ; i+8 <= n; i += 8 {
		if x := binary.BigEndian.Uint64(a[i:]) ^ binary.BigEndian.Uint64(b[i:]); x != 0 {
			return i + bits.LeadingZeros64(x)/8
		}
	}
	for ; i < n; i++ {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}

// decodeKey decodes a key header at the start of in, rebuilding the key in
// last (whose contents are the previous key). It returns the key, the value
// type bits and the bytes consumed, or a reason on malformed input.
func decodeKey(in, last []byte) (key []byte, extra byte, n int, reason string) {
	var prefix, sufx uint64
	if len(in) >= 2 && in[0] < 0x80 && in[1] < 0x80 {
		// The common case: both lengths take one byte.
		prefix, sufx, n = uint64(in[0]), uint64(in[1]), 2
	} else {
		p, n1 := readVarint(in)
		if n1 <= 0 {
			return nil, 0, 0, "bad key prefix length"
		}
		s, n2 := readVarint(in[n1:])
		if n2 <= 0 {
			return nil, 0, 0, "bad key suffix length"
		}
		prefix, sufx, n = p, s, n1+n2
	}
	extra = byte(sufx & 7)
	sufx >>= 3
	if prefix > uint64(len(last)) {
		return nil, 0, 0, "key prefix longer than previous key"
	}
	if sufx > uint64(len(in)-n) {
		return nil, 0, 0, "key suffix past end of block"
	}
	key = append(last[:prefix], in[n:n+int(sufx)]...)
	if len(key) == 0 {
		return nil, 0, 0, "empty key"
	}
	return key, extra, n + int(sufx), ""
}

// appendRefValue appends the value of ref r, whose update index is stored
// relative to minIndex.
func appendRefValue(dst []byte, r *RefRecord, minIndex uint64) []byte {
	dst = appendVarint(dst, r.UpdateIndex-minIndex)
	switch r.Type {
	case RefVal1:
		dst = append(dst, r.Value...)
	case RefVal2:
		dst = append(dst, r.Value...)
		dst = append(dst, r.Peeled...)
	case RefSymref:
		dst = appendVarint(dst, uint64(len(r.Target)))
		dst = append(dst, r.Target...)
	}
	return dst
}

// refValueLen returns the length of the value of a ref record of value
// type typ at the start of in, or 0 if it does not fit (decodeRef then
// says why).
func refValueLen(typ byte, in []byte, hashSize int) int {
	_, n := readVarint(in)
	if n <= 0 {
		return 0
	}
	switch RefValueType(typ) {
	case RefDeletion:
	case RefVal1:
		n += hashSize
	case RefVal2:
		n += 2 * hashSize
	case RefSymref:
		l, m := readVarint(in[n:])
		if m <= 0 || l > uint64(len(in)-n-m) {
			return 0
		}
		n += m + int(l)
	default:
		return 0
	}
	if n > len(in) {
		return 0
	}
	return n
}

// decodeRef decodes a ref value into r; the slices of r alias in and key.
func decodeRef(r *RefRecord, key []byte, typ byte, in []byte, minIndex uint64, hashSize int) (int, string) {
	delta, n := readVarint(in)
	if n <= 0 {
		return 0, "bad ref update index"
	}
	*r = RefRecord{Name: key, UpdateIndex: minIndex + delta, Type: RefValueType(typ)}
	switch r.Type {
	case RefDeletion:
	case RefVal1:
		if len(in)-n < hashSize {
			return 0, "ref value past end of block"
		}
		r.Value = in[n : n+hashSize : n+hashSize]
		n += hashSize
	case RefVal2:
		if len(in)-n < 2*hashSize {
			return 0, "ref value past end of block"
		}
		r.Value = in[n : n+hashSize : n+hashSize]
		r.Peeled = in[n+hashSize : n+2*hashSize : n+2*hashSize]
		n += 2 * hashSize
	case RefSymref:
		l, m := readVarint(in[n:])
		if m <= 0 || l > uint64(len(in)-n-m) {
			return 0, "symref target past end of block"
		}
		n += m
		r.Target = in[n : n+int(l) : n+int(l)]
		n += int(l)
	default:
		return 0, fmt.Sprintf("invalid ref value type %d", typ)
	}
	return n, ""
}

// logKeySuffix is the length of the NUL and inverted update index that
// follow the ref name in a log key.
const logKeySuffix = 9

// appendLogKey appends the key of a log record: name NUL be64(^index).
func appendLogKey(dst, name []byte, index uint64) []byte {
	dst = append(dst, name...)
	dst = append(dst, 0)
	return binary.BigEndian.AppendUint64(dst, ^index)
}

// appendLogValue appends the value of log record l.
func appendLogValue(dst []byte, l *LogRecord, hashSize int) []byte {
	if l.Type == LogDeletion {
		return dst
	}
	dst = appendID(dst, l.Old, hashSize)
	dst = appendID(dst, l.New, hashSize)
	dst = appendVarint(dst, uint64(len(l.Name)))
	dst = append(dst, l.Name...)
	dst = appendVarint(dst, uint64(len(l.Email)))
	dst = append(dst, l.Email...)
	dst = appendVarint(dst, l.Time)
	dst = binary.BigEndian.AppendUint16(dst, uint16(l.TZOffset))
	dst = appendVarint(dst, uint64(len(l.Message)))
	return append(dst, l.Message...)
}

// appendID appends an object id, or hashSize zero bytes for a nil id.
func appendID(dst, id []byte, hashSize int) []byte {
	if id == nil {
		return append(dst, make([]byte, hashSize)...)
	}
	return append(dst, id...)
}

// decodeLog decodes a log record with the given key into l; the slices of
// l alias in and key.
func decodeLog(l *LogRecord, key []byte, typ byte, in []byte, hashSize int) (int, string) {
	if len(key) <= logKeySuffix || key[len(key)-logKeySuffix] != 0 {
		return 0, "malformed log key"
	}
	l.RefName = key[: len(key)-logKeySuffix : len(key)-logKeySuffix]
	l.UpdateIndex = ^binary.BigEndian.Uint64(key[len(key)-8:])
	l.Type = LogValueType(typ)
	// Every field is set below, so that nothing of the previous record
	// remains; the slices are assigned one by one rather than by clearing
	// the whole record first.
	switch l.Type {
	case LogDeletion:
		l.Old, l.New, l.Name, l.Email, l.Message = nil, nil, nil, nil, nil
		l.Time, l.TZOffset = 0, 0
		return 0, ""
	case LogUpdate:
	default:
		return 0, fmt.Sprintf("invalid log value type %d", typ)
	}
	if len(in) < 2*hashSize {
		return 0, "log value past end of block"
	}
	l.Old = in[:hashSize:hashSize]
	l.New = in[hashSize : 2*hashSize : 2*hashSize]
	n := 2 * hashSize
	var ok bool
	if l.Name, n, ok = readString(in, n); !ok {
		return 0, "log name past end of block"
	}
	if l.Email, n, ok = readString(in, n); !ok {
		return 0, "log email past end of block"
	}
	t, m := readVarint(in[n:])
	if m <= 0 {
		return 0, "bad log time"
	}
	l.Time = t
	n += m
	if len(in)-n < 2 {
		return 0, "log time zone past end of block"
	}
	l.TZOffset = int16(binary.BigEndian.Uint16(in[n:]))
	n += 2
	if l.Message, n, ok = readString(in, n); !ok {
		return 0, "log message past end of block"
	}
	return n, ""
}

// readString reads a varint-length-prefixed string at in[n:].
func readString(in []byte, n int) ([]byte, int, bool) {
	var l uint64
	m := 1
	if n < len(in) && in[n] < 0x80 {
		l = uint64(in[n]) // the common one-byte length
	} else if l, m = readVarint(in[n:]); m <= 0 {
		return nil, 0, false
	}
	if l > uint64(len(in)-n-m) {
		return nil, 0, false
	}
	n += m
	return in[n : n+int(l) : n+int(l)], n + int(l), true
}

// appendObjValue appends the value of an obj record listing the given ref
// block offsets; it returns the value type bits to store in the key.
func appendObjValue(dst []byte, offsets []uint64) ([]byte, byte) {
	var extra byte
	if len(offsets) > 0 && len(offsets) < 8 {
		extra = byte(len(offsets))
	} else {
		dst = appendVarint(dst, uint64(len(offsets)))
	}
	var last uint64
	for i, off := range offsets {
		if i == 0 {
			dst = appendVarint(dst, off)
		} else {
			dst = appendVarint(dst, off-last)
		}
		last = off
	}
	return dst, extra
}

// decodeObj decodes the block offsets of an obj record into offsets[:0].
// maxCount bounds the number of offsets (by the bytes left in the block).
func decodeObj(offsets []uint64, typ byte, in []byte) ([]uint64, int, string) {
	n := 0
	count := uint64(typ)
	if count == 0 {
		c, m := readVarint(in)
		if m <= 0 {
			return nil, 0, "bad obj record count"
		}
		count, n = c, m
	}
	if count > uint64(len(in)-n) {
		return nil, 0, "obj record count past end of block"
	}
	offsets = offsets[:0]
	var last uint64
	for i := uint64(0); i < count; i++ {
		v, m := readVarint(in[n:])
		if m <= 0 {
			return nil, 0, "bad obj record offset"
		}
		n += m
		if i > 0 {
			v += last
		}
		offsets = append(offsets, v)
		last = v
	}
	return offsets, n, ""
}
