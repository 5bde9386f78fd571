//go:build !unix

package vfs

import (
	"io/fs"
	"os"
)

// openFile opens name with os.OpenFile.
func openFile(name string, flag int, perm fs.FileMode) (File, error) {
	f, err := os.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	if err := checkRegular(f); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// rename is os.Rename.
func rename(oldname, newname string) error { return os.Rename(oldname, newname) }
