//go:build !linux

package stat

// NetworkFS reports whether dir is on a network file system. Only Linux
// is detected; elsewhere it reports false and callers rely on
// Options.ContentOnly where needed.
func NetworkFS(dir string) (bool, string, error) { return false, "", nil }
