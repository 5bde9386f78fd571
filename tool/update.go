package tool

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/refstore/refstore/repo"

	"github.com/refstore/refstore/stack"
)

var cmdUpdate = &Command{
	Name:  "update",
	Usage: "[-m MSG] [-lock-timeout D] [-z] [PATH] < commands",
	Short: "change refs atomically with git update-ref --stdin commands",
	Long: `Update reads commands in the language of git update-ref --stdin and
applies them in one atomic transaction, writing reflog entries as git does
(core.logAllRefUpdates decides which refs are logged: by default HEAD,
refs/heads/, refs/remotes/, refs/notes/ and refs with a reflog; with
always every ref; with false, or in a bare repository, only refs that
have a reflog already):

	update SP <ref> SP <new-oid> [SP <old-oid>] LF
	create SP <ref> SP <new-oid> LF
	delete SP <ref> [SP <old-oid>] LF
	verify SP <ref> [SP <old-oid>] LF
	symref-update SP <ref> SP <new-target> [SP (ref SP <old-target> | oid SP <old-oid>)] LF
	symref-create SP <ref> SP <new-target> LF
	symref-delete SP <ref> [SP <old-target>] LF
	symref-verify SP <ref> [SP <old-target>] LF
	option SP no-deref LF     (applies to the next command; symref-delete and symref-verify need it)
	start LF | prepare LF | commit LF | abort LF

An all-zero <old-oid> means the ref must not exist; an all-zero <new-oid>
deletes it. Arguments may be C-quoted as git writes them
("refs/heads/caf\303\251"). An object id is given in full hex, or as the name of
an existing ref (HEAD, "@", main, v1.0, refs/heads/main: git's short-name
rules), whose current value is taken when the input is read. Abbreviated
ids and expressions such as HEAD~1 would need a search or a walk of the
object database, which update does not do, and are rejected saying so.
In a repository, as git checks when it reads a command, its new object
id must name an object of the repository (loose, packed, or in an
alternate object directory; GIT_OBJECT_DIRECTORY and
GIT_ALTERNATE_OBJECT_DIRECTORIES are honoured, as in a pre-receive
hook), and if the command names a branch (HEAD or
refs/heads/...) a commit: else update fails there with git's message
("trying to write ref '<ref>' with nonexistent object <oid>", "trying to
write non-commit object <oid> to branch '<ref>'") and writes nothing of
the transaction (exit 1). A stack directory outside a repository has no
object database, and its ids are taken as given. With -z, fields are
NUL-terminated instead (update SP <ref> NUL <new-oid> NUL [<old-oid>] NUL,
and so on). Without no-deref a command acts on the ref at the end of
<ref>'s symbolic refs, symref-update and symref-create too (as git:
symref-update HEAD refs/heads/topic, with HEAD at refs/heads/main, makes
refs/heads/main point at refs/heads/topic); with it, on <ref> itself.
A line (with -z, a field) longer than 64 KiB is refused once that much of
it is read, and so is a ref name or symbolic ref target longer than a
table block (reftable.blockSize, below; 4096 bytes by default), which a
ref record must fit in; messages show a long name clipped.

Transactions are framed as git frames them. Without start, the commands
form one transaction, committed at the end of input or by commit. start
opens a transaction explicitly (commands before it join it); prepare
takes the locks at once and checks every expected value under them, so
nothing can change between prepare and commit; commit writes the
transaction and abort drops it. A transaction started but not committed
by the end of input is aborted: nothing of it is written, and update
exits 0, as git does. After commit or abort only start may follow
("transaction is closed"), after prepare only commit or abort ("prepared
transactions can only be closed"), and start may not come twice in one
transaction ("cannot restart ongoing transaction"). start, prepare,
commit and abort answer "<command>: ok" on standard output. A malformed
or misplaced command changes nothing of its transaction (those committed
before it stay) and names its line (exit 2); a ref that does not have
its expected value, or a lock held by another process (named with its
holder's pid and age), fails the whole transaction (exit 1).

In a linked worktree, per-worktree refs (HEAD, refs/bisect/,
refs/worktree/, refs/rewritten/) are written to the worktree's own stack
and all other refs to the shared one, as git does. update locks both
stacks (and those of other worktrees a name reaches), in the order of
their directories, before it follows symbolic refs through them, so that
HEAD cannot move before the commit; a change of the branch HEAD points at
is logged in the worktree's HEAD reflog. A name main-worktree/X or
worktrees/<id>/X, where X is a per-worktree ref, is written as X to that
worktree's stack, where git reads it (git 2.55 itself stores the prefixed
name there); another worktree's HEAD passed is logged in its own reflog.

The reflog identity is git's committer: GIT_COMMITTER_NAME, else
committer.name, else user.name of the config (the system's, the user's
and the repository's, as git reads them), else the account's full name
(/etc/passwd); GIT_COMMITTER_EMAIL, else committer.email, else
user.email, else $EMAIL, else login@host as git makes it up (/etc/mailname,
a host name with a dot, its canonical name in /etc/hosts, else
host.(none)); GIT_COMMITTER_DATE (unix seconds with zone,
"@1700000000 +0200", RFC 3339 or RFC 2822), else now. A stack outside a
repository takes only the environment's.

The new table, and the auto-compaction after the commit, follow the
repository's settings as git does:

	reftable.blockSize        block size (0: 4096; at most 16777215);
	                          reflog messages are cut at half of it
	reftable.restartInterval  records a restart point covers (0: 16)
	reftable.indexObjects     false: no object index (default true)
	reftable.geometricFactor  auto-compaction's factor (0: 2; at most 255)
	reftable.lockTimeout      ms to wait for tables.list.lock (default
	                          100; 0 tries once; -1 waits forever)
	core.sharedRepository     the modes of the tables and tables.list,
	                          whatever the umask: group (true) adds
	                          0660, all 0664; an octal mode sets it

Numbers take git's units (8k), booleans git's words (yes, off). The
config is read as git reads it: /etc/gitconfig (GIT_CONFIG_SYSTEM; none
with GIT_CONFIG_NOSYSTEM), the user's ($XDG_CONFIG_HOME/git/config and
~/.gitconfig; GIT_CONFIG_GLOBAL), the repository's, the worktree's
config.worktree (with extensions.worktreeConfig), GIT_CONFIG_COUNT,
then git -c's settings when git runs the command (GIT_CONFIG_PARAMETERS),
with their includes (includeIf on gitdir:, onbranch: and
hasconfig:remote.*.url:). An invalid value fails the command, as it
fails git's, naming the file.
-lock-timeout overrides reftable.lockTimeout.

Examples:

	$ echo "update refs/heads/main refs/heads/topic" | reftable update -m "fast-forward"
	$ printf 'start\ncreate refs/tags/v2 HEAD\nprepare\ncommit\n' | reftable update
	start: ok
	prepare: ok
	commit: ok
	$ printf 'symref-update HEAD refs/heads/topic\n' | reftable update .git/worktrees/wt`,
	Flags: func(fs *flag.FlagSet) any {
		f := &updateFlags{}
		fs.Func("m", "reflog `message` of every update", func(s string) error {
			if s == "" {
				return errors.New("refusing an empty reflog message, as git")
			}
			f.msg = s
			return nil
		})
		fs.Var(&f.lockTimeout, "lock-timeout", lockTimeoutUsage)
		fs.BoolVar(&f.z, "z", false, "NUL-terminated fields")
		return f
	},
	Run: runUpdate,
}

