package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestREADMEExamples runs every "$ go run ./cmd/reftable ..." example of
// README.md and compares its output with the lines that follow it.
func TestREADMEExamples(t *testing.T) {
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir("../..")
	lines := strings.Split(string(data), "\n")
	examples := 0
	for i, line := range lines {
		cmdline, ok := strings.CutPrefix(line, "$ go run ./cmd/reftable ")
		if !ok {
			continue
		}
		var want []string
		for _, l := range lines[i+1:] {
			if l == "```" || strings.HasPrefix(l, "$ ") {
				break
			}
			want = append(want, l)
		}
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), strings.Fields(cmdline), strings.NewReader(""), &stdout, &stderr)
		if code != 0 {
			t.Errorf("%s: exit %d: %s", cmdline, code, stderr.String())
		}
		got := strings.Split(strings.TrimSuffix(stdout.String(), "\n"), "\n")
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("README example %q (-want +got):\n%s", cmdline, diff)
		}
		examples++
	}
	if examples == 0 {
		t.Fatal("README.md has no examples")
	}
}
