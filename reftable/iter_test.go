package reftable

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"testing"
)

// TestSectionOffsetOfWrongType: a footer whose log offset points at a
// block of another type is a format error, not an empty reflog (git's
// seek_invalid_log_offset).
func TestSectionOffsetOfWrongType(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewWriter(&buf, WriterOptions{BlockSize: 256, MinUpdateIndex: 1, MaxUpdateIndex: 1})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 40 {
		id := bytes.Repeat([]byte{byte(i + 1)}, 20)
		if err := w.AddRef(&RefRecord{Name: []byte(fmt.Sprintf("refs/heads/b%03d", i)), UpdateIndex: 1, Type: RefVal1, Value: id}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.AddLog(&LogRecord{RefName: []byte("refs/heads/b000"), UpdateIndex: 1, Type: LogUpdate, New: make([]byte, 20), Message: []byte("m")}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	tab, err := NewTable(bytes.NewReader(data), int64(len(data)), "t")
	if err != nil {
		t.Fatal(err)
	}
	l := tab.Layout()
	if !l.HasObjs || !l.HasLogs {
		t.Fatalf("layout %+v lacks an obj or log section", l)
	}
	// Point log_position at the obj section and fix the CRC.
	f := data[l.FooterOffset:]
	binary.BigEndian.PutUint64(f[headerSizeV1+24:], uint64(l.ObjOffset))
	binary.BigEndian.PutUint64(f[headerSizeV1+32:], 0) // no log index: seek linearly
	binary.BigEndian.PutUint32(f[len(f)-4:], crc32.ChecksumIEEE(f[:len(f)-4]))
	tab, err = NewTable(bytes.NewReader(data), int64(len(data)), "t")
	if err != nil {
		t.Fatal(err)
	}
	for _, err := range tab.Logs(nil) {
		if !errors.Is(err, ErrFormat) {
			t.Fatalf("Logs = %v, want ErrFormat", err)
		}
		return
	}
	t.Fatal("Logs of a table whose log section is an obj block yielded nothing and no error")
}