type updateFlags struct {
	msg         string
	lockTimeout lockTimeoutFlag
	z           bool
}

func runUpdate(e *Env, flags any, args []string) error {
	f := flags.(*updateFlags)
	opts := stack.Options{
		OnCompactionError: func(err error) {
			fprintf(e.stderr, "reftable update: warning: auto-compaction: %v\n", err)
		},
	}
	f.lockTimeout.apply(&opts)
	t, err := e.openArg(args, write, opts)
	if err != nil {
		return err
	}
	defer t.Close()
	who, err := t.config().Committer(time.Now())
	if err != nil {
		return err
	}
	u := &updater{e: e, target: t, who: who}
	if t.objects != "" {
		u.objs = &objectCheck{dir: t.objects, hash: t.hash}
		defer u.objs.close()
	}
	defer u.closeView()
	if t.repo == nil {
		// Written directly, as a stack: its transactions need it open
		// (a table file fails here).
		if _, err := t.stack(); err != nil {
			return err
		}
	}
	defer u.abort()

	// Commands are read and run one by one, as git does, so that a caller
	// can wait for "prepare: ok" while holding the lock. Nothing of a
	// transaction is written before its commit (or the end of input), so
	// a malformed command changes nothing of the transaction it is in.
	// The parser keeps git's framing (see txState) and refuses a command
	// that may not come where it does.
	in := bufio.NewReaderSize(e.stdin, maxInputLine+1)
	p := &updateParser{src: &tokenSource{r: in, z: f.z}, block: t.opts.Write.BlockSize, hash: t.hash, msg: f.msg, lookup: u}
	prepared := false
	for {
		c, ok, err := p.next()
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		switch c.verb {
		case "start":
		case "prepare":
			if err := u.prepare(); err != nil {
				return fmt.Errorf("line %d: prepare: %w", c.line, err)
			}
			prepared = true
		case "commit":
			if !prepared {
				if err := u.prepare(); err != nil {
					return fmt.Errorf("line %d: commit: %w", c.line, err)
				}
			}
			if err := u.commit(); err != nil {
				return fmt.Errorf("line %d: commit: %w", c.line, err)
			}
			prepared = false
		case "abort":
			u.abort()
			prepared = false
		default:
			// As git, the new id is checked when the command is read.
			if err := u.queue(c); err != nil {
				return fmt.Errorf("line %d: %w", c.line, err)
			}
			continue
		}
		fprintf(e.stdout, "%s: ok\n", c.verb)
		if fl, ok := e.stdout.(interface{ Flush() error }); ok {
			if err := fl.Flush(); err != nil {
				return err
			}
		}
	}
	switch p.state {
	case txOpen:
		// Without start, the commands are committed at the end of input.
		if err := u.prepare(); err != nil {
			return err
		}
		return u.commit()
	case txStarted, txPrepared:
		// As git: a transaction started and not committed by the end
		// of input is aborted, and that is no failure.
		u.abort()
	}
	return nil
}

