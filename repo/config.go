package repo

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"math/bits"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/refstore/refstore/reftable"
	"github.com/refstore/refstore/stack"
	"github.com/refstore/refstore/vfs"
)

// Config is what a repository's config file says about its refs, read as
// git reads it. ReadConfig returns it; Options turns it into the options
// of the repository's stacks.
//
// The reftable.* settings shape what git writes into its stack, and
// writing here honours them as git does:
//
//	reftable.blockSize        block size in bytes; 0 or unset: 4096; at
//	                          most 16777215
//	reftable.restartInterval  records between restart points; 0 or
//	                          unset: 16; at most 65535
//	reftable.indexObjects     whether to write the object index; unset:
//	                          true
//	reftable.geometricFactor  the factor of auto-compaction; 0 or unset:
//	                          2; at most 255
//	reftable.lockTimeout      milliseconds to wait for tables.list.lock;
//	                          unset: 100; 0: try once; -1: wait forever
//
// Numbers are read as git reads them: decimal, 0x hexadecimal or 0 octal,
// with an optional unit suffix k, m or g (times 1024, 1024², 1024³);
// booleans as true/yes/on, false/no/off, empty (false) or a number. git
// refuses to run on an invalid value (a number that does not parse, one
// out of range, a negative lock timeout other than -1), and so do
// ReadConfig and Open, but for a repository opened only to read
// (Options.ReadOnly), which ignores these settings.
//
// core.fsync lists the components git flushes to disk; its "reference"
// component (also named by "committed", "added" and "all", and by any
// prefix of those names, as git matches them) covers the stack's tables
// and list. Unset, git flushes no refs; a stack here flushes them unless
// core.fsync is set and leaves the component out (NoSync): the stack's
// guarantee that a commit reported done survives a crash is kept unless
// the repository asks otherwise.
//
// core.sharedRepository gives the tables and tables.list the stacks
// write the modes git gives them, whatever the umask: "group" (or true)
// adds 0660 to the mode the umask leaves, "all" 0664, an octal mode is
// the mode (see SharedRepository).
//
// The files are read as git reads them, each setting overriding what the
// files before said: the system's (/etc/gitconfig, or GIT_CONFIG_SYSTEM;
// none with GIT_CONFIG_NOSYSTEM), the user's ($XDG_CONFIG_HOME/git/config,
// else ~/.config/git/config, then ~/.gitconfig; or GIT_CONFIG_GLOBAL), the
// repository's (the common directory's "config"), then the settings of
// GIT_CONFIG_COUNT, GIT_CONFIG_KEY_<n> and GIT_CONFIG_VALUE_<n>; an
// opened worktree's config.worktree comes after the repository's when
// extensions.worktreeConfig is set (Open; ReadConfig has no worktree to
// read it for). Includes are followed as git follows them: include.path,
// and includeIf.path under a "gitdir:" or "gitdir/i:" condition, matched
// against the common git directory, or a "hasconfig:remote.*.url:"
// condition, which holds when a remote's URL anywhere in the config (the
// files and the environment above, with their includes) matches its
// pattern; a file an includeIf includes must then not set a remote's URL
// (ErrConfig), as git dies then; or an "onbranch:" condition, matched
// against the branch HEAD names (of the worktree opened).
// The extensions and core.bare are the repository's own, as git reads
// them only from its config file. The settings of "git -c", which
// git passes to the programs it runs in GIT_CONFIG_PARAMETERS, come last,
// after GIT_CONFIG_COUNT's.
type Config struct {
	// ObjectFormat is the hash of object ids: extensions.objectFormat,
	// SHA-1 when unset.
	ObjectFormat reftable.Hash
	// RefStorage is extensions.refStorage, lowercased: "reftable", or
	// "files" when unset.
	RefStorage string
	// Bare is core.bare.
	Bare bool
	// LogAllRefUpdates is core.logAllRefUpdates as a reflog policy:
	// "always" logs every ref, true the refs git logs by default
	// (ReflogNormal), false only refs that have a reflog already
	// (ReflogExisting); unset, ReflogNormal, or ReflogExisting in a bare
	// repository, as git.
	LogAllRefUpdates stack.ReflogPolicy
	// NoSync is set when core.fsync leaves out its "reference"
	// component: the stacks then flush nothing to disk (see above).
	NoSync bool
	// SharedRepository is core.sharedRepository as git parses it: the
	// permission bits the files a commit writes get on top of the mode
	// the umask leaves them (0660 for "group" or true, 0664 for "all"),
	// or with SharedExact the mode they get whatever the umask (an octal
	// mode, owner read and write required); 0 when unset, false or
	// "umask". Options passes it to the stacks (stack.Options.Chmod).
	SharedRepository fs.FileMode
	SharedExact      bool

	// The reftable.* settings, parsed; zero values mean unset (git's
	// defaults).
	BlockSize        int
	RestartInterval  int
	SkipIndexObjects bool // reftable.indexObjects is false
	GeometricFactor  int
	// LockTimeout is reftable.lockTimeout as stack.Options.LockTimeout
	// takes it: 0 unset, stack.NoWait for git's 0, negative for -1.
	LockTimeout time.Duration

	// Who makes changes, as Committer reads it: committer.name,
	// committer.email, user.name and user.email; "" when unset.
	CommitterName, CommitterEmail string
	UserName, UserEmail           string
}

// ReadConfig reads the config of the repository whose common git
// directory is commonDir (a linked worktree shares its main worktree's),
// with the system's and the user's (see Config), and parses what it says
// about refs and identities. A repository without a config file has
// git's defaults. An invalid setting fails with an error matching
// ErrConfig that names the file and the setting.
func ReadConfig(commonDir string) (Config, error) {
	return readConfig(commonDir, commonDir, true)
}

