// Command reftable looks inside, checks, repairs and changes reftable
// stacks: the .git/reftable directory of a git repository, a linked
// worktree's own stack, a bare stack directory or a single table file.
//
// Usage:
//
//	reftable <command> [flags] [arguments]
//
// Run "reftable help" for the list of commands and "reftable help
// <command>" (or "reftable <command> -h") for the flags of one.
package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"runtime/debug"

	"github.com/refstore/refstore/stack"
)

func main() {
	if os.Getenv("GOGC") == "" {
		// A short-lived process: collecting half as often costs a bulk
		// update of 100,000 refs a tenth more memory and saves a
		// quarter of its CPU time (the marking and the preemption
		// signals it sends); small commands stay below the first
		// collection.
		debug.SetGCPercent(200)
	}
	os.Exit(runInterruptible(os.Args[1:]))
}

// runInterruptible runs the program with SIGINT handled: for a command
// that watches its context (Interruptible) the first interrupt cancels
// it; otherwise, and at a second interrupt, the lock files and temporary
// tables the process holds are removed, as git does, and it exits 130.
func runInterruptible(args []string) int {
	c := lookupArgs(args)
	if c != nil && c.ReadOnly {
		code := run(context.Background(), args, os.Stdin, os.Stdout, os.Stderr)
		stopHelpers()
		return code
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Installing the handler starts a thread, half a millisecond of a
	// commit's 15 here: the command goes on meanwhile, but holds no file
	// and reads no input (where a user would interrupt it) before the
	// handler is in place.
	ready := make(chan struct{})
	stack.HoldAfter(ready)
	interrupts := make(chan os.Signal, 2)
	go func() {
		signal.Notify(interrupts, os.Interrupt)
		close(ready)
		<-interrupts
		if c != nil && c.Interruptible {
			cancel() // the command winds down and cleans up itself
			<-interrupts
		}
		stack.RemoveHeldFiles()
		stopHelpers()
		fprintf(os.Stderr, "reftable: interrupted\n")
		os.Exit(exitInterrupted)
	}()
	code := run(ctx, args, &readAfter{r: os.Stdin, ready: ready}, os.Stdout, os.Stderr)
	stopHelpers()
	return code
}

// readAfter reads r once ready is closed.
type readAfter struct {
	r     io.Reader
	ready <-chan struct{}
}

func (r *readAfter) Read(p []byte) (int, error) {
	<-r.ready
	return r.r.Read(p)
}

// lookupArgs returns the command args names, or nil.
func lookupArgs(args []string) *command {
	if len(args) == 0 {
		return nil
	}
	return lookup(args[0])
}

// Exit codes.
const (
	exitOK      = 0 // success
	exitFailure = 1 // failure, or what was asked for does not exist
	exitUsage   = 2 // bad command line or bad input syntax

	exitInterrupted = 130 // interrupted (SIGINT), as a shell reports it
)

// run is the whole program: it parses args (without the program name),
// runs one command and returns the exit code. It never calls os.Exit and
// keeps no global state, so tests call it in-process.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		printOverview(stderr)
		return exitUsage
	}
	name := args[0]
	switch name {
	case "-h", "-help", "--help":
		printOverview(stdout)
		return exitOK
	}
	cmd := lookup(name)
	if cmd == nil {
		fprintf(stderr, "reftable: unknown command %q\nRun 'reftable help' for usage.\n", name)
		return exitUsage
	}
	env := &env{ctx: ctx, cmd: cmd, stdin: stdin, stdout: stdout, stderr: stderr}
	return env.exec(args[1:])
}
