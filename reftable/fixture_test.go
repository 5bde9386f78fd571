package reftable

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// formatRef formats a ref as the fixtures' expected.txt does.
func formatRef(r *RefRecord) string {
	switch r.Type {
	case RefVal1:
		return fmt.Sprintf("%s %x", r.Name, r.Value)
	case RefVal2:
		return fmt.Sprintf("%s %x %x", r.Name, r.Value, r.Peeled)
	case RefSymref:
		return fmt.Sprintf("%s ref: %s", r.Name, r.Target)
	}
	return fmt.Sprintf("%s deleted", r.Name)
}

// formatTZ formats git's HHMM-as-decimal offset as +HHMM.
func formatTZ(tz int16) string {
	sign := '+'
	v := int(tz)
	if v < 0 {
		sign, v = '-', -v
	}
	return fmt.Sprintf("%c%04d", sign, v)
}

// formatLog formats a log record as the fixtures' expected-logs.txt does.
func formatLog(l *LogRecord) string {
	return fmt.Sprintf("%s\t%x %x %s <%s> %d %s\t%s", l.RefName, l.Old, l.New, l.Name, l.Email,
		l.Time, formatTZ(l.TZOffset), bytes.TrimSuffix(l.Message, []byte("\n")))
}

// openStackDir opens the tables listed in dir/tables.list as a merged view.
func openStackDir(t *testing.T, dir string) *Merged {
	t.Helper()
	list, err := os.ReadFile(filepath.Join(dir, "tables.list"))
	if err != nil {
		t.Fatal(err)
	}
	var tables []*Table
	for _, name := range strings.Fields(string(list)) {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		tab, err := NewTable(bytes.NewReader(data), int64(len(data)), name)
		if err != nil {
			t.Fatalf("NewTable(%s): %v", name, err)
		}
		tables = append(tables, tab)
	}
	m, err := NewMerged(tables, MergedOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
}

func mergedLines(t *testing.T, m *Merged) (refs, logs []string) {
	t.Helper()
	for r, err := range m.Refs(nil) {
		if err != nil {
			t.Fatal(err)
		}
		refs = append(refs, formatRef(&r))
	}
	for l, err := range m.Logs(nil) {
		if err != nil {
			t.Fatal(err)
		}
		logs = append(logs, formatLog(&l))
	}
	return refs, logs
}

func fixtureDirs(t *testing.T) []string {
	dirs, err := filepath.Glob("testdata/git/*/reftable")
	if err != nil || len(dirs) < 5 {
		t.Fatalf("fixtures missing: %v %v", dirs, err)
	}
	return dirs
}

// TestGitFixtures reads every table stack written by git and compares the
// merged refs and logs with what git says the stack holds.
func TestGitFixtures(t *testing.T) {
	for _, dir := range fixtureDirs(t) {
		fx := filepath.Dir(dir)
		t.Run(filepath.Base(fx), func(t *testing.T) {
			m := openStackDir(t, dir)
			format := strings.TrimSpace(readLines(t, filepath.Join(fx, "object-format.txt"))[0])
			if m.Hash().String() != format {
				t.Errorf("hash = %v, want %s", m.Hash(), format)
			}
			refs, logs := mergedLines(t, m)
			if diff := cmp.Diff(readLines(t, filepath.Join(fx, "expected.txt")), refs); diff != "" {
				t.Errorf("refs (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(readLines(t, filepath.Join(fx, "expected-logs.txt")), logs); diff != "" {
				t.Errorf("logs (-want +got):\n%s", diff)
			}
		})
	}
}
