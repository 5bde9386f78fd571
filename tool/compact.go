package tool

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/refstore/refstore/stack"
)

var cmdCompact = &Command{
	Name:  "compact",
	Usage: "[-auto] [-expire-logs TIME] [-expire-index N] [-lock-timeout D] [PATH]",
	Short: "merge the stack's tables",
	Long: `Compact merges every table of the stack into one, dropping deletions
(as git pack-refs does). With -auto it merges only what git's geometric
auto-compaction selects. -expire-logs drops reflog entries older than
TIME (unix seconds, or a duration back from now such as 2160h) and
-expire-index those below update index N (full compaction only); a
reflog they empty still exists, as after git reflog expire (git's
existence marker), so that git goes on logging its ref. Reflog messages are rewritten as git's compaction rewrites them: a
message gets exactly one trailing newline (one without it would show in
git with its last character cut), so an empty one becomes a lone
newline; anything else in it is kept. A message of several lines, which
only other writers store and on which git's compaction fails, is kept
on one line, each inner newline a space.

The repository's reftable.blockSize, reftable.restartInterval,
reftable.indexObjects, reftable.lockTimeout and (with -auto)
reftable.geometricFactor apply, as in git (see 'reftable help update');
-lock-timeout overrides reftable.lockTimeout.

It prints the number of tables before and after:

	tables <before> -> <after>

On a large stack (at least 8 tables or 100,000 records) it shows its
progress on standard error when that is a terminal.

Examples:

	reftable compact .git/reftable
	reftable compact -auto
	reftable compact -expire-logs 2160h ~/src/project`,
	Flags: func(fs *flag.FlagSet) any {
		f := &compactFlags{}
		fs.BoolVar(&f.auto, "auto", false, "merge only what geometric auto-compaction selects")
		fs.StringVar(&f.expireLogs, "expire-logs", "", "drop reflog entries older than `TIME` (unix seconds or a duration ago)")
		fs.Uint64Var(&f.expireIndex, "expire-index", 0, "drop reflog entries below update index `N`")
		fs.Var(&f.lockTimeout, "lock-timeout", lockTimeoutUsage)
		return f
	},
	Run: runCompact,
}

type compactFlags struct {
	auto        bool
	expireLogs  string
	expireIndex uint64
	lockTimeout lockTimeoutFlag
}

func runCompact(e *Env, flags any, args []string) error {
	f := flags.(*compactFlags)
	var expiry *stack.LogExpiry
	if f.expireLogs != "" || f.expireIndex > 0 {
		if f.auto {
			return usagef("-expire-logs and -expire-index need a full compaction, not -auto")
		}
		expiry = &stack.LogExpiry{MinUpdateIndex: f.expireIndex}
		if f.expireLogs != "" {
			if n, err := strconv.ParseUint(f.expireLogs, 10, 64); err == nil {
				expiry.Time = n
			} else if d, err := time.ParseDuration(f.expireLogs); err == nil {
				expiry.Time = uint64(time.Now().Add(-d).Unix())
			} else {
				return usagef("-expire-logs %q: want unix seconds or a duration", f.expireLogs)
			}
		}
	}
	opts := stack.Options{DisableAutoCompaction: true}
	f.lockTimeout.apply(&opts)
	t, err := e.openArg(args, write, opts)
	if err != nil {
		return err
	}
	defer t.Close()
	st, err := t.stack()
	if err != nil {
		return err
	}
	before, err := tableCount(e.ctx, st)
	if err != nil {
		return err
	}
	stop := func() {}
	if IsTerminal(e.stderr) {
		tables, records, err := stackSize(e.ctx, st)
		if err != nil {
			return err
		}
		if showProgress(true, tables, records) {
			stop = startProgress(e.stderr, fmt.Sprintf("reftable compact: merging %d tables, %d records", tables, records))
		}
	}
	if f.auto {
		err = st.AutoCompact(e.ctx)
	} else {
		err = st.CompactAll(e.ctx, expiry)
	}
	stop()
	if err != nil {
		return err
	}
	after, err := tableCount(e.ctx, st)
	if err != nil {
		return err
	}
	fprintf(e.stdout, "tables %d -> %d\n", before, after)
	return nil
}

func tableCount(ctx context.Context, st *stack.Stack) (int, error) {
	s, err := st.Snapshot(ctx)
	if err != nil {
		return 0, err
	}
	defer s.Close()
	return len(s.TableNames()), nil
}

// Stacks with at least progressTables tables or progressRecords records
// get a progress line on a terminal.
const (
	progressTables  = 8
	progressRecords = 100_000
)

// showProgress decides whether compact shows a progress line: only on a
// terminal, and only for a large stack.
func showProgress(tty bool, tables, records int) bool {
	return tty && (tables >= progressTables || records >= progressRecords)
}

// stackSize returns the number of tables of st and of their records
// (refs, logs and objects, deletions included), read from the block
// headers.
func stackSize(ctx context.Context, st *stack.Stack) (tables, records int, err error) {
	s, err := st.Snapshot(ctx)
	if err != nil {
		return 0, 0, err
	}
	defer s.Close()
	for _, tbl := range s.Merged().Tables() {
		tables++
		for b, err := range tbl.Blocks() {
			if err != nil {
				return 0, 0, err
			}
			if b.Type != 'i' {
				records += b.Records
			}
		}
	}
	return tables, records, nil
}

// startProgress shows msg with the time elapsed on one terminal line of
// w, rewritten every second, until the returned function is called,
// which erases the line.
func startProgress(w io.Writer, msg string) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(finished)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		last := 0
		show := func() {
			line := fmt.Sprintf("%s, %s", msg, time.Since(start).Round(time.Second))
			fprintf(w, "\r%-*s", last, line)
			last = len(line)
		}
		show()
		for {
			select {
			case <-tick.C:
				show()
			case <-done:
				fprintf(w, "\r%*s\r", last, "")
				return
			}
		}
	}()
	return func() {
		close(done)
		<-finished
	}
}
