package repo_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/refstore/refstore/repo"
	"github.com/refstore/refstore/stack"
)

// gitInit lays out a new repository in dir as git init
// --ref-format=reftable does (without objects: a Repository reads and
// writes refs only), with a subdirectory src in its working tree.
func gitInit(dir string) {
	for name, data := range map[string]string{
		".git/config":               "[core]\n\trepositoryformatversion = 1\n\tbare = false\n[extensions]\n\trefStorage = reftable\n",
		".git/HEAD":                 "ref: refs/heads/.invalid\n",
		".git/refs/heads":           "",
		".git/reftable/tables.list": "",
		"src/main.go":               "package main\n",
	} {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o777); err != nil {
			log.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(data), 0o666); err != nil {
			log.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, ".git", "objects"), 0o777); err != nil {
		log.Fatal(err)
	}
}

// id returns an object id, as a commit would have it.
func id(b byte) []byte {
	id := make([]byte, 20)
	id[19] = b
	return id
}

var who = stack.Identity{Name: "A U Thor", Email: "author@example.com", Time: time.Unix(1700000000, 0).UTC()}

// Open a repository from a directory of its working tree, commit a
// branch and point HEAD at it, then read HEAD as git does.
func Example() {
	dir, err := os.MkdirTemp("", "repo-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	gitInit(dir)
	ctx := context.Background()

	r, err := repo.Open(filepath.Join(dir, "src"), repo.Options{}) // found above, as git finds it
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()

	tx := r.NewTransaction(who)
	tx.Add(
		stack.Update{Ref: stack.Ref{Name: "refs/heads/main", ID: id(1)}, Old: &stack.Ref{}, Message: "commit (initial): first"},
		stack.Update{Ref: stack.Ref{Name: "HEAD", Target: "refs/heads/main"}},
	)
	if err := tx.Commit(ctx); err != nil {
		log.Fatal(err) // a *stack.RefConflictError if refs/heads/main existed
	}

	head, via, err := r.Resolve(ctx, "HEAD")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(via, "->", head)
	// Output:
	// [HEAD] -> refs/heads/main 0000000000000000000000000000000000000001
}

// Move a branch through HEAD with a compare-and-swap, and read the
// reflogs git would show: the branch's, and HEAD's, which logs the
// change of the branch it points at.
func ExampleRepository_Reflog() {
	dir, err := os.MkdirTemp("", "repo-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	gitInit(dir)
	ctx := context.Background()
	r, err := repo.Open(dir, repo.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()
	tx := r.NewTransaction(who)
	tx.Add(stack.Update{Ref: stack.Ref{Name: "refs/heads/main", ID: id(1)}, Message: "commit (initial): first"})
	tx.Add(stack.Update{Ref: stack.Ref{Name: "HEAD", Target: "refs/heads/main"}})
	if err := tx.Commit(ctx); err != nil {
		log.Fatal(err)
	}

	tx = r.NewTransaction(who)
	tx.Add(stack.Update{Ref: stack.Ref{Name: "HEAD", ID: id(2)}, Deref: true, Old: &stack.Ref{ID: id(1)}, Message: "commit: second"})
	if err := tx.Commit(ctx); err != nil {
		log.Fatal(err)
	}
	for _, name := range []string{"refs/heads/main", "HEAD"} {
		for l, err := range r.Reflog(ctx, name) {
			if err != nil {
				log.Fatal(err)
			}
			fmt.Printf("%s %x..%x %s", name, l.Old[19:], l.New[19:], l.Message)
		}
	}
	// Output:
	// refs/heads/main 01..02 commit: second
	// refs/heads/main 00..01 commit (initial): first
	// HEAD 01..02 commit: second
}

// List branches and tags, the way git for-each-ref does.
func ExampleRepository_Refs() {
	dir, err := os.MkdirTemp("", "repo-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	gitInit(dir)
	ctx := context.Background()
	r, err := repo.Open(dir, repo.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()
	tx := r.NewTransaction(who)
	tx.Add(
		stack.Update{Ref: stack.Ref{Name: "refs/heads/main", ID: id(1)}},
		stack.Update{Ref: stack.Ref{Name: "refs/heads/topic", ID: id(2)}},
		stack.Update{Ref: stack.Ref{Name: "refs/tags/v1.0", ID: id(3), Peeled: id(1)}},
	)
	if err := tx.Commit(ctx); err != nil {
		log.Fatal(err)
	}

	for ref, err := range r.Refs(ctx, "refs/") {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(ref)
	}
	// Output:
	// refs/heads/main 0000000000000000000000000000000000000001
	// refs/heads/topic 0000000000000000000000000000000000000002
	// refs/tags/v1.0 0000000000000000000000000000000000000003 0000000000000000000000000000000000000001
}

// Read several refs from one moment of the repository: a Snapshot.
func ExampleRepository_Snapshot() {
	dir, err := os.MkdirTemp("", "repo-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	gitInit(dir)
	ctx := context.Background()
	r, err := repo.Open(dir, repo.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()
	tx := r.NewTransaction(who)
	tx.Add(stack.Update{Ref: stack.Ref{Name: "refs/heads/main", ID: id(1)}}, stack.Update{Ref: stack.Ref{Name: "HEAD", Target: "refs/heads/main"}})
	if err := tx.Commit(ctx); err != nil {
		log.Fatal(err)
	}

	s, err := r.Snapshot(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	head, err := s.Ref("HEAD")
	if err != nil {
		log.Fatal(err)
	}
	branch, _, err := s.Resolve(head.Target)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(head)
	fmt.Println(branch, "missing:", branch.Missing())
	// Output:
	// HEAD ref: refs/heads/main
	// refs/heads/main 0000000000000000000000000000000000000001 missing: false
}
