package tool

import (
	"bytes"
	"cmp"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/refstore/refstore/reftable"
	"github.com/refstore/refstore/stack"
	"github.com/refstore/refstore/stack/storage"
)

var cmdVerify = &Command{
	ReadOnly: true,
	Name:     "verify",
	Usage:    "[-v] [-json] [-strict] [PATH]",
	Short:    "check a stack or table for corruption and inconsistencies",
	Long: `Verify checks a stack, or a single table file, and prints each problem
it finds, one a line:

	<file>: offset <n>: <problem>    (when the byte offset is known)
	<file>: <problem>
	<file>: warning: <problem>
	<file>: leftover: <what> (<the command that removes it>)

It exits 1 when it found damage, a problem other than a warning or a
leftover, and prints nothing when all is well (with -v one summary
line). Leftovers are files that a crashed writer, a lost reply or a
writer still running may leave and that change nothing the stack
holds: tables the list does not name, lock files and their holder
files, and temporary files. They are printed, each with the command
that removes it, and fail the run only with -strict. It checks:

  - tables.list: every line is a table name as git's fsck wants it
    (0x<min>-0x<max>-<random>.ref, hex), the named file exists, and the
    header's update index range matches the name;
  - each table: header, footer and footer CRC-32; every block, walked
    from the first to the footer; refs in strictly increasing name order
    and logs in strictly increasing key order (name, then newest update
    index first); every ref's update index within the table's range;
  - each block's restart table: not empty, offsets inside the records
    and increasing, each at the start of a record stored without prefix
    compression, the keys there increasing;
  - the sections the footer names, and every level of the ref, obj and
    log indexes: each index record points at the next block of the
    level below and holds its last key, every block indexed once, in
    order;
  - the obj section: keys of obj_id_len bytes, in order, mapping every
    object id (value or peeled) of a ref to exactly the ref blocks
    naming it;
  - ref names: valid as git's check-ref-format and refs verify want them
    (a warning, as git reports them), and HEAD, when symbolic, pointing
    under refs/heads/;
  - reflog time-zone offsets: a warning when the minutes of one are 60
    or more (git stores -0800 as -800; a writer storing minutes, as the
    specification says and JGit does, stores -480);
  - the stack: each table's lowest update index above the previous
    table's highest;
  - the directory: leftovers, tables the list does not name (orphans,
    which clean removes), lock files, their holder files and temporary
    files.

Verify only reads: it takes no lock. It reads tables.list before and
after checking the tables and the directory, and when the list changed
meanwhile (a writer committed, a compaction removed the tables it
merged) it checks again, up to 20 times, so that its findings are of
one state of the stack; a writer working at the same time can still
make it report its lock, temporary file or unlisted table as leftovers.

With -json each finding is one JSON object a line (JSON Lines):

	{"kind":"finding","file":F,"offset":N,"severity":S,"problem":P}

file is the table, tables.list or other file of the stack directory the
finding is about; offset is the byte offset in it, or null when unknown;
severity is "error", "warning" or "leftover"; problem is the text of
the finding. With -v a last line sums up when no error was found (the
text form counts leftovers only when there are some):

	{"kind":"summary","tables":N,"refs":N,"logs":N,"warnings":N,"leftovers":N}

tables, refs and logs count what was read, warnings and leftovers the
findings of that severity printed.

Examples:

	reftable verify -v .git/reftable
	reftable verify -json ~/src/project`,
	Flags: func(fs *flag.FlagSet) any {
		f := &verifyFlags{}
		fs.BoolVar(&f.verbose, "v", false, "print a summary line when nothing is wrong")
		fs.BoolVar(&f.json, "json", false, "print JSON Lines: kind, file, offset, severity, problem")
		fs.BoolVar(&f.strict, "strict", false, "exit 1 on leftovers too")
		return f
	},
	Run: runVerify,
}

type verifyFlags struct {
	verbose, json, strict bool
}

// findingJSON is the JSON form of one finding.
type findingJSON struct {
	Kind     string `json:"kind"` // "finding"
	File     string `json:"file"`
	Offset   *int64 `json:"offset"` // null when unknown
	Severity string `json:"severity"`
	Problem  string `json:"problem"`
}

