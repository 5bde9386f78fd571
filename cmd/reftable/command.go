package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"github.com/refstore/refstore/stack"
	"io"
	"strings"
)

// A command is one subcommand of reftable. Each lives in its own file
// and is listed in commands, which help walks.
type command struct {
	Name  string // the word on the command line
	Usage string // the arguments after the name, such as "[-json] [PATH]"
	Short string // one line for the overview
	Long  string // the full description for "help <name>"

	// Flags declares the command's flags on fs and returns the value
	// that Run receives (usually a pointer to a struct of flag values).
	Flags func(fs *flag.FlagSet) any
	// Run runs the command with its parsed flags and positional
	// arguments. A *usageError exits 2, errNotFound-like errors and all
	// others exit 1; errSilent exits 1 without a message.
	Run func(e *env, flags any, args []string) error
	// Interruptible is set when Run watches e.ctx: the first interrupt
	// cancels it. Other commands are stopped at once, after removing the
	// lock files and temporary tables they hold.
	Interruptible bool
	// ReadOnly is set when the command writes nothing and takes no lock:
	// an interrupt just ends it, and no handler is installed (which
	// saves a millisecond of start-up).
	ReadOnly bool
}

// commands is the command table, in the order help lists them. It is
// filled by init to break the initialization cycle through help.
var commands []*command

func init() {
	commands = []*command{
		cmdDemo,
		cmdRefs, cmdShow, cmdLogs,
		cmdDump, cmdStats, cmdDigest, cmdVerify,
		cmdUpdate, cmdCompact, cmdRewrite, cmdLocks, cmdUnlock, cmdClean,
		cmdImport, cmdExport, cmdBench, cmdDoctor,
		cmdHelp,
	}
}

func lookup(name string) *command {
	for _, c := range commands {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// env is what a running command sees of the world.
type env struct {
	ctx context.Context
	// held records the lock files and temporary files of the command,
	// for the interrupt's handler to remove: every stack the command
	// writes gets it (stack.Options.Cleanup).
	held   *stack.Cleanup
	cmd    *command
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

// usageError reports a bad command line or malformed input; it exits 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// errSilent fails a command whose findings were already printed.
var errSilent = errors.New("failed")

// exec parses the flags of e.cmd from args, runs it and turns its error
// into an exit code, printing it once.
func (e *env) exec(args []string) int {
	fs := flag.NewFlagSet("reftable "+e.cmd.Name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var flags any
	if e.cmd.Flags != nil {
		flags = e.cmd.Flags(fs)
	}
	pos, err := parseInterleaved(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		printCommandHelp(e.stdout, e.cmd)
		return exitOK
	}
	if err != nil {
		fprintf(e.stderr, "reftable %s: %v\n", e.cmd.Name, err)
		fprintf(e.stderr, "usage: reftable %s %s\n", e.cmd.Name, e.cmd.Usage)
		return exitUsage
	}
	bw := bufio.NewWriterSize(e.stdout, 64<<10)
	out := e.stdout
	e.stdout = bw
	err = e.cmd.Run(e, flags, pos)
	if ferr := bw.Flush(); err == nil && ferr != nil {
		err = ferr
	}
	e.stdout = out
	var ue *usageError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ue):
		fprintf(e.stderr, "reftable %s: %v\n", e.cmd.Name, err)
		fprintf(e.stderr, "usage: reftable %s %s\n", e.cmd.Name, e.cmd.Usage)
		return exitUsage
	case errors.Is(err, errSilent):
		return exitFailure
	default:
		fprintf(e.stderr, "reftable %s: %v\n", e.cmd.Name, err)
		return exitFailure
	}
}

// parseInterleaved parses flags that may come before, between or after
// positional arguments ("reftable refs PATH -json"); "--" ends flags.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		// fs.Parse stops at the first non-flag, or after "--", which it
		// consumes: everything after "--" is positional.
		if used := len(args) - len(rest); used > 0 && args[used-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// maxArgs checks the number of positional arguments.
func maxArgs(args []string, n int) error {
	if len(args) > n {
		return usagef("too many arguments: %s", strings.Join(args[n:], " "))
	}
	return nil
}

func fprintf(w io.Writer, format string, args ...any) {
	fmt.Fprintf(w, format, args...)
}
