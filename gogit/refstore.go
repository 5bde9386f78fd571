package gogit

// This file is the adapter's only contact with refstore: it finds the
// repository (a working tree, a .git file, a bare or git directory, a
// linked worktree), reads what its config says about refs, opens its
// stacks and routes each ref to the stack that holds it, as git does.
// That is the job of refstore's repository package, which is being
// written; when it lands, this file becomes calls to it and nothing else
// in the package changes (see backend.go).

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	formatcfg "github.com/go-git/go-git/v5/plumbing/format/config"
	"github.com/refstore/refstore/reftable"
	"github.com/refstore/refstore/stack"
)

// locateRepo finds the repository at path: a working tree (with a .git
// directory or a .git file), a git directory, or a bare repository; with
// detect, in path's parent directories too.
func locateRepo(path string, detect bool) (repoInfo, error) {
	dir, err := filepath.Abs(path)
	if err != nil {
		return repoInfo{}, err
	}
	for {
		info, ok, err := repoAt(dir)
		if err != nil || ok {
			return info, err
		}
		parent := filepath.Dir(dir)
		if !detect || parent == dir {
			return repoInfo{}, fmt.Errorf("%s: %w", path, errNoRepository)
		}
		dir = parent
	}
}

// repoAt recognizes dir as a working tree or a git directory; ok is false
// when it is neither.
func repoAt(dir string) (info repoInfo, ok bool, err error) {
	dotgit := filepath.Join(dir, ".git")
	if fi, err := os.Stat(dotgit); err == nil {
		info.workTree = dir
		info.gitDir = dotgit
		if !fi.IsDir() {
			if info.gitDir, err = readGitFile(dotgit); err != nil {
				return info, true, err
			}
		}
	} else if isGitDir(dir) {
		info.gitDir = dir
	} else {
		return info, false, nil
	}
	info.commonDir, info.linked = commonDir(info.gitDir)
	cfg, err := readConfigFile(filepath.Join(info.commonDir, "config"))
	if err != nil {
		return info, true, err
	}
	if info.workTree == "" {
		info.workTree = impliedWorkTree(info, cfg)
	}
	ext := cfg.Section("extensions")
	info.reftable = strings.EqualFold(ext.Option("refstorage"), "reftable")
	info.objectFormat = strings.ToLower(ext.Option("objectformat"))
	if info.objectFormat == "" {
		info.objectFormat = "sha1"
	}
	if !info.reftable {
		return info, true, nil
	}
	stacks := []string{filepath.Join(info.commonDir, "reftable")}
	if info.linked {
		stacks = append(stacks, filepath.Join(info.gitDir, "reftable"))
	}
	for _, s := range stacks {
		if fi, err := os.Stat(s); err != nil || !fi.IsDir() {
			return info, true, fmt.Errorf("%s: extensions.refStorage is reftable but %s is not a directory", info.gitDir, s)
		}
	}
	return info, true, nil
}

// impliedWorkTree returns the working tree of a git directory opened
// directly: a linked worktree's (named by its gitdir file), the parent of
// a non-bare .git directory, or none.
func impliedWorkTree(info repoInfo, cfg *formatcfg.Config) string {
	if info.linked {
		data, err := os.ReadFile(filepath.Join(info.gitDir, "gitdir"))
		if err != nil {
			return ""
		}
		return filepath.Dir(strings.TrimSpace(string(data)))
	}
	if b, err := parseBool(cfg.Section("core").Option("bare")); err == nil && !b && filepath.Base(info.gitDir) == ".git" {
		return filepath.Dir(info.gitDir)
	}
	return ""
}

// readGitFile reads a .git file ("gitdir: <path>").
func readGitFile(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	line, _, _ := strings.Cut(string(data), "\n")
	dir, ok := strings.CutPrefix(strings.TrimSpace(line), "gitdir:")
	if !ok {
		return "", fmt.Errorf("%s: not a gitdir file", path)
	}
	dir = strings.TrimSpace(dir)
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(filepath.Dir(path), dir)
	}
	return filepath.Clean(dir), nil
}

// isGitDir reports whether dir looks like a git directory: a HEAD file and
// an objects directory, or a commondir file (a linked worktree's).
func isGitDir(dir string) bool {
	if _, err := os.Stat(filepath.Join(dir, "HEAD")); err != nil {
		return false
	}
	_, errObjects := os.Stat(filepath.Join(dir, "objects"))
	_, errCommon := os.Stat(filepath.Join(dir, "commondir"))
	return errObjects == nil || errCommon == nil
}

// commonDir returns the directory gitDir's commondir file names (linked
// is then true), else gitDir.
func commonDir(gitDir string) (dir string, linked bool) {
	data, err := os.ReadFile(filepath.Join(gitDir, "commondir"))
	if err != nil {
		return gitDir, false
	}
	c := strings.TrimSpace(string(data))
	if !filepath.IsAbs(c) {
		c = filepath.Join(gitDir, c)
	}
	return filepath.Clean(c), true
}

