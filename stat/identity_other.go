//go:build !unix

package stat

// sysIdentity reports no identity: this platform's stat has no inode
// numbers, so caches compare contents.
func sysIdentity(sys any) (dev, ino uint64) { return 0, 0 }