// verifySummaryJSON is the JSON form of -v's summary line.
type verifySummaryJSON struct {
	Kind      string `json:"kind"` // "summary"
	Tables    int    `json:"tables"`
	Refs      int    `json:"refs"`
	Logs      int    `json:"logs"`
	Warnings  int    `json:"warnings"`
	Leftovers int    `json:"leftovers"`
}

// A verifier collects the findings of one verify run.
type verifier struct {
	p         *printer
	err       error // the first error printing
	errors    int
	warnings  int
	leftovers int
	tables    int
	refs      int
	logs      int
	// held, when not nil, keeps the findings instead of printing them
	// (a stack's check, which may be run again).
	held *[]finding
	// checked keeps what checking each listed table found, for a
	// stack's check run again: a table name denotes the same bytes
	// forever.
	checked map[string]*checkedTable
}

// checkedTable is what checking a listed table found.
type checkedTable struct {
	r                                    updateRange
	findings                             []finding
	errors, warnings, tables, refs, logs int
}

// verifyListed checks the listed table name, as verifyFile, once: a
// check of the stack run again replays what it found.
func (v *verifier) verifyListed(src source, name string) (updateRange, bool) {
	c := v.checked[name]
	if c == nil {
		var held []finding
		sub := &verifier{p: v.p, held: &held}
		r, ok := sub.verifyFile(src, name, true)
		if !ok {
			// Not opened (missing, or unreadable): checked again.
			v.replay(&checkedTable{findings: held, errors: sub.errors, warnings: sub.warnings})
			return r, false
		}
		c = &checkedTable{r: r, findings: held, errors: sub.errors, warnings: sub.warnings,
			tables: sub.tables, refs: sub.refs, logs: sub.logs}
		if v.checked == nil {
			v.checked = map[string]*checkedTable{}
		}
		v.checked[name] = c
	}
	v.replay(c)
	return c.r, true
}

// replay prints what a table's check found and counts it.
func (v *verifier) replay(c *checkedTable) {
	v.errors += c.errors
	v.warnings += c.warnings
	v.tables += c.tables
	v.refs += c.refs
	v.logs += c.logs
	for _, f := range c.findings {
		v.print(f.text, f.j)
	}
}

// finding is a line of output held back.
type finding struct {
	text string
	j    any
}

// report prints one finding about file; offset < 0 means unknown.
func (v *verifier) report(file string, offset int64, format string, args ...any) {
	v.errors++
	msg := fmt.Sprintf(format, args...)
	j := findingJSON{Kind: "finding", File: file, Severity: "error", Problem: msg}
	text := file + ": " + msg
	if offset >= 0 {
		j.Offset = &offset
		text = fmt.Sprintf("%s: offset %d: %s", file, offset, msg)
	}
	v.print(text, j)
}

func (v *verifier) warn(file, format string, args ...any) {
	v.warnings++
	msg := fmt.Sprintf(format, args...)
	v.print(file+": warning: "+msg, findingJSON{Kind: "finding", File: file, Severity: "warning", Problem: msg})
}

// leftover reports a file that a crash, a lost reply or a running
// writer may leave and that changes nothing the stack holds.
func (v *verifier) leftover(file, format string, args ...any) {
	v.leftovers++
	msg := fmt.Sprintf(format, args...)
	v.print(file+": leftover: "+msg, findingJSON{Kind: "finding", File: file, Severity: "leftover", Problem: msg})
}

// print prints one line, keeping the first error.
func (v *verifier) print(text string, j any) {
	if v.held != nil {
		*v.held = append(*v.held, finding{text, j})
		return
	}
	if err := v.p.record(text, j); err != nil && v.err == nil {
		v.err = err
	}
}

// reportErr reports err about file, with the offset of a *CorruptError
// or *IOError.
func (v *verifier) reportErr(file string, err error) {
	var ce *reftable.CorruptError
	if errors.As(err, &ce) {
		v.report(file, ce.Offset, "%s", ce.Reason)
		return
	}
	var ie *reftable.IOError
	if errors.As(err, &ie) {
		v.report(file, ie.Offset, "%v", ie.Err)
		return
	}
	v.report(file, -1, "%v", err)
}

