package odb

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"errors"
	"io"
	"os"
	"strconv"

	"github.com/refstore/refstore/vfs"
)

// maxHeader is the most of a loose object's inflated data read for its
// header: "commit 18446744073709551615\0" takes 28 bytes.
const maxHeader = 64

// looseReader reads the headers of loose objects, reusing its buffers.
type looseReader struct {
	br  *bufio.Reader
	zr  io.ReadCloser
	hdr [maxHeader]byte
}

// typeOf returns the type of the loose object at path: the error matches
// fs.ErrNotExist if there is none, ErrFormat if its header is malformed.
func (l *looseReader) typeOf(fsys vfs.FS, path string) (Type, error) {
	f, err := fsys.OpenFile(path, os.O_RDONLY, 0)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	t, err := l.readHeader(f)
	if err != nil {
		var fe *FormatError
		if errors.As(err, &fe) {
			fe.Path = path
			return 0, fe
		}
		return 0, err
	}
	return t, nil
}

// readHeader inflates the start of a loose object from r and parses its
// header, "<type> <size>\0", reading no more than maxHeader inflated
// bytes (and what the inflater buffers of r). Its *FormatError has no
// path.
func (l *looseReader) readHeader(r io.Reader) (Type, error) {
	if l.br == nil {
		l.br = bufio.NewReaderSize(r, 512)
	} else {
		l.br.Reset(r)
	}
	var err error
	if l.zr == nil {
		l.zr, err = zlib.NewReader(l.br)
	} else {
		err = l.zr.(zlib.Resetter).Reset(l.br, nil)
	}
	if err != nil {
		return 0, formatErr("", 0, "not a zlib stream: %v", err)
	}
	n := 0
	for n < len(l.hdr) {
		m, err := l.zr.Read(l.hdr[n:])
		if i := bytes.IndexByte(l.hdr[n:n+m], 0); i >= 0 {
			return parseHeader(l.hdr[:n+i])
		}
		n += m
		if err == io.EOF {
			return 0, formatErr("", int64(n), "object ends inside its header")
		}
		if err != nil {
			return 0, formatErr("", int64(n), "inflating the header: %v", err)
		}
	}
	return 0, formatErr("", 0, "no header in the first %d bytes", maxHeader)
}

// parseHeader parses a loose object's header without its NUL: a type
// name, a space and the size in decimal, as git writes it.
func parseHeader(h []byte) (Type, error) {
	name, size, ok := bytes.Cut(h, []byte{' '})
	if !ok {
		return 0, formatErr("", 0, "header %q has no size", h)
	}
	if len(size) == 0 || len(size) > 1 && size[0] == '0' || bytes.ContainsFunc(size, notDigit) {
		return 0, formatErr("", int64(len(name)+1), "bad size %q", size)
	}
	if _, err := strconv.ParseUint(string(size), 10, 63); err != nil {
		return 0, formatErr("", int64(len(name)+1), "size %s out of range", size)
	}
	switch string(name) {
	case "commit":
		return Commit, nil
	case "tree":
		return Tree, nil
	case "blob":
		return Blob, nil
	case "tag":
		return Tag, nil
	}
	return 0, formatErr("", 0, "unknown object type %q", name)
}

func notDigit(r rune) bool { return r < '0' || r > '9' }
