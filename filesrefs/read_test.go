package filesrefs

import (
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/refstore/refstore/reftable"
	"github.com/refstore/refstore/vfs"
)

// Object ids for the tests: id(1) is 40 (or 64) hex digits of '1'.
func id(h reftable.Hash, c byte) string { return strings.Repeat(string(c), 2*h.Size()) }

// makeDir writes files (slash-separated relative path -> contents) into
// a new directory and returns it.
func makeDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for rel, data := range files {
		path := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(path), 0o777); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(data), 0o666); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// refLines formats refs as `reftable refs` does.
func refLines(refs []reftable.RefRecord) []string {
	var out []string
	for _, r := range refs {
		switch r.Type {
		case reftable.RefVal1:
			out = append(out, fmt.Sprintf("%s %x", r.Name, r.Value))
		case reftable.RefVal2:
			out = append(out, fmt.Sprintf("%s %x %x", r.Name, r.Value, r.Peeled))
		case reftable.RefSymref:
			out = append(out, fmt.Sprintf("%s ref: %s", r.Name, r.Target))
		}
	}
	return out
}

// logLines formats logs one a line with the fields separated by '|' and
// the message quoted, so that white space shows.
func logLines(logs []reftable.LogRecord) []string {
	var out []string
	for _, l := range logs {
		out = append(out, fmt.Sprintf("%s|%x|%x|%s|%s|%d|%d|%q", l.RefName, l.Old, l.New, l.Name, l.Email, l.Time, l.TZOffset, l.Message))
	}
	return out
}

