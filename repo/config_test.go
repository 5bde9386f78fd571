package repo

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/refstore/refstore/internal/testutil/gittest"
	"github.com/refstore/refstore/reftable"
	"github.com/refstore/refstore/stack"
)

// TestParseWriteSettings reads each reftable.* setting as git 2.55 does:
// the values git accepts (its units, C's 0x and 0 prefixes, leading
// space, a sign) and those it dies on.
func TestParseWriteSettings(t *testing.T) {
	for _, tt := range []struct {
		key, val string
		want     Config // its reftable.* settings, when no error
		bad      bool
	}{
		{"blocksize", "256", Config{BlockSize: 256}, false},
		{"blocksize", "8k", Config{BlockSize: 8192}, false},
		{"blocksize", "1K", Config{BlockSize: 1024}, false},
		{"blocksize", "0x200", Config{BlockSize: 512}, false},
		{"blocksize", "0X400", Config{BlockSize: 1024}, false},
		{"blocksize", "01000", Config{BlockSize: 512}, false},
		{"blocksize", " 512", Config{BlockSize: 512}, false},
		{"blocksize", "+512", Config{BlockSize: 512}, false},
		{"blocksize", "0", Config{}, false},
		{"blocksize", "16777215", Config{BlockSize: 16777215}, false},
		{"blocksize", "16m", Config{}, true}, // 16777216
		{"blocksize", "99999999", Config{}, true},
		{"blocksize", "-5", Config{}, true},
		{"blocksize", "abc", Config{}, true},
		{"blocksize", "08", Config{}, true},
		{"blocksize", "1_000", Config{}, true},
		{"blocksize", "4 k", Config{}, true},
		{"blocksize", "", Config{}, true},
		{"blocksize", "99999999999999999999", Config{}, true},
		{"blocksize", "17179869184g", Config{}, true}, // 2^64
		{"restartinterval", "1", Config{RestartInterval: 1}, false},
		{"restartinterval", "65535", Config{RestartInterval: 65535}, false},
		{"restartinterval", "64k", Config{}, true}, // 65536
		{"restartinterval", "70000", Config{}, true},
		{"indexobjects", "false", Config{SkipIndexObjects: true}, false},
		{"indexobjects", "No", Config{SkipIndexObjects: true}, false},
		{"indexobjects", "off", Config{SkipIndexObjects: true}, false},
		{"indexobjects", "", Config{SkipIndexObjects: true}, false},
		{"indexobjects", "0", Config{SkipIndexObjects: true}, false},
		{"indexobjects", "true", Config{}, false},
		{"indexobjects", "YES", Config{}, false},
		{"indexobjects", "2", Config{}, false},
		{"indexobjects", "1k", Config{}, false},
		{"indexobjects", "maybe", Config{}, true},
		{"geometricfactor", "3", Config{GeometricFactor: 3}, false},
		{"geometricfactor", "0", Config{}, false},
		{"geometricfactor", "255", Config{GeometricFactor: 255}, false},
		{"geometricfactor", "256", Config{}, true},
		{"locktimeout", "250", Config{LockTimeout: 250 * time.Millisecond}, false},
		{"locktimeout", "1k", Config{LockTimeout: 1024 * time.Millisecond}, false},
		{"locktimeout", "0", Config{LockTimeout: stack.NoWait}, false},
		{"locktimeout", "-1", Config{LockTimeout: -1}, false},
		{"locktimeout", "9223372036854775807", Config{LockTimeout: -1}, false},
		{"locktimeout", "-2", Config{}, true},
		{"locktimeout", "99999999999999999999", Config{}, true},
		{"locktimeout", "1s", Config{}, true},
	} {
		m := map[string]string{"reftable." + tt.key: tt.val}
		got, err := parseConfig(m, true)
		tt.want.ObjectFormat, tt.want.RefStorage = reftable.SHA1, "files"
		switch {
		case tt.bad && !errors.Is(err, ErrConfig):
			t.Errorf("reftable.%s = %q: got %+v, %v; want an error matching ErrConfig", tt.key, tt.val, got, err)
		case !tt.bad && err != nil:
			t.Errorf("reftable.%s = %q: %v", tt.key, tt.val, err)
		case !tt.bad && got != tt.want:
			t.Errorf("reftable.%s = %q: got %+v, want %+v", tt.key, tt.val, got, tt.want)
		}
		// Opened only to read, the settings are ignored.
		if lenient, err := parseConfig(m, false); err != nil || lenient != (Config{ObjectFormat: reftable.SHA1, RefStorage: "files"}) {
			t.Errorf("reftable.%s = %q read leniently: %+v, %v", tt.key, tt.val, lenient, err)
		}
	}
}

