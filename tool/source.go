package tool

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/refstore/refstore/objstore"
	"github.com/refstore/refstore/reftable"
	"github.com/refstore/refstore/stack/storage"
)

// A source is where dump and verify read a stack's files byte for byte:
// a directory, or the prefix of an s3:// stack.
type source interface {
	// ReadFile reads a whole file, such as tables.list.
	ReadFile(name string) ([]byte, error)
	// Open opens a table file.
	Open(name string) (storage.TableFile, error)
	// Files lists the names of the stack's files.
	Files() ([]string, error)
	// Close releases the source.
	Close() error
}

// sourceOf returns the source of a stack target.
func sourceOf(t *target) (source, error) {
	if t.s3 == "" {
		return dirSource(t.dir), nil
	}
	s, err := t.s3store()
	if err != nil {
		return nil, err
	}
	// Reading changes nothing, so the store is not probed (the probe
	// writes a scratch object); doctor probes.
	b, err := objstore.NewBackend(context.Background(), s, objstore.Options{AllowUnsafe: true})
	if err != nil {
		return nil, err
	}
	return s3Source{s: s, b: b}, nil
}

type dirSource string

func (d dirSource) ReadFile(name string) ([]byte, error) {
	return os.ReadFile(filepath.Join(string(d), name))
}

func (d dirSource) Open(name string) (storage.TableFile, error) {
	f, err := os.Open(filepath.Join(string(d), name))
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	return sizedFile{f, fi.Size()}, nil
}

func (d dirSource) Files() ([]string, error) {
	entries, err := os.ReadDir(string(d))
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() {
			names = append(names, e.Name())
		}
	}
	return names, nil
}

func (d dirSource) Close() error { return nil }

// sizedFile is an open table file with its size.
type sizedFile struct {
	*os.File
	size int64
}

func (f sizedFile) Size() int64 { return f.size }

type s3Source struct {
	s objstore.Store
	b *objstore.Backend
}

func (s s3Source) ReadFile(name string) ([]byte, error) {
	data, _, err := s.s.Get(context.Background(), name, "")
	return data, err
}

func (s s3Source) Open(name string) (storage.TableFile, error) {
	return s.b.OpenTable(context.Background(), name)
}

func (s s3Source) Close() error { return s.b.Close() }

// openTable opens and parses the table name of src.
func openTable(src source, name string) (*reftable.Table, storage.TableFile, error) {
	f, err := src.Open(name)
	if err != nil {
		return nil, nil, err
	}
	t, err := reftable.NewTable(f, f.Size(), name)
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return t, f, nil
}

func (s s3Source) Files() ([]string, error) {
	infos, err := s.b.ListFiles(context.Background())
	if err != nil {
		return nil, err
	}
	names := make([]string, len(infos))
	for i, fi := range infos {
		names[i] = fi.Name
	}
	return names, nil
}

// footerCRC reads the CRC-32 stored in the last 4 bytes of table name.
func footerCRC(src source, name string) (uint32, error) {
	f, err := src.Open(name)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var b [4]byte
	if n, err := f.ReadAt(b[:], f.Size()-4); n < len(b) {
		if err == nil || err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return 0, fmt.Errorf("%s: read footer: %w", name, err)
	}
	return binary.BigEndian.Uint32(b[:]), nil
}