func TestRead(t *testing.T) {
	for _, h := range []reftable.Hash{reftable.SHA1, reftable.SHA256} {
		a, b, c, d := id(h, 'a'), id(h, 'b'), id(h, 'c'), id(h, 'd')
		z := id(h, '0')
		for _, tc := range []struct {
			name  string
			files map[string]string
			refs  []string
			logs  []string
		}{{
			name: "loose wins over packed, peeled, symrefs, root refs",
			files: map[string]string{
				"HEAD":           "ref: refs/heads/main\n",
				"ORIG_HEAD":      b + "\n",
				"AUTO_MERGE":     c + "\n",
				"FETCH_HEAD":     a + "\t\tbranch 'main' of x\n", // a pseudoref: not migrated
				"MERGE_HEAD":     a + "\n",
				"COMMIT_EDITMSG": "not a ref\n",
				"packed-refs": packedHeader +
					a + " refs/heads/main\n" +
					a + " refs/heads/old\n" +
					c + " refs/tags/v1\n^" + d + "\n" +
					c + " refs/tags/v2\n^" + d + "\n",
				"refs/heads/main":           b + "\n", // loose wins
				"refs/tags/v2":              c + "\n", // loose wins, peeled value gone
				"refs/remotes/origin/HEAD":  "ref:   refs/remotes/origin/main  \n",
				"refs/remotes/origin/main":  c, // no newline
				"refs/heads/feature/x":      d + " trailing data\n",
				"refs/heads/feature/x.lock": "junk",
				"refs/heads/.tmp":           "junk",
			},
			refs: []string{
				"AUTO_MERGE " + c,
				"HEAD ref: refs/heads/main",
				"ORIG_HEAD " + b,
				"refs/heads/feature/x " + d,
				"refs/heads/main " + b,
				"refs/heads/old " + a,
				"refs/remotes/origin/HEAD ref: refs/remotes/origin/main",
				"refs/remotes/origin/main " + c,
				"refs/tags/v1 " + c + " " + d,
				"refs/tags/v2 " + c,
			},
		}, {
			name: "packed-refs without header, unsorted, tab separated, upper case hex",
			files: map[string]string{
				"packed-refs": strings.ToUpper(b) + " refs/heads/z\n" + a + "\trefs/heads/a\n^" + c + "\n",
			},
			refs: []string{"refs/heads/a " + a + " " + c, "refs/heads/z " + b},
		}, {
			name: "reflogs: order, odd messages, zones, identities",
			files: map[string]string{
				"HEAD": "ref: refs/heads/main\n",
				"logs/HEAD": z + " " + a + " C O Mitter <c@example.com> 1700000000 +0000\tcommit (initial): one\n" +
					a + " " + b + " C O Mitter <c@example.com> 1700000060 -0800\tcommit:   two\twords \n" +
					b + " " + c + " C O Mitter <c@example.com> 1700000120 +0530\n" + // no message, no tab
					c + " " + d + " C O Mitter <c@example.com> 1700000180 +1400 no tab message\n" +
					d + " " + a + " C O Mitter <c@example.com> 1700000240 -0000\t\n",
				"logs/refs/heads/feature-2": z + " " + a + " \" Jo, Hn; \" <x<y@e.org> 1 +0100\tm\n",
				"logs/refs/heads/feature/x": z + " " + b + " <nobody@x> 2 +0000\tbranch: Created from main\n",
				"logs/refs/heads/x.lock":    "ignored",
				"logs/refs/heads/.hidden":   "ignored",
			},
			refs: []string{"HEAD ref: refs/heads/main"},
			logs: []string{
				"HEAD|" + z + "|" + a + "|C O Mitter|c@example.com|1700000000|0|\"commit (initial): one\\n\"",
				"HEAD|" + a + "|" + b + "|C O Mitter|c@example.com|1700000060|-800|\"commit: two words\\n\"",
				"HEAD|" + b + "|" + c + "|C O Mitter|c@example.com|1700000120|530|\"\\n\"",
				"HEAD|" + c + "|" + d + "|C O Mitter|c@example.com|1700000180|1400|\"no tab message\\n\"",
				"HEAD|" + d + "|" + a + "|C O Mitter|c@example.com|1700000240|0|\"\\n\"",
				// git walks logs/ directory by directory: feature/ before feature-2.
				"refs/heads/feature/x|" + z + "|" + b + "||nobody@x|2|0|\"branch: Created from main\\n\"",
				"refs/heads/feature-2|" + z + "|" + a + "|Jo, Hn|xy@e.org|1|100|\"m\\n\"",
			},
		}, {
			name:  "empty repository",
			files: map[string]string{"HEAD": "ref: refs/heads/main\n", "refs/heads/.keep": ""},
			refs:  []string{"HEAD ref: refs/heads/main"},
		}} {
			t.Run(h.String()+"/"+tc.name, func(t *testing.T) {
				dir := makeDir(t, tc.files)
				got, err := Read(vfs.OS, dir, h)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(tc.refs, refLines(got.Refs)); diff != "" {
					t.Errorf("refs (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff(tc.logs, logLines(got.Logs)); diff != "" {
					t.Errorf("logs (-want +got):\n%s", diff)
				}
			})
		}
	}
}

func TestReadMalformed(t *testing.T) {
	h := reftable.SHA1
	a, b := id(h, 'a'), id(h, 'b')
	ok := a + " " + b + " N <e> 1700000000 +0000\tm\n"
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  string // the error's text starts with the file's name relative to the directory
	}{
		{"packed bad header", map[string]string{"packed-refs": "# pack-refs without: x\n"}, "packed-refs:1: header"},
		{"packed peeled first", map[string]string{"packed-refs": packedHeader + "^" + a + "\n"}, "packed-refs:2: peeled line does not follow a ref"},
		{"packed peeled twice", map[string]string{"packed-refs": a + " refs/tags/t\n^" + b + "\n^" + b + "\n"}, "packed-refs:3: peeled line does not follow a ref"},
		{"packed short id", map[string]string{"packed-refs": packedHeader + a + " refs/heads/a\nabc refs/heads/b\n"}, "packed-refs:3: not \"<40 hex digits> <refname>\""},
		{"packed not hex", map[string]string{"packed-refs": strings.Repeat("g", 40) + " refs/heads/a\n"}, "packed-refs:1: object id: "},
		{"packed no newline", map[string]string{"packed-refs": a + " refs/heads/a\n" + a + " refs/heads/b"}, "packed-refs:2: incomplete last line"},
		{"packed bad name", map[string]string{"packed-refs": a + " refs/heads/a..b\n"}, "packed-refs:1: \"refs/heads/a..b\": contains .."},
		{"packed comment", map[string]string{"packed-refs": packedHeader + "# comment\n"}, "packed-refs:2: not"},
		{"packed duplicate", map[string]string{"packed-refs": a + " refs/heads/b\n" + a + " refs/heads/a\n" + b + " refs/heads/b\n"}, "packed-refs: refs/heads/b is listed twice"},
		{"loose garbage", map[string]string{"refs/heads/main": "hello\n"}, "refs/heads/main: neither \"ref: <target>\" nor an object id"},
		{"loose empty", map[string]string{"refs/heads/main": ""}, "refs/heads/main: neither"},
		{"loose junk after id", map[string]string{"refs/heads/main": a + "x\n"}, "refs/heads/main: neither"},
		{"loose null", map[string]string{"ORIG_HEAD": id(h, '0') + "\n"}, "ORIG_HEAD: the null object id"},
		{"loose bad target", map[string]string{"HEAD": "ref: refs/heads/a b\n"}, "HEAD: symbolic ref to an invalid name"},
		{"loose bad name", map[string]string{"refs/heads/a b": a + "\n"}, "refs/heads/a b: \"refs/heads/a b\": contains ' '"},
		{"reflog no newline", map[string]string{"logs/HEAD": ok + ok[:len(ok)-1]}, "logs/HEAD:2: incomplete last line"},
		{"reflog short old", map[string]string{"logs/HEAD": ok + "abc " + b + " N <e> 1 +0000\n"}, "logs/HEAD:2: no old object id of 40 hex digits"},
		{"reflog bad new", map[string]string{"logs/refs/heads/m": strings.Replace(ok, b, strings.Repeat("x", 40), 1)}, "logs/refs/heads/m:1: new object id: "},
		{"reflog no email", map[string]string{"logs/HEAD": a + " " + b + " N 1700000000 +0000\n"}, "logs/HEAD:1: no \"<email> \""},
		{"reflog no lt", map[string]string{"logs/HEAD": a + " " + b + " N e> 1700000000 +0000\n"}, "logs/HEAD:1: no '<'"},
		{"reflog no time", map[string]string{"logs/HEAD": a + " " + b + " N <e> +0000\n"}, "logs/HEAD:1: no time"},
		{"reflog time 0", map[string]string{"logs/HEAD": a + " " + b + " N <e> 0 +0000\tm\n"}, "logs/HEAD:1: time 0"},
		{"reflog huge time", map[string]string{"logs/HEAD": a + " " + b + " N <e> 99999999999999999999 +0000\n"}, "logs/HEAD:1: time 99999999999999999999 out of range"},
		{"reflog bad zone", map[string]string{"logs/HEAD": a + " " + b + " N <e> 1 +05x0\tm\n"}, "logs/HEAD:1: no time zone"},
		{"reflog no zone", map[string]string{"logs/HEAD": a + " " + b + " N <e> 1\tm\n"}, "logs/HEAD:1: no time zone"},
		{"reflog long zone", map[string]string{"logs/HEAD": a + " " + b + " N <e> 1 +05300\tm\n"}, "logs/HEAD:1: no time zone"},
		{"reflog of pseudoref", map[string]string{"logs/FETCH_HEAD": ok}, "logs/FETCH_HEAD: reflog of the pseudoref FETCH_HEAD"},
		{"reflog of one-level name", map[string]string{"logs/foo": ok}, "logs/foo: reflog of an invalid ref name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := makeDir(t, tc.files)
			_, err := Read(vfs.OS, dir, h)
			if err == nil {
				t.Fatalf("Read succeeded, want error %q", tc.want)
			}
			if want := filepath.Join(dir, tc.want); !strings.HasPrefix(err.Error(), want) {
				t.Errorf("error %q\nwant prefix %q", err, want)
			}
			var se *SyntaxError
			if errors.As(err, &se) != errors.Is(err, ErrSyntax) {
				t.Errorf("error %v: a *SyntaxError must match ErrSyntax", err)
			}
		})
	}
}

