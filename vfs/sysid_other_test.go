//go:build !unix

package vfs

// sysDevIno reports no identity: this platform's stat has none.
func sysDevIno(sys any) (dev, ino uint64) { return 0, 0 }
