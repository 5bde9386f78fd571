// Package storepipe carries the objstore.Store interface over a pair of
// byte streams, so that a program can use a store implemented in another
// process: the reftable CLI talks to S3 through the reftable-s3 helper
// over its stdin and stdout, and so links no HTTP or TLS code (git keeps
// libcurl out of git the same way, in git-remote-https).
//
// Serve runs the server side over a Store; NewClient and Start return a
// Client, which is an objstore.Store whose every call is a request to the
// server.
//
// # Wire format
//
// Both directions are a sequence of frames:
//
//	frame  := length:uint32be  kind:byte  id:uint64be  payload
//
// length counts kind, id and payload. Inside a payload, an integer is a
// varint (encoding/binary's Uvarint, or Varint when it may be negative) and
// a string or byte slice is a uvarint length and its bytes.
//
// The server speaks first, with one hello frame (kind 'H', id 0):
//
//	hello  := magic:string  version:uvarint  url:string  error:string
//
// magic is "refstore storepipe"; a client refuses any other magic or a
// version other than its own. error, when not empty, says why the server
// has no store (such as a URL without a bucket): the server then exits.
//
// The client then sends requests, each with an id of its choice that no
// pending request uses; kind is the method:
//
//	'g' Get     key:string  ifNoneMatch:string
//	'r' ReadAt  key:string  off:varint  n:uvarint
//	'h' Head    key:string
//	'p' Put     key:string  data:bytes  ifNoneMatch:byte(0|1)  ifMatch:string
//	'd' Delete  key:string
//	'l' List    prefix:string
//	'c' cancel  (empty; id names the request to cancel)
//
// The server handles requests concurrently and answers each one, in any
// order, with a reply (kind 'R') carrying the request's id:
//
//	reply  := status:byte  message:string  result
//
// status 0 is success. Otherwise its high bit (0x80) is set, message is
// the error's text, and its low bits say which of the errors
// objstore.ErrNotFound, ErrNotModified, ErrPrecondition, ErrUnsafeStore,
// io.EOF, context.Canceled and context.DeadlineExceeded (bits 0 to 6) it
// matches, so that errors.Is answers the same on both sides. A result
// follows a success, and every ReadAt reply:
//
//	Get     data:bytes  etag:string
//	ReadAt  data:bytes
//	Head    size:varint  etag:string
//	Put     etag:string
//	Delete  (empty)
//	List    count:uvarint  count * (key:string size:varint etag:string mtime)
//
// where mtime is Unix seconds (varint) and nanoseconds (uvarint).
//
// A cancel has no reply: the server cancels the request's context, and
// the request's reply, if any, is ignored. The client closes its stream
// to end the session; the server then cancels what is in flight and
// returns.
package storepipe

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
)

// Version is the protocol version this package speaks.
const Version = 1

// magic opens every hello.
const magic = "refstore storepipe"

// Frame kinds.
const (
	kindHello  = 'H'
	kindReply  = 'R'
	kindGet    = 'g'
	kindReadAt = 'r'
	kindHead   = 'h'
	kindPut    = 'p'
	kindDelete = 'd'
	kindList   = 'l'
	kindCancel = 'c'
)

// Size limits. A frame's length is checked against them before its body
// is read, and a body is allocated as its bytes arrive, so a bad length
// costs no more memory than the bytes actually sent.
const (
	// MaxFrame bounds every frame, and so the data of a Put.
	MaxFrame = 1 << 30
	// MaxGet bounds the data of a Get reply; it is s3store.MaxGet.
	MaxGet = 64 << 20
	// maxSmall bounds a frame that carries no data (a hello, a Head
	// reply, an error), and is what a data frame may carry beyond its
	// data.
	maxSmall = 1 << 20
	// headerSize is the size of length, kind and id.
	headerSize = 4 + 1 + 8
)

// ErrProtocol reports a malformed or oversized frame; the connection is
// then unusable.
var ErrProtocol = errors.New("storepipe: protocol error")

// appendHeader starts a frame of kind and id whose length is filled in by
// finish.
func appendHeader(b []byte, kind byte, id uint64) []byte {
	b = append(b, 0, 0, 0, 0, kind)
	return binary.BigEndian.AppendUint64(b, id)
}

// finish sets the length of the frame b.
func finish(b []byte) []byte {
	binary.BigEndian.PutUint32(b, uint32(len(b)-4))
	return b
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendBytes(b, p []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(p)))
	return append(b, p...)
}

// readHeader reads a frame's header: the body's length (kind and id
// excluded), kind and id. A clean end of r before a frame is io.EOF.
func readHeader(r io.Reader) (n int, kind byte, id uint64, err error) {
	var h [headerSize]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return 0, 0, 0, err
	}
	length := binary.BigEndian.Uint32(h[:4])
	if length < headerSize-4 {
		return 0, 0, 0, fmt.Errorf("%w: frame length %d", ErrProtocol, length)
	}
	return int(length) - (headerSize - 4), h[4], binary.BigEndian.Uint64(h[5:]), nil
}

// readBody reads n bytes, allocating as they arrive (in doubling steps
// from 64 KiB) rather than trusting n up front.
func readBody(r io.Reader, n int) ([]byte, error) {
	buf := make([]byte, 0, min(n, 64<<10))
	for len(buf) < n {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, min(n-len(buf), len(buf)))
		}
		m, err := io.ReadFull(r, buf[len(buf):min(n, cap(buf))])
		buf = buf[:len(buf)+m]
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
	return buf, nil
}

// decoder reads the fields of a payload; the first error sticks.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: bad %s", ErrProtocol, what)
	}
}

func (d *decoder) uint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("varint")
		d.b = nil
		return 0
	}
	d.b = d.b[n:]
	return v
}

// int reads a signed varint: zigzag over uint's encoding, as
// binary.AppendVarint writes it.
func (d *decoder) int() int64 {
	u := d.uint()
	return int64(u>>1) ^ -int64(u&1)
}

func (d *decoder) byte() byte {
	if len(d.b) == 0 {
		d.fail("byte")
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

// bytes returns a field without copying it.
func (d *decoder) bytes() []byte {
	n := d.uint()
	if n > uint64(len(d.b)) {
		d.fail("length")
		d.b = nil
		return nil
	}
	p := d.b[:n:n]
	d.b = d.b[n:]
	return p
}

func (d *decoder) string() string { return string(d.bytes()) }

// end returns the first error, or one for bytes left over.
func (d *decoder) end() error {
	if d.err == nil && len(d.b) > 0 {
		d.fail("frame: trailing bytes")
	}
	return d.err
}
