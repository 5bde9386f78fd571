package stack_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"os/signal"
	"time"

	"github.com/refstore/refstore/reftable"
	"github.com/refstore/refstore/stack"
)

var who = stack.Identity{Name: "A U Thor", Email: "author@example.com", Time: time.Unix(1700000000, 0).UTC()}

// id returns an object id, as a commit would have it.
func id(b byte) []byte {
	id := make([]byte, 20)
	id[19] = b
	return id
}

// Open a stack directory, change refs with a compare-and-swap, and read
// them back.
func Example() {
	dir, err := os.MkdirTemp("", "stack-example") // .git/reftable of a repository
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()

	st, err := stack.Open(dir, stack.Options{}) // zero value: git's defaults
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()

	tx := st.NewTransaction(who, stack.ReflogNormal)
	tx.Add(
		stack.Update{Ref: stack.Ref{Name: "refs/heads/main", ID: id(1)}, Old: &stack.Ref{}, Message: "commit (initial): first"},
		stack.Update{Ref: stack.Ref{Name: "HEAD", Target: "refs/heads/main"}},
	)
	if err := tx.Commit(ctx); err != nil {
		log.Fatal(err)
	}

	// Another writer moved main meanwhile: the compare-and-swap fails.
	tx = st.NewTransaction(who, stack.ReflogNormal)
	tx.Add(stack.Update{Ref: stack.Ref{Name: "refs/heads/main", ID: id(3)}, Old: &stack.Ref{ID: id(2)}, Message: "commit: third"})
	var conflict *stack.RefConflictError
	if err := tx.Commit(ctx); errors.As(err, &conflict) {
		fmt.Println("conflict:", err)
	}

	head, err := st.Ref(ctx, "HEAD")
	if err != nil {
		log.Fatal(err)
	}
	main, via, err := st.Resolve(ctx, "HEAD")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(head)
	fmt.Println(via, "->", main)
	// Output:
	// conflict: ref refs/heads/main: expected 0000000000000000000000000000000000000002, found 0000000000000000000000000000000000000001
	// HEAD ref: refs/heads/main
	// [HEAD] -> refs/heads/main 0000000000000000000000000000000000000001
}

// Iterate refs by prefix, and a ref's reflog, newest first.
func ExampleStack_Refs() {
	dir, err := os.MkdirTemp("", "stack-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()
	st, err := stack.Open(dir, stack.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()
	for i, msg := range []string{"branch: Created from HEAD", "commit: second"} {
		tx := st.NewTransaction(who, stack.ReflogNormal)
		tx.Add(stack.Update{Ref: stack.Ref{Name: "refs/heads/topic", ID: id(byte(i + 1))}, Message: msg})
		tx.Add(stack.Update{Ref: stack.Ref{Name: "refs/tags/v1." + fmt.Sprint(i), ID: id(9), Peeled: id(byte(i + 1))}})
		if err := tx.Commit(ctx); err != nil {
			log.Fatal(err)
		}
	}

	for r, err := range st.Refs(ctx, "refs/") {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(r)
	}
	for l, err := range st.Reflog(ctx, "refs/heads/topic") {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%x -> %x %s", l.Old[19:], l.New[19:], l.Message)
	}
	// Output:
	// refs/heads/topic 0000000000000000000000000000000000000002
	// refs/tags/v1.0 0000000000000000000000000000000000000009 0000000000000000000000000000000000000001
	// refs/tags/v1.1 0000000000000000000000000000000000000009 0000000000000000000000000000000000000002
	// 01 -> 02 commit: second
	// 00 -> 01 branch: Created from HEAD
}

// Write a table of records as they are, as an importer does: refs at
// the table's first update index, each reflog entry at its own.
func ExampleStack_AddTable() {
	dir, err := os.MkdirTemp("", "stack-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()
	st, err := stack.Open(dir, stack.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()

	err = st.AddTable(ctx, func(w *reftable.Writer) error {
		first, _ := w.Limits() // the stack's next update index
		if err := w.SetLimits(first, first+1); err != nil {
			return err
		}
		main := stack.Ref{Name: "refs/heads/main", ID: id(2)}.Record(first)
		if err := w.AddRef(&main); err != nil {
			return err
		}
		// Log records of a ref, newest first.
		for i, l := range []reftable.LogRecord{
			{Old: id(1), New: id(2), Message: []byte("commit: second\n")},
			{Old: id(0), New: id(1), Message: []byte("commit (initial): first\n")},
		} {
			l.RefName, l.UpdateIndex, l.Type = []byte("refs/heads/main"), first+1-uint64(i), reftable.LogUpdate
			l.Name, l.Email, l.Time = []byte(who.Name), []byte(who.Email), uint64(who.Time.Unix())
			if err := w.AddLog(&l); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
	r, err := st.Ref(ctx, "refs/heads/main")
	if err != nil {
		log.Fatal(err)
	}
	n := 0
	for range st.Reflog(ctx, "refs/heads/main") {
		n++
	}
	fmt.Println(r, "update index", r.UpdateIndex, "reflog entries", n)
	// Output:
	// refs/heads/main 0000000000000000000000000000000000000002 update index 1 reflog entries 2
}

// A program that writes removes its lock files and temporary tables when
// it is interrupted, as git does: one Cleanup for every stack it opens,
// emptied by its signal handler.
func ExampleCleanup() {
	held := stack.NewCleanup()
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt)
	defer signal.Stop(sigs)
	go func() {
		<-sigs
		held.Remove() // the locks and temporary tables of every stack
		os.Exit(130)
	}()

	dir, err := os.MkdirTemp("", "stack-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	st, err := stack.Open(dir, stack.Options{Cleanup: held})
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()
	tx := st.NewTransaction(who, stack.ReflogNormal)
	tx.Add(stack.Update{Ref: stack.Ref{Name: "refs/heads/main", ID: id(1)}})
	fmt.Println(tx.Commit(context.Background()))
	// Output:
	// <nil>
}
