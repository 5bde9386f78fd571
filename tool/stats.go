package tool

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/refstore/refstore/reftable"
	"github.com/refstore/refstore/repo"
	"github.com/refstore/refstore/stack"
)

var cmdStats = &Command{
	ReadOnly: true,
	Name:     "stats",
	Usage:    "[-json] [PATH]",
	Short:    "summarize tables, record counts and compaction health",
	Long: `Stats prints one line per table (size, ref, log and object records,
deletions included, and bytes per ref), a total line, what geometric
auto-compaction would merge next (with the repository's
reftable.geometricFactor, 2 when unset or invalid, as git's), and the
lock files present in the stack directory.

With -json each line is one JSON object (JSON Lines) with a "kind":

	table       name, tables (1), size (bytes), refs, logs, objs
	            (records, deletions included), bytes_per_ref
	total       the same summed over the stack (no name)
	compaction  needed (whether auto-compaction would merge), start
	            and end (the tables start..end-1 it would merge, the
	            oldest is 0), tables (their names)
	lock        as locks -json prints

Examples:

	reftable stats
	reftable stats -json .git/reftable`,
	Flags: func(fs *flag.FlagSet) any {
		return fs.Bool("json", false, "print JSON Lines")
	},
	Run: runStats,
}

type countsJSON struct {
	Kind        string  `json:"kind"` // "table" or "total"
	Name        string  `json:"name,omitempty"`
	Tables      int     `json:"tables"`
	Size        int64   `json:"size"`
	Refs        int     `json:"refs"`
	Logs        int     `json:"logs"`
	Objs        int     `json:"objs"`
	BytesPerRef float64 `json:"bytes_per_ref"`
}

type compactionJSON struct {
	Kind   string   `json:"kind"` // "compaction"
	Needed bool     `json:"needed"`
	Start  int      `json:"start"` // first table to merge, oldest is 0
	End    int      `json:"end"`   // one past the last
	Tables []string `json:"tables"`
}

type lockJSON struct {
	Kind     string  `json:"kind"` // "lock"
	Path     string  `json:"path"`
	AgeSecs  float64 `json:"age_seconds"`
	PID      int     `json:"pid"`
	Host     string  `json:"host,omitempty"`
	Liveness string  `json:"liveness"`
}

func runStats(e *Env, flags any, args []string) error {
	t, err := e.openArg(args, readOnly, stack.Options{})
	if err != nil {
		return err
	}
	defer t.Close()
	v, err := t.view(e.ctx)
	if err != nil {
		return err
	}
	defer v.Close()
	p := &printer{w: e.stdout, json: *flags.(*bool)}
	total := countsJSON{Kind: "total"}
	for _, tbl := range v.Tables() {
		c, err := tableCounts(tbl)
		if err != nil {
			return err
		}
		if err := p.record(countsText(c), c); err != nil {
			return err
		}
		total.add(c)
	}
	total.BytesPerRef = perRef(total.Size, total.Refs)
	if err := p.record(countsText(total), total); err != nil {
		return err
	}
	start, end := stack.CompactionSegment(v.Tables(), compactionFactor(t))
	cj := compactionJSON{Kind: "compaction", Needed: end-start > 1, Start: start, End: end, Tables: []string{}}
	text := "compaction none needed"
	if cj.Needed {
		cj.Tables = v.Names[start:end]
		text = fmt.Sprintf("compaction would merge tables %d..%d: %s", start, end-1, strings.Join(cj.Tables, " "))
	}
	if err := p.record(text, cj); err != nil {
		return err
	}
	if t.dir == "" {
		return nil // a table file; a stack on S3 takes no locks
	}
	st, err := t.stack()
	if err != nil {
		return err
	}
	locks, err := st.Locks()
	if err != nil {
		return err
	}
	for _, l := range locks {
		if err := p.record(lockText(l), toLockJSON(l)); err != nil {
			return err
		}
	}
	return nil
}

// StatsText returns the lines reftable stats prints for tables, oldest
// first: one a table ("table <name> size=... refs=... logs=... objs=...
// bytes_per_ref=...", records counted by block, deletions included) and
// the total ("total tables=<n> ..."), without newlines.
func StatsText(tables []*reftable.Table) ([]string, error) {
	var lines []string
	total := countsJSON{Kind: "total"}
	for _, tbl := range tables {
		c, err := tableCounts(tbl)
		if err != nil {
			return nil, err
		}
		lines = append(lines, countsText(c))
		total.add(c)
	}
	total.BytesPerRef = perRef(total.Size, total.Refs)
	return append(lines, countsText(total)), nil
}

// add adds the counts of table c to the total t.
func (t *countsJSON) add(c countsJSON) {
	t.Tables++
	t.Size += c.Size
	t.Refs += c.Refs
	t.Logs += c.Logs
	t.Objs += c.Objs
}

func countsText(c countsJSON) string {
	name := "total tables=" + fmt.Sprint(c.Tables)
	if c.Kind == "table" {
		name = "table " + c.Name
	}
	return fmt.Sprintf("%s size=%d refs=%d logs=%d objs=%d bytes_per_ref=%.1f", name, c.Size, c.Refs, c.Logs, c.Objs, c.BytesPerRef)
}

func perRef(size int64, refs int) float64 {
	if refs == 0 {
		return 0
	}
	return float64(int64(float64(size)/float64(refs)*10+0.5)) / 10
}

func lockText(l stack.LockInfo) string {
	s := fmt.Sprintf("lock %s pid=%d holder=%s age=%s", l.Path, l.PID, l.Liveness, l.Age.Round(1e9))
	if host, _ := os.Hostname(); l.Host != "" && l.Host != host {
		s += " host=" + l.Host
	}
	return s
}

func toLockJSON(l stack.LockInfo) lockJSON {
	return lockJSON{Kind: "lock", Path: l.Path, AgeSecs: l.Age.Seconds(), PID: l.PID, Host: l.Host, Liveness: l.Liveness.String()}
}

// tableCounts counts a table's records by block type.
func tableCounts(tbl *reftable.Table) (countsJSON, error) {
	c := countsJSON{Kind: "table", Name: tbl.Name(), Tables: 1, Size: tbl.Size()}
	for b, err := range tbl.Blocks() {
		if err != nil {
			return c, err
		}
		switch b.Type {
		case 'r':
			c.Refs += b.Records
		case 'g':
			c.Logs += b.Records
		case 'o':
			c.Objs += b.Records
		}
	}
	c.BytesPerRef = perRef(c.Size, c.Refs)
	return c, nil
}

// compactionFactor is the geometric factor of t's auto-compaction: the
// repository's reftable.geometricFactor, which a command that only reads
// does not parse otherwise, or git's 2 when it is unset, t is in no
// repository, or its config is invalid (git would refuse to write).
func compactionFactor(t *target) int {
	if t.common != "" {
		if cfg, err := repo.ReadConfig(t.common); err == nil && cfg.GeometricFactor > 0 {
			return cfg.GeometricFactor
		}
	}
	return 2
}
