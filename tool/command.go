package tool

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"strings"

	"github.com/refstore/refstore/objstore"
	"github.com/refstore/refstore/reftable"
	"github.com/refstore/refstore/stack"
)

// A Command is one subcommand of reftable. Each built-in one lives in
// its own file and is listed in builtin, which help walks with the
// Config's own. A Command is not changed once a Config names it; the
// same one may serve concurrent calls of Main.
type Command struct {
	Name  string // the word on the command line
	Usage string // the arguments after the name, such as "[-json] [PATH]"
	Short string // one line for the overview
	Long  string // the full description for "help <name>"

	// Flags declares the command's flags on fs and returns the value
	// that Run receives (usually a pointer to a struct of flag values).
	Flags func(fs *flag.FlagSet) any
	// Run runs the command with its parsed flags and positional
	// arguments. An error of Usagef exits 2, ErrSilent exits 1 without a
	// message, and all others exit 1.
	Run func(e *Env, flags any, args []string) error
	// Interruptible is set when Run watches e.Context(): the first interrupt
	// cancels it. Other commands are stopped at once, after removing the
	// lock files and temporary tables they hold.
	Interruptible bool
	// ReadOnly is set when the command writes nothing and takes no lock:
	// an interrupt just ends it, and no handler is installed (which
	// saves a millisecond of start-up).
	ReadOnly bool
	// NeedsS3 is set when the command works only with Config.OpenS3
	// (doctor): without it the command line goes to Config.Delegate.
	NeedsS3 bool
}

// A table is the commands of one configuration, in the order help lists
// them.
type table []*Command

// builtin returns the built-in commands, in the order help lists them
// (help last, after the Config's).
func builtin() table {
	return table{
		cmdRefs, cmdShow, cmdLogs,
		cmdDump, cmdStats, cmdDigest, cmdVerify,
		cmdUpdate, cmdCompact, cmdRewrite, cmdLocks, cmdUnlock, cmdClean,
		cmdImport, cmdExport,
	}
}

// commands returns the commands of cfg: the built-in ones but those of
// the same name as one of cfg's, then cfg's, then help.
func (cfg *Config) commands() table {
	var t table
	for _, c := range builtin() {
		if !table(cfg.Commands).has(c.Name) {
			t = append(t, c)
		}
	}
	t = append(t, cfg.Commands...)
	return append(t, cmdHelp)
}

func (t table) has(name string) bool { return t.lookup(name) != nil }

