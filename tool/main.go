// Package tool is the reftable command-line tool as a library: every
// command of the reftable program (refs, show, logs, dump, stats,
// verify, digest, update, compact, rewrite, locks, unlock, clean,
// import, export, help), run by Main, and the extension points a main
// program wires in through a Config: the opener of s3:// stores, extra
// commands and a delegate for what the program itself cannot do. The
// extra commands of the reftable programs live in subpackages, each a
// Command built on this package's exported names only: demo
// (tool/demo), bench (tool/bench) and doctor (tool/doctor).
//
// Two programs are built on it. cmd/reftable links no HTTP, TLS or S3
// client code, which would cost every command its start-up time; when a
// command line needs S3 (an argument starting with s3://, or the doctor
// command) it runs the reftable-s3 program in its place (ExecS3).
// cmd/reftable-s3 is the whole tool with the S3 opener of package
// s3store. Both add demo, bench and doctor:
//
//	go install github.com/refstore/refstore/cmd/reftable@latest github.com/refstore/refstore/cmd/reftable-s3@latest
//
// reftable finds reftable-s3 at $REFTABLE_S3, else next to its own
// executable, else in PATH.
package tool

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/refstore/refstore/objstore"
	"github.com/refstore/refstore/stack"
)

// Config is what a main program wires into the tool. The zero Config is
// the tool without S3 and without extra commands. A Config is read, never
// changed, by the tool, so one may serve concurrent calls of Main.
type Config struct {
	// OpenS3 opens the object store an s3://bucket/prefix URL names, for
	// the commands given such a PATH. A store that has a URL() string
	// method is named by it in output. When OpenS3 is nil, a command
	// line that needs S3 goes to Delegate.
	OpenS3 func(ctx context.Context, url string) (objstore.Store, error)
	// Commands are commands beyond the built-in ones, such as doctor;
	// help lists them after the built-in ones, and a name here hides a
	// built-in command of the same name.
	Commands []*Command
	// Delegate, if set, runs a command line that needs S3 when OpenS3 is
	// nil (one with an argument starting with s3://, or naming a
	// command with NeedsS3), in place of the tool, and returns its exit
	// status. ExecS3 runs it in the reftable-s3 program. When Delegate
	// is nil too, such a command fails, saying that this program has no
	// S3 access.
	Delegate func(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int
}

// Exit codes.
const (
	exitOK      = 0 // success
	exitFailure = 1 // failure, or what was asked for does not exist
	exitUsage   = 2 // bad command line or bad input syntax

	exitInterrupted = 130 // interrupted (SIGINT), as a shell reports it; 128+n for signal n
)

// Main runs the tool: it parses args (without the program name), runs one
// command with cfg's extensions and returns the exit status: 0 on
// success, 1 on failure or when what was asked for does not exist, 2 on
// a usage error. Errors go to stderr, once, as "reftable <command>:
// <error>". Canceling ctx interrupts a command that watches it
// (Command.Interruptible), which winds down and fails; others run on.
// Main installs no signal handler, never calls os.Exit and keeps no
// global state, so tests and other programs call it in-process; a main
// function calls Process instead.
func Main(ctx context.Context, cfg Config, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if cfg.delegates(args) {
		return cfg.Delegate(ctx, args, stdin, stdout, stderr)
	}
	return cfg.run(ctx, stack.NewCleanup(), args, stdin, stdout, stderr)
}

// Process is Main for the main function of a program: it runs args with
// the process's standard input, output and error and its stop signals
// handled: SIGINT (Ctrl-C), SIGTERM and SIGHUP, as git handles them. A
// command that writes removes the lock files and temporary tables it
// holds and exits 128 plus the signal's number (130 for SIGINT), as a
// shell reports a death by the signal; one that watches its context
// (Interruptible) is first asked to wind down by an interrupt, and stops
// at the second. A command that only reads keeps the signals' default
// actions. A command line that goes to cfg.Delegate is run by it, which
// handles the signals itself. Process returns the exit status for
// os.Exit, unless a signal ends the process first.
func Process(cfg Config, args []string) int {
	ctx := context.Background()
	if cfg.delegates(args) {
		return cfg.Delegate(ctx, args, os.Stdin, os.Stdout, os.Stderr)
	}
	c := cfg.commands().lookupArgs(args)
	held := stack.NewCleanup()
	if c != nil && c.ReadOnly {
		return cfg.run(ctx, held, args, os.Stdin, os.Stdout, os.Stderr)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := handleStops(cancel, c != nil && c.Interruptible, held)
	defer stop()
	return cfg.run(ctx, held, args, os.Stdin, os.Stdout, os.Stderr)
}

// delegates reports whether args go to cfg.Delegate: a command line that
// needs S3 in a configuration without it.
func (cfg *Config) delegates(args []string) bool {
	if cfg.OpenS3 != nil || cfg.Delegate == nil {
		return false
	}
	return needsS3(cfg.commands(), args)
}

// needsS3 reports whether the command line args needs S3: it names a
// command with NeedsS3, or has an argument starting with s3://. (A
// flag's value such as a reflog message "s3://..." counts too: the
// delegate then runs the command, with the same result.)
func needsS3(cmds table, args []string) bool {
	if c := cmds.lookupArgs(args); c != nil && c.NeedsS3 {
		return true
	}
	return namesS3(args)
}

// stopSignals are the signals after which a writing command cleans up
// and exits.
var stopSignals = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP}

// handleStops installs the handler of the stop signals, which removes
// the files held records and exits. With interruptible, the first SIGINT
// only cancels the command's context (it winds down and cleans up
// itself). The function returned uninstalls it.
func handleStops(cancel func(), interruptible bool, held *stack.Cleanup) func() {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, stopSignals...)
	done := make(chan struct{})
	go func() {
		var sig os.Signal
		select {
		case sig = <-sigs:
		case <-done:
			return
		}
		if interruptible && sig == syscall.SIGINT {
			cancel()
			select {
			case sig = <-sigs:
			case <-done:
				return
			}
		}
		held.Remove()
		fprintf(os.Stderr, "reftable: %v\n", sig)
		os.Exit(exitSignal(sig))
	}()
	return func() {
		signal.Stop(sigs)
		close(done)
	}
}

// exitSignal is the exit status of a process stopped by sig: 128 plus its
// number.
func exitSignal(sig os.Signal) int {
	if s, ok := sig.(syscall.Signal); ok {
		return 128 + int(s)
	}
	return exitInterrupted
}

// run runs one command line with the Cleanup the stacks the command
// opens record their lock files and temporary tables in, for an
// interrupt's handler.
func (cfg *Config) run(ctx context.Context, held *stack.Cleanup, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	cmds := cfg.commands()
	if len(args) == 0 {
		printOverview(stderr, cmds)
		return exitUsage
	}
	name := args[0]
	switch name {
	case "-h", "-help", "--help":
		printOverview(stdout, cmds)
		return exitOK
	}
	cmd := cmds.lookup(name)
	if cmd == nil {
		fprintf(stderr, "reftable: unknown command %q\nRun 'reftable help' for usage.\n", name)
		return exitUsage
	}
	e := &Env{ctx: ctx, held: held, cfg: cfg, cmds: cmds, cmd: cmd, stdin: stdin, stdout: stdout, stderr: stderr}
	return e.exec(args[1:])
}