func runVerify(e *Env, flags any, args []string) error {
	f := flags.(*verifyFlags)
	t, err := e.openArg(args, readOnly, stack.Options{})
	if err != nil {
		return err
	}
	defer t.Close()
	v := &verifier{p: &printer{w: e.stdout, json: f.json}}
	if t.file != "" {
		v.verifyFile(dirSource(filepath.Dir(t.file)), filepath.Base(t.file), false)
	} else if src, err := sourceOf(t); err != nil {
		return err
	} else {
		defer src.Close()
		if err := v.verifyStack(src, cmp.Or(t.dir, t.s3)); err != nil {
			return err
		}
	}
	if v.err != nil {
		return v.err
	}
	if v.errors > 0 || f.strict && v.leftovers > 0 {
		return errSilent
	}
	if f.verbose {
		text := fmt.Sprintf("ok: %d tables, %d refs, %d logs, %d warnings", v.tables, v.refs, v.logs, v.warnings)
		if v.leftovers > 0 {
			text += fmt.Sprintf(", %d leftovers", v.leftovers)
		}
		v.print(text, verifySummaryJSON{Kind: "summary", Tables: v.tables, Refs: v.refs, Logs: v.logs, Warnings: v.warnings, Leftovers: v.leftovers})
	}
	return v.err
}

// verifyTries bounds how often verifyStack checks a stack whose list
// changed while it was checked.
const verifyTries = 20

// verifyStack checks the stack of src; dir names it in findings. A stack
// that writers change meanwhile is checked again, until tables.list is
// the same before and after a check: the findings printed are those of
// that check, of one state of the stack.
func (v *verifier) verifyStack(src source, dir string) error {
	delay := time.Millisecond
	for try := 1; ; try++ {
		before, err := src.ReadFile("tables.list")
		if err != nil {
			return err
		}
		var held []finding
		run := &verifier{p: v.p, held: &held, checked: v.checked}
		run.verifyList(src, dir, before)
		v.checked = run.checked
		after, err := src.ReadFile("tables.list")
		if err != nil {
			return err
		}
		if bytes.Equal(before, after) {
			v.errors, v.warnings, v.leftovers = run.errors, run.warnings, run.leftovers
			v.tables, v.refs, v.logs = run.tables, run.refs, run.logs
			for _, f := range held {
				v.print(f.text, f.j)
			}
			return nil
		}
		if try == verifyTries {
			return fmt.Errorf("%s: tables.list changed while it was checked, %d times in a row: writers are busy; run verify again", dir, try)
		}
		time.Sleep(delay/2 + rand.N(delay/2+1))
		delay = min(2*delay, 100*time.Millisecond)
	}
}

// verifyList checks the stack whose tables.list holds data.
func (v *verifier) verifyList(src source, dir string, data []byte) {
	var names []string
	if len(data) > 0 && data[len(data)-1] != '\n' {
		v.report("tables.list", int64(len(data)), "last line not terminated by a newline")
	}
	for line := range bytes.Lines(data) {
		name := string(bytes.TrimSuffix(line, []byte("\n")))
		if name == "" {
			continue
		}
		if strings.ContainsAny(name, "/\\\x00") || name == "." || name == ".." {
			v.report("tables.list", -1, "invalid table name %q", name)
			continue
		}
		names = append(names, name)
	}
	var prevMax uint64
	var prevName string
	for _, name := range names {
		r, ok := v.verifyListed(src, name)
		if !ok {
			prevName = ""
			continue
		}
		if prevName != "" && r.min <= prevMax {
			v.report(name, -1, "update indexes start at %d, not above %d, the highest of the previous table %s", r.min, prevMax, prevName)
		}
		prevMax, prevName = r.max, name
	}
	v.verifyDir(src, dir, names)
}

// updateRange is the update index range of a table's header.
type updateRange struct{ min, max uint64 }