// TestParseCoreSettings reads what the core and extensions settings say
// about refs, as git does.
func TestParseCoreSettings(t *testing.T) {
	def := Config{ObjectFormat: reftable.SHA1, RefStorage: "files"}
	with := func(f func(*Config)) Config {
		c := def
		f(&c)
		return c
	}
	for _, tt := range []struct {
		name string
		m    map[string]string
		want Config
		bad  bool
	}{
		{"defaults", nil, def, false},
		{"sha256", map[string]string{"extensions.objectformat": "SHA256"}, with(func(c *Config) { c.ObjectFormat = reftable.SHA256 }), false},
		{"bad format", map[string]string{"extensions.objectformat": "md5"}, def, true},
		{"reftable", map[string]string{"extensions.refstorage": "Reftable"}, with(func(c *Config) { c.RefStorage = "reftable" }), false},
		{"bare", map[string]string{"core.bare": "true"}, with(func(c *Config) { c.Bare, c.LogAllRefUpdates = true, stack.ReflogExisting }), false},
		{"bare logging", map[string]string{"core.bare": "yes", "core.logallrefupdates": "true"}, with(func(c *Config) { c.Bare = true }), false},
		{"not bare", map[string]string{"core.bare": "false"}, def, false},
		{"always", map[string]string{"core.logallrefupdates": "Always"}, with(func(c *Config) { c.LogAllRefUpdates = stack.ReflogAlways }), false},
		{"never created", map[string]string{"core.logallrefupdates": "off"}, with(func(c *Config) { c.LogAllRefUpdates = stack.ReflogExisting }), false},
		{"numeric false", map[string]string{"core.logallrefupdates": "0"}, with(func(c *Config) { c.LogAllRefUpdates = stack.ReflogExisting }), false},
		{"fsync reference", map[string]string{"core.fsync": "reference"}, def, false},
		{"fsync committed", map[string]string{"core.fsync": "pack, committed"}, def, false},
		{"fsync prefix", map[string]string{"core.fsync": "ref"}, def, false},
		{"fsync all", map[string]string{"core.fsync": "all"}, def, false},
		{"fsync objects only", map[string]string{"core.fsync": "objects,derived-metadata"}, with(func(c *Config) { c.NoSync = true }), false},
		{"fsync none", map[string]string{"core.fsync": "none"}, with(func(c *Config) { c.NoSync = true }), false},
		{"fsync removed", map[string]string{"core.fsync": "all,-reference"}, def, false}, // as git: what is added wins
		{"fsync unknown", map[string]string{"core.fsync": "bogus"}, with(func(c *Config) { c.NoSync = true }), false},
	} {
		got, err := parseConfig(tt.m, true)
		if (err != nil) != tt.bad {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if !tt.bad && got != tt.want {
			t.Errorf("%s: got %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

// TestReadConfig reads a config file as git writes one: sections,
// subsections skipped, comments, quotes, keys without a value; a missing
// file is git's defaults; an invalid setting names the file.
func TestReadConfig(t *testing.T) {
	dir := t.TempDir()
	if c, err := ReadConfig(dir); err != nil || c != (Config{ObjectFormat: reftable.SHA1, RefStorage: "files"}) {
		t.Errorf("without a config file: %+v, %v", c, err)
	}
	cfg := `# a comment
[core]
	repositoryformatversion = 1
	bare
	logAllRefUpdates = "always" ; a comment
[remote "origin"]
	blockSize = 99
[extensions]
	objectFormat = sha256
	refStorage = reftable
[reftable]
	blockSize = 8k
	lockTimeout = 0
`
	if err := os.WriteFile(filepath.Join(dir, "config"), []byte(cfg), 0o666); err != nil {
		t.Fatal(err)
	}
	c, err := ReadConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := Config{ObjectFormat: reftable.SHA256, RefStorage: "reftable", Bare: true, LogAllRefUpdates: stack.ReflogAlways,
		BlockSize: 8192, LockTimeout: stack.NoWait}
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("ReadConfig (-want +got):\n%s", diff)
	}
	if err := os.WriteFile(filepath.Join(dir, "config"), []byte("[reftable]\n\tgeometricFactor = 256\n"), 0o666); err != nil {
		t.Fatal(err)
	}
	_, err = ReadConfig(dir)
	if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), filepath.Join(dir, "config")) || !strings.Contains(err.Error(), "reftable.geometricFactor") {
		t.Errorf("invalid setting: %v, want ErrConfig naming the file and the setting", err)
	}
}

// TestConfigOptions: the config fills in the stack options a caller
// leaves zero, and a caller's own win.
func TestConfigOptions(t *testing.T) {
	c := Config{ObjectFormat: reftable.SHA256, NoSync: true, BlockSize: 1024, RestartInterval: 3, SkipIndexObjects: true,
		GeometricFactor: 4, LockTimeout: time.Second}
	got := c.Options(stack.Options{DisableAutoCompaction: true})
	if !got.DisableAutoCompaction || got.Hash != reftable.SHA256 || !got.NoSync || got.CompactionFactor != 4 || got.LockTimeout != time.Second ||
		got.Write != (reftable.WriterOptions{BlockSize: 1024, RestartInterval: 3, SkipIndexObjects: true}) {
		t.Errorf("Options = %+v", got)
	}
	own := c.Options(stack.Options{LockTimeout: stack.NoWait, CompactionFactor: 3, Write: reftable.WriterOptions{BlockSize: 512}})
	if own.LockTimeout != stack.NoWait || own.CompactionFactor != 3 || own.Write.BlockSize != 512 || own.Write.RestartInterval != 3 {
		t.Errorf("a caller's options lost to the config's: %+v", own)
	}
}

// TestConfigScopes reads the system's, the user's and the repository's
// config and the environment's settings, as git does: each overrides the
// ones before; the extensions and core.bare are the repository's alone;
// GIT_CONFIG_NOSYSTEM and GIT_CONFIG_GLOBAL choose the files; an invalid
// setting names the file that set it.
func TestConfigScopes(t *testing.T) {
	home, xdg, repoDir := t.TempDir(), t.TempDir(), t.TempDir()
	system := filepath.Join(t.TempDir(), "gitconfig")
	writeFile(t, system, "[user]\n\tname = System\n\temail = system@example.com\n[core]\n\tlogAllRefUpdates = false\n[extensions]\n\tobjectFormat = sha256\n")
	writeFile(t, filepath.Join(xdg, "git", "config"), "[user]\n\tname = XDG\n[reftable]\n\tblockSize = 8k\n[core]\n\tbare = true\n")
	writeFile(t, filepath.Join(home, ".gitconfig"), "[user]\n\tname = Home\n[committer]\n\temail = committer@example.com\n[reftable]\n\tgeometricFactor = 3\n")
	writeFile(t, filepath.Join(repoDir, "config"), "[core]\n\trepositoryformatversion = 1\n[extensions]\n\trefStorage = reftable\n[reftable]\n\tgeometricFactor = 4\n")
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", xdg)
	t.Setenv("GIT_CONFIG_SYSTEM", system)
	t.Setenv("GIT_CONFIG_NOSYSTEM", "")
	t.Setenv("GIT_CONFIG_GLOBAL", "")
	os.Unsetenv("GIT_CONFIG_GLOBAL")
	t.Setenv("GIT_CONFIG_COUNT", "2")
	t.Setenv("GIT_CONFIG_KEY_0", "reftable.restartInterval")
	t.Setenv("GIT_CONFIG_VALUE_0", "8")
	t.Setenv("GIT_CONFIG_KEY_1", "remote.origin.url") // a subsection's: skipped
	t.Setenv("GIT_CONFIG_VALUE_1", "x")

	base := Config{ObjectFormat: reftable.SHA1, RefStorage: "reftable", LogAllRefUpdates: stack.ReflogExisting,
		BlockSize: 8192, GeometricFactor: 4, RestartInterval: 8,
		UserName: "Home", UserEmail: "system@example.com", CommitterEmail: "committer@example.com"}
	with := func(f func(*Config)) Config {
		c := base
		f(&c)
		return c
	}
	for _, tc := range []struct {
		name string
		env  map[string]string
		want Config
	}{
		{"every scope", nil, base},
		{"no system", map[string]string{"GIT_CONFIG_NOSYSTEM": "true"}, with(func(c *Config) {
			c.UserEmail, c.LogAllRefUpdates = "", stack.ReflogNormal
		})},
		{"global file", map[string]string{"GIT_CONFIG_GLOBAL": filepath.Join(xdg, "git", "config")}, with(func(c *Config) {
			c.UserName, c.CommitterEmail, c.GeometricFactor = "XDG", "", 4
		})},
		{"no user config", map[string]string{"GIT_CONFIG_GLOBAL": os.DevNull, "GIT_CONFIG_NOSYSTEM": "1"}, with(func(c *Config) {
			c.UserName, c.UserEmail, c.CommitterEmail, c.BlockSize, c.LogAllRefUpdates = "", "", "", 0, stack.ReflogNormal
		})},
		{"xdg from home", map[string]string{"XDG_CONFIG_HOME": ""}, with(func(c *Config) { c.BlockSize = 0 })},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			got, err := ReadConfig(repoDir)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}

	writeFile(t, filepath.Join(home, ".gitconfig"), "[reftable]\n\tlockTimeout = -2\n")
	_, err := ReadConfig(repoDir)
	if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), filepath.Join(home, ".gitconfig")) || !strings.Contains(err.Error(), "reftable.lockTimeout") {
		t.Errorf("invalid setting in ~/.gitconfig: %v, want ErrConfig naming the file and the setting", err)
	}
	t.Setenv("GIT_CONFIG_VALUE_0", "many")
	t.Setenv("GIT_CONFIG_GLOBAL", os.DevNull)
	_, err = ReadConfig(repoDir)
	if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "GIT_CONFIG_KEY_0") {
		t.Errorf("invalid setting in the environment: %v, want ErrConfig naming GIT_CONFIG_KEY_0", err)
	}
	t.Setenv("GIT_CONFIG_COUNT", "3")
	if _, err = ReadConfig(repoDir); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "GIT_CONFIG_KEY_2") {
		t.Errorf("GIT_CONFIG_COUNT past the keys: %v, want ErrConfig naming GIT_CONFIG_KEY_2", err)
	}
}

