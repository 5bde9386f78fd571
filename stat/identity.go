// Package stat tells whether a file, in practice a stack's tables.list,
// has changed since it was last read, cheaply and without being fooled by
// recycled inode numbers.
//
// The identity of a file is its device and inode number. A reader that
// remembered only the numbers could be fooled: after the file is replaced
// twice, the file system may hand the freed inode number to the newest
// file, which may even have the old size. A Cache therefore keeps the file
// it parsed open, so that its inode stays allocated and no other file can
// get its number, and compares that open file's identity with the one the
// path names now: one stat call, no read.
//
// Where files have no usable identity (Windows reports zeros) or the file
// system is a network one (NFS, SMB/CIFS, Lustre, GPFS, FUSE), where
// numbers and caching are not to be trusted, a Cache compares the file's
// content instead: it reads the file and compares an xxhash of the bytes.
package stat

import (
	"io/fs"
	"time"

	"github.com/refstore/refstore/vfs"
)

// Identity describes a file as fstat or stat reports it.
type Identity struct {
	Dev, Ino uint64 // zero where the platform reports none
	Size     int64
	ModTime  time.Time
}

// Of returns the identity recorded in fi, from the operating system's stat
// structure or from an in-memory file system's vfs.InodeInfo.
func Of(fi fs.FileInfo) Identity {
	id := Identity{Size: fi.Size(), ModTime: fi.ModTime()}
	switch sys := fi.Sys().(type) {
	case *vfs.InodeInfo:
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
