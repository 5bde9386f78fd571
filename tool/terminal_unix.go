//go:build aix || darwin || dragonfly || freebsd || linux || netbsd || openbsd || solaris

package tool

import "golang.org/x/sys/unix"

// isTerminalFd reports whether fd is a terminal: whether it has terminal
// attributes.
func isTerminalFd(fd int) bool {
	_, err := unix.IoctlGetTermios(fd, ioctlReadTermios)
	return err == nil
}
