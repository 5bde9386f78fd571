package tool

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"

	"github.com/refstore/refstore/reftable"
	"github.com/refstore/refstore/stack"
)

// The input language of update: git update-ref --stdin's commands, read
// one by one, within bounds.

// Limits of update's input, so that its memory and its messages stay small
// whatever it is fed.
const (
	// maxInputLine is the longest line (with -z, field) update reads,
	// its terminator not counted: room for three ref names of a block
	// of git's default size, C-quoted.
	maxInputLine = 64 << 10
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
//
// A line is returned without a copy: its string is the reader's buffer,
// valid only until the next call, so that a bulk update's million lines
// allocate nothing (a copy each was a third of the bytes allocated, and
// garbage that lets the heap grow to GOGC times its live size). So are
// the names and targets of the command parsed from it (the verb is a
// constant, see verbs): the transactions the command goes to
// copy what they keep (stack.Transaction.Add, repo.Transaction.Add),
// and nothing else keeps them. A -z field is copied, since lookahead
// holds one while reading the next.
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
	line = line[:len(line)-1]
	if s.z {
		return string(line), true, nil
	}
	return unsafe.String(unsafe.SliceData(line), len(line)), true, nil
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

// absent is the old value of a ref that must not exist, which create and
// verify commands share: a transaction only reads it.
var absent stack.Ref

// An updateCmd is one parsed command of the update language.
type updateCmd struct {
	line int    // line (command, with -z) number, from 1
	verb string // the command word
	u    stack.Update
}

type updateParser struct {
	src     *tokenSource
	block   int // the block size of the tables written; 0: git's default
	hash    reftable.Hash
	msg     string
	lookup  refLookup
	line    int
	noDeref bool
	state   txState     // where the commands read are in git's framing
	args    []string    // reused by splitArgs
	ids     [3][64]byte // room for the ids of the command parsed (see newID)
	old     stack.Ref   // the expected old value of the command parsed
	nids    int
}

// newID returns room for an object id of n bytes, of the command being
// parsed: the parser reuses it for the next command, since transactions
// copy the ids they queue (stack.Transaction.Add, repo.Transaction.Add).
// A bulk update would otherwise allocate, and keep, every id twice.
func (p *updateParser) newID(n int) []byte {
	if p.nids == len(p.ids) || n > len(p.ids[0]) {
		return make([]byte, n)
	}
	p.nids++
	return p.ids[p.nids-1][:n:n]
}

// blockSize returns the block size of the tables update writes.
func (p *updateParser) blockSize() int {
	if p.block > 0 {
		return p.block
	}
	return reftable.DefaultBlockSize
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

// verbs are the command words of the update language, the most frequent
// first, with the most arguments each takes after <ref> (max) and, with
// -z, how many of those fields are always there (fixed).
var verbs = [...]struct {
	name       string
	max, fixed int
}{
	{"create", 1, 1}, {"update", 2, 2}, {"delete", 1, 1}, {"verify", 1, 1},
	{"symref-update", 3, 1}, {"symref-create", 1, 1}, {"symref-delete", 1, 0}, {"symref-verify", 1, 0},
	{"option", 0, 0}, {"start", 0, 0}, {"prepare", 0, 0}, {"commit", 0, 0}, {"abort", 0, 0},
}

// verbIndex returns the position of verb in verbs, or -1.
func verbIndex(verb string) int {
	for i := range verbs {
		if verb == verbs[i].name {
			return i
		}
	}
	return -1
}

// command parses the next command.
func (p *updateParser) command(head string) (updateCmd, error) {
	noDeref := p.noDeref
	p.nids = 0 // the ids of the command before are queued, as copies
	verb, rest, hasArg := strings.Cut(head, " ")
	vi := verbIndex(verb)
	if vi < 0 {
		return updateCmd{line: p.line, verb: verb}, fmt.Errorf("unknown command %q", clip(head))
	}
	verb = verbs[vi].name // a constant, not the line's memory
	c := updateCmd{line: p.line, verb: verb}
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
	if err := p.checkName(ref); err != nil {
		return c, fmt.Errorf("%s: %w", verb, err)
	}
	shown := clip(ref) // ref as messages show it
	if max := verbs[vi].max; len(args) > max {
		return c, fmt.Errorf("%s %s: extra input %q", verb, shown, clip(strings.Join(args[max:], " ")))
	}
	u := stack.Update{Ref: stack.Ref{Name: ref}, Deref: !noDeref} // the line's memory: see tokenSource
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
		p.old = v
		u.Old = &p.old // the parser's, as its ids: transactions copy it
		return err
	}
	var err error
	var v stack.Ref // an id parsed
	switch verb {
	case "update":
		if !has(0) {
			return c, fmt.Errorf("update %s: missing <new-oid>", shown)
		}
		if v, err = p.oid(arg(0), verb, ref, "new-oid"); err != nil {
			return c, err
		}
		u.ID, u.Peeled = v.ID, v.Peeled
		if err := old(1); err != nil {
			return c, err
		}
	case "create":
		if !has(0) {
			return c, fmt.Errorf("create %s: missing <new-oid>", shown)
		}
		if v, err = p.oid(arg(0), verb, ref, "new-oid"); err != nil {
			return c, err
		}
		u.ID, u.Peeled = v.ID, v.Peeled
		if u.Missing() {
			return c, fmt.Errorf("create %s: zero <new-oid>", shown)
		}
		u.Old = &absent
	case "delete":
		if err := old(0); err != nil {
			return c, err
		}
		if u.Old != nil && u.Old.Missing() {
			return c, fmt.Errorf("delete %s: zero <old-oid>", shown)
		}
	case "verify":
		u.Verify = true
		if err := old(0); err != nil {
			return c, err
		}
		if u.Old == nil {
			u.Old = &absent
		}
	case "symref-update", "symref-create":
		// Without no-deref, as git, the new target is given to the ref
		// at the end of ref's symbolic refs.
		if arg(0) == "" {
			return c, fmt.Errorf("%s %s: missing <new-target>", verb, shown)
		}
		if err := p.checkTarget(arg(0)); err != nil {
			return c, err
		}
		u.Target = arg(0)
		if verb == "symref-create" {
			u.Old = &absent
			break
		}
		switch kind := arg(1); kind {
		case "":
		case "ref", "oid":
			if arg(2) == "" {
				return c, fmt.Errorf("symref-update %s: missing old value after %q", shown, kind)
			}
			old := stack.Ref{Target: arg(2)}
			if kind == "oid" {
				if old, err = p.oid(arg(2), verb, ref, "old-oid"); err != nil {
					return c, err
				}
			} else if err := p.checkTarget(arg(2)); err != nil {
				return c, err
			}
			p.old = old
			u.Old = &p.old
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
			if err := p.checkTarget(arg(0)); err != nil {
				return c, err
			}
			u.Old = &stack.Ref{Target: arg(0)}
		} else if u.Verify {
			u.Old = &absent
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
			// The first ASCII white space: no byte of a multi-byte
			// UTF-8 sequence, or of an invalid one, is one.
			i := 0
			for i < len(s) && !isSpace(s[i]) {
				i++
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

// isSpace reports whether c is ASCII white space (C's isspace): one
// comparison for the bytes of names and ids.
func isSpace(c byte) bool {
	const set uint64 = 1<<' ' | 1<<'\t' | 1<<'\n' | 1<<'\r' | 1<<'\v' | 1<<'\f'
	return c <= ' ' && set&(1<<c) != 0
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
	v := verbs[verbIndex(verb)]
	fixed := v.fixed
	var args []string
	for len(args) < v.max {
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
	return verbIndex(verb) >= 0
}

// oid parses the object id argument s of verb on ref: full hex (all
// zeros is Missing), or the name of a ref (HEAD, a branch, a tag, with
// git's short-name rules; "@" is HEAD), whose current value it takes.
// Abbreviated ids and revision expressions would need a search or a walk
// of the object database, and are rejected saying so.
func (p *updateParser) oid(s, verb, ref, which string) (stack.Ref, error) {
	hexLen := 2 * p.hash.Size()
	if s == "" {
		return stack.Ref{}, nil
	}
	if len(s) == hexLen {
		id := p.newID(hexLen / 2)
		if nonzero, ok := decodeHex(id, s); ok {
			if !nonzero {
				return stack.Ref{}, nil // all zeros
			}
			return stack.Ref{ID: id}, nil
		}
	}
	if p.lookup != nil {
		name := s
		if name == "@" {
			name = "HEAD"
		}
		chain, err := resolveShort(p.lookup, name)
		if err == nil {
			if last := chain[len(chain)-1]; last.ID != nil {
				return stack.Ref{ID: last.ID, Peeled: last.Peeled}, nil
			}
		} else if !errors.Is(err, reftable.ErrNotFound) {
			return stack.Ref{}, fmt.Errorf("%s %s: <%s> %q: %w", verb, clip(ref), which, clip(s), clipName(err, s))
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
	return stack.Ref{}, fmt.Errorf("%s %s: invalid <%s> %q: %s", verb, clip(ref), which, clip(s), why)
}

// hexDigits maps a byte to the value of the hex digit it is (of either
// case, as git takes them), or to 0xff.
var hexDigits = func() (t [256]byte) {
	for c := range t {
		t[c] = 0xff
		if isHex(string(rune(c))) {
			t[c] = unhex(byte(c))
		}
	}
	return t
}()

// decodeHex decodes the 2*len(dst) hex digits of s into dst, in one
// pass: ok is false if s has something else, and nonzero whether some
// byte is not zero.
func decodeHex(dst []byte, s string) (nonzero, ok bool) {
	var or, bad byte
	for i := range dst {
		hi, lo := hexDigits[s[2*i]], hexDigits[s[2*i+1]]
		bad |= hi | lo
		dst[i] = hi<<4 | lo&0x0f
		or |= dst[i]
	}
	return or != 0, bad&0xf0 == 0
}

// unhex returns the value of the hex digit c.
func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	}
	return c - 'A' + 10
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

func (p *updateParser) checkTarget(name string) error {
	if err := p.checkName(name); err != nil {
		return fmt.Errorf("symref target: %w", err)
	}
	return nil
}

// checkName checks a ref name of update's input: git's rules, and at most
// the size of a table block, since a ref record must fit in one; the
// error shows a long name clipped.
func (p *updateParser) checkName(name string) error {
	if limit := p.blockSize(); len(name) > limit {
		return fmt.Errorf("%q: %d bytes, longer than the %d a table block holds: %w", clip(name), len(name), limit, stack.ErrRefName)
	}
	return clipName(stack.CheckRefName(name), name)
}
