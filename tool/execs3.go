package tool

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
)

// S3Program is the name of the reftable program with S3, which ExecS3
// runs; S3ProgramEnv, when set, is its path.
const (
	S3Program    = "reftable-s3"
	S3ProgramEnv = "REFTABLE_S3"
)

// s3Install says how to install the program with S3.
const s3Install = "go install github.com/refstore/refstore/cmd/reftable-s3@latest"

// ExecS3 is the Delegate of the reftable program: it runs args in the
// reftable-s3 program, the same commands with S3, and returns its exit
// status (128 plus the signal's number if a signal ended it). The child
// has stdin, stdout and stderr; SIGINT, SIGTERM and SIGHUP that reach
// this process are passed on to it (the child's own handling, such as
// removing its lock files, then applies), and so is an interrupt when
// ctx is canceled. A child whose standard input is a terminal shares
// this process's process group, so it can read the terminal: a Ctrl-C
// there reaches both, and SIGINT is then not passed on again. Otherwise
// the child gets a group of its own and every signal reaches it once,
// from here.
//
// ExecS3 finds reftable-s3 at $REFTABLE_S3, else next to this program's
// executable, else in PATH; without it, it prints what is missing and
// how to install it, and returns 1.
func ExecS3(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	path, err := FindS3Program()
	if err != nil {
		fprintf(stderr, "reftable: %v\n", err)
		return exitFailure
	}
	cmd := exec.Command(path, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, stderr
	shared := ownGroup(cmd, stdin)
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, stopSignals...)
	defer signal.Stop(sigs)
	if err := cmd.Start(); err != nil {
		fprintf(stderr, "reftable: start %s: %v\n", path, err)
		return exitFailure
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	done := ctx.Done()
	for {
		select {
		case err := <-exited:
			return childStatus(err, path, stderr)
		case sig := <-sigs:
			if !(shared && sig == os.Interrupt) {
				forward(cmd.Process, sig)
			}
		case <-done:
			done = nil
			forward(cmd.Process, os.Interrupt)
		}
	}
}

// childStatus turns the end of the child into an exit status.
func childStatus(err error, path string, stderr io.Writer) int {
	var ee *exec.ExitError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ee):
		if code, ok := signalStatus(ee.ProcessState); ok {
			return code
		}
		return ee.ExitCode()
	}
	fprintf(stderr, "reftable: %s: %v\n", path, err)
	return exitFailure
}

// FindS3Program returns the path of the reftable-s3 program, as ExecS3
// finds it: $REFTABLE_S3, else next to this program's executable, else
// in PATH. Without it, the error says what is missing and how to
// install it. A command that runs reftable-s3 itself, such as bench for
// its S3 rows, finds it here.
func FindS3Program() (string, error) {
	if p := os.Getenv(S3ProgramEnv); p != "" {
		if _, err := exec.LookPath(p); err != nil {
			return "", fmt.Errorf("S3 needs %s, the reftable program with S3: %s=%s: %w", S3Program, S3ProgramEnv, p, err)
		}
		return p, nil
	}
	name := S3Program
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	exe, err := os.Executable()
	if err == nil {
		if p, err := exec.LookPath(filepath.Join(filepath.Dir(exe), name)); err == nil {
			return p, nil
		}
	}
	if p, err := exec.LookPath(S3Program); err == nil {
		return p, nil
	}
	where := "next to this program"
	if exe != "" {
		where = "next to " + exe
	}
	return "", fmt.Errorf("S3 needs %s, the reftable program with S3, which is not at $%s, %s or in PATH; install it with '%s' (or build both with 'go build -o bin/ ./cmd/...')",
		S3Program, S3ProgramEnv, where, s3Install)
}
