package main

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/refstore/refstore/reftable"
	"github.com/refstore/refstore/stack"
)

var cmdUpdate = &command{
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
alternate object directory), and if the command names a branch (HEAD or
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
it is read, and so is a ref name or symbolic ref target longer than the
4096 bytes a table block holds; messages show a long name clipped.

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
and all other refs to the shared one, as git does; symbolic refs are then
followed through both as read before locking, and a change of the branch
HEAD points at is logged in the worktree's HEAD reflog. A name
main-worktree/X or worktrees/<id>/X, where X is a per-worktree ref, is
written as X to that worktree's stack, where git reads it (git 2.55
itself stores the prefixed name there); another worktree's HEAD passed
is logged in its own reflog.

The reflog identity comes from GIT_COMMITTER_NAME, GIT_COMMITTER_EMAIL
and GIT_COMMITTER_DATE (unix seconds with zone, "@1700000000 +0200",
RFC 3339 or RFC 2822), else the user name, user@hostname and now.

The new table, and the auto-compaction after the commit, follow the
repository's settings as git does:

	reftable.blockSize        block size (0: 4096; at most 16777215);
	                          reflog messages are cut at half of it
	reftable.restartInterval  records a restart point covers (0: 16)
	reftable.indexObjects     false: no object index (default true)
	reftable.geometricFactor  auto-compaction's factor (0: 2; at most 255)
	reftable.lockTimeout      ms to wait for tables.list.lock (default
	                          100; 0 tries once; -1 waits forever)

Numbers take git's units (8k), booleans git's words (yes, off). Only the
repository's config file is read: not the global or system config, a
worktree's config.worktree or git -c. An invalid value fails the command,
as it fails git's. -lock-timeout overrides reftable.lockTimeout.

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