// TestConfigIncludes follows include.path and includeIf "gitdir:" (and
// "gitdir/i:") as git does, and agrees with git config on the identity
// they set: a relative include, "~/", a condition matching the git
// directory and one not, a missing file; includes nested too deeply fail.
func TestConfigIncludes(t *testing.T) {
	r := gittest.Init(t, "sha1")
	home := withHome(t, r)
	parent := filepath.ToSlash(filepath.Dir(r.Dir))
	writeFile(t, filepath.Join(home, ".gitconfig"), `[include]
	path = inc/base
	path = missing
[includeIf "gitdir:`+parent+`/"]
	path = ~/work.inc
[includeIf "gitdir:/nowhere/"]
	path = ~/other.inc
[includeIf "gitdir/i:`+strings.ToUpper(parent)+`/**/.GIT"]
	path = ./folded.inc
`)
	writeFile(t, filepath.Join(home, "inc", "base"), "[user]\n\tname = Base\n\temail = base@example.com\n")
	writeFile(t, filepath.Join(home, "work.inc"), "[user]\n\temail = work@example.com\n")
	writeFile(t, filepath.Join(home, "other.inc"), "[user]\n\tname = Other\n")
	writeFile(t, filepath.Join(home, "folded.inc"), "[committer]\n\tname = Folded\n")
	c, err := ReadConfig(filepath.Join(r.Dir, ".git"))
	if err != nil {
		t.Fatal(err)
	}
	for key, got := range map[string]string{"user.name": c.UserName, "user.email": c.UserEmail, "committer.name": c.CommitterName} {
		want, err := r.RunInput("", "config", "--get", key)
		if err != nil {
			t.Fatalf("git config --get %s: %v", key, err)
		}
		if got != strings.TrimSpace(want) {
			t.Errorf("%s = %q, git says %q", key, got, strings.TrimSpace(want))
		}
	}
	if c.UserName != "Base" || c.UserEmail != "work@example.com" || c.CommitterName != "Folded" {
		t.Errorf("identity %q <%s>, committer %q; want Base <work@example.com>, Folded", c.UserName, c.UserEmail, c.CommitterName)
	}

	writeFile(t, filepath.Join(home, ".gitconfig"), "[include]\n\tpath = ~/.gitconfig\n")
	if _, err := ReadConfig(filepath.Join(r.Dir, ".git")); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "nested includes") {
		t.Errorf("an include of itself: %v, want ErrConfig saying the includes nest too deeply", err)
	}
}

