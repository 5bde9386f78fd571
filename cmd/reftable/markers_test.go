package main

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// markersFixture is a stack in which git wrote reflog existence markers
// (git gc, git reflog expire, a reflog created without an entry); see its
// README.md and make-markers.sh.
const markersFixture = "testdata/markers"

// TestLogsMarkers: logs hides git's reflog existence markers, as git
// reflog does (regression: it printed each as an entry from the zero id
// to the zero id at time 0); -markers lists them, and -json marks them.
func TestLogsMarkers(t *testing.T) {
	stack := filepath.Join(markersFixture, "reftable")
	// git's own reading of the reflogs, through its migration.
	if diff := cmp.Diff(readFile(t, filepath.Join(markersFixture, "expected-logs.txt")), mustRun(t, "", "logs", stack)); diff != "" {
		t.Errorf("logs (-git +ours):\n%s", diff)
	}
	// Every reflog git lists, markers included, and no other.
	var names []string
	for _, line := range strings.Split(strings.TrimSuffix(mustRun(t, "", "logs", "-markers", stack), "\n"), "\n") {
		name, _, _ := strings.Cut(line, "\t")
		if len(names) == 0 || names[len(names)-1] != name {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	if diff := cmp.Diff(readFile(t, filepath.Join(markersFixture, "git-list.txt")), strings.Join(names, "\n")+"\n"); diff != "" {
		t.Errorf("reflogs of logs -markers (-git reflog list +ours):\n%s", diff)
	}
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"logs/markers", []string{"logs", "-markers", stack}},
		{"logs/markers-json", []string{"logs", "-markers", "-json", stack}},
		{"logs/markers-hidden-json", []string{"logs", "-json", stack}},
		{"logs/marker-only", []string{"logs", "-ref", "refs/heads/lonely", stack}},
		{"logs/marker-only-shown", []string{"logs", "-markers", "-ref", "refs/heads/lonely", stack}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkGolden(t, tc.name, runTool(t, "", tc.args...).String())
		})
	}
}