// TestReadFaults fails every file operation of Read in turn: each failure
// is reported, naming a path under the directory.
func TestReadFaults(t *testing.T) {
	h := reftable.SHA1
	dir := makeDir(t, map[string]string{
		"HEAD":              "ref: refs/heads/main\n",
		"packed-refs":       packedHeader + id(h, 'a') + " refs/heads/main\n",
		"refs/heads/x":      id(h, 'b') + "\n",
		"logs/HEAD":         id(h, '0') + " " + id(h, 'a') + " N <e> 1 +0000\tm\n",
		"logs/refs/heads/x": id(h, '0') + " " + id(h, 'b') + " N <e> 1 +0000\tm\n",
	})
	want, err := Read(vfs.OS, dir, h)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		efs := vfs.NewErrorFS(vfs.OS, vfs.Injection{Index: i, Fault: vfs.FaultError})
		got, err := Read(efs, dir, h)
		if len(efs.Injected()) == 0 {
			if err != nil {
				t.Fatalf("no fault injected at %d, but: %v", i, err)
			}
			if diff := cmp.Diff(logLines(want.Logs), logLines(got.Logs)); diff != "" {
				t.Errorf("logs (-want +got):\n%s", diff)
			}
			if i < 5 {
				t.Fatalf("only %d operations", i)
			}
			return
		}
		if !errors.Is(err, vfs.ErrInjected) || !strings.Contains(err.Error(), dir) {
			t.Fatalf("fault %v: error %v, want the injected fault naming a path", efs.Hits(), err)
		}
	}
}

func TestParseLogLineHex(t *testing.T) {
	h := reftable.SHA256
	a := id(h, 'a')
	l, err := parseLogLine([]byte(a+" "+a+" N <e> 5 -0130\t x  y "), h)
	if err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(l.Old); got != a || l.TZOffset != -130 || string(l.Message) != "x y\n" {
		t.Errorf("got old %s zone %d message %q", got, l.TZOffset, l.Message)
	}
}