// readConfig is ReadConfig for the worktree whose git directory is gitDir
// (commonDir for the main worktree), whose config.worktree it reads too
// when extensions.worktreeConfig is set; without strict, the reftable.*
// settings and core.sharedRepository are not parsed (a repository opened
// only to read ignores them).
func readConfig(gitDir, commonDir string, strict bool) (Config, error) {
	m, from, err := readConfigFiles(gitDir, commonDir)
	if err != nil {
		return Config{}, err
	}
	c, err := parseConfig(m, strict)
	if err != nil {
		var se *settingErr
		if errors.As(err, &se) {
			return Config{}, fmt.Errorf("%s: %w", from[se.key], err)
		}
		return Config{}, err
	}
	return c, nil
}

// repositoryOnly reports whether key is read from the repository's config
// file only, as git reads the repository's format.
func repositoryOnly(key string) bool {
	return strings.HasPrefix(key, "extensions.") || key == "core.bare" || key == "core.repositoryformatversion"
}

// readConfigFiles reads the settings of the config files of the
// repository whose common directory is commonDir, and of the environment,
// in git's order (see Config), into one map, keys lowercased; from names
// where each setting was read.
func readConfigFiles(gitDir, commonDir string) (m, from map[string]string, err error) {
	m, from = map[string]string{}, map[string]string{}
	local := filepath.Join(commonDir, "config")
	head := &headBranch{gitDir: gitDir, commonDir: commonDir}
	remotes := &remoteScan{gitDir: gitDir, commonDir: commonDir, head: head}
	err = readScopes(gitDir, commonDir, func(r *configReader, scope string) {
		r.remotes, r.head = remotes, head
		r.set = func(k, v, file string) {
			if scope == local && file == local || !repositoryOnly(k) {
				m[k], from[k] = v, file
			}
		}
	}, func() bool {
		b, err := gitBool(m["extensions.worktreeconfig"])
		return err == nil && b
	})
	if err != nil {
		return nil, nil, err
	}
	env, err := envSettings()
	if err != nil {
		return nil, nil, err
	}
	for _, kv := range env {
		k, v, source := kv[0], kv[1], kv[2]
		section, name, dotted := strings.Cut(k, ".")
		if !dotted || strings.Contains(name, ".") || repositoryOnly(strings.ToLower(k)) {
			continue // a subsection's, or the repository's
		}
		k = strings.ToLower(section + "." + name)
		m[k], from[k] = v, source
	}
	return m, from, nil
}