// readConfigFile reads a git config file; a missing one is empty.
func readConfigFile(path string) (*formatcfg.Config, error) {
	cfg := formatcfg.New()
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return cfg, nil
	} else if err != nil {
		return nil, err
	}
	defer f.Close()
	if err := formatcfg.NewDecoder(f).Decode(cfg); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return cfg, nil
}

// openRefBackend opens the stacks of a reftable repository with the
// settings of its config.
func openRefBackend(info repoInfo) (refBackend, error) {
	cfgPath := filepath.Join(info.commonDir, "config")
	cfg, err := readConfigFile(cfgPath)
	if err != nil {
		return nil, err
	}
	opts, policy, err := stackSettings(cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cfgPath, err)
	}
	if opts.Hash, err = reftable.ParseHash(info.objectFormat); err != nil {
		return nil, err
	}
	s := &stackStore{policy: policy}
	if s.own, err = stack.Open(filepath.Join(info.gitDir, "reftable"), opts); err != nil {
		return nil, err
	}
	if info.linked {
		if s.main, err = stack.Open(filepath.Join(info.commonDir, "reftable"), opts); err != nil {
			s.own.Close()
			return nil, err
		}
	}
	return s, nil
}

// stackSettings reads the reflog policy (core.logAllRefUpdates, whose
// default depends on core.bare) and the reftable.* settings git writes
// with: blockSize, restartInterval, indexObjects, geometricFactor and
// lockTimeout (milliseconds; 0 tries once, -1 waits forever).
func stackSettings(cfg *formatcfg.Config) (stack.Options, stack.ReflogPolicy, error) {
	var opts stack.Options
	core := cfg.Section("core")
	policy := stack.ReflogNormal
	bare, _ := parseBool(core.Option("bare"))
	switch v := core.Option("logallrefupdates"); {
	case strings.EqualFold(v, "always"):
		policy = stack.ReflogAlways
	case !core.HasOption("logallrefupdates"):
		if bare {
			policy = stack.ReflogExisting
		}
	default:
		on, err := parseBool(v)
		if err != nil {
			return opts, 0, fmt.Errorf("core.logAllRefUpdates: %w", err)
		}
		if !on {
			policy = stack.ReflogExisting
		}
	}
	rt := cfg.Section("reftable")
	ints := []struct {
		key string
		max int64
		dst *int
	}{
		{"blocksize", reftable.MaxBlockSize, &opts.Write.BlockSize},
		{"restartinterval", 1<<16 - 1, &opts.Write.RestartInterval},
		{"geometricfactor", 1<<8 - 1, &opts.CompactionFactor},
	}
	for _, s := range ints {
		if !rt.HasOption(s.key) {
			continue
		}
		n, err := parseInt(rt.Option(s.key))
		if err == nil && (n < 0 || n > s.max) {
			err = fmt.Errorf("out of range 0..%d", s.max)
		}
		if err != nil {
			return opts, 0, fmt.Errorf("reftable.%s: %w", s.key, err)
		}
		*s.dst = int(n)
	}
	if rt.HasOption("indexobjects") {
		on, err := parseBool(rt.Option("indexobjects"))
		if err != nil {
			return opts, 0, fmt.Errorf("reftable.indexObjects: %w", err)
		}
		opts.Write.SkipIndexObjects = !on
	}
	if rt.HasOption("locktimeout") {
		ms, err := parseInt(rt.Option("locktimeout"))
		if err == nil && ms < -1 {
			err = errors.New("no negative value but -1")
		}
		if err != nil {
			return opts, 0, fmt.Errorf("reftable.lockTimeout: %w", err)
		}
		switch {
		case ms == 0:
			opts.LockTimeout = stack.NoWait
		case ms < 0 || ms > int64(1<<62/time.Millisecond):
			opts.LockTimeout = -1
		default:
			opts.LockTimeout = time.Duration(ms) * time.Millisecond
		}
	}
	return opts, policy, nil
}

// parseBool parses a git boolean: true, yes, on; false, no, off, empty;
// or a number, true unless 0.
func parseBool(v string) (bool, error) {
	switch strings.ToLower(v) {
	case "true", "yes", "on":
		return true, nil
	case "false", "no", "off", "":
		return false, nil
	}
	n, err := parseInt(v)
	if err != nil {
		return false, fmt.Errorf("%q is not a boolean", v)
	}
	return n != 0, nil
}

