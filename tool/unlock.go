package tool

import (
	"flag"

	"github.com/refstore/refstore/stack"
)

var cmdUnlock = &Command{
	Name:  "unlock",
	Usage: "-stale [PATH]",
	Short: "remove locks whose holder is provably gone",
	Long: `Unlock -stale removes each lock file of the stack whose recorded holder
process no longer exists (or whose process id was reused since), and
keeps the others, saying why: a lock whose file a running process holds
(its advisory lock, which every holder of ours takes) is never removed.
It assumes the locks were taken on this host. Exit status 1 if a lock
was kept. It prints "removed <path>" for each lock removed.

Writers (update, compact, clean, auto-compaction) remove a stale lock
of ours themselves when they find one in their way, by the same rules;
unlock -stale is for the others: git's locks (judged by the process id
git records with core.lockfilePid) and locks on file systems without
advisory locks.

Examples:

	reftable unlock -stale .git/reftable
	reftable unlock -stale    # the repository of the current directory`,
	Flags: func(fs *flag.FlagSet) any {
		return fs.Bool("stale", false, "remove locks of processes that are gone (required)")
	},
	Run: func(e *Env, flags any, args []string) error {
		if !*flags.(*bool) {
			return usagef("only -stale is supported: unlock never removes a lock that may be in use")
		}
		t, err := e.openArg(args, maintain, stack.Options{DisableAutoCompaction: true})
		if err != nil {
			return err
		}
		defer t.Close()
		st, err := t.stack()
		if err != nil {
			return err
		}
		locks, err := st.Locks()
		if err != nil {
			return err
		}
		kept := false
		for _, l := range locks {
			if err := st.BreakStaleLock(l.Path); err != nil {
				fprintf(e.stderr, "reftable unlock: kept %v\n", err)
				kept = true
				continue
			}
			fprintf(e.stdout, "removed %s\n", l.Path)
		}
		if kept {
			return errSilent
		}
		return nil
	},
}
