package tool

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/refstore/refstore/internal/testutil/gittest"
	"github.com/refstore/refstore/stack"
)

// TestWriteSettingsValidatedAsGit: every value git refuses to write with
// fails update, compact and import, naming the setting and the config
// file, and every value git accepts does not; commands that only read
// ignore the settings.
func TestWriteSettingsValidatedAsGit(t *testing.T) {
	r := gittest.Init(t, "sha1")
	r.Run("commit", "-q", "--allow-empty", "-m", "c1")
	oid := strings.TrimSpace(r.Run("rev-parse", "HEAD"))
	for i, tc := range []struct{ key, val string }{
		{"reftable.blockSize", "0x200"}, {"reftable.blockSize", "99999999"}, {"reftable.blockSize", "-5"},
		{"reftable.blockSize", "08"}, {"reftable.restartInterval", "70000"}, {"reftable.restartInterval", "3"},
		{"reftable.indexObjects", "maybe"}, {"reftable.indexObjects", "2"}, {"reftable.geometricFactor", "256"},
		{"reftable.geometricFactor", "0"}, {"reftable.lockTimeout", "-2"}, {"reftable.lockTimeout", "1k"},
	} {
		r.Run("config", tc.key, tc.val)
		_, gitErr := r.RunInput("", "update-ref", fmt.Sprintf("refs/heads/git%d", i), oid)
		res := runTool(t, fmt.Sprintf("create refs/heads/ours%d %s\n", i, oid), "update", r.Dir)
		if (gitErr == nil) != (res.code == 0) {
			t.Errorf("%s = %q: git update-ref: %v; reftable update: %v", tc.key, tc.val, gitErr, res)
		}
		if res.code != 0 && (!strings.Contains(res.stderr, tc.key) || !strings.Contains(res.stderr, filepath.Join(r.Dir, ".git", "config"))) {
			t.Errorf("%s = %q: the error does not name the setting and the file: %v", tc.key, tc.val, res)
		}
		if c := runTool(t, "", "compact", r.Dir); c.code != res.code {
			t.Errorf("%s = %q: compact: %v, update: %v", tc.key, tc.val, c, res)
		}
		if c := runTool(t, "", "compact", r.ReftableDir()); c.code != res.code {
			t.Errorf("%s = %q: compact of .git/reftable: %v, update: %v", tc.key, tc.val, c, res)
		}
		if l := runTool(t, "", "refs", r.Dir); l.code != 0 {
			t.Errorf("%s = %q: refs: %v", tc.key, tc.val, l)
		}
		r.Run("config", "--unset", tc.key)
	}

	files := newFilesRepo(t, "sha1")
	files.Run("commit", "-q", "--allow-empty", "-m", "c1")
	files.Run("config", "reftable.blockSize", "abc")
	res := runTool(t, "", "import", files.Dir, filepath.Join(t.TempDir(), "stack"))
	if _, err := files.RunInput("", "refs", "migrate", "--ref-format=reftable"); err == nil || res.code != 1 || !strings.Contains(res.stderr, "reftable.blockSize") {
		t.Errorf("import with reftable.blockSize = abc: %v (git refs migrate: %v)", res, err)
	}
}

