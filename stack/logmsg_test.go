package stack

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/refstore/refstore/internal/testutil/gittest"
	"github.com/refstore/refstore/reftable"
)

func TestOneLineMessage(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"", ""},
		{"one\n", "one\n"},
		{"no-lf", "no-lf"},
		{"two-lf\n\n", "two-lf\n\n"}, // the writer trims these
		{"two\nlines\n", "two lines"},
		{"a\n\nb", "a  b"},
		{"\nlead", " lead"},
		{"cr\r\nlf\r\n", "cr\r lf\r"},
	} {
		in := []byte(tt.in)
		if got := string(oneLineMessage(in)); got != tt.want {
			t.Errorf("oneLineMessage(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if string(in) != tt.in {
			t.Errorf("oneLineMessage(%q) changed its argument to %q", tt.in, in)
		}
	}
}

type oddMessage struct {
	msg, want string
	marker    bool
}

// oddMessages are reflog messages that git's writer does not store as
// they are (the marker's ids make it a marker), and what git's
// compaction stores for each (the multi-line one: see logmsg.go).
var oddMessages = []oddMessage{
	{"no-lf", "no-lf\n", false},
	{"two-lf\n\n", "two-lf\n", false},
	{"", "\n", false},
	{"", "\n", true},
	{"lead\n", "lead\n", false},
	{" spaced  out \t\n", " spaced  out \t\n", false},
	{"cr\r\n", "cr\r\n", false},
	{"two\nlines\n", "two lines\n", false},
}