// readScopes reads the config files of the repository's scopes in git's
// order with the configReader that setup readies for each (scope is the
// file read); the worktree's config.worktree only if worktreeConfig
// reports extensions.worktreeConfig set, once the files before it are
// read.
func readScopes(gitDir, commonDir string, setup func(r *configReader, scope string), worktreeConfig func() bool) error {
	local := filepath.Join(commonDir, "config")
	worktree := filepath.Join(gitDir, "config.worktree")
	for _, path := range append(userConfigFiles(), local, worktree) {
		if path == os.DevNull {
			continue // how git's documentation skips a scope
		}
		if path == worktree && !worktreeConfig() {
			continue
		}
		r := &configReader{gitDir: commonDir}
		setup(r, path)
		err := r.read(path, 0, false)
		if errors.Is(err, fs.ErrNotExist) || path != local && errors.Is(err, fs.ErrPermission) {
			continue // as git, which takes an unreadable user's file for none
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// envSettings returns the settings of the environment, in git's order:
// GIT_CONFIG_COUNT's, then GIT_CONFIG_PARAMETERS' (those of "git -c"),
// each as key, value and the variable that says it.
func envSettings() ([][3]string, error) {
	var kvs [][3]string
	n, err := envCount()
	if err != nil {
		return nil, err
	}
	for i := range n {
		ks, vs := fmt.Sprint("GIT_CONFIG_KEY_", i), fmt.Sprint("GIT_CONFIG_VALUE_", i)
		k, ok := os.LookupEnv(ks)
		if !ok || k == "" {
			return nil, fmt.Errorf("%s: missing, with GIT_CONFIG_COUNT=%d: %w", ks, n, ErrConfig)
		}
		v, ok := os.LookupEnv(vs)
		if !ok {
			return nil, fmt.Errorf("%s: missing, with GIT_CONFIG_COUNT=%d: %w", vs, n, ErrConfig)
		}
		kvs = append(kvs, [3]string{k, v, ks})
	}
	params, err := configParameters(os.Getenv("GIT_CONFIG_PARAMETERS"))
	if err != nil {
		return nil, err
	}
	for _, kv := range params {
		kvs = append(kvs, [3]string{kv[0], kv[1], "GIT_CONFIG_PARAMETERS"})
	}
	for _, kv := range kvs {
		if why := badEnvKey(kv[0]); why != "" {
			return nil, fmt.Errorf("%s: invalid key %q: %s: %w", kv[2], kv[0], why, ErrConfig)
		}
	}
	return kvs, nil
}

// badEnvKey checks a key of the environment (GIT_CONFIG_COUNT's, or "git
// -c"'s) as git does (git_config_parse_key): a section of letters, digits
// and '-', a subsection (anything but a newline) or none, then a name of
// a letter and letters, digits and '-'. It says what is wrong, or "".
func badEnvKey(k string) string {
	first, last := strings.IndexByte(k, '.'), strings.LastIndexByte(k, '.')
	switch {
	case last <= 0:
		return "no section"
	case last == len(k)-1:
		return "no name after the section"
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		switch {
		case i < first || i > last:
			if !isKeyChar(c) || i == last+1 && !isLetter(c) {
				return "not a section and name git reads"
			}
		case c == '\n':
			return "a newline in the subsection"
		}
	}
	return ""
}

// A remoteScan reads the URLs of the remotes (remote.<name>.url) of the
// whole config, once, when the first includeIf "hasconfig:remote.*.url:"
// condition is met, as git does: every scope's file and the
// environment, following includes, every hasconfig include as if its
// condition held; a file an includeIf includes (directly or through
// further includes) must not set a URL then.
type remoteScan struct {
	gitDir, commonDir string
	head              *headBranch // for "onbranch:" conditions
	done              bool
	urls              []string
	err               error
}

// get returns the remotes' URLs.
func (s *remoteScan) get() ([]string, error) {
	if s.done {
		return s.urls, s.err
	}
	s.done = true
	worktreeConfig := ""
	local := filepath.Join(s.commonDir, "config")
	s.err = readScopes(s.gitDir, s.commonDir, func(r *configReader, scope string) {
		r.scanning, r.head = true, s.head
		r.set = func(k, v, file string) {
			if k == "extensions.worktreeconfig" && scope == local && file == local {
				worktreeConfig = v
			}
		}
		r.url = func(v string) { s.urls = append(s.urls, v) }
	}, func() bool {
		b, err := gitBool(worktreeConfig)
		return err == nil && b
	})
	if s.err != nil {
		return nil, s.err
	}
	env, err := envSettings()
	if err != nil {
		s.err = err
		return nil, err
	}
	for _, kv := range env {
		section, rest, _ := strings.Cut(kv[0], ".")
		dot := strings.LastIndexByte(rest, '.')
		if strings.EqualFold(section, "remote") && dot > 0 && strings.EqualFold(rest[dot+1:], "url") {
			s.urls = append(s.urls, kv[1])
		}
	}
	return s.urls, nil
}

// configParameters parses GIT_CONFIG_PARAMETERS, the settings of
// "git -c" as git passes them to the programs it runs, into keys and
// values: entries separated by spaces, each a single-quoted key, "=",
// then a single-quoted value or nothing (no value: "true"); git's older
// form quotes "key=value" whole, or a key alone. As git quotes them, a
// quoted string writes a quote and an exclamation mark as
//
//	'\''  '\!'
func configParameters(s string) ([][2]string, error) {
	var kvs [][2]string
	bogus := func() error {
		return fmt.Errorf("GIT_CONFIG_PARAMETERS=%q: bogus format: %w", s, ErrConfig)
	}
	i := 0
	for {
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		if i == len(s) {
			return kvs, nil
		}
		key, n, ok := sqWord(s[i:])
		if !ok {
			return nil, bogus()
		}
		i += n
		val := "true"
		switch {
		case i < len(s) && s[i] == '=':
			i++
			if i < len(s) && s[i] == '\'' {
				if val, n, ok = sqWord(s[i:]); !ok {
					return nil, bogus()
				}
				i += n
			}
		default:
			k, v, found := strings.Cut(key, "=")
			if key = strings.TrimSpace(k); found {
				val = v
			}
		}
		if i < len(s) && !isSpace(s[i]) {
			return nil, bogus()
		}
		kvs = append(kvs, [2]string{key, val})
	}
}

// sqWord reads the single-quoted string at the start of s (with quotes
// and exclamation marks written as configParameters says): its content
// and the number of bytes it took.
func sqWord(s string) (word string, n int, ok bool) {
	if s == "" || s[0] != '\'' {
		return "", 0, false
	}
	var b strings.Builder
	i := 1
	for {
		end := strings.IndexByte(s[i:], '\'')
		if end < 0 {
			return "", 0, false // unterminated
		}
		b.WriteString(s[i : i+end])
		i += end + 1
		// A quote closed; '\x' followed by a quote continues the word
		// with x, for x a quote or "!".
		if i+2 < len(s) && s[i] == '\\' && (s[i+1] == '\'' || s[i+1] == '!') && s[i+2] == '\'' {
			b.WriteByte(s[i+1])
			i += 3
			continue
		}
		return b.String(), i, true
	}
}

// isSpace reports whether c is white space, as C's isspace in the C
// locale.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

// envCount returns GIT_CONFIG_COUNT, 0 when unset.
func envCount() (int, error) {
	v := os.Getenv("GIT_CONFIG_COUNT")
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("GIT_CONFIG_COUNT=%q: not a count: %w", v, ErrConfig)
	}
	return n, nil
}

// userConfigFiles returns the system's and the user's config files, as
// git finds them (see Config), in the order git reads them.
func userConfigFiles() []string {
	var files []string
	if b, err := gitBool(os.Getenv("GIT_CONFIG_NOSYSTEM")); err != nil || !b {
		system := os.Getenv("GIT_CONFIG_SYSTEM")
		if _, set := os.LookupEnv("GIT_CONFIG_SYSTEM"); !set {
			system = "/etc/gitconfig"
		}
		files = append(files, system)
	}
	if global, set := os.LookupEnv("GIT_CONFIG_GLOBAL"); set {
		return append(files, global)
	}
	home, xdg := os.Getenv("HOME"), os.Getenv("XDG_CONFIG_HOME")
	if xdg == "" && home != "" {
		xdg = filepath.Join(home, ".config")
	}
	if xdg != "" {
		files = append(files, filepath.Join(xdg, "git", "config"))
	}
	if home != "" {
		files = append(files, filepath.Join(home, ".gitconfig"))
	}
	return files
}

// parseConfig parses the settings of m, as readConfigFile returns them
// (keys lowercased); without strict, the reftable.* settings are left
// unset.
func parseConfig(m map[string]string, strict bool) (Config, error) {
	c := Config{ObjectFormat: reftable.SHA1, RefStorage: "files"}
	if v, ok := m["extensions.objectformat"]; ok {
		h, err := reftable.ParseHash(strings.ToLower(v))
		if err != nil {
			return c, &settingErr{key: "extensions.objectformat", err: fmt.Errorf("extensions.objectFormat: %w", err)}
		}
		c.ObjectFormat = h
	}
	if v, ok := m["extensions.refstorage"]; ok {
		c.RefStorage = strings.ToLower(v)
	}
	if v, ok := m["core.bare"]; ok {
		b, err := gitBool(v)
		c.Bare = err == nil && b
	}
	switch v, ok := m["core.logallrefupdates"]; {
	case !ok:
		if c.Bare {
			c.LogAllRefUpdates = stack.ReflogExisting
		}
	case strings.EqualFold(v, "always"):
		c.LogAllRefUpdates = stack.ReflogAlways
	default:
		if b, err := gitBool(v); err == nil && !b {
			c.LogAllRefUpdates = stack.ReflogExisting
		}
	}
	if v, ok := m["core.fsync"]; ok {
		c.NoSync = !fsyncsRefs(v)
	}
	c.CommitterName, c.CommitterEmail = m["committer.name"], m["committer.email"]
	c.UserName, c.UserEmail = m["user.name"], m["user.email"]
	if strict {
		if err := c.parseWriteSettings(m); err != nil {
			return c, err
		}
		if v, ok := m["core.sharedrepository"]; ok {
			var err error
			if c.SharedRepository, c.SharedExact, err = sharedPerm(v); err != nil {
				return c, &settingErr{key: "core.sharedrepository", err: fmt.Errorf("core.sharedRepository = %q: %w: %w", v, ErrConfig, err)}
			}
		}
	}
	return c, nil
}

// sharedPerm parses a core.sharedRepository value as git's
// git_config_perm does: "umask", "group", "all" ("world", "everybody"),
// an octal number (0, 1 and 2 as umask, group and all; any other the
// mode itself, whose owner must read and write), or a boolean (true is
// group). It returns the bits to add to the umask's mode, or the mode
// with exact set.
func sharedPerm(v string) (mode fs.FileMode, exact bool, err error) {
	switch v {
	case "umask":
		return 0, false, nil
	case "group":
		return 0o660, false, nil
	case "all", "world", "everybody":
		return 0o664, false, nil
	}
	n, perr := strconv.ParseUint(v, 8, 32)
	if v == "" {
		n, perr = 0, nil
	}
	if perr != nil {
		b, err := gitBool(v)
		if err != nil {
			return 0, false, err
		}
		if b {
			return 0o660, false, nil
		}
		return 0, false, nil
	}
	switch n {
	case 0:
		return 0, false, nil
	case 1:
		return 0o660, false, nil
	case 2:
		return 0o664, false, nil
	}
	if n&0o600 != 0o600 {
		return 0, false, fmt.Errorf("mode 0%03o: the owner of files must always have read and write permissions", n)
	}
	return fs.FileMode(n & 0o666), true, nil
}

// sharedMode returns the permission bits git gives a file or directory
// created with the bits created in a repository whose
// core.sharedRepository is shared (exact as sharedPerm returns it): git's
// calc_shared_perm.
func sharedMode(shared fs.FileMode, exact bool, created fs.FileMode) fs.FileMode {
	tweak := shared
	if created&0o200 == 0 {
		tweak &^= 0o222
	}
	if created&0o100 != 0 {
		tweak |= (tweak & 0o444) >> 2 // who may read may search
	}
	if exact {
		return tweak
	}
	return created | tweak
}

// DirMode returns the mode git gives a directory it creates with mode
// created (its permission bits, after the umask) in a repository of
// this config: with core.sharedRepository set, the shared bits, search
// permission wherever read permission, and set-group-ID when the group
// gains access, as git's adjust_shared_perm; otherwise created.
func (c Config) DirMode(created fs.FileMode) fs.FileMode {
	if c.SharedRepository == 0 {
		return created
	}
	m := sharedMode(c.SharedRepository, c.SharedExact, created.Perm())
	m |= (m & 0o444) >> 2
	if m&0o060 != 0 {
		m |= fs.ModeSetgid
	}
	return m
}

// fsyncComponents are git's names of core.fsync components; refs are
// those that include its "reference" component.
var fsyncComponents = []struct {
	name string
	refs bool
}{
	{"loose-object", false}, {"pack", false}, {"pack-metadata", false}, {"commit-graph", false},
	{"index", false}, {"objects", false}, {"reference", true}, {"derived-metadata", false},
	{"committed", true}, {"added", true}, {"all", true},
}

// fsyncsRefs reports whether the core.fsync value v makes git flush refs,
// parsing it as git's parse_fsync_components does: comma-separated
// tokens, "none" (as the last one) clearing the set, a leading '-'
// removing, and each token naming every component it is a prefix of;
// unknown tokens are ignored. git's default set has no refs, so only a
// token that adds them counts.
func fsyncsRefs(v string) bool {
	refs := false
	for tok := range strings.SplitSeq(v, ",") {
		tok = strings.TrimLeft(tok, " \t\n\r")
		if tok == "" || tok == "none" {
			continue
		}
		removed := strings.HasPrefix(tok, "-")
		tok = strings.TrimPrefix(tok, "-")
		for _, c := range fsyncComponents {
			if tok != "" && strings.HasPrefix(c.name, tok) && c.refs && !removed {
				refs = true
			}
		}
	}
	return refs
}

// Options returns base with what the config configures filled in where
// base leaves it zero: the object format (always the config's), the
// reftable.* settings, NoSync, and Chmod for core.sharedRepository. A
// caller's own settings (a lock timeout given on a command line) thus
// win over the config's.
func (c Config) Options(base stack.Options) stack.Options {
	o := base
	o.Hash = c.ObjectFormat
	if o.Write.BlockSize == 0 {
		o.Write.BlockSize = c.BlockSize
	}
	if o.Write.RestartInterval == 0 {
		o.Write.RestartInterval = c.RestartInterval
	}
	o.Write.SkipIndexObjects = o.Write.SkipIndexObjects || c.SkipIndexObjects
	if o.CompactionFactor == 0 {
		o.CompactionFactor = c.GeometricFactor
	}
	if o.LockTimeout == 0 {
		o.LockTimeout = c.LockTimeout
	}
	o.NoSync = o.NoSync || c.NoSync
	if o.Chmod == nil && c.SharedRepository != 0 {
		o.Chmod = func(created fs.FileMode) fs.FileMode {
			return sharedMode(c.SharedRepository, c.SharedExact, created)
		}
	}
	return o
}

// parseWriteSettings parses the reftable.* settings of m into c.
func (c *Config) parseWriteSettings(m map[string]string) error {
	if v, ok := m["reftable.blocksize"]; ok {
		n, err := gitUnsigned(v, math.MaxUint64)
		if err == nil && n > reftable.MaxBlockSize {
			err = fmt.Errorf("cannot exceed %d (16MB)", reftable.MaxBlockSize)
		}
		if err != nil {
			return settingError("blockSize", v, err)
		}
		c.BlockSize = int(n)
	}
	if v, ok := m["reftable.restartinterval"]; ok {
		n, err := gitUnsigned(v, math.MaxUint64)
		if err == nil && n > math.MaxUint16 {
			err = fmt.Errorf("cannot exceed %d", math.MaxUint16)
		}
		if err != nil {
			return settingError("restartInterval", v, err)
		}
		c.RestartInterval = int(n)
	}
	if v, ok := m["reftable.indexobjects"]; ok {
		b, err := gitBool(v)
		if err != nil {
			return settingError("indexObjects", v, err)
		}
		c.SkipIndexObjects = !b
	}
	if v, ok := m["reftable.geometricfactor"]; ok {
		n, err := gitUnsigned(v, math.MaxUint64)
		if err == nil && n > math.MaxUint8 {
			err = fmt.Errorf("cannot exceed %d", math.MaxUint8)
		}
		if err != nil {
			return settingError("geometricFactor", v, err)
		}
		c.GeometricFactor = int(n)
	}
	if v, ok := m["reftable.locktimeout"]; ok {
		ms, err := gitSigned(v, math.MaxInt64)
		if err == nil && ms < -1 {
			err = errors.New("no negative value other than -1 (wait forever)")
		}
		if err != nil {
			return settingError("lockTimeout", v, err)
		}
		switch {
		case ms == 0:
			c.LockTimeout = stack.NoWait
		case ms < 0 || ms > int64(math.MaxInt64/time.Millisecond):
			c.LockTimeout = -1 // forever, or longer than a Duration holds
		default:
			c.LockTimeout = time.Duration(ms) * time.Millisecond
		}
	}
	return nil
}

func settingError(key, v string, err error) error {
	return &settingErr{key: "reftable." + strings.ToLower(key), err: fmt.Errorf("reftable.%s = %q: %w: %w", key, v, ErrConfig, err)}
}

// A settingErr is the error of a setting, whose file readConfig names:
// key is the setting's, lowercased.
type settingErr struct {
	key string
	err error
}

func (e *settingErr) Error() string { return e.err.Error() }
func (e *settingErr) Unwrap() error { return e.err }

// maxIncludeDepth is how deeply includes may nest, as git's.
const maxIncludeDepth = 10

// A configReader reads config files, following their includes as git
// does, and hands each plain "section.key" setting (keys lowercased; a
// key without value "true") to set with the file that says it, in the
// order git reads them. Settings of subsections ([remote "origin"]) are
// skipped, but for the remotes' URLs, which go to url if set.
type configReader struct {
	gitDir string // the repository's git directory, for includeIf "gitdir:"
	set    func(key, val, file string)
	// remotes gives the remotes' URLs for includeIf "hasconfig:" (nil:
	// such a condition does not hold).
	remotes *remoteScan
	// head gives the branch HEAD names for includeIf "onbranch:" (nil:
	// such a condition does not hold).
	head *headBranch
	url  func(val string)
	// scanning is set for the reads of remoteScan: "hasconfig:"
	// conditions hold, and a file an includeIf includes must not set a
	// remote's URL.
	scanning bool
}

// read reads the config file path, an include at depth depth (0 for the
// files of the scopes); conditional is set for a file an includeIf
// includes, directly or through further includes.
func (r *configReader) read(path string, depth int, conditional bool) error {
	f, err := vfs.OS.OpenFile(path, os.O_RDONLY, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	section, sub, hasSub := "", "", false
	sc := bufio.NewScanner(f)
	n := 0 // the line's number
	next := func() (string, bool) {
		if !sc.Scan() {
			return "", false
		}
		n++
		return sc.Text(), true
	}
	for sc.Scan() {
		n++
		line := sc.Text()
		if n == 1 {
			line = strings.TrimPrefix(line, "\ufeff") // a byte order mark, as git skips it
		}
		line = strings.Trim(line, gitBlanks)
		if line != "" && line[0] == '[' {
			var ok bool
			if section, sub, hasSub, line, ok = parseSectionHeader(line); !ok {
				return fmt.Errorf("%s: bad config line %d: %w: not a section header git reads", path, n, ErrConfig)
			}
		}
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		key, rest, ok := parseKey(line)
		if !ok {
			return fmt.Errorf("%s: bad config line %d: %w: not a key git reads (a letter, then letters, digits and '-')", path, n, ErrConfig)
		}
		val := "true"
		if rest != "" {
			if val, err = parseValue(rest[1:], next); err != nil {
				return fmt.Errorf("%s: bad config line %d: %w: %w", path, n, ErrConfig, err)
			}
		}
		if section == "" {
			continue // a key before any section: git reads it, nothing here uses it
		}
		switch {
		case key == "path" && section == "include" && !hasSub:
			if err := r.include(path, val, depth, conditional); err != nil {
				return err
			}
		case key == "path" && section == "includeif" && hasSub:
			holds, err := r.condition(sub, path)
			if err != nil {
				return err
			}
			if holds {
				if err := r.include(path, val, depth, true); err != nil {
					return err
				}
			}
		case !hasSub:
			r.set(section+"."+key, val, path)
		case section == "remote" && key == "url" && r.scanning && conditional:
			return fmt.Errorf("%s: remote.%s.url: remote URLs cannot be set in a file an includeIf includes, with a \"hasconfig:remote.*.url:\" condition in the config: %w", path, sub, ErrConfig)
		case section == "remote" && key == "url" && r.url != nil:
			r.url(val)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	return nil
}

// parseSectionHeader parses a line beginning with a section header as
// git does: "[section]", the deprecated "[section.subsection]" (both
// lowercased), or [section "subsection"] (the subsection as written,
// backslashes escaping the next character, the closing quote right before
// the ']'). A section name is letters, digits, '-' and (in the deprecated
// form) '.'. It returns the section, the subsection and whether there is
// one, what follows the header on the line, and false for a header git
// refuses ("bad config line").
func parseSectionHeader(line string) (section, sub string, hasSub bool, rest string, ok bool) {
	i := 1
	for ; i < len(line) && (isKeyChar(line[i]) || line[i] == '.'); i++ {
	}
	name := strings.ToLower(line[1:i])
	if i < len(line) && line[i] == ']' {
		if name == "" {
			return "", "", false, "", false
		}
		section, sub, hasSub = strings.Cut(name, ".")
		return section, sub, hasSub, strings.TrimLeft(line[i+1:], gitBlanks), true
	}
	if i == len(line) || strings.IndexByte(gitBlanks, line[i]) < 0 || name == "" {
		return "", "", false, "", false
	}
	rest = strings.TrimLeft(line[i:], gitBlanks)
	if rest == "" || rest[0] != '"' {
		return "", "", false, "", false
	}
	var b strings.Builder
	for j := 1; j < len(rest); j++ {
		switch c := rest[j]; c {
		case '\\':
			if j++; j == len(rest) {
				return "", "", false, "", false
			}
			b.WriteByte(rest[j])
		case '"':
			if j+1 == len(rest) || rest[j+1] != ']' {
				return "", "", false, "", false
			}
			return name, b.String(), true, strings.TrimLeft(rest[j+2:], gitBlanks), true
		default:
			b.WriteByte(c)
		}
	}
	return "", "", false, "", false
}

// parseKey parses the key at the start of a config line as git does: a
// letter, then letters, digits and '-', lowercased; then blanks and the
// end of the line, or '=' and the value, which rest starts with. Anything
// else is a line git refuses.
func parseKey(line string) (key, rest string, ok bool) {
	if !isLetter(line[0]) {
		return "", "", false
	}
	i := 1
	for i < len(line) && isKeyChar(line[i]) {
		i++
	}
	key = strings.ToLower(line[:i])
	rest = strings.TrimLeft(line[i:], " \t")
	if rest != "" && rest[0] != '=' {
		return "", "", false
	}
	return key, rest, true
}

// isKeyChar reports whether c may be in a key or section name: git's
// iskeychar.
func isKeyChar(c byte) bool {
	return isLetter(c) || c >= '0' && c <= '9' || c == '-'
}

// isLetter reports whether c is an ASCII letter, which a key starts with.
func isLetter(c byte) bool {
	return c|0x20 >= 'a' && c|0x20 <= 'z'
}

// include reads the file an include of the config file from names, as
// git: "~/" is the home directory, a relative path is the including
// file's directory's; a missing file is none.
func (r *configReader) include(from, path string, depth int, conditional bool) error {
	if depth+1 > maxIncludeDepth {
		return fmt.Errorf("%s: include of %s: more than %d nested includes: %w", from, path, maxIncludeDepth, ErrConfig)
	}
	switch {
	case strings.HasPrefix(path, "~/"):
		path = filepath.Join(os.Getenv("HOME"), path[2:])
	case !filepath.IsAbs(path):
		path = filepath.Join(filepath.Dir(from), path)
	}
	err := r.read(path, depth+1, conditional)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// condition reports whether the condition of an includeIf section holds
// for the config file from: "gitdir:" and "gitdir/i:" match the
// repository's git directory as git does, "hasconfig:remote.*.url:" the
// remotes' URLs (see remoteScan), "onbranch:" the branch HEAD names (see
// headBranch); others are not known here and do not hold, as in git.
func (r *configReader) condition(cond, from string) (bool, error) {
	pattern, fold := "", false
	switch {
	case strings.HasPrefix(cond, "gitdir:"):
		pattern = cond[len("gitdir:"):]
	case strings.HasPrefix(cond, "gitdir/i:"):
		pattern, fold = cond[len("gitdir/i:"):], true
	case strings.HasPrefix(cond, hasRemoteURL):
		return r.hasRemoteURL(cond[len(hasRemoteURL):])
	case strings.HasPrefix(cond, "onbranch:"):
		pattern := cond[len("onbranch:"):]
		if strings.HasSuffix(pattern, "/") {
			pattern += "**"
		}
		branch, ok := r.head.get()
		return ok && wildmatch(pattern, branch), nil
	default:
		return false, nil
	}
	if r.gitDir == "" || pattern == "" {
		return false, nil
	}
	switch {
	case strings.HasPrefix(pattern, "~/"):
		pattern = filepath.ToSlash(os.Getenv("HOME")) + pattern[1:]
	case strings.HasPrefix(pattern, "./"):
		pattern = filepath.ToSlash(filepath.Dir(from)) + pattern[1:]
	case !filepath.IsAbs(pattern):
		pattern = "**/" + pattern
	}
	if strings.HasSuffix(pattern, "/") {
		pattern += "**"
	}
	dirs := []string{r.gitDir}
	if real, err := filepath.EvalSymlinks(r.gitDir); err == nil && real != r.gitDir {
		dirs = append(dirs, real)
	}
	for _, d := range dirs {
		d = filepath.ToSlash(d)
		if fold {
			if wildmatch(strings.ToLower(pattern), strings.ToLower(d)) {
				return true, nil
			}
		} else if wildmatch(pattern, d) {
			return true, nil
		}
	}
	return false, nil
}

// A headBranch reads, once, the branch the HEAD of the worktree whose git
// directory is gitDir names, for includeIf "onbranch:" conditions: its
// HEAD in the worktree's reftable stack, or in the HEAD file in a
// repository of git's files backend, followed as git follows it through
// branches that are symbolic refs themselves (in the repository's common
// directory), at most symrefMaxDepth refs in all. No branch when HEAD is
// detached, names another ref or cannot be read (a damaged stack is not
// the config's error: git takes the condition for false then too).
type headBranch struct {
	gitDir, commonDir string
	done              bool
	branch            string
	ok                bool
}

// symrefMaxDepth is how many refs git reads following symbolic refs
// from one, that one included (SYMREF_MAXDEPTH).
const symrefMaxDepth = 5

// get returns the branch HEAD names, without "refs/heads/".
func (h *headBranch) get() (string, bool) {
	if h == nil {
		return "", false
	}
	if !h.done {
		h.done = true
		stacks := map[string]*stack.Stack{} // opened once each, though HEAD and its branch share one
		defer func() {
			for _, st := range stacks {
				st.Close()
			}
		}()
		name, dir := "HEAD", h.gitDir
		for range symrefMaxDepth {
			target := symbolicTarget(stacks, dir, name)
			if target == "" {
				if name != "HEAD" {
					h.branch, h.ok = strings.CutPrefix(name, "refs/heads/")
				}
				break
			}
			name, dir = target, h.commonDir
		}
	}
	return h.branch, h.ok
}

// symbolicTarget returns the ref that name names if it is a symbolic ref
// of the git directory gitDir: from its reftable stack (kept in stacks,
// by directory, for the next call), or from its file in a repository of
// the files backend. It returns "" for a ref that is not symbolic,
// missing or unreadable.
func symbolicTarget(stacks map[string]*stack.Stack, gitDir, name string) string {
	if dir := filepath.Join(gitDir, "reftable"); exists(filepath.Join(dir, "tables.list")) {
		st := stacks[dir]
		if st == nil {
			var err error
			if st, err = stack.Open(dir, stack.Options{DisableAutoCompaction: true}); err != nil {
				return ""
			}
			stacks[dir] = st
		}
		r, err := st.Ref(context.Background(), name)
		if err != nil {
			return ""
		}
		return r.Target
	}
	data, err := vfs.ReadFile(vfs.OS, filepath.Join(gitDir, filepath.FromSlash(name)))
	if err != nil {
		return ""
	}
	target, _ := strings.CutPrefix(strings.TrimSpace(string(data)), "ref: ")
	if target == strings.TrimSpace(string(data)) {
		return "" // an object id
	}
	return target
}

// hasRemoteURL is the prefix of the includeIf condition on the remotes'
// URLs.
const hasRemoteURL = "hasconfig:remote.*.url:"

// hasRemoteURL reports whether a remote's URL matches pattern, as git's
// wildmatch does with WM_PATHNAME, the URL as written (no rewriting by
// url.*.insteadOf); while the URLs are read, every such condition holds.
func (r *configReader) hasRemoteURL(pattern string) (bool, error) {
	if r.scanning {
		return true, nil
	}
	if r.remotes == nil {
		return false, nil
	}
	urls, err := r.remotes.get()
	if err != nil {
		return false, err
	}
	for _, u := range urls {
		if wildmatch(pattern, u) {
			return true, nil
		}
	}
	return false, nil
}

// wildmatch reports whether the path s matches the glob pattern p as
// git's wildmatch does with WM_PATHNAME: '*' and '?' do not match '/',
// "**/" matches any number of directories, "**" anything, "[...]" a
// class ('!' or '^' negating, a-z ranges), '\\' quotes the next byte.
func wildmatch(p, s string) bool {
	for len(p) > 0 {
		switch c := p[0]; c {
		case '*':
			if strings.HasPrefix(p, "**") {
				rest := p[2:]
				if strings.HasPrefix(rest, "/") {
					for i := 0; i <= len(s); i++ {
						if (i == 0 || s[i-1] == '/') && wildmatch(rest[1:], s[i:]) {
							return true
						}
					}
					return false
				}
				for i := 0; i <= len(s); i++ {
					if wildmatch(rest, s[i:]) {
						return true
					}
				}
				return false
			}
			for i := 0; i <= len(s); i++ {
				if wildmatch(p[1:], s[i:]) {
					return true
				}
				if i < len(s) && s[i] == '/' {
					break
				}
			}
			return false
		case '?':
			if s == "" || s[0] == '/' {
				return false
			}
			p, s = p[1:], s[1:]
		case '[':
			n, ok := matchClass(p, s)
			if n == 0 { // no closing bracket: a literal '['
				if s == "" || s[0] != '[' {
					return false
				}
				p, s = p[1:], s[1:]
				continue
			}
			if !ok {
				return false
			}
			p, s = p[n:], s[1:]
		default:
			if c == '\\' && len(p) > 1 {
				p = p[1:]
				c = p[0]
			}
			if s == "" || s[0] != c {
				return false
			}
			p, s = p[1:], s[1:]
		}
	}
	return s == ""
}

// matchClass matches the first byte of s against the class p begins
// with: the length of the class (0 if it has no closing bracket) and
// whether the byte is in it ('/' never is).
func matchClass(p, s string) (int, bool) {
	i := 1
	negate := i < len(p) && (p[i] == '!' || p[i] == '^')
	if negate {
		i++
	}
	in := false
	var c byte
	if s != "" {
		c = s[0]
	}
	for first := true; i < len(p); first = false {
		if p[i] == ']' && !first {
			return i + 1, s != "" && c != '/' && in != negate
		}
		lo := p[i]
		if lo == '\\' && i+1 < len(p) {
			i++
			lo = p[i]
		}
		hi := lo
		if i+2 < len(p) && p[i+1] == '-' && p[i+2] != ']' {
			hi = p[i+2]
			i += 2
		}
		if lo <= c && c <= hi {
			in = true
		}
		i++
	}
	return 0, false
}

// gitBlanks are the blanks of a config line, as git's isspace sees them
// (not '\v', '\f' or Unicode spaces, which are a value's bytes).
const gitBlanks = " \t\r"

// errValue reports a value git refuses: an unknown escape, or a quote
// not closed by the end of the line.
var errValue = errors.New("bad value")

// parseValue parses a config value as git does, from line, the text
// after "=", and the lines next returns while a line ends in a backslash:
// leading and trailing blanks outside quotes dropped, those between
// words kept; double quotes removed; a comment ('#' or ';' outside
// quotes) ends the line; the escapes \\, \", \t, \b and \n; a
// backslash at the end of a line continues the value on the next one.
func parseValue(line string, next func() (string, bool)) (string, error) {
	var b []byte
	quote := false
	trim := -1 // where trailing blanks outside quotes begin, -1 if none
	for {
		more := false
	scan:
		for i := 0; i < len(line); i++ {
			c := line[i]
			switch {
			case !quote && strings.IndexByte(gitBlanks, c) >= 0:
				if trim < 0 {
					trim = len(b)
				}
				if len(b) > 0 {
					b = append(b, c)
				}
				continue
			case !quote && (c == '#' || c == ';'):
				break scan
			}
			trim = -1
			switch c {
			case '\\':
				if i++; i == len(line) {
					more = true
					break scan
				}
				switch e := line[i]; e {
				case 't':
					b = append(b, '\t')
				case 'b':
					b = append(b, '\b')
				case 'n':
					b = append(b, '\n')
				case '\\', '"':
					b = append(b, e)
				default:
					return "", fmt.Errorf("unknown escape \\%c: %w", e, errValue)
				}
			case '"':
				quote = !quote
			default:
				b = append(b, c)
			}
		}
		if more {
			if line, more = next(); more {
				continue
			}
		}
		if quote {
			return "", fmt.Errorf("quote not closed: %w", errValue)
		}
		if trim >= 0 {
			b = b[:trim]
		}
		return string(b), nil
	}
}

// gitUnsigned parses v as git_parse_unsigned does: no '-' anywhere, then a
// number that is at most max once multiplied by its unit.
func gitUnsigned(v string, max uint64) (uint64, error) {
	if strings.Contains(v, "-") {
		return 0, errors.New("not a number of at least 0")
	}
	_, n, err := gitNumber(v)
	if err != nil {
		return 0, err
	}
	if n > max {
		return 0, errors.New("out of range")
	}
	return n, nil
}

// gitSigned parses v as git_parse_signed does: a number whose magnitude,
// multiplied by its unit, is at most max.
func gitSigned(v string, max int64) (int64, error) {
	neg, n, err := gitNumber(v)
	if err != nil {
		return 0, err
	}
	if n > uint64(max) {
		return 0, errors.New("out of range")
	}
	if neg {
		return -int64(n), nil
	}
	return int64(n), nil
}

// gitNumber parses a number as C's strtoimax with base 0 followed by
// git's unit suffix: leading white space, a sign, then 0x and hex digits,
// 0 and octal digits, or decimal digits, and right after them nothing or
// one of k, m, g (either case). It returns the sign and the magnitude
// multiplied by the unit.
func gitNumber(v string) (neg bool, n uint64, err error) {
	s := strings.TrimLeft(v, " \t\n\v\f\r")
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg, s = s[0] == '-', s[1:]
	}
	base := uint64(10)
	switch {
	case len(s) > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') && digitValue(s[2]) < 16:
		base, s = 16, s[2:]
	case len(s) > 1 && s[0] == '0':
		base = 8
	}
	i := 0
	for ; i < len(s) && digitValue(s[i]) < base; i++ {
		hi, lo := bits.Mul64(n, base)
		lo, carry := bits.Add64(lo, digitValue(s[i]), 0)
		if hi != 0 || carry != 0 {
			return false, 0, errors.New("out of range")
		}
		n = lo
	}
	if i == 0 {
		return false, 0, errors.New("not a number")
	}
	var unit uint64
	switch strings.ToLower(s[i:]) {
	case "":
		unit = 1
	case "k":
		unit = 1 << 10
	case "m":
		unit = 1 << 20
	case "g":
		unit = 1 << 30
	default:
		return false, 0, fmt.Errorf("invalid unit %q (want k, m or g)", s[i:])
	}
	hi, lo := bits.Mul64(n, unit)
	if hi != 0 {
		return false, 0, errors.New("out of range")
	}
	return neg, lo, nil
}

// digitValue is the value of the digit c in bases up to 16, or 16.
func digitValue(c byte) uint64 {
	switch {
	case c >= '0' && c <= '9':
		return uint64(c - '0')
	case c >= 'a' && c <= 'f':
		return uint64(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return uint64(c-'A') + 10
	}
	return 16
}

// gitBool parses v as git_config_bool does: true, yes, on; false, no,
// off and the empty value; otherwise a number, true unless 0.
func gitBool(v string) (bool, error) {
	switch strings.ToLower(v) {
	case "true", "yes", "on":
		return true, nil
	case "false", "no", "off", "":
		return false, nil
	}
	n, err := gitSigned(v, math.MaxInt32)
	if err != nil {
		return false, errors.New("not a boolean")
	}
	return n != 0, nil
}
