package tool

import (
	"errors"
	"flag"
	"fmt"

	"github.com/refstore/refstore/reftable"
	"github.com/refstore/refstore/stack"
)

var cmdShow = &Command{
	ReadOnly: true,
	Name:     "show",
	Usage:    "[-json] [PATH] REFNAME",
	Short:    "show one ref, resolving symbolic refs",
	Long: `Show prints one ref like refs does, and when it is symbolic, the refs it
points at, one a line, up to the ref holding an object id (at most 5
levels, as git). A short name is looked up as git rev-parse does: NAME,
refs/NAME, refs/tags/NAME, refs/heads/NAME, refs/remotes/NAME,
refs/remotes/NAME/HEAD; main-worktree/X and worktrees/<id>/X name another
worktree's per-worktree ref X, as in git. Exit status 1 if the ref, or
the ref a symbolic ref points at, does not exist.

` + refJSONHelp + `
A symbolic ref gives one object for itself and one for each ref on the
way, as the text lines.

Examples:

	reftable show HEAD
	reftable show -json .git/reftable v1.0`,
	Flags: func(fs *flag.FlagSet) any {
		return fs.Bool("json", false, "print JSON Lines: name, type, oid, peeled, target, update_index")
	},
	Run: runShow,
}

func runShow(e *Env, flags any, args []string) error {
	if len(args) == 0 {
		return usagef("want REFNAME")
	}
	if err := maxArgs(args, 2); err != nil {
		return err
	}
	path, name := "", args[len(args)-1]
	if len(args) == 2 {
		path = args[0]
	}
	rd, err := e.openReader(path)
	if err != nil {
		return err
	}
	defer rd.Close()
	chain, err := resolveShort(rd, name)
	if err != nil {
		return err
	}
	p := &printer{w: e.stdout, json: *flags.(*bool)}
	for _, r := range chain {
		if err := p.record(r.String(), refJSONOf(r)); err != nil {
			return err
		}
	}
	return nil
}

// dwimRules are git's rules for expanding a short ref name: the
// prefix and the suffix to put around it.
var dwimRules = [][2]string{{"", ""}, {"refs/", ""}, {"refs/tags/", ""}, {"refs/heads/", ""}, {"refs/remotes/", ""}, {"refs/remotes/", "/HEAD"}}

// A refLookup reads refs: a reader, or update's view of the refs.
type refLookup interface {
	Ref(name string) (stack.Ref, error)
	Resolve(name string) (stack.Ref, []string, error)
}

// resolveShort looks name up with git's short-name rules, as git
// rev-parse does, and follows symbolic refs from the ref found, returning
// every ref on the way, the last one holding an object id.
func resolveShort(rd refLookup, name string) ([]stack.Ref, error) {
	var first stack.Ref
	found := false
	for _, rule := range dwimRules {
		r, err := rd.Ref(rule[0] + name + rule[1])
		if errors.Is(err, reftable.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		first, found = r, true
		break
	}
	if !found {
		return nil, fmt.Errorf("%s: %w", name, reftable.ErrNotFound)
	}
	if !first.Symbolic() {
		return []stack.Ref{first}, nil
	}
	end, via, err := rd.Resolve(first.Name)
	if err != nil {
		return nil, err
	}
	chain := []stack.Ref{first}
	for _, n := range via[1:] {
		r, err := rd.Ref(n)
		if err != nil {
			return nil, err
		}
		chain = append(chain, r)
	}
	if end.Missing() {
		last := chain[len(chain)-1]
		return nil, fmt.Errorf("%s: symbolic ref to missing %s: %w", last.Name, last.Target, reftable.ErrNotFound)
	}
	return append(chain, end), nil
}
