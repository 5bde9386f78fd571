package tool

import (
	"flag"

	"github.com/refstore/refstore/stack"
)

var cmdLocks = &Command{
	ReadOnly: true,
	Name:     "locks",
	Usage:    "[-json] [PATH]",
	Short:    "list lock files and their holders",
	Long: `Locks lists the lock files of the stack (tables.list.lock and the locks
of tables being compacted), one a line, with the process id of the
holder when recorded, whether that process is alive (or some process
holds the lock file's advisory lock), gone or unknown, and the lock's
age:

	lock <path> pid=<pid> holder=<alive|gone|unknown> age=<duration>

with " host=<host>" added when the holder ran on another host (its
liveness is then unknown). pid 0 means no holder is recorded (git
writes empty locks).

With -json each lock is one JSON object a line (JSON Lines):

	{"kind":"lock","path":P,"age_seconds":A,"pid":N,"host":H,"liveness":L}

path is the lock file; age_seconds its age; pid the holder's process
id (0 unknown); host the holder's host name when recorded (else left
out); liveness "alive", "gone" or "unknown".

Examples:

	reftable locks
	reftable locks -json .git/reftable`,
	Flags: func(fs *flag.FlagSet) any {
		return fs.Bool("json", false, "print JSON Lines: kind, path, age_seconds, pid, host, liveness")
	},
	Run: func(e *Env, flags any, args []string) error {
		t, err := e.openArg(args, readOnly, stack.Options{})
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
		p := &printer{w: e.stdout, json: *flags.(*bool)}
		for _, l := range locks {
			if err := p.record(lockText(l), toLockJSON(l)); err != nil {
				return err
			}
		}
		return nil
	},
}
