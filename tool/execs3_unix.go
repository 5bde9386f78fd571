//go:build unix

package tool

import (
	"io"
	"os"
	"os/exec"
	"syscall"
)

// ownGroup puts the child of cmd in a process group of its own, unless
// its standard input is a terminal (a background group could not read
// it), and reports whether it shares ours.
func ownGroup(cmd *exec.Cmd, stdin io.Reader) (shared bool) {
	if f, ok := stdin.(*os.File); ok && isTerminalFd(int(f.Fd())) {
		return true
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return false
}

// forward sends sig to the child p.
func forward(p *os.Process, sig os.Signal) {
	p.Signal(sig)
}

// signalStatus is 128 plus the number of the signal that ended a
// process, if one did.
func signalStatus(ps *os.ProcessState) (int, bool) {
	ws, ok := ps.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() {
		return 0, false
	}
	return 128 + int(ws.Signal()), true
}
