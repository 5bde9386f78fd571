package gogit

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	formatcfg "github.com/go-git/go-git/v5/plumbing/format/config"
)

// userConfig is a config as a user might have it: settings go-git knows,
// settings it does not, subsections, an include, odd spacing and case.
func userConfig(format string) string {
	return `[core]
	repositoryformatversion = 1
	filemode = true
	bare = true
	logAllRefUpdates = true
[extensions]
	refStorage = reftable
	objectFormat = ` + format + `
[reftable]
	blockSize = 8k
	lockTimeout = 1500
[remote "origin"]
	url = https://example.com/repo.git
	fetch = +refs/heads/*:refs/remotes/origin/*
[alias]
	st = status --short
[include]
	path = extra.config
[user]
	name = A U Thor
`
}

// options returns "section.subsection.key=value" for every option of the
// config file at path, keys lowercased, in order.
func options(t *testing.T, path string) []string {
	t.Helper()
	cfg, err := readConfigFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	add := func(prefix string, opts formatcfg.Options) {
		for _, o := range opts {
			out = append(out, strings.ToLower(prefix+o.Key)+"="+o.Value)
		}
	}
	for _, s := range cfg.Sections {
		add(s.Name+".", s.Options)
		for _, sub := range s.Subsections {
			add(s.Name+"."+sub.Name+".", sub.Options)
		}
	}
	return out
}

func TestConfigHidesExtensions(t *testing.T) {
	dir := newEmptyRepo(t, t.TempDir())
	writeFiles(t, dir, map[string]string{"config": userConfig(formatOfBuild())})
	st, err := OpenStorage(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cfg, err := st.Config()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Raw.HasSection("extensions") && len(cfg.Raw.Section("extensions").Options) > 0 {
		t.Errorf("go-git sees extensions %v", cfg.Raw.Section("extensions").Options)
	}
	if string(cfg.Extensions.ObjectFormat) != formatOfBuild() {
		t.Errorf("Extensions.ObjectFormat = %q", cfg.Extensions.ObjectFormat)
	}
	// go-git accepts the repository.
	setRef(t, st, symRef("HEAD", "refs/heads/main"))
	if _, err := git.Open(st, nil); err != nil {
		t.Fatalf("git.Open: %v", err)
	}
}

func TestSetConfigKeepsExtensions(t *testing.T) {
	dir := newEmptyRepo(t, t.TempDir())
	path := filepath.Join(dir, "config")
	writeFiles(t, dir, map[string]string{"config": userConfig(formatOfBuild())})
	before := options(t, path)
	st, err := OpenStorage(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()

	// A change go-git makes: a new remote. Everything else stays.
	cfg, err := st.Config()
	if err != nil {
		t.Fatal(err)
	}
	cfg.Remotes["other"] = &config.RemoteConfig{Name: "other", URLs: []string{"/srv/other.git"}}
	if err := st.SetConfig(cfg); err != nil {
		t.Fatal(err)
	}
	after := options(t, path)
	added := []string{"remote.other.url=/srv/other.git", "remote.other.fetch=+refs/heads/*:refs/remotes/other/*"}
	for _, o := range append(before, added...) {
		if !contains(after, o) {
			t.Errorf("config lost %s:\n%s", o, readFile(t, path))
		}
	}
	for _, o := range after {
		if !contains(before, o) && !contains(added, o) {
			t.Errorf("config gained %s:\n%s", o, readFile(t, path))
		}
	}
	if cfg.Raw.HasSection("extensions") && len(cfg.Raw.Section("extensions").Options) > 0 {
		t.Errorf("the caller's config now shows extensions %v", cfg.Raw.Section("extensions").Options)
	}
	if _, err := os.Stat(path + ".lock"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("config.lock left behind: %v", err)
	}
}

func TestSetConfigOfNewConfig(t *testing.T) {
	// A config made from nothing, as go-git's storage suite makes one:
	// no format version, no extensions. The repository stays reftable.
	st := openEmpty(t)
	if err := st.SetConfig(config.NewConfig()); err != nil {
		t.Fatal(err)
	}
	got := options(t, filepath.Join(st.info.commonDir, "config"))
	for _, want := range []string{"core.repositoryformatversion=1", "extensions.refstorage=reftable"} {
		if !contains(got, want) {
			t.Errorf("config lacks %s: %q", want, got)
		}
	}
	for _, o := range got {
		if strings.HasPrefix(o, "extensions.objectformat=") && o != "extensions.objectformat="+formatOfBuild() {
			t.Errorf("config has %s", o)
		}
	}
	if _, err := OpenStorage(st.info.gitDir, Options{}); err != nil {
		t.Errorf("reopening: %v", err)
	}
}

func TestSetConfigLocked(t *testing.T) {
	st := openEmpty(t)
	path := filepath.Join(st.info.commonDir, "config")
	before := readFile(t, path)
	writeFiles(t, st.info.commonDir, map[string]string{"config.lock": ""})
	cfg, err := st.Config()
	if err != nil {
		t.Fatal(err)
	}
	cfg.Core.IsBare = false
	if err := st.SetConfig(cfg); !errors.Is(err, errConfigLocked) {
		t.Errorf("SetConfig with config.lock held: %v", err)
	}
	if readFile(t, path) != before {
		t.Errorf("config changed under another writer's lock")
	}
	if _, err := os.Stat(path + ".lock"); err != nil {
		t.Errorf("the other writer's lock was removed: %v", err)
	}
}

func TestConfigThroughRepository(t *testing.T) {
	// What go-git does when a user adds a branch or a remote: the
	// repository must stay one git opens as reftable.
	st := openEmpty(t)
	setRef(t, st, symRef("HEAD", "refs/heads/main"))
	setRef(t, st, hashRef("refs/heads/main", makeCommit(t, st, "one")))
	r, err := git.Open(st, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.CreateBranch(&config.Branch{Name: "topic", Remote: "origin", Merge: plumbing.Main}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.CreateRemote(&config.RemoteConfig{Name: "origin", URLs: []string{"/srv/repo.git"}}); err != nil {
		t.Fatal(err)
	}
	got := options(t, filepath.Join(st.info.commonDir, "config"))
	for _, want := range []string{"extensions.refstorage=reftable", "core.repositoryformatversion=1", "branch.topic.merge=refs/heads/main", "remote.origin.url=/srv/repo.git"} {
		if !contains(got, want) {
			t.Errorf("config lacks %s: %q", want, got)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
