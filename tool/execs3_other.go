//go:build !unix

package tool

import (
	"io"
	"os"
	"os/exec"
)

// ownGroup leaves the child in the console's group, where a Ctrl-C
// reaches it as it reaches us; the signals handled are not passed on
// again.
func ownGroup(*exec.Cmd, io.Reader) (shared bool) { return true }

// forward stops the child p: an interrupt cannot be sent to another
// process here, so a stop signal kills it.
func forward(p *os.Process, sig os.Signal) {
	if sig != os.Interrupt {
		p.Kill()
	}
}

// signalStatus reports no signal: processes here are not ended by one.
func signalStatus(*os.ProcessState) (int, bool) { return 0, false }
