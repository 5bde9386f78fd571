package repo

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/refstore/refstore/internal/testutil/gittest"
	"github.com/refstore/refstore/stack"
)

// ctx is the context of the tests' calls.
var ctx = context.Background()

var testWho = stack.Identity{Name: "A U Thor", Email: "author@example.com", Time: time.Unix(1700000000, 0).UTC()}

// oid returns a SHA-1 object id encoding i.
func oid(i int) []byte {
	id := make([]byte, 20)
	id[0], id[1], id[19] = byte(i>>8), byte(i), 1
	return id
}

func writeFile(t testing.TB, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o666); err != nil {
		t.Fatal(err)
	}
}

// newRepo makes a reftable repository in a new directory, laid out as
// git init --ref-format=reftable lays it out (no objects), with cfg
// appended to its config, and returns its working tree.
func newRepo(t testing.TB, cfg string) string {
	t.Helper()
	wt := t.TempDir()
	git := filepath.Join(wt, ".git")
	for _, d := range []string{"objects", "refs/heads"} {
		if err := os.MkdirAll(filepath.Join(git, d), 0o777); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(git, "config"), "[core]\n\trepositoryformatversion = 1\n\tbare = false\n[extensions]\n\trefStorage = reftable\n"+cfg)
	writeFile(t, filepath.Join(git, "HEAD"), "ref: refs/heads/.invalid\n")
	writeFile(t, filepath.Join(git, "reftable", "tables.list"), "")
	return wt
}

// addWorktree links the worktree id to the repository whose working tree
// is main, as git worktree add does (checking nothing out), and returns
// its working tree.
func addWorktree(t testing.TB, main, id string) string {
	t.Helper()
	wtGit := filepath.Join(main, ".git", "worktrees", id)
	writeFile(t, filepath.Join(wtGit, "reftable", "tables.list"), "")
	writeFile(t, filepath.Join(wtGit, "commondir"), "../..\n")
	writeFile(t, filepath.Join(wtGit, "HEAD"), "ref: refs/heads/.invalid\n")
	wt := t.TempDir()
	writeFile(t, filepath.Join(wt, ".git"), "gitdir: "+wtGit+"\n")
	writeFile(t, filepath.Join(wtGit, "gitdir"), filepath.Join(wt, ".git")+"\n")
	return wt
}

// open opens the repository at path, closed at the end of the test.
func open(t testing.TB, path string, opts Options) *Repository {
	t.Helper()
	r, err := Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// commit commits updates in r.
func commit(t testing.TB, r *Repository, updates ...stack.Update) {
	t.Helper()
	tx := r.NewTransaction(testWho)
	tx.Add(updates...)
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
}

// set returns the update setting name to oid(i), with a message.
func set(name string, i int) stack.Update {
	return stack.Update{Ref: stack.Ref{Name: name, ID: oid(i)}, Message: "set " + name}
}

// symref returns the update making name a symbolic ref to target.
func symref(name, target string) stack.Update {
	return stack.Update{Ref: stack.Ref{Name: name, Target: target}, Message: "symref " + name}
}

// stackUpdate returns the update setting name to id.
func stackUpdate(name string, id []byte) stack.Update {
	return stack.Update{Ref: stack.Ref{Name: name, ID: id}, Message: "set " + name}
}

// TestMain runs the tests without the machine's system and user git
// config (see Config).
func TestMain(m *testing.M) {
	gittest.IsolateConfig()
	os.Exit(m.Run())
}
