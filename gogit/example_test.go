//go:build !sha256

// The example's repository is SHA-1, which a -tags sha256 build of
// go-git refuses.

package gogit_test

import (
	"fmt"
	"io"
	"log"
	"strings"

	git "github.com/go-git/go-git/v5"

	"github.com/refstore/refstore/gogit"
)

// Example prints the last three commits of a repository git 2.55 made
// with --ref-format=reftable, as git log --oneline -3 does. (The
// repository is committed under testdata, so the example needs no git;
// TestExampleRepository checks it against git and -rewrite remakes it.)
func Example() {
	repo, err := gogit.Open("testdata/example.git") // instead of git.PlainOpen
	if err != nil {
		log.Fatal(err)
	}
	defer repo.Storer.(io.Closer).Close() // the stacks' open files
	head, err := repo.Head()
	if err != nil {
		log.Fatal(err)
	}
	commits, err := repo.Log(&git.LogOptions{From: head.Hash()})
	if err != nil {
		log.Fatal(err)
	}
	for range 3 {
		c, err := commits.Next()
		if err != nil {
			log.Fatal(err)
		}
		subject, _, _ := strings.Cut(c.Message, "\n")
		fmt.Println(c.Hash.String()[:7], subject)
	}
	// Output:
	// 032c898 Fix the description
	// 67cf66b Add a changelog
	// 5099217 Describe the project
}
