package fuzz

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/refstore/refstore/reftable"
)

// FuzzTable opens arbitrary bytes as a table and reads everything in it:
// it must never panic, and every error must be a format error or ErrNotFound.
func FuzzTable(f *testing.F) {
	files, _ := filepath.Glob("../reftable/testdata/git/*/reftable/*.ref")
	if len(files) == 0 {
		f.Fatal("no seed tables")
	}
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		if len(data) < 1<<16 {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		tab, err := reftable.NewTable(bytes.NewReader(data), int64(len(data)), "fuzz")
		if err != nil {
			checkErr(t, err)
			return
		}
		var names [][]byte
		for r, err := range tab.Refs(nil) {
			if err != nil {
				checkErr(t, err)
				break
			}
			if len(names) < 8 {
				names = append(names, r.Clone().Name)
			}
		}
		for _, err := range tab.Logs(nil) {
			if err != nil {
				checkErr(t, err)
				break
			}
		}
		for _, err := range tab.Blocks() {
			if err != nil {
				checkErr(t, err)
				break
			}
		}
		names = append(names, []byte("HEAD"), []byte("refs/heads/main"), []byte("zzz"))
		for _, name := range names {
			if _, err := tab.Ref(name); err != nil && !errors.Is(err, reftable.ErrNotFound) {
				checkErr(t, err)
			}
			for _, err := range tab.LogsFor(name) {
				if err != nil {
					checkErr(t, err)
					break
				}
			}
		}
		for _, err := range tab.RefsFor(make([]byte, tab.Hash().Size())) {
			if err != nil {
				checkErr(t, err)
				break
			}
		}
	})
}

func checkErr(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, reftable.ErrFormat) {
		t.Fatalf("error does not match ErrFormat: %v", err)
	}
}
