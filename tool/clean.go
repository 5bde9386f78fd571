package tool

import (
	"flag"
	"time"

	"github.com/refstore/refstore/stack"
)

var cmdClean = &Command{
	Name:  "clean",
	Usage: "[-grace D] [PATH]",
	Short: "remove files the stack no longer references",
	Long: `Clean removes tables that tables.list does not name and no writer can
still publish, temporary files and lock holder files older than the
grace period or left by a writer that is gone (a temporary file nobody
holds open with its advisory lock; a holder file naming a process of
this host that no longer runs), and the locks of tables whose holder is
provably gone (see unlock). It prints each file removed ("removed
<name>") and each unreferenced file kept with the reason ("kept <name>:
<why>").

On S3 a table is removed only once no writer can publish it any more,
whatever the grace period (see package objstore).

Examples:

	reftable clean
	reftable clean -grace 10m .git/reftable`,
	Flags: func(fs *flag.FlagSet) any {
		return fs.Duration("grace", time.Hour, "keep temporary files younger than this, unless their writer is gone")
	},
	Run: func(e *Env, flags any, args []string) error {
		t, err := e.openArg(args, maintain, stack.Options{DisableAutoCompaction: true})
		if err != nil {
			return err
		}
		defer t.Close()
		st, err := t.stack()
		if err != nil {
			return err
		}
		left, err := st.Clean(e.ctx, *flags.(*time.Duration))
		if err != nil {
			return err
		}
		for _, n := range left.Removed {
			fprintf(e.stdout, "removed %s\n", n)
		}
		for _, n := range left.Kept {
			fprintf(e.stdout, "kept %s\n", n)
		}
		return nil
	},
}
