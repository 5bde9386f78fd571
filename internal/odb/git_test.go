package odb

import (
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/refstore/refstore/internal/testutil/gittest"
	"github.com/refstore/refstore/vfs"
)

// gitObjects lists every object git sees in the repository, with its
// type, and the number of deltas among them.
func gitObjects(t *testing.T, r *gittest.Repo) (map[string]string, int) {
	t.Helper()
	out := r.Run("cat-file", "--batch-all-objects", "--batch-check=%(objectname) %(objecttype) %(deltabase)")
	objs := map[string]string{}
	deltas := 0
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(line)
		objs[f[0]] = f[1]
		if strings.Trim(f[2], "0") != "" {
			deltas++
		}
	}
	return objs, deltas
}

// checkAgainstGit checks that the database of dir finds every object git
// lists, with git's type, and no made-up one.
func checkAgainstGit(t *testing.T, r *gittest.Repo, dir string, hashSize int, minDeltas int) {
	t.Helper()
	objs, deltas := gitObjects(t, r)
	if deltas < minDeltas {
		t.Fatalf("git lists %d deltas, want at least %d", deltas, minDeltas)
	}
	db, err := Open(vfs.OS, dir, hashSize)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for name, typ := range objs {
		id, _ := hex.DecodeString(name)
		got, err := db.Type(id)
		if err != nil || got.String() != typ {
			t.Errorf("%s: Type = %v, %v; git says %s", name, got, err, typ)
		}
		if has, err := db.Has(id); !has || err != nil {
			t.Errorf("%s: Has = %v, %v", name, has, err)
		}
	}
	for i := range 100 {
		id := testID(hashSize, fmt.Sprint("not there ", i))
		if _, err := db.Type(id); !errors.Is(err, ErrNotFound) {
			t.Errorf("%x: %v, want ErrNotFound", id, err)
		}
	}
}

// TestGit reads repositories real git wrote, SHA-1 and SHA-256: loose
// objects; packed with deltas by offset, then by id; with a version 1
// index (SHA-1), with 64-bit offsets; and a clone borrowing them through
// alternates with loose objects of its own.
func TestGit(t *testing.T) {
	for _, format := range []string{"sha1", "sha256"} {
		t.Run(format, func(t *testing.T) {
			hs := 20
			if format == "sha256" {
				hs = 32
			}
			r := gittest.Init(t, format)
			// Files alike enough to be stored as deltas of each other.
			text := strings.Repeat("a line of text that repeats\n", 200)
			for i := range 12 {
				os.WriteFile(filepath.Join(r.Dir, "f"), []byte(fmt.Sprintf("%s%d\n", text, i)), 0o666)
				r.Run("add", "f")
				r.Run("commit", "-q", "-m", fmt.Sprint("c", i))
			}
			r.Run("tag", "-a", "-m", "a tag", "v1")
			objects := filepath.Join(r.Dir, ".git", "objects")
			t.Run("loose", func(t *testing.T) { checkAgainstGit(t, r, objects, hs, 0) })

			r.Run("repack", "-a", "-d", "-f", "-q", "--window=20", "--depth=20")
			t.Run("ofs-delta", func(t *testing.T) { checkAgainstGit(t, r, objects, hs, 10) })

			r.Run("-c", "repack.useDeltaBaseOffset=false", "repack", "-a", "-d", "-f", "-q", "--window=20", "--depth=20")
			t.Run("ref-delta", func(t *testing.T) { checkAgainstGit(t, r, objects, hs, 10) })

			packs, _ := filepath.Glob(filepath.Join(objects, "pack", "*.pack"))
			if len(packs) != 1 {
				t.Fatalf("%d packs", len(packs))
			}
			idx := strings.TrimSuffix(packs[0], ".pack") + ".idx"
			versions := []string{"2,12"} // every offset but the first 64-bit
			if format == "sha1" {
				versions = append(versions, "1")
			}
			for _, v := range versions {
				os.Remove(idx)
				r.Run("index-pack", "--index-version="+v, "-o", idx, packs[0])
				t.Run("index-"+v, func(t *testing.T) { checkAgainstGit(t, r, objects, hs, 10) })
			}

			c := *r // the same git and environment
			clone := &c
			clone.Dir = filepath.Join(t.TempDir(), "clone")
			r.Run("clone", "-q", "--shared", r.Dir, clone.Dir)
			clone.Run("commit", "-q", "--allow-empty", "-m", "in the clone")
			if data, err := os.ReadFile(filepath.Join(clone.Dir, ".git", "objects", "info", "alternates")); err != nil || !strings.Contains(string(data), objects) {
				t.Fatalf("the clone's alternates: %q, %v", data, err)
			}
			t.Run("alternates", func(t *testing.T) { checkAgainstGit(t, clone, filepath.Join(clone.Dir, ".git", "objects"), hs, 10) })
		})
	}
}
