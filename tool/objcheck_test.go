package tool

import (
	"bytes"
	"compress/zlib"
	"crypto/sha1"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/refstore/refstore/reftable"
)

// writeLooseObject stores an object of type typ holding body in the
// objects directory dir and returns its SHA-1 id.
func writeLooseObject(t *testing.T, dir, typ, body string) []byte {
	t.Helper()
	data := fmt.Sprintf("%s %d\x00%s", typ, len(body), body)
	id := sha1.Sum([]byte(data))
	var z bytes.Buffer
	w := zlib.NewWriter(&z)
	w.Write([]byte(data))
	w.Close()
	path := filepath.Join(dir, fmt.Sprintf("%x/%x", id[:1], id[1:]))
	if err := os.MkdirAll(filepath.Dir(path), 0o777); err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, z.String())
	return id[:]
}

// TestObjectCheck checks git's rules (every id exists, a branch gets a
// commit) on ids met again after many others, which the check forgets.
func TestObjectCheck(t *testing.T) {
	dir := t.TempDir()
	commit := writeLooseObject(t, dir, "commit", "tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n\nc\n")
	blob := writeLooseObject(t, dir, "blob", "b\n")
	c := &objectCheck{dir: dir, hash: reftable.SHA1}
	defer c.close()
	check := func(name string, id []byte, want string) {
		t.Helper()
		err := c.check(name, id)
		if want == "" && err != nil || want != "" && (err == nil || !strings.Contains(err.Error(), want)) {
			t.Errorf("check(%s, %x): %v; want %q", name, id, err, want)
		}
	}
	for round := range 2 {
		check("refs/tags/b", blob, "")
		check("refs/heads/b", blob, "non-commit")
		check("HEAD", blob, "non-commit")
		check("refs/heads/c", commit, "")
		check("refs/tags/c", commit, "")
		for i := range maxSeen + 10 {
			id := sha1.Sum(fmt.Appendf(nil, "%d %d", round, i))
			check("refs/tags/x", id[:], "nonexistent object")
		}
		if len(c.seen) > maxSeen {
			t.Errorf("%d ids remembered, more than %d", len(c.seen), maxSeen)
		}
	}
}