// lookup returns the command called name, or nil.
func (t table) lookup(name string) *Command {
	for _, c := range t {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// lookupArgs returns the command args names, or nil.
func (t table) lookupArgs(args []string) *Command {
	if len(args) == 0 {
		return nil
	}
	return t.lookup(args[0])
}

// An Env is what a running command sees of the world. It is valid during
// the command's Run, for its goroutine and those Run waits for.
type Env struct {
	ctx context.Context
	// held records the lock files and temporary files of the command,
	// for the interrupt's handler to remove: every stack the command
	// writes gets it (stack.Options.Cleanup).
	held   *stack.Cleanup
	cfg    *Config
	cmds   table // the commands of cfg
	cmd    *Command
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

// Context returns the command's context; an interrupt of an
// Interruptible command cancels it.
func (e *Env) Context() context.Context { return e.ctx }

// Stdin returns the command's standard input.
func (e *Env) Stdin() io.Reader { return e.stdin }

// Stdout returns the command's standard output, buffered: what Run
// writes is flushed when it returns.
func (e *Env) Stdout() io.Writer { return e.stdout }

// Stderr returns the command's standard error.
func (e *Env) Stderr() io.Writer { return e.stderr }

// Cleanup returns where the stacks the command writes record their lock
// files and temporary tables (stack.Options.Cleanup), for the handler of
// an interrupt to remove them.
func (e *Env) Cleanup() *stack.Cleanup { return e.held }

// OpenS3 opens the object store of an s3://bucket/prefix URL with the
// Config's opener; without one it fails, saying the program has no S3
// access.
func (e *Env) OpenS3(url string) (objstore.Store, error) {
	return e.cfg.openS3(e.ctx, url)
}

// usageError reports a bad command line or malformed input; it exits 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// Usagef returns an error that reports a bad command line or malformed
// input: the command prints it with its usage line and exits 2.
func Usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

func usagef(format string, args ...any) error { return Usagef(format, args...) }

// ErrSilent fails a command whose findings were already printed: it
// exits 1 without a message.
var ErrSilent = errors.New("failed")

var errSilent = ErrSilent

// exec parses the flags of e.cmd from args, runs it and turns its error
// into an exit code, printing it once.
func (e *Env) exec(args []string) int {
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
	if e.cmd.ReadOnly && namesS3(pos) {
		err = e.runRetried(flags, pos)
	} else {
		err = e.cmd.Run(e, flags, pos)
	}
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

// MaxArgs returns a usage error if args, the positional arguments of a
// command, are more than n.
func MaxArgs(args []string, n int) error {
	if len(args) > n {
		return usagef("too many arguments: %s", strings.Join(args[n:], " "))
	}
	return nil
}

func fprintf(w io.Writer, format string, args ...any) {
	fmt.Fprintf(w, format, args...)
}

func maxArgs(args []string, n int) error { return MaxArgs(args, n) }

// wantArgs returns a usage error unless args, the positional arguments
// of a command, are two, named first and second.
func wantArgs(args []string, first, second string) error {
	switch len(args) {
	case 2:
		return nil
	case 1:
		return usagef("want %s and %s, got 1 argument", first, second)
	}
	return usagef("want %s and %s, got %d arguments", first, second, len(args))
}

// readRetries is how many more times a read-only command on S3 runs when
// a table vanished under it: a table is read block by block, after the
// list naming it, and a compaction deletes the tables it replaced once it
// has published its list. (A table file that git or this package deletes
// stays readable through the file opened.)
const readRetries = 5

// runRetried runs the command, a read-only one, holding its standard
// output until it ends, and runs it again, up to readRetries times, when
// a table it read vanished (see tableVanished): its output is printed
// once, from the run that ended. An output longer than maxHeldOutput is
// printed as it comes instead, and that run is the last.
func (e *Env) runRetried(flags any, pos []string) error {
	out := e.stdout
	defer func() { e.stdout = out }()
	for try := 0; ; try++ {
		held := &heldOutput{out: out, max: maxHeldOutput}
		e.stdout = held
		err := e.cmd.Run(e, flags, pos)
		if err != nil && !held.passed && try < readRetries && tableVanished(err) {
			continue
		}
		if !held.passed {
			if _, werr := out.Write(held.buf.Bytes()); err == nil {
				err = werr
			}
		}
		return err
	}
}

// maxHeldOutput is the most output of a read command that runRetried
// holds.
const maxHeldOutput = 16 << 20

// A heldOutput holds what is written to it, up to max bytes; past them
// it writes what it held to out, and passes everything after on.
type heldOutput struct {
	out    io.Writer
	max    int
	buf    bytes.Buffer
	passed bool // out has had what was held
}

func (h *heldOutput) Write(p []byte) (int, error) {
	if h.passed {
		return h.out.Write(p)
	}
	h.buf.Write(p)
	if h.buf.Len() > h.max {
		h.passed = true
		_, err := h.out.Write(h.buf.Bytes())
		h.buf = bytes.Buffer{}
		if err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// tableVanished reports whether err is a table's read that found it gone
// from storage, as a compaction leaves a table it replaced.
func tableVanished(err error) bool {
	var ioe *reftable.IOError
	return errors.As(err, &ioe) && errors.Is(err, fs.ErrNotExist)
}

// namesS3 reports whether an argument of args is an s3:// PATH.
func namesS3(args []string) bool {
	for _, a := range args {
		if strings.HasPrefix(a, "s3://") {
			return true
		}
	}
	return false
}