func runUpdate(e *env, flags any, args []string) error {
	f := flags.(*updateFlags)
	t, err := resolveArg(args)
	if err != nil {
		return err
	}
	who, err := identity()
	if err != nil {
		return err
	}
	u := &updater{target: t, who: who, policy: t.Policy}
	if dir, hash, ok := objectsOf(t); ok {
		u.objs = &objectCheck{dir: dir, hash: hash}
		defer u.objs.close()
	}
	defer func() { u.closeView() }()
	defer u.closeOthers()
	opts, err := t.writeOptions(stack.Options{
		OnCompactionError: func(err error) {
			fprintf(e.stderr, "reftable update: warning: auto-compaction: %v\n", err)
		},
	}, f.lockTimeout)
	if err != nil {
		return err
	}
	if u.own, err = t.openStack(opts); err != nil {
		return err
	}
	defer u.own.Close()
	if t.MainDir != "" {
		opts.Hash = t.Hash
		if u.main, err = stack.Open(t.MainDir, opts); err != nil {
			return err
		}
		defer u.main.Close()
	}
	u.opts = opts
	defer u.abort()

	// Commands are read and run one by one, as git does, so that a caller
	// can wait for "prepare: ok" while holding the lock. Nothing of a
	// transaction is written before its commit (or the end of input), so
	// a malformed command changes nothing of the transaction it is in.
	// The parser keeps git's framing (see txState) and refuses a command
	// that may not come where it does.
	in := bufio.NewReaderSize(e.stdin, maxInputLine+1)
	p := &updateParser{src: &tokenSource{r: in, z: f.z}, hash: t.Hash, msg: f.msg, names: u}
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

// An updater applies update commands to a stack, or in a linked worktree
// to the worktree's stack and the shared one, each ref to the stack its
// name belongs to; a name with git's worktree prefixes (main-worktree/X,
// worktrees/<id>/X) goes to that worktree's stack.
type updater struct {
	target *target
	own    *stack.Stack // the target's stack (a linked worktree's own)
	main   *stack.Stack // a linked worktree's shared stack, else nil
	view   refReader    // both, as read before locking; nil until needed
	vw     *view        // what view reads
	// others are other worktrees' stacks by directory, opened with opts
	// when a name first needs one; routes, the stack of each directory
	// a name was routed to.
	others map[string]*stack.Stack
	routes map[string]*stack.Stack
	opts   stack.Options

	who    stack.Identity
	policy stack.ReflogPolicy
	txs    []*stack.Transaction // prepared, until commit or abort

	// The update commands read since the last prepare or abort: with
	// one stack, straight in its transaction (a bulk update is held
	// once); in a linked worktree, or naming another worktree's ref, as
	// commands that build routes.
	tx   *stack.Transaction
	cmds []updateCmd
	// objs checks the new object id of each command queued; nil
	// outside a repository.
	objs *objectCheck
}

// queue adds an update command to the transaction being read, once its
// new object id, if any, passes git's checks.
func (u *updater) queue(c updateCmd) error {
	if u.objs != nil && c.u.New.ID != nil {
		if err := u.objs.check(c.u.Name, c.u.New.ID); err != nil {
			return err
		}
	}
	if u.main == nil {
		dir, bare, routed := u.target.routeRef(c.u.Name)
		if routed && sameDir(dir, u.target.Dir) {
			c.u.Name, routed = bare, false // the main worktree's own ref
		}
		if !routed {
			if u.tx == nil {
				u.tx = u.own.NewTransaction(u.who, u.policy)
			}
			u.tx.Add(c.u)
			return nil
		}
	}
	u.cmds = appendDoubling(u.cmds, c)
	return nil
}

// stackFor returns the stack holding the ref name, and its name there.
func (u *updater) stackFor(name string) (*stack.Stack, string, error) {
	if dir, bare, ok := u.target.routeRef(name); ok {
		st := u.routes[dir]
		switch {
		case st != nil:
		case sameDir(dir, u.target.Dir):
			st = u.own
		case u.main != nil && sameDir(dir, u.target.MainDir):
			st = u.main
		default:
			var err error
			if st, err = u.otherStack(name, dir); err != nil {
				return nil, "", err
			}
		}
		if u.routes == nil {
			u.routes = map[string]*stack.Stack{}
		}
		u.routes[dir] = st
		return st, bare, nil
	}
	if u.main != nil && !perWorktree(name) {
		return u.main, name, nil
	}
	return u.own, name, nil
}

// otherStack opens the stack of another worktree, which name routes to
// (once: stackFor remembers it).
func (u *updater) otherStack(name, dir string) (*stack.Stack, error) {
	if !exists(filepath.Join(dir, "tables.list")) {
		return nil, fmt.Errorf("%s: no such worktree: %s has no stack", clip(name), filepath.Dir(dir))
	}
	opts := u.opts
	opts.Hash = u.target.Hash
	st, err := stack.Open(dir, opts)
	if err != nil {
		return nil, err
	}
	if u.others == nil {
		u.others = map[string]*stack.Stack{}
	}
	u.others[dir] = st
	return st, nil
}

// closeOthers closes the other worktrees' stacks.
func (u *updater) closeOthers() {
	for _, st := range u.others {
		st.Close()
	}
}

// prepare builds the transactions of the queued commands and prepares
// them: it takes each stack's lock and checks every expected value under
// it.
func (u *updater) prepare() error {
	defer u.dropQueue() // the transactions are txs' now, or failed
	txs, err := u.build(u.cmds)
	if err != nil {
		if u.tx != nil {
			u.tx.Close()
		}
		return err
	}
	for i, tx := range txs {
		if err := tx.Prepare(); err != nil {
			for _, p := range txs[:i] {
				p.Close()
			}
			return err
		}
	}
	u.txs = txs
	return nil
}

func (u *updater) commit() error {
	txs := u.txs
	u.txs = nil
	var err error
	for _, tx := range txs {
		if err == nil {
			err = tx.Commit()
		} else {
			tx.Close()
		}
	}
	if len(txs) > 0 {
		// Later commands resolve names against what was just written:
		// the view is read again when next needed.
		u.closeView()
	}
	return err
}

// openView opens the view names are resolved in, unless it is open. It
// is opened when first needed, so that commands giving full object ids
// read the stack only once, under the lock.
func (u *updater) openView() error {
	if u.view != nil {
		return nil
	}
	v, err := u.target.openView()
	if err != nil {
		return err
	}
	u.vw, u.view = v, v.Reader
	return nil
}

func (u *updater) closeView() {
	if u.vw != nil {
		u.vw.Close()
		u.vw, u.view = nil, nil
	}
}

// Ref reads a ref of the current view, for name resolution.
func (u *updater) Ref(name []byte) (reftable.RefRecord, error) {
	if err := u.openView(); err != nil {
		return reftable.RefRecord{}, err
	}
	return u.view.Ref(name)
}

func (u *updater) abort() {
	for _, tx := range u.txs {
		tx.Close()
	}
	u.txs = nil
	if u.tx != nil {
		u.tx.Close()
	}
	u.dropQueue()
}

// dropQueue forgets the queued commands (their transaction, if any, now
// belongs to txs or is closed).
func (u *updater) dropQueue() { u.tx, u.cmds = nil, nil }

// build turns the queued commands into transactions, one a stack (with
// the transaction already holding a single stack's commands), with symbolic
// refs followed through the stacks (as read before locking) and reflog
// entries where git writes them: a symbolic ref passed and the
// worktree's HEAD get their entries in their own stack, and no other
// stack logs its HEAD, which belongs to another worktree. Transactions
// come in the order of their stacks' directories.
func (u *updater) build(cmds []updateCmd) ([]*stack.Transaction, error) {
	byStack := map[*stack.Stack]*stack.Transaction{}
	if u.tx != nil {
		byStack[u.own] = u.tx
	}
	if len(cmds) > 0 {
		if err := u.route(cmds, byStack); err != nil {
			for st, tx := range byStack {
				if st != u.own || tx != u.tx {
					tx.Close()
				}
			}
			return nil, err
		}
	}
	// Sorted by directory, so that every process takes the locks of
	// the stacks it writes in the same order.
	type dirTx struct {
		dir string
		tx  *stack.Transaction
	}
	var order []dirTx
	add := func(st *stack.Stack, dir string) {
		if tx := byStack[st]; st != nil && tx != nil {
			if abs, err := filepath.Abs(dir); err == nil {
				dir = abs
			}
			order = append(order, dirTx{dir, tx})
		}
	}
	add(u.own, u.target.Dir)
	add(u.main, u.target.MainDir)
	for dir, st := range u.others {
		add(st, dir)
	}
	slices.SortFunc(order, func(a, b dirTx) int { return strings.Compare(a.dir, b.dir) })
	txs := make([]*stack.Transaction, len(order))
	for i, o := range order {
		txs[i] = o.tx
	}
	return txs, nil
}

// route adds the updates of cmds to the transactions of their stacks,
// starting those not in byStack.
func (u *updater) route(cmds []updateCmd, byStack map[*stack.Stack]*stack.Transaction) error {
	if err := u.openView(); err != nil {
		return err
	}
	add := func(up stack.Update) error {
		st, name, err := u.stackFor(up.Name)
		if err != nil {
			return err
		}
		tx := byStack[st]
		if tx == nil {
			tx = st.NewTransaction(u.who, u.policy)
			if st != u.own {
				tx.SkipHEADLog()
			}
			byStack[st] = tx
		}
		up.Name = name
		tx.Add(up)
		return nil
	}
	sameStack := func(a, b string) (bool, error) {
		sa, _, err := u.stackFor(a)
		if err != nil {
			return false, err
		}
		sb, _, err := u.stackFor(b)
		return sa == sb, err
	}
	headTarget := ""
	if h, err := u.view.Ref([]byte("HEAD")); err == nil && h.Type == reftable.RefSymref {
		headTarget = string(h.Target)
	}
	for _, c := range cmds {
		up := c.u
		var via []string
		if up.Deref {
			name, passed, err := followSymrefs(u.view, up.Name)
			if err != nil {
				return fmt.Errorf("line %d: %w", c.line, err)
			}
			up.Name, via = name, passed
		}
		up.Deref = false
		if err := add(up); err != nil {
			return fmt.Errorf("line %d: %w", c.line, err)
		}
		if up.Verify {
			continue
		}
		logged := up.New // what the refs passed (and HEAD) log
		if t := up.New.Target; t != "" {
			// A symbolic ref's stack cannot see a target in another
			// stack; its reflog entry records the target's id. (A
			// target in a worktree that does not exist dangles.)
			if same, err := sameStack(t, up.Name); err == nil && !same {
				if err := u.logSymref(up, add); err != nil {
					return fmt.Errorf("line %d: %w", c.line, err)
				}
			}
			// The symbolic refs followed to it log the id the new
			// target resolves to, as git; nothing if it dangles.
			if len(via) == 0 {
				continue
			}
			var err error
			if logged, err = u.targetID(t); err != nil {
				return fmt.Errorf("line %d: %w", c.line, err)
			}
			if logged.ID == nil {
				continue
			}
		} else if up.Name == headTarget && !slices.Contains(via, "HEAD") {
			same, err := sameStack(up.Name, "HEAD")
			if err != nil {
				return fmt.Errorf("line %d: %w", c.line, err)
			}
			if !same {
				via = append(via, "HEAD")
			}
		}
		if len(via) == 0 {
			continue
		}
		cur, err := u.targetID(up.Name)
		if err != nil {
			return fmt.Errorf("line %d: %w", c.line, err)
		}
		for _, name := range via {
			if err := add(stack.Update{Name: name, Old: &cur, New: logged, Message: up.Message, LogOnly: true}); err != nil {
				return fmt.Errorf("line %d: %w", c.line, err)
			}
		}
	}
	return nil
}

// logSymref adds the reflog entry of a symbolic ref update whose target
// lives in the other stack: from the ref's object id (none when it is
// symbolic) to the id its new target has, as git; none if it dangles.
func (u *updater) logSymref(up stack.Update, add func(stack.Update) error) error {
	next, err := u.targetID(up.New.Target)
	if err != nil || next.ID == nil {
		return err
	}
	cur, err := u.targetID(up.Name)
	if err != nil {
		return err
	}
	return add(stack.Update{Name: up.Name, Old: &cur, New: next, Message: up.Message, LogOnly: true})
}

// targetID returns the object id the ref target has, following symbolic
// refs (with its peeled id), none when it dangles: what a reflog entry
// records of a symbolic ref to target, or of target itself, as git.
func (u *updater) targetID(target string) (stack.Value, error) {
	name, _, err := followSymrefs(u.view, target)
	if err != nil {
		return stack.Missing, err
	}
	r, err := u.view.Ref([]byte(name))
	if errors.Is(err, reftable.ErrNotFound) {
		return stack.Missing, nil
	} else if err != nil {
		return stack.Missing, err
	}
	v := valueOf(&r)
	if v.ID == nil {
		return stack.Missing, nil
	}
	return v, nil
}

// followSymrefs follows symbolic refs from name to the ref they end at
// (which may not exist), returning the symbolic refs passed.
func followSymrefs(r refReader, name string) (string, []string, error) {
	var via []string
	for range maxSymrefDepth {
		rec, err := r.Ref([]byte(name))
		if errors.Is(err, reftable.ErrNotFound) || err == nil && rec.Type != reftable.RefSymref {
			return name, via, nil
		}
		if err != nil {
			return "", nil, err
		}
		via = append(via, name)
		name = string(rec.Target)
	}
	return "", nil, fmt.Errorf("%s: more than %d levels of symbolic refs", clip(via[0]), maxSymrefDepth)
}

// valueOf returns the value a ref record holds.
func valueOf(r *reftable.RefRecord) stack.Value {
	switch r.Type {
	case reftable.RefVal1:
		return stack.Value{ID: bytes.Clone(r.Value)}
	case reftable.RefVal2:
		return stack.Value{ID: bytes.Clone(r.Value), Peeled: bytes.Clone(r.Peeled)}
	case reftable.RefSymref:
		return stack.Value{Target: string(r.Target)}
	}
	return stack.Missing
}

// Limits of update's input, so that its memory and its messages stay small
// whatever it is fed.
const (
	// maxInputLine is the longest line (with -z, field) update reads,
	// its terminator not counted. Nothing longer can be valid: a line
	// holds at most three ref names, each bounded by maxRefName.
	maxInputLine = 64 << 10
	// maxRefName is the longest ref name or symbolic ref target update
	// accepts: a ref record must fit in one table block, and update
	// writes blocks of git's default size.
	maxRefName = reftable.DefaultBlockSize
	// clipLen is how much of a long name or line a message shows.
	clipLen = 100
)

// clip returns s as an error message shows it: whole when short, else its
// first clipLen bytes (not cutting a UTF-8 sequence) and its length.
func clip(s string) string {
	if len(s) <= clipLen {
		return s
	}
	i := clipLen
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "...(" + strconv.Itoa(len(s)) + " bytes)"
}

// A clippedError is an error whose message shows a long name clipped.
type clippedError struct {
	msg string
	err error
}

func (e *clippedError) Error() string { return e.msg }
func (e *clippedError) Unwrap() error { return e.err }

// clipName returns err with the long name, where its message shows it
// (quoted or not), clipped.
func clipName(err error, name string) error {
	if err == nil || len(name) <= clipLen {
		return err
	}
	msg := strings.ReplaceAll(err.Error(), strconv.Quote(name), strconv.Quote(clip(name)))
	return &clippedError{strings.ReplaceAll(msg, name, clip(name)), err}
}

// A tokenSource reads the input of update on demand: lines, or with -z
// NUL-terminated fields, each at most maxInputLine bytes (r's buffer must
// hold one and its terminator).
type tokenSource struct {
	r    *bufio.Reader
	z    bool
	peek *string
	n    int // tokens read
}

// next returns the next token; ok is false at the end of input.
func (s *tokenSource) next() (tok string, ok bool, err error) {
	if s.peek != nil {
		tok, s.peek = *s.peek, nil
		return tok, true, nil
	}
	delim := byte('\n')
	if s.z {
		delim = 0
	}
	// ReadSlice reads no further than its buffer holds: a line too long
	// is refused having read only that much of it.
	line, err := s.r.ReadSlice(delim)
	switch {
	case err == bufio.ErrBufferFull:
		what := fmt.Sprintf("line %d", s.n+1)
		if s.z {
			what = fmt.Sprintf("field %d", s.n+1)
		}
		return "", false, usagef("%s: longer than %d bytes, the most update reads: %q", what, maxInputLine, clip(string(line)))
	case err == io.EOF:
		if len(line) == 0 {
			return "", false, nil
		}
		if s.z {
			return "", false, usagef("input does not end with NUL")
		}
		return "", false, usagef("line %d: missing newline at end of input", s.n+1)
	case err != nil:
		return "", false, err
	}
	s.n++
	return string(line[:len(line)-1]), true, nil
}

// lookahead returns the next token without taking it.
func (s *tokenSource) lookahead() (string, bool, error) {
	if s.peek == nil {
		tok, ok, err := s.next()
		if !ok || err != nil {
			return "", ok, err
		}
		s.peek = &tok
	}
	return *s.peek, true, nil
}

// An updateCmd is one parsed command of the update language.
type updateCmd struct {
	line int    // line (command, with -z) number, from 1
	verb string // the command word
	u    stack.Update
}

type updateParser struct {
	src     *tokenSource
	hash    reftable.Hash
	msg     string
	names   refGetter
	line    int
	noDeref bool
	state   txState  // where the commands read are in git's framing
	args    []string // reused by splitArgs
}

// A txState is where the input is in the transaction framing of git
// update-ref --stdin.
type txState int

// The states of the framing, in git's order: a command moves the input to
// its own state (see verbState), never back from started to open.
const (
	txOpen     txState = iota // before start: the commands are committed at the end of input
	txStarted                 // after start: aborted at the end of input unless committed
	txPrepared                // after prepare: only commit or abort may follow
	txClosed                  // after commit or abort: only start may follow
)

// verbState returns the state a command moves the input to.
func verbState(verb string) txState {
	switch verb {
	case "start":
		return txStarted
	case "prepare":
		return txPrepared
	case "commit", "abort":
		return txClosed
	}
	return txOpen
}

// enter moves s to the state of the command verb, as git's update-ref
// does, or returns git's reason why verb may not come now.
func (s *txState) enter(verb string) error {
	next := verbState(verb)
	switch *s {
	case txOpen, txStarted:
		if *s == txStarted && next == txStarted {
			return errors.New("cannot restart ongoing transaction")
		}
		*s = max(*s, next)
	case txPrepared:
		if next != txClosed {
			return errors.New("prepared transactions can only be closed")
		}
		*s = next
	case txClosed:
		if next != txStarted {
			return errors.New("transaction is closed")
		}
		*s = next
	}
	return nil
}

// next parses the next command; ok is false at the end of input. An
// "option no-deref" is folded into the command after it.
func (p *updateParser) next() (updateCmd, bool, error) {
	for {
		head, ok, err := p.src.next()
		if !ok || err != nil {
			return updateCmd{}, ok, err
		}
		p.line++
		c, err := p.command(head)
		if err != nil {
			var ue *usageError
			if errors.As(err, &ue) {
				return c, false, err
			}
			return c, false, usagef("line %d: %v", p.line, err)
		}
		if c.verb == "option" {
			p.noDeref = true
			continue
		}
		if c.u.Name != "" {
			p.noDeref = false
			c.u.Message = p.msg
		}
		return c, true, nil
	}
}

// knownVerbs are the command words of the update language.
var knownVerbs = map[string]int{ // verb: most arguments after <ref>
	"update": 2, "create": 1, "delete": 1, "verify": 1,
	"symref-update": 3, "symref-create": 1, "symref-delete": 1, "symref-verify": 1,
	"option": 0, "start": 0, "prepare": 0, "commit": 0, "abort": 0,
}

// command parses the next command.
func (p *updateParser) command(head string) (updateCmd, error) {
	noDeref := p.noDeref
	verb, rest, hasArg := strings.Cut(head, " ")
	c := updateCmd{line: p.line, verb: verb}
	if _, ok := knownVerbs[verb]; !ok {
		return c, fmt.Errorf("unknown command %q", clip(head))
	}
	// As git, the framing is checked before the arguments are.
	if err := p.state.enter(verb); err != nil {
		return c, err
	}
	switch verb {
	case "start", "prepare", "commit", "abort":
		if hasArg {
			return c, fmt.Errorf("%s: extra input %q", verb, clip(rest))
		}
		return c, nil
	case "option":
		if rest != "no-deref" {
			return c, fmt.Errorf("option: unknown option %q", clip(rest))
		}
		return c, nil
	}
	// The arguments after <ref>: in text mode the rest of the line, split
	// at single spaces, each argument possibly C-quoted; with -z the
	// following NUL-terminated fields. A present but empty object id is
	// zero in text mode; with -z an empty field means "not given", except
	// update's <new-oid>, which is then zero (as git).
	var args []string
	ref := rest
	if !p.src.z {
		all, err := splitArgs(p.args[:0], rest)
		p.args = all
		if err != nil {
			return c, fmt.Errorf("%s: %w", verb, err)
		}
		ref, args = all[0], all[1:]
	} else {
		var err error
		if args, err = p.zArgs(verb); err != nil {
			return c, err
		}
		for len(args) > 0 && args[len(args)-1] == "" && (verb != "update" || len(args) > 1) {
			args = args[:len(args)-1]
		}
		if verb == "update" && len(args) >= 1 && args[0] == "" {
			args[0] = strings.Repeat("0", 2*p.hash.Size())
		}
	}
	if ref == "" {
		return c, fmt.Errorf("%s: missing <ref>", verb)
	}
	if err := checkName(ref); err != nil {
		return c, fmt.Errorf("%s: %w", verb, err)
	}
	shown := clip(ref) // ref as messages show it
	if len(args) > knownVerbs[verb] {
		return c, fmt.Errorf("%s %s: extra input %q", verb, shown, clip(strings.Join(args[knownVerbs[verb]:], " ")))
	}
	u := stack.Update{Name: strings.Clone(ref), Deref: !noDeref} // not the whole line
	has := func(i int) bool { return i < len(args) }
	arg := func(i int) string {
		if has(i) {
			return args[i]
		}
		return ""
	}
	old := func(i int) error {
		if !has(i) {
			return nil
		}
		v, err := p.oid(arg(i), verb, ref, "old-oid")
		u.Old = &v
		return err
	}
	var err error
	switch verb {
	case "update":
		if !has(0) {
			return c, fmt.Errorf("update %s: missing <new-oid>", shown)
		}
		if u.New, err = p.oid(arg(0), verb, ref, "new-oid"); err != nil {
			return c, err
		}
		if err := old(1); err != nil {
			return c, err
		}
	case "create":
		if !has(0) {
			return c, fmt.Errorf("create %s: missing <new-oid>", shown)
		}
		if u.New, err = p.oid(arg(0), verb, ref, "new-oid"); err != nil {
			return c, err
		}
		if u.New.IsMissing() {
			return c, fmt.Errorf("create %s: zero <new-oid>", shown)
		}
		u.Old = &stack.Missing
	case "delete":
		if err := old(0); err != nil {
			return c, err
		}
		if u.Old != nil && u.Old.IsMissing() {
			return c, fmt.Errorf("delete %s: zero <old-oid>", shown)
		}
	case "verify":
		u.Verify = true
		if err := old(0); err != nil {
			return c, err
		}
		if u.Old == nil {
			u.Old = &stack.Missing
		}
	case "symref-update", "symref-create":
		// Without no-deref, as git, the new target is given to the ref
		// at the end of ref's symbolic refs.
		if arg(0) == "" {
			return c, fmt.Errorf("%s %s: missing <new-target>", verb, shown)
		}
		if err := checkTarget(arg(0)); err != nil {
			return c, err
		}
		u.New = stack.Value{Target: arg(0)}
		if verb == "symref-create" {
			u.Old = &stack.Missing
			break
		}
		switch kind := arg(1); kind {
		case "":
		case "ref", "oid":
			if arg(2) == "" {
				return c, fmt.Errorf("symref-update %s: missing old value after %q", shown, kind)
			}
			old := stack.Value{Target: arg(2)}
			if kind == "oid" {
				if old, err = p.oid(arg(2), verb, ref, "old-oid"); err != nil {
					return c, err
				}
			} else if err := checkTarget(arg(2)); err != nil {
				return c, err
			}
			u.Old = &old
		default:
			return c, fmt.Errorf("symref-update %s: want \"ref\" or \"oid\" before the old value, got %q", shown, clip(kind))
		}
	case "symref-delete", "symref-verify":
		if !noDeref {
			return c, fmt.Errorf("%s: cannot operate with deref mode (precede it with \"option no-deref\", as git wants)", verb)
		}
		u.Deref = false
		u.Verify = verb == "symref-verify"
		if arg(0) != "" {
			if err := checkTarget(arg(0)); err != nil {
				return c, err
			}
			u.Old = &stack.Value{Target: arg(0)}
		} else if u.Verify {
			u.Old = &stack.Missing
		}
	}
	c.u = u
	return c, nil
}

// splitArgs splits the arguments of a text-mode command as git
// update-ref --stdin does: separated by single spaces, each either
// C-quoted ("refs/heads/a\"b", with git's escapes) or running to the next
// white space. It appends them to args.
func splitArgs(args []string, s string) ([]string, error) {
	for {
		var arg string
		if strings.HasPrefix(s, `"`) {
			v, rest, err := unquoteC(s)
			if err != nil {
				return nil, err
			}
			if rest != "" && !isSpace(rest[0]) {
				return nil, fmt.Errorf("unexpected character after quoted argument: %s", clip(s))
			}
			arg, s = v, rest
		} else {
			i := strings.IndexFunc(s, func(r rune) bool { return r < 0x80 && isSpace(byte(r)) })
			if i < 0 {
				i = len(s)
			}
			arg, s = s[:i], s[i:]
		}
		args = append(args, arg)
		if s == "" {
			return args, nil
		}
		if s[0] != ' ' {
			return nil, fmt.Errorf("expected SP but got: %q", clip(s))
		}
		s = s[1:]
	}
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

// unquoteC decodes the C-quoted string at the start of s (git's
// unquote_c_style: \a \b \f \n \r \t \v \\ \" and three octal digits) and
// returns it with the rest of s.
func unquoteC(s string) (string, string, error) {
	orig := s
	bad := func() error { return fmt.Errorf("badly quoted argument: %s", clip(orig)) }
	var b strings.Builder
	s = s[1:]
	for {
		i := strings.IndexAny(s, `"\`)
		if i < 0 {
			return "", "", bad()
		}
		b.WriteString(s[:i])
		if s[i] == '"' {
			return b.String(), s[i+1:], nil
		}
		s = s[i+1:]
		if s == "" {
			return "", "", bad()
		}
		if c := strings.IndexByte(`abfnrtv\"`, s[0]); c >= 0 {
			b.WriteByte("\a\b\f\n\r\t\v\\\""[c])
			s = s[1:]
			continue
		}
		if len(s) < 3 || s[0] < '0' || s[0] > '3' || s[1] < '0' || s[1] > '7' || s[2] < '0' || s[2] > '7' {
			return "", "", bad()
		}
		b.WriteByte((s[0]-'0')<<6 | (s[1]-'0')<<3 | (s[2] - '0'))
		s = s[3:]
	}
}

// zArgs takes the NUL-terminated fields after a -z command: the fixed
// ones always (possibly empty), the optional ones only when the next
// field is not a command.
func (p *updateParser) zArgs(verb string) ([]string, error) {
	fixed := map[string]int{"update": 2, "create": 1, "delete": 1, "verify": 1, "symref-update": 1, "symref-create": 1}[verb]
	var args []string
	for len(args) < knownVerbs[verb] {
		tok, ok, err := p.src.lookahead()
		if err != nil {
			return nil, err
		}
		if !ok {
			if len(args) < fixed {
				return nil, fmt.Errorf("%s: unexpected end of input", verb)
			}
			break
		}
		if len(args) >= fixed && p.isCommand(tok) {
			break
		}
		p.src.next()
		args = append(args, tok)
	}
	return args, nil
}

func (p *updateParser) isCommand(tok string) bool {
	verb, _, _ := strings.Cut(tok, " ")
	_, ok := knownVerbs[verb]
	return ok
}

// oid parses the object id argument s of verb on ref: full hex (all
// zeros is Missing), or the name of a ref (HEAD, a branch, a tag, with
// git's short-name rules; "@" is HEAD), whose current value it takes.
// Abbreviated ids and revision expressions would need a search or a walk
// of the object database, and are rejected saying so.
func (p *updateParser) oid(s, verb, ref, which string) (stack.Value, error) {
	hexLen := 2 * p.hash.Size()
	if s == "" {
		return stack.Missing, nil
	}
	if len(s) == hexLen && isHex(s) {
		id, _ := hex.DecodeString(strings.ToLower(s))
		if bytes.Count(id, []byte{0}) == len(id) {
			return stack.Missing, nil
		}
		return stack.Value{ID: id}, nil
	}
	if p.names != nil {
		name := s
		if name == "@" {
			name = "HEAD"
		}
		chain, err := resolveRef(p.names, name)
		if err == nil {
			last := chain[len(chain)-1]
			if v := valueOf(&last); v.ID != nil {
				return v, nil
			}
		} else if !errors.Is(err, reftable.ErrNotFound) {
			return stack.Value{}, fmt.Errorf("%s %s: <%s> %q: %w", verb, clip(ref), which, clip(s), clipName(err, s))
		}
	}
	why := "not a full object id or the name of an existing ref"
	switch {
	case isHex(s) && len(s) < hexLen:
		why = fmt.Sprintf("abbreviated object id: update does not search the object database to expand it; give all %d hex digits (%s)", hexLen, p.hash)
	case isHex(s):
		why = fmt.Sprintf("want %d hex digits (%s)", hexLen, p.hash)
	case strings.ContainsAny(s, "~^:{"):
		why = "update does not evaluate revision expressions; give a full object id or a ref name"
	}
	return stack.Value{}, fmt.Errorf("%s %s: invalid <%s> %q: %s", verb, clip(ref), which, clip(s), why)
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return s != ""
}

func checkTarget(name string) error {
	if err := checkName(name); err != nil {
		return fmt.Errorf("symref target: %w", err)
	}
	return nil
}

// checkName checks a ref name of update's input: git's rules, and at most
// maxRefName bytes; the error shows a long name clipped.
func checkName(name string) error {
	if len(name) > maxRefName {
		return fmt.Errorf("%q: %d bytes, longer than the %d a table block holds: %w", clip(name), len(name), maxRefName, stack.ErrRefName)
	}
	return clipName(stack.CheckRefName(name), name)
}

// identity returns who makes the changes, from git's environment.
func identity() (stack.Identity, error) {
	who := stack.Identity{Name: os.Getenv("GIT_COMMITTER_NAME"), Email: os.Getenv("GIT_COMMITTER_EMAIL"), Time: time.Now()}
	user := firstNonEmpty(os.Getenv("USER"), "reftable")
	if who.Name == "" {
		who.Name = user
	}
	if who.Email == "" {
		host, _ := os.Hostname()
		who.Email = user + "@" + firstNonEmpty(host, "localhost")
	}
	if d := os.Getenv("GIT_COMMITTER_DATE"); d != "" {
		tm, err := parseDate(d)
		if err != nil {
			return who, fmt.Errorf("GIT_COMMITTER_DATE: %w", err)
		}
		who.Time = tm
	}
	return who, nil
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// parseDate parses the date formats of GIT_COMMITTER_DATE that matter
// here: git's internal "[@]<unix> [<+hhmm>]", RFC 3339 and RFC 2822.
func parseDate(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	secs, zoneStr, _ := strings.Cut(strings.TrimPrefix(s, "@"), " ")
	if n, err := strconv.ParseInt(secs, 10, 64); err == nil {
		loc := time.UTC
		if zoneStr != "" {
			z, err := strconv.Atoi(zoneStr)
			if err != nil || len(zoneStr) != 5 || zoneStr[0] != '+' && zoneStr[0] != '-' {
				return time.Time{}, fmt.Errorf("bad time zone %q in %q", zoneStr, s)
			}
			off := (z/100*60 + z%100) * 60
			loc = time.FixedZone("", off)
		}
		return time.Unix(n, 0).In(loc), nil
	}
	for _, layout := range []string{time.RFC3339, time.RFC1123Z, "Mon, 2 Jan 2006 15:04:05 -0700", "2006-01-02 15:04:05 -0700"} {
		if tm, err := time.Parse(layout, s); err == nil {
			return tm, nil
		}
	}
	return time.Time{}, errors.New("cannot parse date " + strconv.Quote(s))
}

// appendDoubling appends v to s, doubling its capacity when full: append
// grows large slices by a quarter, which copies a bulk update's commands
// many times.
func appendDoubling[T any](s []T, v T) []T {
	if len(s) == cap(s) {
		s = slices.Grow(s, len(s)+1)
	}
	return append(s, v)
}
