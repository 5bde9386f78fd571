package tool

import (
	"flag"
	"io"
	"strings"
)

var cmdHelp = &Command{
	ReadOnly: true,
	Name:     "help",
	Usage:    "[COMMAND]",
	Short:    "describe reftable or one of its commands",
	Long: `Help prints the list of commands, or the description and flags of
COMMAND. Every command also accepts -h.

Examples:

	reftable help
	reftable help update
	reftable update -h`,
	Run: runHelp,
}

func runHelp(e *Env, _ any, args []string) error {
	if err := maxArgs(args, 1); err != nil {
		return err
	}
	if len(args) == 0 {
		printOverview(e.stdout, e.cmds)
		return nil
	}
	c := e.cmds.lookup(args[0])
	if c == nil {
		return usagef("unknown command %q", args[0])
	}
	printCommandHelp(e.stdout, c)
	return nil
}

// printOverview lists every command of cmds with its short line.
func printOverview(w io.Writer, cmds table) {
	fprintf(w, "reftable looks inside, checks, repairs and changes reftable stacks.\n\n")
	fprintf(w, "Usage:\n\n\treftable <command> [flags] [arguments]\n\nCommands:\n\n")
	width := 0
	for _, c := range cmds {
		width = max(width, len(c.Name))
	}
	for _, c := range cmds {
		fprintf(w, "\t%-*s  %s\n", width, c.Name, c.Short)
	}
	fprintf(w, "\n%s\n", pathHelp)
	fprintf(w, "Run 'reftable help <command>' for more about a command.\n")
}

// pathHelp explains the PATH argument shared by most commands.
const pathHelp = `PATH is a directory of a reftable repository, found from it as git -C
PATH finds it (its reftable/ stack; in a linked worktree, refs are read
and written as git does: per-worktree refs in its own stack, the others
in the main one), a
stack directory (one with tables.list), a single .ref table file
(read-only commands), or s3://bucket/prefix for a stack on S3-compatible
storage (configured by AWS_ENDPOINT_URL, AWS_REGION, AWS_ACCESS_KEY_ID
and AWS_SECRET_ACCESS_KEY; see doctor). The reftable program links no
S3 client: given an s3:// argument, or the doctor command, it runs
reftable-s3 (the same commands, with S3) in its place, with the same
arguments, input and output, and exits with its status. It finds
reftable-s3 at $REFTABLE_S3, else next to reftable, else in PATH;
install it with
	go install github.com/refstore/refstore/cmd/reftable-s3@latest
or build both with 'go build -o bin/ ./cmd/...'. PATH defaults to the
repository of the current directory.
Exit status: 0 on success, 1 on failure or when something is not found,
2 on usage errors; stopped by SIGINT (Ctrl-C), SIGTERM or SIGHUP, a
command removes the lock files and temporary tables it holds and exits
128 plus the signal's number (130, 143, 129), as git cleans up.
`

// printCommandHelp prints the usage, description and flags of c.
func printCommandHelp(w io.Writer, c *Command) {
	fprintf(w, "usage: reftable %s %s\n\n", c.Name, c.Usage)
	fprintf(w, "%s\n", strings.TrimSpace(c.Long))
	if c.Flags == nil {
		return
	}
	fs := flag.NewFlagSet(c.Name, flag.ContinueOnError)
	c.Flags(fs)
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	if n == 0 {
		return
	}
	fprintf(w, "\nFlags:\n")
	fs.SetOutput(w)
	fs.PrintDefaults()
}
