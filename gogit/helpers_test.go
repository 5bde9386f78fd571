package gogit

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// newEmptyRepo lays out an empty bare reftable repository in dir, as git
// init --bare --ref-format=reftable does but without HEAD's table (go-git's
// storage suite expects a storage without refs), in the object format of
// this build, logging ref updates as a non-bare repository does.
func newEmptyRepo(t testing.TB, dir string) string {
	t.Helper()
	for _, d := range []string{"objects/info", "objects/pack", "reftable", "refs"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o777); err != nil {
			t.Fatal(err)
		}
	}
	ext := "[extensions]\n\trefstorage = reftable\n"
	if formatOfBuild() == "sha256" {
		ext += "\tobjectformat = sha256\n"
	}
	writeFiles(t, dir, map[string]string{
		"HEAD":                 "ref: refs/heads/.invalid\n",
		"config":               "[core]\n\trepositoryformatversion = 1\n\tfilemode = true\n\tbare = true\n\tlogallrefupdates = true\n" + ext,
		"reftable/tables.list": "",
	})
	return dir
}

// writeFiles writes files (relative names to contents) under dir.
func writeFiles(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, data := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o777); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(data), 0o666); err != nil {
			t.Fatal(err)
		}
	}
}

// openEmpty opens the storage of a new empty repository, closed at the
// end of the test.
func openEmpty(t testing.TB) *Storage {
	t.Helper()
	st, err := OpenStorage(newEmptyRepo(t, t.TempDir()), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// commitTime advances for every commit makeCommit writes, so that
// commits of the same tree and parents differ.
var commitTime = time.Unix(1700000000, 0).UTC()

// makeCommit stores a commit of the empty tree with the given parents and
// message and returns its id.
func makeCommit(t testing.TB, st *Storage, msg string, parents ...plumbing.Hash) plumbing.Hash {
	t.Helper()
	tree := st.NewEncodedObject()
	tree.SetType(plumbing.TreeObject)
	treeID, err := st.SetEncodedObject(tree)
	if err != nil {
		t.Fatal(err)
	}
	commitTime = commitTime.Add(time.Minute)
	sig := object.Signature{Name: "A U Thor", Email: "author@example.com", When: commitTime}
	c := &object.Commit{Author: sig, Committer: sig, Message: msg, TreeHash: treeID, ParentHashes: parents}
	o := st.NewEncodedObject()
	if err := c.Encode(o); err != nil {
		t.Fatal(err)
	}
	id, err := st.SetEncodedObject(o)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// setRef stores ref and fails the test on error.
func setRef(t testing.TB, st *Storage, ref *plumbing.Reference) {
	t.Helper()
	if err := st.SetReference(ref); err != nil {
		t.Fatalf("SetReference(%v): %v", ref, err)
	}
}

// hashRef and symRef make references.
func hashRef(name string, h plumbing.Hash) *plumbing.Reference {
	return plumbing.NewHashReference(plumbing.ReferenceName(name), h)
}

func symRef(name, target string) *plumbing.Reference {
	return plumbing.NewSymbolicReference(plumbing.ReferenceName(name), plumbing.ReferenceName(target))
}

// lastLog returns the newest reflog entry of name ("" message and zero
// entry if none).
func lastLog(t testing.TB, st *Storage, name string) logEntry {
	t.Helper()
	logs, err := st.refs.reflog(name)
	if err != nil {
		t.Fatal(err)
	}
	if len(logs) == 0 {
		return logEntry{}
	}
	return logs[0]
}

// setIdentity makes the environment name the committer of reflog
// entries, at a fixed time.
func setIdentity(t *testing.T) {
	t.Setenv("GIT_COMMITTER_NAME", "C O Mitter")
	t.Setenv("GIT_COMMITTER_EMAIL", "committer@example.com")
	t.Setenv("GIT_COMMITTER_DATE", "1700000000 +0100")
}

// makeTag stores an annotated tag of target and returns its id.
func makeTag(t testing.TB, st *Storage, name string, target plumbing.Hash, typ plumbing.ObjectType) plumbing.Hash {
	t.Helper()
	commitTime = commitTime.Add(time.Minute)
	tag := &object.Tag{
		Name: name, Target: target, TargetType: typ, Message: name + "\n",
		Tagger: object.Signature{Name: "T Agger", Email: "tagger@example.com", When: commitTime},
	}
	o := st.NewEncodedObject()
	if err := tag.Encode(o); err != nil {
		t.Fatal(err)
	}
	id, err := st.SetEncodedObject(o)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// tablesIn counts the tables listed in the stack of gitDir.
func tablesIn(t testing.TB, gitDir string) int {
	t.Helper()
	return len(strings.Fields(readFile(t, filepath.Join(gitDir, "reftable", "tables.list"))))
}

// readFile returns the contents of path.
func readFile(t testing.TB, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
