package main

import (
	"bytes"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/refstore/refstore/reftable"
	"github.com/refstore/refstore/stack"
)

var cmdUpdate = &command{
	Name:  "update",
	Usage: "[-m MSG] [-lock-timeout D] [-z] [PATH] < commands",
	Short: "change refs atomically with git update-ref --stdin commands",
	Long: `Update reads commands in the language of git update-ref --stdin and
applies them in one atomic transaction, writing reflog entries as git does
(core.logAllRefUpdates decides which refs are logged):

	update SP <ref> SP <new-oid> [SP <old-oid>] LF
	create SP <ref> SP <new-oid> LF
	delete SP <ref> [SP <old-oid>] LF
	verify SP <ref> [SP <old-oid>] LF
	symref-update SP <ref> SP <new-target> [SP (ref SP <old-target> | oid SP <old-oid>)] LF
	symref-create SP <ref> SP <new-target> LF
	symref-delete SP <ref> [SP <old-target>] LF
	symref-verify SP <ref> [SP <old-target>] LF
	option SP no-deref LF
	start LF | prepare LF | commit LF | abort LF

An all-zero <old-oid> means the ref must not exist; an all-zero <new-oid>
deletes it. Object ids must be given in full hex (there is no object
database to resolve names). With -z, fields are NUL-terminated instead
(update SP <ref> NUL <new-oid> NUL [<old-oid>] NUL, and so on).

Without start, all commands form one transaction committed at the end of
input. start, prepare, commit and abort answer "<command>: ok" on
standard output. A malformed command changes nothing and names its line
(exit 2); a ref that does not have its expected value, or a lock held by
another process, fails the whole transaction (exit 1).

The reflog identity comes from GIT_COMMITTER_NAME, GIT_COMMITTER_EMAIL
and GIT_COMMITTER_DATE (unix seconds with zone, "@1700000000 +0200",
RFC 3339 or RFC 2822), else the user name, user@hostname and now.`,
	Flags: func(fs *flag.FlagSet) any {
		f := &updateFlags{}
		fs.StringVar(&f.msg, "m", "", "reflog `message` of every update")
		fs.DurationVar(&f.lockTimeout, "lock-timeout", 0, "how long to wait for tables.list.lock (0: 100ms as git, negative: forever)")
		fs.BoolVar(&f.z, "z", false, "NUL-terminated fields")
		return f
	},
	Run: runUpdate,
}

type updateFlags struct {
	msg         string
	lockTimeout time.Duration
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
	input, err := io.ReadAll(e.stdin)
	if err != nil {
		return err
	}
	cmds, err := parseUpdates(input, f.z, t.Hash, f.msg)
	if err != nil {
		return err
	}
	st, err := t.openStack(stack.Options{
		LockTimeout: f.lockTimeout,
		OnCompactionError: func(err error) {
			fprintf(e.stderr, "reftable update: warning: auto-compaction: %v\n", err)
		},
	})
	if err != nil {
		return err
	}
	defer st.Close()
	var pending []updateCmd
	commit := func() error {
		if len(pending) == 0 {
			return nil
		}
		tx := st.NewTransaction(who, t.Policy)
		for _, c := range pending {
			tx.Add(c.u)
		}
		pending = nil
		return tx.Commit()
	}
	started := false
	for _, c := range cmds {
		switch c.verb {
		case "start":
			if started || len(pending) > 0 {
				return fmt.Errorf("line %d: start: transaction already started", c.line)
			}
			started = true
		case "prepare":
			// Commit validates under the lock; prepare only checks order.
			if !started && len(pending) == 0 {
				return fmt.Errorf("line %d: prepare: no transaction started", c.line)
			}
		case "commit":
			if err := commit(); err != nil {
				return err
			}
			started = false
		case "abort":
			pending, started = nil, false
		default:
			pending = append(pending, c)
			continue
		}
		fprintf(e.stdout, "%s: ok\n", c.verb)
	}
	return commit()
}

// An updateCmd is one parsed command of the update language.
type updateCmd struct {
	line int    // line (command, with -z) number, from 1
	verb string // the command word
	u    stack.Update
}

// parseUpdates parses the whole input before anything is changed, so a
// malformed command changes nothing.
func parseUpdates(input []byte, z bool, h reftable.Hash, msg string) ([]updateCmd, error) {
	p := &updateParser{z: z, hash: h}
	if z {
		if len(input) > 0 && input[len(input)-1] != 0 {
			return nil, usagef("input does not end with NUL")
		}
		for _, tok := range bytes.Split(input, []byte{0}) {
			p.toks = append(p.toks, string(tok))
		}
		p.toks = p.toks[:len(p.toks)-1]
	} else {
		for _, l := range strings.SplitAfter(string(input), "\n") {
			if l == "" {
				continue
			}
			if !strings.HasSuffix(l, "\n") {
				return nil, usagef("line %d: missing newline at end of input", len(p.toks)+1)
			}
			p.toks = append(p.toks, strings.TrimSuffix(l, "\n"))
		}
	}
	var cmds []updateCmd
	noDeref := false
	for p.pos < len(p.toks) {
		p.line++
		c, err := p.command(noDeref)
		if err != nil {
			return nil, usagef("line %d: %v", p.line, err)
		}
		if c.verb == "option" {
			noDeref = true
			continue
		}
		if c.u.Name != "" {
			noDeref = false
			c.u.Message = msg
		}
		cmds = append(cmds, c)
	}
	return cmds, nil
}

type updateParser struct {
	z    bool
	hash reftable.Hash
	toks []string // lines, or NUL-terminated fields with -z
	pos  int
	line int
}

