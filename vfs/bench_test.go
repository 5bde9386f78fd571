package vfs

import (
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkOS times the operations of the OS file system a commit makes,
// each on a file in a temporary directory: exclusive creation (with the
// close and removal of the file), an open for reading, a rename, a stat
// and a directory sync.
func BenchmarkOS(b *testing.B) {
	dir := b.TempDir()
	name := filepath.Join(dir, "tables.list")
	if err := os.WriteFile(name, []byte("0x01-0x01-0badcafe.ref\n"), 0o666); err != nil {
		b.Fatal(err)
	}
	lock := name + ".lock"
	b.Run("create", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			f, err := OS.OpenFile(lock, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o666)
			if err != nil {
				b.Fatal(err)
			}
			f.Close()
			if err := OS.Remove(lock); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("open", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			f, err := OS.OpenFile(name, os.O_RDONLY, 0)
			if err != nil {
				b.Fatal(err)
			}
			f.Close()
		}
	})
	b.Run("rename", func(b *testing.B) {
		b.ReportAllocs()
		from, to := name, lock
		for b.Loop() {
			if err := OS.Rename(from, to); err != nil {
				b.Fatal(err)
			}
			from, to = to, from
		}
		if from != name {
			OS.Rename(from, name)
		}
	})
	b.Run("stat", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := OS.Stat(name); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("syncdir", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := OS.SyncDir(dir); err != nil {
				b.Fatal(err)
			}
		}
	})
}
