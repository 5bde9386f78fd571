//go:build !(aix || darwin || dragonfly || freebsd || linux || netbsd || openbsd || solaris)

package tool

// isTerminalFd is false where terminals are not detected.
func isTerminalFd(int) bool { return false }
