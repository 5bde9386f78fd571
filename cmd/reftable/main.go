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
	"syscall"

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

// runInterruptible runs the program with its stop signals handled: SIGINT
// (Ctrl-C), SIGTERM and SIGHUP, as git handles them. A command that
// writes removes the lock files and temporary tables it holds and exits
// 128 plus the signal's number (130 for SIGINT), as a shell reports a
// death by the signal; one that watches its context (Interruptible) is
// first asked to wind down by an interrupt, and stops at the second. A
// command that only reads keeps the signals' default actions.
func runInterruptible(args []string) int {
	c := lookupArgs(args)
	held := stack.NewCleanup()
	if c != nil && c.ReadOnly {
		code := runWith(context.Background(), held, args, os.Stdin, os.Stdout, os.Stderr)
		stopHelpers()
		return code
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	handleStops(cancel, c != nil && c.Interruptible, held)
	code := runWith(ctx, held, args, os.Stdin, os.Stdout, os.Stderr)
	stopHelpers()
	return code
}

// stopSignals are the signals after which a writing command cleans up
// and exits.
var stopSignals = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP}

// handleStops installs the handler of the stop signals, which removes
// the files held records. With interruptible, the first SIGINT only
// cancels the command's context (it winds down and cleans up itself).
func handleStops(cancel func(), interruptible bool, held *stack.Cleanup) {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, stopSignals...)
	go func() {
		sig := <-sigs
		if interruptible && sig == syscall.SIGINT {
			cancel()
			sig = <-sigs
		}
		held.Remove()
		stopHelpers()
		fprintf(os.Stderr, "reftable: %v\n", sig)
		os.Exit(exitSignal(sig))
	}()
}

// exitSignal is the exit status of a process stopped by sig: 128 plus its
// number.
func exitSignal(sig os.Signal) int {
	if s, ok := sig.(syscall.Signal); ok {
		return 128 + int(s)
	}
	return exitInterrupted
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

	exitInterrupted = 130 // interrupted (SIGINT), as a shell reports it; 128+n for signal n
)

// run is the whole program: it parses args (without the program name),
// runs one command and returns the exit code. It never calls os.Exit and
// keeps no global state, so tests call it in-process.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return runWith(ctx, stack.NewCleanup(), args, stdin, stdout, stderr)
}

// runWith is run with the Cleanup the stacks the command opens record
// their lock files and temporary tables in, for an interrupt's handler.
func runWith(ctx context.Context, held *stack.Cleanup, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
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
	env := &env{ctx: ctx, held: held, cmd: cmd, stdin: stdin, stdout: stdout, stderr: stderr}
	return env.exec(args[1:])
}