// parseInt parses a git number: decimal, 0x hexadecimal or 0 octal, with
// an optional unit k, m or g.
func parseInt(v string) (int64, error) {
	s := strings.TrimSpace(v)
	unit := int64(1)
	if s != "" {
		switch s[len(s)-1] {
		case 'k', 'K':
			unit = 1 << 10
		case 'm', 'M':
			unit = 1 << 20
		case 'g', 'G':
			unit = 1 << 30
		}
		if unit != 1 {
			s = s[:len(s)-1]
		}
	}
	n, err := strconv.ParseInt(s, 0, 64)
	if err != nil || strings.Contains(s, "_") || n > (1<<62)/unit || n < -(1<<62)/unit {
		return 0, fmt.Errorf("%q is not a number", v)
	}
	return n * unit, nil
}

// perWorktree reports whether name is a per-worktree ref, kept in a
// linked worktree's own stack: HEAD and the other root refs (capitals,
// '-' and '_'), refs/worktree/, refs/bisect/ and refs/rewritten/.
func perWorktree(name string) bool {
	for _, p := range []string{"refs/worktree/", "refs/bisect/", "refs/rewritten/"} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	for _, c := range []byte(name) {
		if !('A' <= c && c <= 'Z' || c == '-' || c == '_') {
			return false
		}
	}
	return name != ""
}

// stackStore is the refBackend of a reftable repository: one stack, or in
// a linked worktree its own stack and the main one.
type stackStore struct {
	// mu serializes every use of the stacks. A stack.Stack is documented
	// as safe for concurrent use, but two transactions of one Stack in
	// two goroutines race on the directory backend's cache of
	// tables.list (dirBackend.lockedList under Begin against
	// listCache.Adopt under Publish, which st.mu does not cover), and so
	// do a reload and a commit: go test -race finds it in
	// TestConcurrentCheckAndSet. Writers of one process wait for each
	// other on tables.list.lock anyway, so this costs them nothing.
	mu     sync.Mutex
	own    *stack.Stack // the repository's stack; a linked worktree's own
	main   *stack.Stack // the main stack of a linked worktree; else nil
	policy stack.ReflogPolicy
}

// stackFor returns the stack holding name.
func (s *stackStore) stackFor(name string) *stack.Stack {
	if s.main != nil && !perWorktree(name) {
		return s.main
	}
	return s.own
}

// valueOf returns the value of a ref record, its bytes copied.
func valueOf(r *reftable.RefRecord) refValue {
	switch r.Type {
	case reftable.RefVal1:
		return refValue{id: bytes.Clone(r.Value)}
	case reftable.RefVal2:
		return refValue{id: bytes.Clone(r.Value), peeled: bytes.Clone(r.Peeled)}
	case reftable.RefSymref:
		return refValue{target: string(r.Target)}
	}
	return refValue{}
}

// stackValue returns v as the stack writes it.
func stackValue(v refValue) stack.Value {
	return stack.Value{ID: v.id, Peeled: v.peeled, Target: v.target}
}

func (s *stackStore) read(name string) (refValue, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.stackFor(name).Ref(name)
	if errors.Is(err, reftable.ErrNotFound) {
		return refValue{}, nil
	} else if err != nil {
		return refValue{}, err
	}
	return valueOf(&r), nil
}

func (s *stackStore) list() ([]namedRef, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var refs []namedRef
	add := func(st *stack.Stack, own bool) error {
		for r, err := range st.Refs("") {
			if err != nil {
				return err
			}
			name := string(r.Name)
			if name != "HEAD" && !strings.HasPrefix(name, "refs/") || s.main != nil && perWorktree(name) != own {
				continue
			}
			refs = append(refs, namedRef{name: name, refValue: valueOf(&r)})
		}
		return nil
	}
	if err := add(s.own, true); err != nil {
		return nil, err
	}
	if s.main != nil {
		if err := add(s.main, false); err != nil {
			return nil, err
		}
		slices.SortFunc(refs, func(a, b namedRef) int { return strings.Compare(a.name, b.name) })
	}
	return refs, nil
}

// maxSymrefDepth is how many symbolic refs git follows.
const maxSymrefDepth = 5