// addOddMessages adds one table holding msgs (oddMessages if nil) as
// reflog entries of ref, oldest first, exactly as given.
func addOddMessages(t *testing.T, st *Stack, ref string, hash reftable.Hash, id []byte, msgs []oddMessage) {
	t.Helper()
	if msgs == nil {
		msgs = oddMessages
	}
	a, err := st.newAddition(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	first := a.next
	err = a.add(ctx, func(w *reftable.Writer) error {
		if err := w.SetLimits(first, first+uint64(len(msgs))-1); err != nil {
			return err
		}
		for i := len(msgs) - 1; i >= 0; i-- {
			m := msgs[i]
			l := reftable.LogRecord{RefName: []byte(ref), UpdateIndex: first + uint64(i), Type: reftable.LogUpdate,
				Old: id, New: id, Name: []byte("N"), Email: []byte("n@example.com"), Time: 1700000000 + uint64(i),
				Message: []byte(m.msg)}
			if m.marker {
				l = reftable.LogRecord{RefName: []byte(ref), UpdateIndex: first + uint64(i), Type: reftable.LogUpdate,
					Old: make([]byte, hash.Size()), New: make([]byte, hash.Size()), Message: []byte(m.msg)}
			}
			if err := w.AddLog(&l); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.commit(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestCompactNormalizesMessages: compaction stores reflog messages as
// git's compaction does, a message without its trailing newline with
// one (regression: compaction kept such messages as they were, which git
// then shows with their last character cut); with ExactLogMessage it
// keeps them as they are.
func TestCompactNormalizesMessages(t *testing.T) {
	for _, exact := range []bool{false, true} {
		dir := t.TempDir()
		id := bytes.Repeat([]byte{7}, 20)
		raw := noAutoCompaction()
		raw.Write.ExactLogMessage = true
		st := openStack(t, dir, raw)
		tx := st.NewTransaction(testWho, ReflogNormal)
		tx.Add(Update{Ref: Ref{Name: "refs/heads/main", ID: oid(1)}, Message: "first"})
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		addOddMessages(t, st, "refs/heads/odd", reftable.SHA1, id, nil)
		st.Close()

		opts := noAutoCompaction()
		opts.Write.ExactLogMessage = exact
		st = openStack(t, dir, opts)
		if err := st.CompactAll(ctx, nil); err != nil {
			t.Fatal(err)
		}
		var want, got []string
		for _, m := range oddMessages {
			if exact {
				want = append(want, m.msg)
			} else {
				want = append(want, m.want)
			}
		}
		snap, err := st.Snapshot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n := len(snap.TableNames()); n != 1 {
			t.Errorf("%d tables after compaction, want 1", n)
		}
		for l, err := range snap.Merged().LogsFor([]byte("refs/heads/odd")) {
			if err != nil {
				t.Fatal(err)
			}
			got = append([]string{string(l.Message)}, got...) // oldest first
		}
		snap.Close()
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("exact=%v: messages after compaction (-want +got):\n%s", exact, diff)
		}
	}
}

// TestCompactMessagesAsGit compacts the same stack with git pack-refs
// and with CompactAll: the same records, messages included. A message of
// several lines makes git's compaction fail; ours stores it on one line,
// which git then reads and compacts.
func TestCompactMessagesAsGit(t *testing.T) {
	r := gittest.Init(t, "sha1")
	r.Run("commit", "-q", "--allow-empty", "-m", "c1")
	id, err := hex.DecodeString(strings.TrimSpace(r.Run("rev-parse", "HEAD")))
	if err != nil {
		t.Fatal(err)
	}
	raw := noAutoCompaction()
	raw.Write.ExactLogMessage = true
	var single, multi []oddMessage
	for _, m := range oddMessages {
		if strings.Contains(strings.TrimRight(m.msg, "\n"), "\n") {
			multi = append(multi, m)
		} else {
			single = append(single, m)
		}
	}
	st := openStack(t, r.ReftableDir(), raw)
	addOddMessages(t, st, "refs/heads/main", reftable.SHA1, id, single)
	st.Close()

	ours := t.TempDir()
	copyFiles(t, r.ReftableDir(), ours)
	r.Run("pack-refs")
	st = openStack(t, ours, noAutoCompaction())
	if err := st.CompactAll(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(stackRecords(t, r.ReftableDir()), stackRecords(t, ours)); diff != "" {
		t.Errorf("records after compaction (-git +ours):\n%s", diff)
	}

	st = openStack(t, r.ReftableDir(), raw)
	addOddMessages(t, st, "refs/heads/main", reftable.SHA1, id, multi)
	st.Close()
	if _, err := r.RunInput("", "pack-refs"); err == nil {
		t.Fatal("git pack-refs compacted a multi-line message; see logmsg.go")
	}
	st = openStack(t, r.ReftableDir(), noAutoCompaction())
	if err := st.CompactAll(ctx, nil); err != nil {
		t.Fatal(err)
	}
	got := r.Run("reflog", "show", "--format=%gs", "refs/heads/main")
	if want := multi[0].want; !strings.HasPrefix(got, want) {
		t.Errorf("git reflog show after our compaction: %q, want first %q", got, want)
	}
	r.Run("pack-refs")
	r.Run("refs", "verify")
}

// copyFiles copies the files of the directory src into dst.
func copyFiles(t *testing.T, src, dst string) {
	t.Helper()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), data, 0o666); err != nil {
			t.Fatal(err)
		}
	}
}

// stackRecords returns every ref and log record of the stack in dir,
// deletions included, one a line with every field.
func stackRecords(t *testing.T, dir string) []string {
	t.Helper()
	st := openStack(t, dir, noAutoCompaction())
	snap, err := st.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Close()
	var out []string
	for _, tbl := range snap.Merged().Tables() {
		for r, err := range tbl.Refs(nil) {
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, fmt.Sprintf("ref %s %d %v %x %x %s", r.Name, r.UpdateIndex, r.Type, r.Value, r.Peeled, r.Target))
		}
		for l, err := range tbl.Logs(nil) {
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, fmt.Sprintf("log %s %d %v %x %x %q %q %d %d %q", l.RefName, l.UpdateIndex, l.Type,
				l.Old, l.New, l.Name, l.Email, l.Time, l.TZOffset, l.Message))
		}
	}
	return out
}