// TestConfigHasRemoteURL follows includeIf "hasconfig:remote.*.url:" as
// git does, and agrees with git config on the identity it sets or on
// failing: a remote's URL in the repository's config, in "git -c" and in
// GIT_CONFIG_COUNT's settings selects the include, "*" does not cross a
// '/' and "**" does, and a file an includeIf includes (by this condition
// or another) must not set a remote's URL.
func TestConfigHasRemoteURL(t *testing.T) {
	r := gittest.Init(t, "sha1")
	home := withHome(t, r)
	base := r.Env
	config := filepath.Join(r.Dir, ".git", "config")
	repoConfig, err := os.ReadFile(config)
	if err != nil {
		t.Fatal(err)
	}
	parent := filepath.ToSlash(filepath.Dir(r.Dir))
	// work includes work.inc for remotes on https://example.com.
	work := "[includeIf \"hasconfig:remote.*.url:https://example.com/**\"]\n\tpath = work.inc\n"
	remote := func(name, url string) string { return "[remote \"" + name + "\"]\n\turl = " + url + "\n" }
	for _, tc := range []struct {
		name   string
		global string            // ~/.gitconfig, after the base identity
		local  string            // appended to the repository's config
		files  map[string]string // in the home directory
		env    []string
		want   string // user.email; "" when both fail
	}{
		{name: "no remote", global: work, want: "base@example.com"},
		{name: "matching remote", global: work, local: remote("origin", "https://example.com/org/repo.git"), want: "work@example.com"},
		{name: "other remote", global: work, local: remote("origin", "git@example.com:org/repo.git"), want: "base@example.com"},
		{name: "remote in the deprecated [remote.name] form", global: work, local: "[Remote.Origin]\n\turl = https://example.com/org/repo.git\n", want: "work@example.com"},
		{name: "star within a segment", global: strings.Replace(work, "/**", "/*", 1),
			local: remote("origin", "https://example.com/org/repo.git"), want: "base@example.com"},
		{name: "one of two remotes", global: strings.Replace(work, "https://example.com/**", "git@example.com:*/**", 1),
			local: remote("a", "https://other.example/x") + "[remote \"b\"]\n\tURL = git@example.com:org/repo.git\n", want: "work@example.com"},
		{name: "condition in the repository, URL in the user's config", global: remote("origin", "https://example.com/org/repo.git"),
			local: strings.Replace(work, "work.inc", home+"/work.inc", 1), want: "work@example.com"},
		{name: "git -c", global: work, env: []string{"GIT_CONFIG_PARAMETERS='remote.y.url'='https://example.com/a/b'"}, want: "work@example.com"},
		{name: "GIT_CONFIG_COUNT", global: work,
			env: []string{"GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=Remote.my.z.URL", "GIT_CONFIG_VALUE_0=https://example.com/q/r"}, want: "work@example.com"},
		{name: "URL in the file it includes", global: work,
			files: map[string]string{"work.inc": "[user]\n\temail = work@example.com\n" + remote("bad", "https://other.example/")}},
		{name: "URL in a file another includeIf includes", global: work + "[includeIf \"gitdir:" + parent + "/\"]\n\tpath = gitdir.inc\n",
			files: map[string]string{"gitdir.inc": "[include]\n\tpath = nested.inc\n", "nested.inc": remote("bad", "https://other.example/")}},
		{name: "URL in a file include.path includes", global: work + "[include]\n\tpath = plain.inc\n",
			files: map[string]string{"plain.inc": remote("origin", "https://example.com/org/repo.git")}, want: "work@example.com"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			writeFile(t, filepath.Join(home, ".gitconfig"), "[user]\n\temail = base@example.com\n"+tc.global)
			writeFile(t, filepath.Join(home, "work.inc"), "[user]\n\temail = work@example.com\n")
			for name, text := range tc.files {
				writeFile(t, filepath.Join(home, name), text)
			}
			writeFile(t, config, string(repoConfig)+tc.local)
			for _, kv := range tc.env {
				k, v, _ := strings.Cut(kv, "=")
				t.Setenv(k, v)
			}
			r.Env = append(slices.Clone(base), tc.env...)
			gitOut, gitErr := r.RunInput("", "config", "--get", "user.email")
			c, err := ReadConfig(filepath.Join(r.Dir, ".git"))
			switch {
			case tc.want == "":
				if gitErr == nil || !strings.Contains(gitErr.Error(), "remote URLs cannot be configured") {
					t.Fatalf("git config: %q, %v; want git to refuse the remote's URL", gitOut, gitErr)
				}
				if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "remote URLs cannot be set") || !strings.Contains(err.Error(), home) {
					t.Errorf("ReadConfig: %v; want ErrConfig naming the file that sets the URL", err)
				}
			case gitErr != nil:
				t.Fatalf("git config: %v", gitErr)
			case err != nil:
				t.Fatalf("ReadConfig: %v", err)
			case c.UserEmail != tc.want || strings.TrimSpace(gitOut) != tc.want:
				t.Errorf("user.email %q, git says %q; want %q", c.UserEmail, strings.TrimSpace(gitOut), tc.want)
			}
			for name := range tc.files {
				os.Remove(filepath.Join(home, name))
			}
		})
	}
}