// knownVerbs are the command words of the update language.
var knownVerbs = map[string]int{ // verb: most arguments after <ref> (text mode)
	"update": 2, "create": 1, "delete": 1, "verify": 1,
	"symref-update": 3, "symref-create": 1, "symref-delete": 1, "symref-verify": 1,
	"option": 0, "start": 0, "prepare": 0, "commit": 0, "abort": 0,
}

// command parses the next command.
func (p *updateParser) command(noDeref bool) (updateCmd, error) {
	head := p.toks[p.pos]
	p.pos++
	verb, rest, hasArg := strings.Cut(head, " ")
	c := updateCmd{line: p.line, verb: verb}
	if _, ok := knownVerbs[verb]; !ok {
		return c, fmt.Errorf("unknown command %q", head)
	}
	switch verb {
	case "start", "prepare", "commit", "abort":
		if hasArg {
			return c, fmt.Errorf("%s: extra input %q", verb, rest)
		}
		return c, nil
	case "option":
		if rest != "no-deref" {
			return c, fmt.Errorf("option: unknown option %q", rest)
		}
		return c, nil
	}
	// The arguments after <ref>: in text mode the rest of the line split at
	// spaces, with -z the following NUL-terminated fields.
	var args []string
	ref := rest
	if !p.z {
		fields := strings.Split(rest, " ")
		ref, args = fields[0], fields[1:]
	} else {
		args = p.zArgs(verb)
	}
	if ref == "" {
		return c, fmt.Errorf("%s: missing <ref>", verb)
	}
	if err := stack.CheckRefName(ref); err != nil {
		return c, fmt.Errorf("%s: %w", verb, err)
	}
	if len(args) > knownVerbs[verb] {
		return c, fmt.Errorf("%s %s: extra input %q", verb, ref, strings.Join(args[knownVerbs[verb]:], " "))
	}
	u := stack.Update{Name: ref, Deref: !noDeref}
	arg := func(i int) string {
		if i < len(args) {
			return args[i]
		}
		return ""
	}
	var err error
	switch verb {
	case "update":
		if arg(0) == "" {
			return c, fmt.Errorf("update %s: missing <new-oid>", ref)
		}
		if u.New, err = p.oid(arg(0), "new"); err != nil {
			return c, err
		}
		if arg(1) != "" {
			old, err := p.oid(arg(1), "old")
			if err != nil {
				return c, err
			}
			u.Old = &old
		}
	case "create":
		if arg(0) == "" {
			return c, fmt.Errorf("create %s: missing <new-oid>", ref)
		}
		if u.New, err = p.oid(arg(0), "new"); err != nil {
			return c, err
		}
		if u.New.IsMissing() {
			return c, fmt.Errorf("create %s: zero <new-oid>", ref)
		}
		u.Old = &stack.Missing
	case "delete":
		if arg(0) != "" {
			old, err := p.oid(arg(0), "old")
			if err != nil {
				return c, err
			}
			if old.IsMissing() {
				return c, fmt.Errorf("delete %s: zero <old-oid>", ref)
			}
			u.Old = &old
		}
	case "verify":
		u.Verify = true
		old := stack.Missing
		if arg(0) != "" {
			if old, err = p.oid(arg(0), "old"); err != nil {
				return c, err
			}
		}
		u.Old = &old
	case "symref-update", "symref-create":
		u.Deref = false
		if arg(0) == "" {
			return c, fmt.Errorf("%s %s: missing <new-target>", verb, ref)
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
				return c, fmt.Errorf("symref-update %s: missing old value after %q", ref, kind)
			}
			old := stack.Value{Target: arg(2)}
			if kind == "oid" {
				if old, err = p.oid(arg(2), "old"); err != nil {
					return c, err
				}
			} else if err := checkTarget(arg(2)); err != nil {
				return c, err
			}
			u.Old = &old
		default:
			return c, fmt.Errorf("symref-update %s: want \"ref\" or \"oid\" before the old value, got %q", ref, kind)
		}
	case "symref-delete", "symref-verify":
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

// zArgs takes the NUL-terminated fields after a -z command: the fixed
// ones always (possibly empty), the optional ones only when the next
// field is not a command.
func (p *updateParser) zArgs(verb string) []string {
	fixed := map[string]int{"update": 2, "create": 1, "delete": 1, "verify": 1, "symref-update": 1, "symref-create": 1}[verb]
	var args []string
	for len(args) < knownVerbs[verb] && p.pos < len(p.toks) {
		tok := p.toks[p.pos]
		if len(args) >= fixed && p.isCommand(tok) {
			break
		}
		args = append(args, tok)
		p.pos++
	}
	return args
}

func (p *updateParser) isCommand(tok string) bool {
	verb, _, _ := strings.Cut(tok, " ")
	_, ok := knownVerbs[verb]
	return ok
}

// oid parses a full hex object id; all zeros is Missing.
func (p *updateParser) oid(s, which string) (stack.Value, error) {
	id, err := hex.DecodeString(s)
	if err != nil || len(id) != p.hash.Size() {
		return stack.Value{}, fmt.Errorf("invalid <%s-oid> %q: want %d hex digits (%s)", which, s, 2*p.hash.Size(), p.hash)
	}
	if bytes.Count(id, []byte{0}) == len(id) {
		return stack.Missing, nil
	}
	return stack.Value{ID: id}, nil
}

func checkTarget(name string) error {
	if err := stack.CheckRefName(name); err != nil {
		return fmt.Errorf("symref target: %w", err)
	}
	return nil
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
