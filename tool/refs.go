package tool

import (
	"errors"
	"flag"
	"io/fs"
	"os"
	"strings"
)

var cmdRefs = &Command{
	ReadOnly: true,
	Name:     "refs",
	Usage:    "[-json] [PATH] [PREFIX]",
	Short:    "list the live refs of the merged view",
	Long: `Refs lists the live refs of the stack's merged view (deletions hidden),
sorted bytewise, one a line:

	<refname> <oid>
	<refname> <oid> <peeled-oid>    (annotated tag)
	<refname> ref: <target>         (symbolic ref)

With PREFIX only refs whose names start with it. A single argument that
starts with "refs/" and names no file is taken as PREFIX.

` + refJSONHelp + `
Examples:

	reftable refs
	reftable refs .git/reftable refs/tags/
	reftable refs -json ~/src/project refs/heads/`,
	Flags: func(fs *flag.FlagSet) any {
		return fs.Bool("json", false, "print JSON Lines: name, type, oid, peeled, target, update_index")
	},
	Run: runRefs,
}

func runRefs(e *Env, flags any, args []string) error {
	if err := maxArgs(args, 2); err != nil {
		return err
	}
	path, prefix := "", ""
	switch len(args) {
	case 1:
		if looksLikePrefix(args[0]) {
			prefix = args[0]
		} else {
			path = args[0]
		}
	case 2:
		path, prefix = args[0], args[1]
	}
	rd, err := e.openReader(path)
	if err != nil {
		return err
	}
	defer rd.Close()
	json := *flags.(*bool)
	p := &printer{w: e.stdout, json: true}
	var line []byte
	for r, err := range rd.RefRecords(prefix) {
		if err != nil {
			return err
		}
		if json {
			err = p.record("", toRefJSON(&r))
		} else {
			line = append(appendRefText(line[:0], &r), '\n')
			_, err = e.stdout.Write(line)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// looksLikePrefix reports whether a lone argument is a ref prefix rather
// than a path.
func looksLikePrefix(arg string) bool {
	if !strings.HasPrefix(arg, "refs/") && arg != "refs" {
		return false
	}
	_, err := os.Stat(arg)
	return errors.Is(err, fs.ErrNotExist)
}
