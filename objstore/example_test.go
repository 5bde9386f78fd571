package objstore_test

import (
	"context"
	"fmt"
	"time"

	"github.com/refstore/refstore/objstore"
	"github.com/refstore/refstore/stack"
)

func Example() {
	ctx := context.Background()
	store := objstore.NewMem() // or an S3 bucket
	b, err := objstore.NewBackend(ctx, store, objstore.Options{Prefix: "repo.git/reftable/"})
	if err != nil {
		fmt.Println(err) // the store failed the probe
		return
	}
	st, err := stack.OpenBackend(ctx, b, "mem:repo.git", stack.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer st.Close()

	id := make([]byte, 20)
	id[19] = 1
	tx := st.NewTransaction(stack.Identity{Name: "A U Thor", Email: "a@example.com", Time: time.Unix(1700000000, 0)}, stack.ReflogNormal)
	tx.Add(stack.Update{Ref: stack.Ref{Name: "refs/heads/main", ID: id}, Old: &stack.Ref{}, Message: "branch: Created"})
	if err := tx.Commit(ctx); err != nil {
		fmt.Println(err) // a *stack.RefConflictError if refs/heads/main exists
		return
	}
	r, _ := st.Ref(ctx, "refs/heads/main")
	fmt.Printf("%s %x\n", r.Name, r.ID)
	objs, _ := store.List(ctx, "repo.git/reftable/")
	fmt.Println(len(objs), "objects: the probe's marker, tables.list and one table")
	// Output:
	// refs/heads/main 0000000000000000000000000000000000000001
	// 3 objects: the probe's marker, tables.list and one table
}