func (s *stackStore) commit(who identity, updates []refUpdate) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, u := range updates {
		if strings.HasPrefix(u.name, "worktrees/") || strings.HasPrefix(u.name, "main-worktree/") {
			return fmt.Errorf("ref %s: writing another worktree's refs is not supported", u.name)
		}
	}
	type part struct {
		st   *stack.Stack
		tx   *stack.Transaction
		snap *stack.Snapshot
	}
	// The stacks are locked in the order of their directories, as
	// refstore's CLI locks them: the main one (.git/reftable) before a
	// linked worktree's (.git/worktrees/<id>/reftable).
	parts := []*part{{st: s.own}}
	if s.main != nil {
		parts = []*part{{st: s.main}, {st: s.own}}
	}
	partOf := func(st *stack.Stack) *part {
		if st == s.own {
			return parts[len(parts)-1]
		}
		return parts[0]
	}
	id := stack.Identity{Name: who.name, Email: who.email, Time: who.when}
	for _, p := range parts {
		p.tx = p.st.NewTransaction(id, s.policy)
		if p.st == s.main {
			// HEAD in the main stack is the main worktree's: this
			// worktree's HEAD logs in its own stack (below).
			p.tx.SkipHEADLog()
		}
	}
	defer func() {
		for _, p := range parts {
			p.tx.Close()
		}
	}()
	for _, p := range parts {
		snap, err := p.tx.Lock()
		if err != nil {
			return err
		}
		p.snap = snap
	}
	lookup := func(name string) (refValue, error) {
		r, err := partOf(s.stackFor(name)).snap.Ref([]byte(name))
		if errors.Is(err, reftable.ErrNotFound) {
			return refValue{}, nil
		}
		return valueOf(&r), err
	}
	if s.main != nil {
		if err := s.logAcross(partOf(s.own).tx, lookup, updates); err != nil {
			return err
		}
	}
	for _, u := range updates {
		up := stack.Update{Name: u.name, New: stackValue(u.value), Verify: u.verify, Message: u.message}
		if u.expect != nil {
			old := stackValue(*u.expect)
			up.Old = &old
		}
		partOf(s.stackFor(u.name)).tx.Add(up)
	}
	for _, p := range parts {
		if err := p.tx.Prepare(); err != nil {
			if errors.Is(err, stack.ErrRefConflict) {
				return fmt.Errorf("%w: %w", errRefChanged, err)
			}
			return err
		}
	}
	for _, p := range parts {
		if err := p.tx.Commit(); err != nil {
			return err
		}
	}
	return nil
}

// logAcross adds to a linked worktree's own transaction the reflog
// entries that need both stacks to be written as git writes them: its
// HEAD's entry when the branch HEAD points at (in the main stack)
// changes, and the entry of a per-worktree ref whose old or new value is
// a symbolic ref into the main stack, with the ids they resolve to. Such
// an entry is added before the update of the ref itself, whose own entry
// (made from the worktree's stack alone, where the target is missing)
// the stack then drops as a second record of the same update.
func (s *stackStore) logAcross(tx *stack.Transaction, lookup func(string) (refValue, error), updates []refUpdate) error {
	resolve := func(v refValue) ([]byte, error) {
		for range maxSymrefDepth {
			if v.target == "" {
				return v.id, nil
			}
			var err error
			if v, err = lookup(v.target); err != nil {
				return nil, err
			}
		}
		return nil, nil
	}
	head, err := lookup("HEAD")
	if err != nil {
		return err
	}
	for _, u := range updates {
		if u.verify || u.value.missing() {
			continue
		}
		cur, err := lookup(u.name)
		if err != nil {
			return err
		}
		if cur.target == "" && u.value.target == "" && bytes.Equal(cur.id, u.value.id) {
			continue // as git: a ref left as it is logs nothing
		}
		logged := u.name
		if !perWorktree(u.name) {
			if head.target != u.name {
				continue
			}
			logged = "HEAD"
		}
		oldID, err := resolve(cur)
		if err != nil {
			return err
		}
		newID, err := resolve(u.value)
		if err != nil {
			return err
		}
		if newID == nil {
			continue // as git: a symbolic ref to a missing ref logs nothing
		}
		tx.Add(stack.Update{Name: logged, Old: &stack.Value{ID: oldID}, New: stack.Value{ID: newID}, Message: u.message, LogOnly: true})
	}
	return nil
}

func (s *stackStore) reflog(name string) ([]logEntry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	snap, err := s.stackFor(name).Snapshot()
	if err != nil {
		return nil, err
	}
	defer snap.Close()
	var logs []logEntry
	for l, err := range snap.LogsFor([]byte(name)) {
		if err != nil {
			return nil, err
		}
		if l.IsDeletion() || l.IsExistenceMarker() {
			continue
		}
		tz := int(l.TZOffset)
		zone := time.FixedZone("", (tz/100*60+tz%100)*60)
		logs = append(logs, logEntry{
			old: bytes.Clone(l.Old), new: bytes.Clone(l.New),
			name: string(l.Name), email: string(l.Email),
			when:    time.Unix(int64(l.Time), 0).In(zone),
			message: strings.TrimSuffix(string(l.Message), "\n"),
		})
	}
	return logs, nil
}

func (s *stackStore) compact() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, st := range []*stack.Stack{s.main, s.own} {
		if st == nil {
			continue
		}
		if err := st.CompactAll(nil); err != nil {
			return err
		}
	}
	return nil
}

func (s *stackStore) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	if s.main != nil {
		errs = append(errs, s.main.Close())
	}
	return errors.Join(append(errs, s.own.Close())...)
}