// TestWriteSettingsAsGit: with the same reftable.* settings, update (and
// its auto-compaction), compact and import write what git writes (they
// ignored the settings): every table has the block size set, a stack git
// and we both fully compact holds the same table, byte for byte, import's
// table is git's migration's, and git reads all of it.
func TestWriteSettingsAsGit(t *testing.T) {
	long := strings.Repeat("a long reflog message ", 12) // cut at half a small block
	for _, tc := range []struct {
		name     string
		settings [][2]string
	}{
		{"default", nil},
		{"small-blocks", [][2]string{{"reftable.blockSize", "512"}, {"reftable.restartInterval", "2"}}},
		{"no-obj-index", [][2]string{{"reftable.indexObjects", "false"}, {"reftable.blockSize", "0x200"}}},
		{"units", [][2]string{{"reftable.blockSize", "2k"}, {"reftable.restartInterval", "3"}}},
		{"restart-every-record", [][2]string{{"reftable.blockSize", "1k"}, {"reftable.restartInterval", "1"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := gittest.Init(t, "sha1")
			a.Run("commit", "-q", "--allow-empty", "-m", "c1")
			oid := strings.TrimSpace(a.Run("rev-parse", "HEAD"))
			var cmds strings.Builder
			for i := range 60 {
				fmt.Fprintf(&cmds, "create refs/heads/branch-with-a-long-name-%03d %s\n", i, oid)
				fmt.Fprintf(&cmds, "create refs/tags/tag-with-a-long-name-%03d %s\n", i, oid)
			}
			b := filepath.Join(t.TempDir(), "ours")
			copyTree(t, a.Dir, b)
			for _, s := range tc.settings {
				a.Run("config", s[0], s[1])
				a.Run("-C", b, "config", s[0], s[1])
			}
			if _, err := a.RunInput(cmds.String(), "update-ref", "-m", long, "--stdin"); err != nil {
				t.Fatal(err)
			}
			// Our update as the same committer at the same time.
			line := mustRun(t, "", "logs", "-ref", "refs/heads/branch-with-a-long-name-000", a.Dir)
			who := strings.Fields(strings.Split(line, "\t")[1]) // old new name... <email> time zone
			t.Setenv("GIT_COMMITTER_NAME", "C O Mitter")
			t.Setenv("GIT_COMMITTER_EMAIL", "committer@example.com")
			t.Setenv("GIT_COMMITTER_DATE", "@"+who[len(who)-2]+" "+who[len(who)-1])
			mustRun(t, cmds.String(), "update", "-m", long, b)
			checkBlockSizes(t, b, tc.settings)

			a.Run("pack-refs")
			mustRun(t, "", "compact", b)
			gitTable, ourTable := onlyTable(t, a.ReftableDir()), onlyTable(t, filepath.Join(b, ".git", "reftable"))
			if diff := cmp.Diff(layout(t, a.ReftableDir()), layout(t, filepath.Join(b, ".git", "reftable"))); diff != "" {
				t.Errorf("compacted tables differ (-git +ours):\n%s", diff)
			} else if !bytes.Equal(gitTable, ourTable) {
				t.Errorf("compacted tables differ in their bytes (-git +ours):\n%s", cmp.Diff(dumpOf(t, a.ReftableDir()), dumpOf(t, filepath.Join(b, ".git", "reftable"))))
			}
			ours := *a
			ours.Dir = b
			if diff := cmp.Diff(gitView(a), gitView(&ours)); diff != "" {
				t.Errorf("git reading both (-git's +ours):\n%s", diff)
			}
			ours.Run("refs", "verify")

			// import writes what git's migration writes.
			files := newFilesRepo(t, "sha1")
			files.Run("commit", "-q", "--allow-empty", "-m", "c1")
			for _, s := range tc.settings {
				files.Run("config", s[0], s[1])
			}
			dst := filepath.Join(t.TempDir(), "stack")
			mustRun(t, "", "import", files.Dir, dst)
			files.Run("refs", "migrate", "--ref-format=reftable")
			if diff := cmp.Diff(layout(t, files.ReftableDir()), layout(t, dst)); diff != "" {
				t.Errorf("imported table differs from git's migration (-git +ours):\n%s", diff)
			} else if !bytes.Equal(onlyTable(t, files.ReftableDir()), onlyTable(t, dst)) {
				t.Errorf("imported table differs from git's migration (-git +ours):\n%s", cmp.Diff(dumpOf(t, files.ReftableDir()), dumpOf(t, dst)))
			}
		})
	}
}

// checkBlockSizes checks that every table of the repository at dir has
// the block size its settings give.
func checkBlockSizes(t *testing.T, dir string, settings [][2]string) {
	t.Helper()
	want := "block_size=4096"
	for _, s := range settings {
		if s[0] == "reftable.blockSize" {
			v, unit := s[1], int64(1)
			if k, ok := strings.CutSuffix(v, "k"); ok {
				v, unit = k, 1024
			}
			n, err := strconv.ParseInt(v, 0, 64)
			if err != nil {
				t.Fatal(err)
			}
			want = fmt.Sprintf("block_size=%d", n*unit)
		}
	}
	for _, line := range strings.Split(mustRun(t, "", "dump", dir), "\n") {
		if strings.HasPrefix(line, "table ") && !strings.Contains(line, " "+want+" ") {
			t.Errorf("want %s: %s", want, line)
		}
	}
}

// onlyTable returns the contents of the one table of the stack in dir.
func onlyTable(t *testing.T, dir string) []byte {
	t.Helper()
	names := strings.Fields(readFile(t, filepath.Join(dir, "tables.list")))
	if len(names) != 1 {
		t.Fatalf("%s: %d tables, want 1", dir, len(names))
	}
	data, err := os.ReadFile(filepath.Join(dir, names[0]))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// gitView is what git shows of a repository's refs and reflogs.
func gitView(r *gittest.Repo) string {
	return r.Run("for-each-ref", "--format=%(refname) %(objectname)") +
		r.Run("reflog", "show", "--all", "--date=raw", "--format=%gD %H %gn <%ge> %gd %gs")
}

// layout is what dump -records says of the stack in dir, but for the
// table names, where blocks start, how many bytes log blocks take
// deflated, and the checksum.
func layout(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	for _, line := range strings.Split(dumpOf(t, dir), "\n") {
		var kept []string
		for _, f := range strings.Fields(line) {
			if !strings.HasPrefix(f, "0x0") && !strings.HasPrefix(f, "offset=") && !strings.HasPrefix(f, "crc=") &&
				!(strings.HasPrefix(f, "size=") && strings.Contains(line, "type=g")) &&
				!(strings.Contains(f, "=") && strings.HasPrefix(line, "footer ") || strings.HasPrefix(line, "table ") && strings.HasPrefix(f, "size=")) {
				kept = append(kept, f)
			}
		}
		out = append(out, strings.Join(kept, " "))
	}
	return out
}

func dumpOf(t *testing.T, dir string) string {
	t.Helper()
	return runTool(t, "", "dump", "-records", dir).stdout
}

// TestGeometricFactorAsGit: update's auto-compaction uses
// reftable.geometricFactor as git's does (it always used 2): the same
// updates leave the same tables, with the factor and without.
func TestGeometricFactorAsGit(t *testing.T) {
	for _, factor := range []string{"", "3", "1"} {
		t.Run("factor="+factor, func(t *testing.T) {
			a := gittest.Init(t, "sha1")
			// git auto-compacts as for its users.
			env := a.Env[:0:0]
			for _, kv := range a.Env {
				if !strings.HasPrefix(kv, "GIT_TEST_REFTABLE_AUTOCOMPACTION=") {
					env = append(env, kv)
				}
			}
			a.Env = env
			a.Run("commit", "-q", "--allow-empty", "-m", "c1")
			a.Run("pack-refs")
			oid := strings.TrimSpace(a.Run("rev-parse", "HEAD"))
			b := filepath.Join(t.TempDir(), "ours")
			copyTree(t, a.Dir, b)
			if factor != "" {
				a.Run("config", "reftable.geometricFactor", factor)
				a.Run("-C", b, "config", "reftable.geometricFactor", factor)
			}
			// Tags have no reflog: the tables do not depend on the time.
			for i := range 24 {
				a.Run("update-ref", fmt.Sprintf("refs/tags/t%02d", i), oid)
				mustRun(t, fmt.Sprintf("create refs/tags/t%02d %s\n", i, oid), "update", b)
				if got, want := tableSizes(t, filepath.Join(b, ".git", "reftable")), tableSizes(t, a.ReftableDir()); got != want {
					t.Fatalf("after update %d: our tables %s, git's %s", i, got, want)
				}
			}
		})
	}
}

// tableSizes lists the sizes of the tables of the stack in dir.
func tableSizes(t *testing.T, dir string) string {
	t.Helper()
	var sizes []string
	for _, name := range strings.Fields(readFile(t, filepath.Join(dir, "tables.list"))) {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, fmt.Sprint(fi.Size()))
	}
	return strings.Join(sizes, " ")
}

// TestLockTimeoutSetting: reftable.lockTimeout is how long update and
// compact wait for tables.list.lock (they waited 100 ms whatever it
// said), and -lock-timeout overrides it.
func TestLockTimeoutSetting(t *testing.T) {
	wt := makeRepo(t, "sha1-basic", "")
	dir := filepath.Join(wt, ".git", "reftable")
	cfg := readFile(t, filepath.Join(wt, ".git", "config"))
	lock := filepath.Join(dir, "tables.list.lock")
	create := "create refs/heads/x " + oidA + "\n"

	// Held for 400 ms: longer than git's default 100 ms.
	holdLock := func() chan struct{} {
		writeFile(t, lock, "")
		released := make(chan struct{})
		go func() {
			time.Sleep(400 * time.Millisecond)
			os.Remove(lock)
			close(released)
		}()
		return released
	}
	writeFile(t, filepath.Join(wt, ".git", "config"), cfg+"[reftable]\n\tlockTimeout = 10000\n")
	released := holdLock()
	if r := runTool(t, create, "update", wt); r.code != 0 {
		t.Errorf("update waiting up to 10 s for a lock held 400 ms: %v", r)
	}
	<-released
	released = holdLock()
	if r := runTool(t, "", "compact", wt); r.code != 0 {
		t.Errorf("compact waiting up to 10 s for a lock held 400 ms: %v", r)
	}
	<-released

	writeFile(t, filepath.Join(wt, ".git", "config"), cfg+"[reftable]\n\tlockTimeout = -1\n")
	released = holdLock()
	if r := runTool(t, "delete refs/heads/x\n", "update", wt); r.code != 0 {
		t.Errorf("update waiting for ever for a lock held 400 ms: %v", r)
	}
	<-released

	// The flag wins over the setting: 1ms fails at once, 10s waits.
	writeFile(t, lock, "")
	start := time.Now()
	if r := runTool(t, create, "update", "-lock-timeout", "1ms", wt); r.code != 1 || !strings.Contains(r.stderr, "locked") {
		t.Errorf("update -lock-timeout 1ms with the lock held: %v", r)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("update -lock-timeout 1ms waited %v", d)
	}
	os.Remove(lock)
	writeFile(t, filepath.Join(wt, ".git", "config"), cfg+"[reftable]\n\tlockTimeout = 0\n")
	writeFile(t, lock, "")
	if r := runTool(t, create, "update", wt); r.code != 1 || !strings.Contains(r.stderr, "locked") {
		t.Errorf("update with reftable.lockTimeout = 0 and the lock held: %v", r)
	}
	os.Remove(lock)
	released = holdLock()
	if r := runTool(t, create, "update", "-lock-timeout", "10s", wt); r.code != 0 {
		t.Errorf("update -lock-timeout 10s over reftable.lockTimeout = 0, lock held 400 ms: %v", r)
	}
	<-released
}

// TestLockTimeoutFlag: -lock-timeout takes the setting's meanings: 0
// tries once, as reftable.lockTimeout = 0 does (it meant 100 ms), a
// negative duration waits forever, and without the flag the setting
// stands.
func TestLockTimeoutFlag(t *testing.T) {
	for _, tc := range []struct {
		arg  string // "" for no flag
		want time.Duration
	}{
		{"", 7 * time.Second},
		{"0", stack.NoWait},
		{"0s", stack.NoWait},
		{"250ms", 250 * time.Millisecond},
		{"-1s", -time.Second},
	} {
		var f lockTimeoutFlag
		if tc.arg != "" {
			if err := f.Set(tc.arg); err != nil {
				t.Fatalf("-lock-timeout %s: %v", tc.arg, err)
			}
		}
		opts := stack.Options{LockTimeout: 7 * time.Second} // as from the setting
		f.apply(&opts)
		if opts.LockTimeout != tc.want {
			t.Errorf("-lock-timeout %q: LockTimeout %v, want %v", tc.arg, opts.LockTimeout, tc.want)
		}
	}
}

// TestStatsGeometricFactor: stats says what auto-compaction would merge
// with the repository's reftable.geometricFactor (it always used 2),
// and with 2 when the setting is unset or invalid.
func TestStatsGeometricFactor(t *testing.T) {
	wt := makeRepo(t, "sha1-basic", "")
	cfg := filepath.Join(wt, ".git", "config")
	base := readFile(t, cfg)
	var bulk strings.Builder
	for i := range 200 {
		fmt.Fprintf(&bulk, "create refs/tags/bulk%03d %s\n", i, oidA)
	}
	mustRun(t, bulk.String(), "update", wt)
	mustRun(t, "create refs/heads/small "+oidA+"\n", "update", wt)
	for _, tc := range []struct {
		setting string
		needed  bool
	}{
		{"", false},       // factor 2: the small table is far smaller than the one below it
		{"255", true},     // it is not 255 times smaller
		{"banana", false}, // invalid: git's 2
	} {
		if tc.setting != "" {
			writeFile(t, cfg, base+"[reftable]\n\tgeometricFactor = "+tc.setting+"\n")
		}
		out := mustRun(t, "", "stats", "-json", wt)
		want := fmt.Sprintf(`"kind":"compaction","needed":%v`, tc.needed)
		if !strings.Contains(out, want) {
			t.Errorf("stats with reftable.geometricFactor %q:\n%s\nwant %s", tc.setting, out, want)
		}
	}
	// The stack named directly reads its repository's setting too (a
	// git directory has an objects directory).
	if err := os.MkdirAll(filepath.Join(wt, ".git", "objects"), 0o777); err != nil {
		t.Fatal(err)
	}
	writeFile(t, cfg, base+"[reftable]\n\tgeometricFactor = 255\n")
	if out := mustRun(t, "", "stats", "-json", filepath.Join(wt, ".git", "reftable")); !strings.Contains(out, `"needed":true`) {
		t.Errorf("stats of the stack directory with factor 255:\n%s", out)
	}
}
