//go:build !unix

package vfs

// syncDir does nothing where directories cannot be opened for syncing
// (Windows): renames there are durable through the file system's journal.
func syncDir(dir string) error { return nil }