// A transaction is a repository's (package repo: refs routed to the
// stacks of a linked worktree) or a stack's.
type transaction interface {
	Add(us ...stack.Update)
	Prepare(ctx context.Context) error
	Commit(ctx context.Context) error
	Close() error
}

// An updater applies update commands to its target: through its
// repository, which routes each ref to the stack its name belongs to,
// or to a stack directly.
type updater struct {
	e      *Env
	target *target
	who    stack.Identity
	// tx is the transaction of the commands read since the last commit
	// or abort; nil until a command comes. It is rtx or stx, which
	// queue adds to directly: an update passed through the interface
	// would be copied to the heap, and a bulk update is held once.
	tx       transaction
	rtx      *repo.Transaction
	stx      *stack.Transaction
	prepared bool
	// view reads refs for names given as ids, read when the command
	// is; nil until needed, and closed after a commit.
	view reader
	// objs checks the new object id of each command queued; nil
	// outside a repository.
	objs *objectCheck
}

// queue adds an update command to the transaction being read, once its
// new object id, if any, passes git's checks.
func (u *updater) queue(c updateCmd) error {
	if u.objs != nil && c.u.ID != nil {
		if err := u.objs.check(c.u.Name, c.u.ID); err != nil {
			return err
		}
	}
	if u.tx == nil {
		if r := u.target.repo; r != nil {
			u.rtx, u.stx = r.NewTransaction(u.who), nil
			u.tx = u.rtx
		} else {
			u.rtx, u.stx = nil, u.target.st.NewTransaction(u.who, u.target.policy)
			u.tx = u.stx
		}
	}
	if u.rtx != nil {
		u.rtx.Add(c.u)
	} else {
		u.stx.Add(c.u)
	}
	return nil
}

// prepare takes the locks of the stacks the transaction writes and
// checks it under them (see repo.Transaction).
func (u *updater) prepare() error {
	if u.tx == nil {
		u.prepared = true
		return nil
	}
	if err := u.tx.Prepare(u.e.ctx); err != nil {
		u.tx = nil
		return err
	}
	u.prepared = true
	return nil
}

func (u *updater) commit() error {
	tx := u.tx
	u.tx, u.prepared = nil, false
	if tx == nil {
		return nil
	}
	err := tx.Commit(u.e.ctx)
	// Later commands resolve names against what was just written: the
	// view is read again when next needed.
	u.closeView()
	return err
}

// openView opens the view names are resolved in, unless it is open. It
// is opened when first needed, so that commands giving full object ids
// read the stack only once, under the lock.
func (u *updater) openView() error {
	if u.view != nil {
		return nil
	}
	v, err := u.target.reader(u.e.ctx)
	if err != nil {
		return err
	}
	u.view = v
	return nil
}

func (u *updater) closeView() {
	if u.view != nil {
		u.view.Close()
		u.view = nil
	}
}

// Ref reads a ref of the current view, for name resolution.
func (u *updater) Ref(name string) (stack.Ref, error) {
	if err := u.openView(); err != nil {
		return stack.Ref{}, err
	}
	return u.view.Ref(name)
}

// Resolve follows symbolic refs in the current view.
func (u *updater) Resolve(name string) (stack.Ref, []string, error) {
	if err := u.openView(); err != nil {
		return stack.Ref{}, nil, err
	}
	return u.view.Resolve(name)
}

func (u *updater) abort() {
	if u.tx != nil {
		u.tx.Close()
	}
	u.tx, u.prepared = nil, false
}
