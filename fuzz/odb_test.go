package fuzz

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"os"
	"testing"

	"github.com/refstore/refstore/internal/odb"
	"github.com/refstore/refstore/vfs"
)

// FuzzObjectDB reads a pack index, its pack and a loose object made of
// arbitrary bytes, looking up the ids the index lists, the loose object's
// id and one made up: it must never panic, and every error must be a
// format error or ErrNotFound. Seeds are packs git wrote
// (testdata/odb: deltas by offset, and by id) and loose objects.
func FuzzObjectDB(f *testing.F) {
	var loose bytes.Buffer
	zw := zlib.NewWriter(&loose)
	zw.Write([]byte("commit 3\x00abc"))
	zw.Close()
	for _, name := range []string{"ofs", "ref"} {
		idx, err := os.ReadFile("testdata/odb/" + name + ".idx")
		if err != nil {
			f.Fatal(err)
		}
		pack, err := os.ReadFile("testdata/odb/" + name + ".pack")
		if err != nil {
			f.Fatal(err)
		}
		f.Add(idx, pack, loose.Bytes(), false)
	}
	f.Add([]byte{}, []byte{}, []byte("tree 0\x00"), true)
	f.Fuzz(func(t *testing.T, idx, pack, loose []byte, sha256 bool) {
		hs := 20
		if sha256 {
			hs = 32
		}
		fsys := vfs.NewMem()
		write := func(path string, data []byte) {
			fsys.MkdirAll(path[:bytes.LastIndexByte([]byte(path), '/')])
			w, err := fsys.OpenFile(path, os.O_WRONLY|os.O_CREATE, 0o644)
			if err != nil {
				t.Fatal(err)
			}
			w.Write(data)
			w.Close()
		}
		looseID := bytes.Repeat([]byte{0xab}, hs)
		write("/o/pack/pack-f.idx", idx)
		write("/o/pack/pack-f.pack", pack)
		write("/o/ab/"+string(bytes.Repeat([]byte("ab"), hs-1)), loose)
		db, err := odb.Open(fsys, "/o", hs)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		ids := [][]byte{looseID, make([]byte, hs)}
		// The ids an index of version 2, or 1, would list first.
		for i := range 8 {
			for _, at := range []int{8 + 1024 + i*hs, 1024 + i*(4+hs) + 4} {
				if at+hs <= len(idx) {
					ids = append(ids, idx[at:at+hs])
				}
			}
		}
		if len(idx) >= 1032 && binary.BigEndian.Uint32(idx) == 0xff744f63 {
			ids = append(ids, idx[len(idx)-hs:]) // past the table: not there
		}
		for _, id := range ids {
			if _, err := db.Type(id); err != nil && !errors.Is(err, odb.ErrFormat) && !errors.Is(err, odb.ErrNotFound) {
				t.Errorf("Type(%x): %v", id, err)
			}
			if _, err := db.Has(id); err != nil && !errors.Is(err, odb.ErrFormat) {
				t.Errorf("Has(%x): %v", id, err)
			}
		}
	})
}
