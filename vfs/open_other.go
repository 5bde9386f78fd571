//go:build !unix

package vfs

// nonblock is 0: without FIFOs that block an open (Windows' named pipes
// have their own namespace), an open needs no flag.
const nonblock = 0
