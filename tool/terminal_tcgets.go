//go:build aix || linux || solaris

package tool

import "golang.org/x/sys/unix"

const ioctlReadTermios = unix.TCGETS
