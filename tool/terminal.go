package tool

import (
	"io"
	"os"
)

// IsTerminal reports whether w is a terminal: an *os.File whose
// descriptor answers the terminal's ioctl on Unix; never elsewhere.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && isTerminalFd(int(f.Fd()))
}
