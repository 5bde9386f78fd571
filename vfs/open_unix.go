//go:build unix

package vfs

import "syscall"

// nonblock is the open flag that keeps opening a FIFO from waiting for
// its other end. It changes nothing for a regular file, and it spares os
// switching the descriptor to non-blocking mode and back around trying
// to register it with the network poller.
const nonblock = syscall.O_NONBLOCK
