//go:build unix

package tool

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/refstore/refstore/internal/testutil/gittest"
)

// TestSharedRepository: under a umask that keeps files private, update
// gives the tables and tables.list it writes the modes git gives them for
// each core.sharedRepository value, so that the other users of a shared
// repository can read (and with git write) them; a value git refuses
// fails the update as it fails git.
func TestSharedRepository(t *testing.T) {
	old := syscall.Umask(0o077)
	defer syscall.Umask(old)
	for _, shared := range []string{"", "umask", "false", "group", "true", "all", "world", "2", "0640", "0600", "0660", "0400"} {
		t.Run("shared="+shared, func(t *testing.T) {
			a := gittest.Init(t, "sha1")
			a.Run("commit", "-q", "--allow-empty", "-m", "c1")
			oid := strings.TrimSpace(a.Run("rev-parse", "HEAD"))
			if shared != "" {
				a.Run("config", "core.sharedRepository", shared)
			}
			before, err := os.ReadDir(a.ReftableDir())
			if err != nil {
				t.Fatal(err)
			}
			b := filepath.Join(t.TempDir(), "ours")
			copyTree(t, a.Dir, b)
			cmds := fmt.Sprintf("create refs/heads/x %s\ncreate refs/tags/y %s\n", oid, oid)
			_, gitErr := a.RunInput(cmds, "update-ref", "--stdin")
			r := runTool(t, cmds, "update", b)
			if gitErr != nil {
				if !strings.Contains(gitErr.Error(), "core.sharedRepository") {
					t.Fatalf("git update-ref: %v", gitErr)
				}
				if r.code == 0 || !strings.Contains(r.stderr, "core.sharedRepository") || !strings.Contains(r.stderr, filepath.Join(b, ".git", "config")) {
					t.Errorf("update where git refuses core.sharedRepository=%s: %v", shared, r)
				}
				return
			}
			if r.code != 0 {
				t.Fatalf("update: %v", r)
			}
			got, want := modes(t, filepath.Join(b, ".git", "reftable"), before), modes(t, a.ReftableDir(), before)
			if len(want) < 2 || !maps.Equal(got, want) {
				t.Errorf("modes of the files written %v, git's %v", got, want)
			}
		})
	}
}

// TestImportShared: in a shared repository under a private umask, the
// stack import makes has the directory and file modes git's migration
// gives it (set-group-ID and group bits on the directory).
func TestImportShared(t *testing.T) {
	old := syscall.Umask(0o077)
	defer syscall.Umask(old)
	for _, shared := range []string{"", "group", "all", "0640"} {
		t.Run("shared="+shared, func(t *testing.T) {
			files := newFilesRepo(t, "sha1")
			files.Run("commit", "-q", "--allow-empty", "-m", "c1")
			if shared != "" {
				files.Run("config", "core.sharedRepository", shared)
			}
			dst := filepath.Join(files.Dir, ".git", "imported")
			mustRun(t, "", "import", files.Dir, dst)
			files.Run("refs", "migrate", "--ref-format=reftable")
			want, got := dirModes(t, files.ReftableDir()), dirModes(t, dst)
			if !maps.Equal(got, want) {
				t.Errorf("modes %v, git's migration %v", got, want)
			}
		})
	}
}

// dirModes returns the modes of the directory dir and of its tables and
// tables.list.
func dirModes(t *testing.T, dir string) map[string]string {
	t.Helper()
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	m := modes(t, dir, nil)
	m["directory"] = fi.Mode().String()
	return m
}

// modes returns the modes of tables.list and of the tables in dir that
// are not in old.
func modes(t *testing.T, dir string, old []os.DirEntry) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		name := "tables.list"
		if e.Name() != name {
			if slices.ContainsFunc(old, func(o os.DirEntry) bool { return o.Name() == e.Name() }) {
				continue
			}
			name = "a new table" // the two sides' names differ
		}
		mode := fmt.Sprintf("%04o", fi.Mode().Perm())
		if prev, ok := out[name]; ok && prev != mode {
			mode = prev + " and " + mode
		}
		out[name] = mode
	}
	return out
}
