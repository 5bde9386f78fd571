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
	"sync"
	"time"

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

// runInterruptible runs the program with SIGINT handled. A command that
// watches its context (Interruptible) has the handler from the start: the
// first interrupt cancels it, a second one stops it. Any other writing
// command keeps the default action (the process ends at once) until it
// is about to hold a lock file or temporary table; then the interrupt is
// ignored, and the handler is installed as soon as the command talks to
// the user (reads input or writes output) or still holds after
// holdGrace. The handler removes the files the process holds, as git
// does, and exits 130. Installing it costs a commit half a millisecond
// (os/signal starts threads), so a commit that is done within holdGrace
// never pays it; an interrupt in that time is lost and the commit
// finishes.
func runInterruptible(args []string) int {
	c := lookupArgs(args)
	if c != nil && c.ReadOnly {
		code := run(context.Background(), args, os.Stdin, os.Stdout, os.Stderr)
		stopHelpers()
		return code
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h := &interrupts{cancel: cancel}
	var stdin io.Reader = os.Stdin
	var stdout io.Writer = os.Stdout
	if c != nil && c.Interruptible {
		h.interruptible = true
		h.handle()
	} else {
		stack.BeforeHold(h.holding)
		stdin = talkReader{os.Stdin, h}
		stdout = talkWriter{os.Stdout, h}
	}
	code := run(ctx, args, stdin, stdout, os.Stderr)
	stopHelpers()
	return code
}

// holdGrace is how long a command holds files with interrupts ignored
// before it installs the handler.
const holdGrace = 50 * time.Millisecond

// interrupts is the SIGINT handling of one process (see runInterruptible).
type interrupts struct {
	interruptible bool   // the first interrupt cancels the context
	cancel        func() // the command's context

	mu    sync.Mutex
	state int // sigDefault, sigIgnored or sigHandled
}

const (
	sigDefault = iota // the default action: the process ends
	sigIgnored        // ignored while the command holds files
	sigHandled        // the handler cleans up and exits 130
)

// holding is called before the process creates a file it holds.
func (h *interrupts) holding() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.state != sigDefault {
		return
	}
	signal.Ignore(os.Interrupt)
	h.state = sigIgnored
	time.AfterFunc(holdGrace, h.handle)
}

// talk is called before the command reads input or writes output: an
// interrupt must not be ignored then.
func (h *interrupts) talk() {
	h.mu.Lock()
	ignored := h.state == sigIgnored
	h.mu.Unlock()
	if ignored {
		h.handle()
	}
}

// handle installs the handler, once.
func (h *interrupts) handle() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.state == sigHandled {
		return
	}
	h.state = sigHandled
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt)
	go func() {
		<-sigs
		if h.interruptible {
			h.cancel() // the command winds down and cleans up itself
			<-sigs
		}
		stack.RemoveHeldFiles()
		stopHelpers()
		fprintf(os.Stderr, "reftable: interrupted\n")
		os.Exit(exitInterrupted)
	}()
}

// talkReader is the command's input: each read first lets h know.
type talkReader struct {
	r io.Reader
	h *interrupts
}

func (r talkReader) Read(p []byte) (int, error) {
	r.h.talk()
	return r.r.Read(p)
}

// talkWriter is the command's output: each write first lets h know.
type talkWriter struct {
	w io.Writer
	h *interrupts
}

func (w talkWriter) Write(p []byte) (int, error) {
	w.h.talk()
	return w.w.Write(p)
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