// TestConfigOnBranch follows includeIf "onbranch:" as git does, and
// agrees with git config on the identity it sets: HEAD on an unborn
// branch, on a branch under a pattern ending in '/', detached, and a
// linked worktree's own HEAD.
func TestConfigOnBranch(t *testing.T) {
	r := gittest.Init(t, "sha1")
	home := withHome(t, r)
	writeFile(t, filepath.Join(home, ".gitconfig"), `[user]
	name = Base
	email = base@example.com
[includeIf "onbranch:main"]
	path = main.inc
[includeIf "onbranch:feature/"]
	path = feature.inc
`)
	writeFile(t, filepath.Join(home, "main.inc"), "[user]\n\temail = main@example.com\n")
	writeFile(t, filepath.Join(home, "feature.inc"), "[user]\n\tname = Feature\n")
	wt := filepath.Join(t.TempDir(), "wt")
	check := func(what string, g *gittest.Repo, wantName, wantEmail string) {
		t.Helper()
		repo, err := Open(g.Dir, Options{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		c := repo.Config()
		repo.Close()
		for key, got := range map[string]string{"user.name": c.UserName, "user.email": c.UserEmail} {
			out, err := g.RunInput("", "config", "--get", key)
			if err != nil {
				t.Fatalf("%s: git config --get %s: %v", what, key, err)
			}
			if got != strings.TrimSpace(out) {
				t.Errorf("%s: %s = %q, git says %q", what, key, got, strings.TrimSpace(out))
			}
		}
		if c.UserName != wantName || c.UserEmail != wantEmail {
			t.Errorf("%s: %s <%s>, want %s <%s>", what, c.UserName, c.UserEmail, wantName, wantEmail)
		}
	}
	check("unborn main", r, "Base", "main@example.com")
	r.Run("symbolic-ref", "HEAD", "refs/heads/feature/x/y")
	check("on feature/x/y", r, "Feature", "base@example.com")
	r.Run("commit", "-q", "--allow-empty", "-m", "first")
	r.Run("checkout", "-q", "--detach")
	check("detached", r, "Base", "base@example.com")
	r.Run("checkout", "-q", "-b", "main")
	r.Run("worktree", "add", "-q", "-b", "feature/wt", wt)
	check("main worktree", r, "Base", "main@example.com")
	w := *r
	w.Dir = wt
	check("linked worktree", &w, "Feature", "base@example.com")
	// git follows HEAD through branches that are symbolic refs, reading
	// five refs at most.
	r.Run("symbolic-ref", "refs/heads/alias", "refs/heads/feature/z")
	r.Run("symbolic-ref", "HEAD", "refs/heads/alias")
	check("on a symbolic branch", r, "Feature", "base@example.com")
	w.Run("symbolic-ref", "HEAD", "refs/heads/alias")
	check("linked worktree on a symbolic branch", &w, "Feature", "base@example.com")
	r.Run("symbolic-ref", "refs/heads/a1", "refs/heads/alias")
	r.Run("symbolic-ref", "refs/heads/a2", "refs/heads/a1")
	r.Run("symbolic-ref", "HEAD", "refs/heads/a2")
	check("HEAD and three symbolic branches, then the branch", r, "Feature", "base@example.com")
	r.Run("symbolic-ref", "refs/heads/a3", "refs/heads/a2")
	r.Run("symbolic-ref", "HEAD", "refs/heads/a3")
	check("HEAD and four symbolic branches: too deep", r, "Base", "base@example.com")
}

// TestConfigValues reads values as git config does: blanks, quotes,
// comments, escapes and continued lines, and fails where git fails.
func TestConfigValues(t *testing.T) {
	r := gittest.Init(t, "sha1")
	withHome(t, r)
	config := filepath.Join(r.Dir, ".git", "config")
	repoConfig, err := os.ReadFile(config)
	if err != nil {
		t.Fatal(err)
	}
	for _, raw := range []string{
		`plain`,
		`  leading and trailing   `,
		`two  blanks	inside`,
		`"quoted  value "  `,
		`a "b  c" d`,
		`a "" b`,
		`x # comment`,
		`x; comment`,
		`"x # not; a comment"`,
		`tab\there`,
		`back\\slash`,
		`say \"hi\"`,
		`new\nline and \b`,
		"cont\\\n  inued",
		"\"quoted\\\n over lines\"",
		`"not closed`,
		`unknown \q escape`,
		"last\\",
		"\fform feeds\f",
		"\u00a0no-break spaces\u00a0",
	} {
		t.Run(raw, func(t *testing.T) {
			writeFile(t, config, string(repoConfig)+"[user]\n\tname = "+raw+"\n")
			checkUserName(t, r, "bad config line", func(_, err error) bool {
				return strings.Contains(err.Error(), "bad config line") && strings.Contains(err.Error(), config)
			})
		})
	}
}

// TestConfigSyntax: section headers and keys are read as git reads them,
// and a line git refuses ("bad config line") fails ReadConfig with
// ErrConfig naming the file (the user's, read first) and the line.
func TestConfigSyntax(t *testing.T) {
	r := gittest.Init(t, "sha1")
	home := withHome(t, r)
	config := filepath.Join(r.Dir, ".git", "config")
	repoConfig, err := os.ReadFile(config)
	if err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{
		"[user]\nname = A",
		"[User]\n\tNAME = A",
		"[user] name = A",
		"[user]name=A",
		"[user] # comment\nname = A ; comment",
		"[user]\n\tname-x = B\n\tname = A",
		"[user \"x\"]\nname = B\n[user]\nname = A",
		"[user  \"x\"] name = B",
		"[user \"a\\\"b\\\\\"]\nname = B",
		"[user.x]\nname = B",
		"[User.X]\nname = B\n[user]\nname = A\n[user.y]\nname = C",
		"[user.]\nname = B",
		"name = early\n[user]\nname = A",
		"[ user]\nname = A",
		"[user ]\nname = A",
		"[]\nname = A",
		"[us_er]\nname = A",
		"[user \"x\" ]\nname = A",
		"[user\"x\"]\nname = A",
		"[user \"x]\nname = A",
		"[user \"x\"",
		"[user",
		"[user]\n1name = A",
		"[user]\nna_me = A",
		"[user]\nname ; comment",
		"[user]\nname x = A",
		"[user]\n-name = A",
		"\ufeff[user]\nname = A",
		"[user]\n\ufeffname = A",
	} {
		t.Run(text, func(t *testing.T) {
			// The user's config file starts with the text (a byte
			// order mark is skipped there only), the repository's
			// ends with it.
			writeFile(t, filepath.Join(home, ".gitconfig"), text+"\n")
			writeFile(t, config, string(repoConfig)+text+"\n")
			checkUserName(t, r, "bad config line", func(gitErr, err error) bool {
				_, file, _ := strings.Cut(gitErr.Error(), " in file ")
				return strings.Contains(err.Error(), "bad config line") && strings.Contains(err.Error(), strings.TrimSpace(file)+":")
			})
		})
	}
}

// TestConfigEnvKeys: keys of the environment (GIT_CONFIG_COUNT's and
// git -c's) that git refuses fail ReadConfig with ErrConfig; the others
// are read as git reads them.
func TestConfigEnvKeys(t *testing.T) {
	r := gittest.Init(t, "sha1")
	withHome(t, r)
	base := r.Env
	for _, key := range []string{"user.name", "USER.NAME", "1user.name", "user.na_me", "user", "user.", ".name",
		"us_er.name", "user.Sub.name", "user.s_u b.name", "user.x\ny.name", "user.1name", "user.-name", "user.name-2"} {
		for _, how := range []string{"count", "parameters"} {
			t.Run(how+"/"+key, func(t *testing.T) {
				env := []string{"GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=" + key, "GIT_CONFIG_VALUE_0=from env"}
				if how == "parameters" {
					env = []string{"GIT_CONFIG_PARAMETERS='" + key + "'='from env'"}
				}
				for _, kv := range env {
					k, v, _ := strings.Cut(kv, "=")
					t.Setenv(k, v)
				}
				r.Env = append(slices.Clone(base), env...)
				checkUserName(t, r, "key", func(_, err error) bool { return strings.Contains(err.Error(), "invalid key") })
			})
		}
	}
}

// checkUserName compares the user.name ReadConfig reads in r with git
// config's. Where git refuses the config, with an error that says
// gitSays, ReadConfig must fail with ErrConfig and an error refusal
// accepts, given git's.
func checkUserName(t *testing.T, r *gittest.Repo, gitSays string, refusal func(gitErr, err error) bool) {
	t.Helper()
	out, gitErr := r.RunInput("", "config", "--get", "user.name")
	c, err := ReadConfig(filepath.Join(r.Dir, ".git"))
	want := strings.TrimSuffix(out, "\n")
	switch {
	case gitErr != nil && strings.Contains(gitErr.Error(), gitSays):
		if !errors.Is(err, ErrConfig) || !refusal(gitErr, err) {
			t.Errorf("ReadConfig: %v; git: %v", err, gitErr)
		}
	case gitErr != nil && strings.Contains(gitErr.Error(), "exit status 1") && out == "":
		if err != nil || c.UserName != "" {
			t.Errorf("ReadConfig: user.name %q, %v; git has none", c.UserName, err)
		}
	case gitErr != nil:
		t.Fatalf("git config: %v", gitErr)
	case err != nil:
		t.Errorf("ReadConfig: %v; git says user.name %q", err, want)
	case c.UserName != want:
		t.Errorf("user.name %q, git says %q", c.UserName, want)
	}
}

// withHome makes a new directory the home directory of the test and of
// r's git commands, whose user config is then its .gitconfig alone (no
// XDG_CONFIG_HOME, no GIT_CONFIG_GLOBAL), and returns it.
func withHome(t *testing.T, r *gittest.Repo) string {
	home := t.TempDir()
	env := []string{"HOME=" + home}
	for _, kv := range r.Env {
		if !strings.HasPrefix(kv, "HOME=") && !strings.HasPrefix(kv, "GIT_CONFIG_GLOBAL=") {
			env = append(env, kv)
		}
	}
	r.Env = env
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", "")
	t.Setenv("GIT_CONFIG_GLOBAL", "")
	os.Unsetenv("GIT_CONFIG_GLOBAL")
	return home
}

// TestWildmatch matches paths as git's wildmatch does for includeIf.
func TestWildmatch(t *testing.T) {
	for _, tc := range []struct {
		p, s string
		want bool
	}{
		{"/a/**", "/a/b/c/.git", true},
		{"/a/**", "/b/.git", false},
		{"**/b/.git", "/a/b/.git", true},
		{"/a/**/.git", "/a/.git", true},
		{"/a/*/.git", "/a/b/.git", true},
		{"/a/*/.git", "/a/b/c/.git", false},
		{"/a/?/.git", "/a/b/.git", true},
		{"/a/[bc]/.git", "/a/c/.git", true},
		{"/a/[!bc]/.git", "/a/c/.git", false},
		{"/a/[a-c]x", "/a/bx", true},
		{"/a/[", "/a/[", true},
		{`/a/\*`, "/a/*", true},
		{`/a/\*`, "/a/b", false},
	} {
		if got := wildmatch(tc.p, tc.s); got != tc.want {
			t.Errorf("wildmatch(%q, %q) = %v, want %v", tc.p, tc.s, got, tc.want)
		}
	}
}

// TestConfigWorktree reads a worktree's config.worktree after the
// repository's config when extensions.worktreeConfig is set, as git
// does: the main worktree's and a linked one's each see their own, as
// git config says.
func TestConfigWorktree(t *testing.T) {
	r := gittest.Init(t, "sha1")
	r.Run("commit", "-q", "--allow-empty", "-m", "c1")
	r.Run("config", "user.name", "Shared")
	wt := filepath.Join(t.TempDir(), "wt")
	r.Run("worktree", "add", "-q", wt)
	if c, err := ReadConfig(filepath.Join(r.Dir, ".git")); err != nil || c.UserName != "Shared" {
		t.Fatalf("before config.worktree: %+v, %v", c, err)
	}
	r.Run("config", "extensions.worktreeConfig", "true")
	r.Run("config", "--worktree", "user.name", "Main")
	r.Run("-C", wt, "config", "--worktree", "user.name", "Linked")
	for _, dir := range []string{r.Dir, wt} {
		want, err := r.RunInput("", "-C", dir, "config", "--get", "user.name")
		if err != nil {
			t.Fatal(err)
		}
		got := open(t, dir, Options{}).Config().UserName
		if got != strings.TrimSpace(want) {
			t.Errorf("%s: user.name %q, git says %q", dir, got, strings.TrimSpace(want))
		}
	}
	if got := open(t, wt, Options{}).Config().UserName; got != "Linked" {
		t.Errorf("the linked worktree's user.name: %q, want Linked", got)
	}
}

// TestConfigParametersParse reads GIT_CONFIG_PARAMETERS in each form git
// writes or once wrote, and refuses what git refuses.
func TestConfigParametersParse(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want [][2]string // nil: an error
	}{
		{"", [][2]string{}},
		{"  ", [][2]string{}},
		{`'user.name'='A B'`, [][2]string{{"user.name", "A B"}}},
		{`'user.name'='A '\''B'\'' '\!'C' 'user.email'=''`, [][2]string{{"user.name", "A 'B' !C"}, {"user.email", ""}}},
		{`'core.logAllRefUpdates'= 'x.y'='1'`, [][2]string{{"core.logAllRefUpdates", "true"}, {"x.y", "1"}}},
		{`'user.name=old style' 'core.x'`, [][2]string{{"user.name", "old style"}, {"core.x", "true"}}},
		{`'a.b'='c=d'`, [][2]string{{"a.b", "c=d"}}},
		{`'a.b'='c`, nil},
		{`a.b=c`, nil},
		{`'a.b'='c'x`, nil},
		{`'a.b''c.d'`, nil},
	} {
		got, err := configParameters(tc.in)
		switch {
		case tc.want == nil && (err == nil || !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "GIT_CONFIG_PARAMETERS")):
			t.Errorf("configParameters(%s) = %q, %v; want ErrConfig naming GIT_CONFIG_PARAMETERS", tc.in, got, err)
		case tc.want != nil && (err != nil || !cmp.Equal(got, tc.want, cmpopts.EquateEmpty())):
			t.Errorf("configParameters(%s) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

// TestConfigParametersAsGit: the settings of "git -c", which git passes
// to a program it runs (an alias, a hook) in GIT_CONFIG_PARAMETERS, are
// read as git reads them: after the files and GIT_CONFIG_COUNT, so that
// they win; quotes and "!" in values kept; an invalid value named.
func TestConfigParametersAsGit(t *testing.T) {
	r := gittest.Init(t, "sha1")
	r.Run("config", "core.logAllRefUpdates", "false") // "git -c core.logAllRefUpdates" says true
	t.Setenv("GIT_CONFIG_COUNT", "1")
	t.Setenv("GIT_CONFIG_KEY_0", "user.email")
	t.Setenv("GIT_CONFIG_VALUE_0", "count@example.com")
	r.Env = append(r.Env, "GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=user.email", "GIT_CONFIG_VALUE_0=count@example.com")
	// What git hands an alias it runs.
	params := strings.TrimSuffix(r.Run("-c", "alias.params=!printenv GIT_CONFIG_PARAMETERS",
		"-c", "user.name=A 'B' !C", "-c", "User.Email=cli@example.com", "-c", "core.logAllRefUpdates", "-c", "reftable.blockSize=8k", "params"), "\n")
	if !strings.Contains(params, `'\''`) || !strings.Contains(params, `'\!'`) {
		t.Fatalf("git passed %s, without the quoting this test is for", params)
	}
	t.Setenv("GIT_CONFIG_PARAMETERS", params)
	r.Env = append(r.Env, "GIT_CONFIG_PARAMETERS="+params)
	c, err := ReadConfig(filepath.Join(r.Dir, ".git"))
	if err != nil {
		t.Fatal(err)
	}
	for key, got := range map[string]string{"user.name": c.UserName, "user.email": c.UserEmail} {
		if want := strings.TrimSpace(r.Run("config", "--get", key)); got != want {
			t.Errorf("%s = %q, git says %q", key, got, want)
		}
	}
	if c.UserName != "A 'B' !C" || c.UserEmail != "cli@example.com" || c.LogAllRefUpdates != stack.ReflogNormal || c.BlockSize != 8192 {
		t.Errorf("read %q <%s>, reflog policy %v, block size %d; want git -c's A 'B' !C <cli@example.com>, normal (true), 8192",
			c.UserName, c.UserEmail, c.LogAllRefUpdates, c.BlockSize)
	}

	t.Setenv("GIT_CONFIG_PARAMETERS", params+" 'reftable.blockSize'='huge'")
	if _, err := ReadConfig(filepath.Join(r.Dir, ".git")); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "GIT_CONFIG_PARAMETERS") {
		t.Errorf("an invalid git -c setting: %v, want ErrConfig naming GIT_CONFIG_PARAMETERS", err)
	}
}
