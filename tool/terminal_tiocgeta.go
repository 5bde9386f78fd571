//go:build darwin || dragonfly || freebsd || netbsd || openbsd

package tool

import "golang.org/x/sys/unix"

const ioctlReadTermios = unix.TIOCGETA