// verifyFile checks the table file of src, and with checkName its name
// against git's rules for the names in tables.list (a table file given
// alone may have any name). It returns the table's update index range
// and whether the table could be opened.
func (v *verifier) verifyFile(src source, file string, checkName bool) (updateRange, bool) {
	var nameMin, nameMax uint64
	nameOK := false
	if checkName {
		if nameMin, nameMax, nameOK = storage.ParseTableName(file); !nameOK {
			v.report(file, -1, "bad table name: want 0x<min>-0x<max>-<random>.ref")
		}
	}
	tbl, f, err := openTable(src, file)
	if errors.Is(err, fs.ErrNotExist) && checkName {
		v.report(file, -1, "listed in tables.list but does not exist")
		return updateRange{}, false
	}
	if err != nil {
		v.reportErr(file, err)
		return updateRange{}, false
	}
	defer f.Close()
	v.tables++
	r := updateRange{tbl.MinUpdateIndex(), tbl.MaxUpdateIndex()}
	if nameOK && (nameMin != r.min || nameMax != r.max) {
		v.report(file, 0, "header update indexes %d..%d do not match the name's %d..%d", r.min, r.max, nameMin, nameMax)
	}
	if r.min > r.max {
		v.report(file, 0, "header update indexes %d..%d: minimum above maximum", r.min, r.max)
	}
	for _, err := range tbl.Blocks() {
		if err != nil {
			v.reportErr(file, err)
			// Records behind a broken block cannot be trusted to
			// decode; report the block and stop here.
			return r, true
		}
	}
	for err := range tbl.Check() {
		v.reportErr(file, err)
	}
	v.verifyRefs(tbl, file, r)
	v.verifyLogs(tbl, file)
	return r, true
}

func (v *verifier) verifyRefs(tbl *reftable.Table, file string, r updateRange) {
	var prev []byte
	first := true
	for rec, err := range tbl.Refs(nil) {
		if err != nil {
			v.reportErr(file, err)
			return
		}
		v.refs++
		name := string(rec.Name)
		if !first && bytes.Compare(rec.Name, prev) <= 0 {
			v.report(file, -1, "ref %q not after %q: refs out of order", name, prev)
		}
		first = false
		prev = append(prev[:0], rec.Name...)
		if rec.UpdateIndex < r.min || rec.UpdateIndex > r.max {
			v.report(file, -1, "ref %q: update index %d outside the table's %d..%d", name, rec.UpdateIndex, r.min, r.max)
		}
		if err := stack.CheckRefName(name); err != nil {
			v.warn(file, "bad ref name %v", err)
		}
		if name == "HEAD" && rec.Type == reftable.RefSymref && !strings.HasPrefix(string(rec.Target), "refs/heads/") {
			v.report(file, -1, "HEAD points to %q, not under refs/heads/", rec.Target)
		}
	}
}

func (v *verifier) verifyLogs(tbl *reftable.Table, file string) {
	var prevName []byte
	var prevIndex uint64
	first := true
	for rec, err := range tbl.Logs(nil) {
		if err != nil {
			v.reportErr(file, err)
			return
		}
		v.logs++
		if !first {
			c := bytes.Compare(rec.RefName, prevName)
			if c < 0 || c == 0 && rec.UpdateIndex >= prevIndex {
				v.report(file, -1, "log %q@%d not after %q@%d: logs out of order", rec.RefName, rec.UpdateIndex, prevName, prevIndex)
			}
		}
		first = false
		prevName, prevIndex = append(prevName[:0], rec.RefName...), rec.UpdateIndex
		if tz := int(rec.TZOffset); !rec.IsDeletion() && max(tz, -tz)%100 >= 60 {
			v.warn(file, "log %q@%d: time-zone offset %d has %d minutes: not git's HHMM (-0800 is -800; a writer storing minutes, as JGit, writes -480)",
				rec.RefName, rec.UpdateIndex, tz, max(tz, -tz)%100)
		}
	}
}

// verifyDir reports the leftovers among the files of the stack: tables
// the list does not name, lock files and temporary files.
func (v *verifier) verifyDir(src source, dir string, listed []string) {
	names, err := src.Files()
	if err != nil {
		v.report(filepath.Base(dir), -1, "%v", err)
		return
	}
	for _, name := range names {
		switch {
		case name == "tables.list" || slices.Contains(listed, name):
		case strings.HasSuffix(name, ".lock"):
			v.leftover(name, "lock file of a writer that is running or crashed (see locks; once its holder is gone, the next writer removes it, or reftable unlock -stale)")
		case strings.HasSuffix(name, ".temp"):
			v.leftover(name, "temporary file (reftable clean removes it)")
		case strings.HasSuffix(name, ".holder"):
			v.leftover(name, "holder file of a lock (reftable unlock -stale removes it with its lock, reftable clean once the lock is gone)")
		case strings.HasSuffix(name, ".ref"):
			v.leftover(name, "table not listed in tables.list (reftable clean removes it)")
		}
	}
}
