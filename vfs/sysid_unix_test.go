//go:build unix

package vfs

import "syscall"

// sysDevIno returns the device and inode of an os.FileInfo's Sys value.
func sysDevIno(sys any) (dev, ino uint64) {
	if st, ok := sys.(*syscall.Stat_t); ok {
		return uint64(st.Dev), uint64(st.Ino)
	}
	return 0, 0
}
