// Package stat is file identity: what a stat call reports about which
// file a path names, so that a reader can tell that tables.list was
// replaced, and a lock's owner that its lock file is still the one it
// created. It depends on nothing else of this module: package vfs reports
// identities as this package's type, and package stack compares them.
//
// The identity of a file is its device and inode number, with its size and
// modification time. Where the platform has no inode numbers (Windows
// reports zeros) identities cannot be compared, and callers compare
// contents instead; NetworkFS tells the file systems (NFS, SMB/CIFS,
// Lustre, GPFS, FUSE) whose numbers and attribute caches are not to be
// trusted either.
package stat

import (
	"io/fs"
	"time"
)

// Identity describes a file as fstat or stat reports it. A file system
// that is not the operating system's (an in-memory one) gives its files
// identities by returning an *Identity as the Sys value of their
// fs.FileInfo.
type Identity struct {
	Dev, Ino uint64 // zero where the platform reports none
	Size     int64
	ModTime  time.Time
}

// Of returns the identity recorded in fi: from the operating system's
// stat structure, or the device and inode number of an *Identity Sys
// value with fi's size and modification time.
func Of(fi fs.FileInfo) Identity {
	id := Identity{Size: fi.Size(), ModTime: fi.ModTime()}
	switch sys := fi.Sys().(type) {
	case *Identity:
		id.Dev, id.Ino = sys.Dev, sys.Ino
	default:
		id.Dev, id.Ino = sysIdentity(sys)
	}
	return id
}

// HasInode reports whether id has a device and inode number to compare.
func (id Identity) HasInode() bool { return id.Dev != 0 || id.Ino != 0 }

// SameFile reports whether a and b are the same inode with the same size.
// It is false when either has no inode number.
func SameFile(a, b Identity) bool {
	return a.HasInode() && b.HasInode() && a.Dev == b.Dev && a.Ino == b.Ino && a.Size == b.Size
}
