package main

import (
	"errors"
	"flag"
	"fmt"

	"github.com/refstore/refstore/reftable"
)

var cmdShow = &command{
	ReadOnly: true,
	Name:     "show",
	Usage:    "[-json] PATH REFNAME",
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

	reftable show . HEAD
	reftable show -json .git/reftable v1.0`,
	Flags: func(fs *flag.FlagSet) any {
		return fs.Bool("json", false, "print JSON Lines: name, type, oid, peeled, target, update_index")
	},
	Run: runShow,
}

// maxSymrefDepth is how many symbolic refs git follows.
const maxSymrefDepth = 5

func runShow(e *env, flags any, args []string) error {
	if len(args) != 2 {
		return usagef("want PATH and REFNAME, got %d arguments", len(args))
	}
	_, v, err := openTarget(args[0])
	if err != nil {
		return err
	}
	defer v.Close()
	chain, err := resolveRef(v.Reader, args[1])
	if err != nil {
		return err
	}
	p := &printer{w: e.stdout, json: *flags.(*bool)}
	for _, r := range chain {
		if err := p.record(refText(&r), toRefJSON(&r)); err != nil {
			return err
		}
	}
	return nil
}

// dwimRules are git's rules for expanding a short ref name: the
// prefix and the suffix to put around it.
var dwimRules = [][2]string{{"", ""}, {"refs/", ""}, {"refs/tags/", ""}, {"refs/heads/", ""}, {"refs/remotes/", ""}, {"refs/remotes/", "/HEAD"}}

// resolveRef looks name up (with git's short-name rules) and follows
// symbolic refs, returning every ref on the way.
func resolveRef(m refGetter, name string) ([]reftable.RefRecord, error) {
	var first reftable.RefRecord
	found := false
	for _, rule := range dwimRules {
		r, err := m.Ref([]byte(rule[0] + name + rule[1]))
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
	chain := []reftable.RefRecord{first}
	for r := first; r.Type == reftable.RefSymref; {
		if len(chain) > maxSymrefDepth {
			return nil, fmt.Errorf("%s: more than %d levels of symbolic refs", name, maxSymrefDepth)
		}
		next, err := m.Ref(r.Target)
		if errors.Is(err, reftable.ErrNotFound) {
			return nil, fmt.Errorf("%s: symbolic ref to missing %s: %w", r.Name, r.Target, err)
		}
		if err != nil {
			return nil, err
		}
		chain = append(chain, next)
		r = next
	}
	return chain, nil
}
