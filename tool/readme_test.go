package tool

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// unchecked are the commands whose output changes from run to run: the
// docs/cli.md shows them in ```text blocks, which are not run.
var unchecked = map[string]bool{"demo": true, "bench": true, "doctor": true}

// readmeTmp is the prefix of the scratch paths the examples write to;
// the test maps it into a temporary directory.
const readmeTmp = "/tmp/refstore-"

// TestDocExamples runs every "$ go run ./cmd/reftable ..." example in
// the plain ``` blocks of docs/cli.md, in order, from the repository's
// root, and compares its standard output with the lines that follow it.
// An example may read standard input from "echo '...' | ", and may end in
// "  # exit N" when it is meant to fail: then its standard error is
// compared too. Every other example must exit 0. Paths starting with
// /tmp/refstore- go to a temporary directory. Every command has a run
// example, except demo and bench, which have one in a ```text block.
func TestDocExamples(t *testing.T) {
	data, err := os.ReadFile("../docs/cli.md")
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir("..")
	tmp := t.TempDir() + "/"
	lines := strings.Split(string(data), "\n")
	checked, shown := map[string]bool{}, map[string]bool{}
	lang, inBlock := "", false
	for i, line := range lines {
		if fence, ok := strings.CutPrefix(line, "```"); ok {
			inBlock, lang = !inBlock, fence
			continue
		}
		rest, ok := strings.CutPrefix(line, "$ ")
		if !ok || !inBlock {
			continue
		}
		stdin := ""
		if echo, after, ok := strings.Cut(rest, " | "); ok && strings.HasPrefix(echo, "echo ") {
			words, err := splitWords(echo[len("echo "):])
			if err != nil {
				t.Fatalf("docs/cli.md:%d: %v", i+1, err)
			}
			stdin, rest = strings.Join(words, " ")+"\n", after
		}
		cmdline, ok := strings.CutPrefix(rest, "go run ./cmd/reftable ")
		if !ok {
			continue
		}
		wantCode := 0
		if c, code, ok := strings.Cut(cmdline, "  # exit "); ok {
			if wantCode, err = strconv.Atoi(code); err != nil {
				t.Fatalf("docs/cli.md:%d: bad exit status %q", i+1, code)
			}
			cmdline = c
		}
		args, err := splitWords(cmdline)
		if err != nil || len(args) == 0 {
			t.Fatalf("docs/cli.md:%d: %q: %v", i+1, cmdline, err)
		}
		if lang != "" {
			shown[args[0]] = true
			continue // not run
		}
		var want []string
		for _, l := range lines[i+1:] {
			if strings.HasPrefix(l, "```") || strings.HasPrefix(l, "$ ") {
				break
			}
			want = append(want, l)
		}
		for j, a := range args {
			args[j] = strings.ReplaceAll(a, readmeTmp, tmp+"refstore-")
		}
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), args, strings.NewReader(stdin), &stdout, &stderr)
		if code != wantCode {
			t.Errorf("docs/cli.md:%d: %s: exit %d, want %d: %s", i+1, cmdline, code, wantCode, stderr.String())
		}
		out := stdout.String()
		if wantCode != 0 {
			out += stderr.String()
		}
		out = strings.ReplaceAll(out, tmp, "/tmp/")
		got := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		if out == "" {
			got = nil
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("docs/cli.md:%d: example %q (-want +got):\n%s", i+1, cmdline, diff)
		}
		checked[args[0]] = true
	}
	for _, c := range testConfig.commands() {
		switch {
		case unchecked[c.Name] && !shown[c.Name]:
			t.Errorf("docs/cli.md shows no example of %s in a ```text block", c.Name)
		case !unchecked[c.Name] && !checked[c.Name]:
			t.Errorf("docs/cli.md has no checked example of %s", c.Name)
		}
	}
}

// splitWords splits s at spaces as a shell would, with '...' and "..."
// quoting (no escapes, no expansions).
func splitWords(s string) ([]string, error) {
	var words []string
	var w strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case ' ', '\t':
			if inWord {
				words, inWord = append(words, w.String()), false
				w.Reset()
			}
		case '\'', '"':
			end := strings.IndexByte(s[i+1:], c)
			if end < 0 {
				return nil, fmt.Errorf("unterminated %c in %q", c, s)
			}
			w.WriteString(s[i+1 : i+1+end])
			i += 1 + end
			inWord = true
		default:
			w.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, w.String())
	}
	return words, nil
}
