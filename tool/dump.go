package tool

import (
	"flag"
	"fmt"
	"path/filepath"

	"github.com/refstore/refstore/stack"

	"github.com/refstore/refstore/reftable"
)

var cmdDump = &Command{
	ReadOnly: true,
	Name:     "dump",
	Usage:    "[-json] [-records] [PATH]",
	Short:    "print every table's header, footer and block layout",
	Long: `Dump prints every table of the stack, oldest first: its name, size,
header (version, hash, block size, update index range), footer (section
offsets and CRC-32) and every block (offset, type, length, size on disk,
records, restart points). With -records it also prints every ref and log
record of each table, deletions included. Object index records are not
printed (the library does not expose them); their blocks are.

Text lines start with their kind: stack, table, footer, block, ref, log.
JSON Lines carry the same as objects with a "kind" field:

	stack   tables, min_update_index, max_update_index (of the stack)
	table   name, size (bytes), version (1 or 2), hash ("sha1" or
	        "sha256"), block_size, min_update_index, max_update_index
	footer  table, offset (of the footer), ref_index, obj, obj_id_len,
	        obj_index, log, log_index (section offsets as the footer
	        records them, 0 when absent), crc (CRC-32 of the footer,
	        8 hex digits)
	block   table, offset, type ("r" ref, "g" log, "o" object,
	        "i" index), len (the block's stated length), size (bytes
	        on disk, with padding), records, restarts
	ref     table, ref (an object as refs -json prints)
	log     table, log (an object as logs -json prints)

A table holds refs when its first block is a ref block, and logs when
its first block is a log block or log is not 0. A log-only table as git
writes it starts its first log block at offset 0, in the bytes of the
header, and records log=0; as JGit writes it, the header stands alone,
the first log block follows it at offset 24 (28 for SHA-256) and the
footer records log=24 (28). A block's len can pass the block size: a log
block's len is its inflated length, and JGit writes an index level as
one block, padded to the next multiple of the block size.

Examples:

	reftable dump .git/reftable
	reftable dump -records .git/reftable/0x000000000001-0x000000000003-1a2b3c4d.ref
	reftable dump -json -records ~/src/project`,
	Flags: func(fs *flag.FlagSet) any {
		f := &dumpFlags{}
		fs.BoolVar(&f.json, "json", false, "print JSON Lines")
		fs.BoolVar(&f.records, "records", false, "print every ref and log record too")
		return f
	},
	Run: runDump,
}

type dumpFlags struct {
	json, records bool
}

type stackJSON struct {
	Kind           string `json:"kind"` // "stack"
	Tables         int    `json:"tables"`
	MinUpdateIndex uint64 `json:"min_update_index"`
	MaxUpdateIndex uint64 `json:"max_update_index"`
}

type tableJSON struct {
	Kind           string `json:"kind"` // "table"
	Name           string `json:"name"`
	Size           int64  `json:"size"`
	Version        int    `json:"version"`
	Hash           string `json:"hash"`
	BlockSize      int    `json:"block_size"`
	MinUpdateIndex uint64 `json:"min_update_index"`
	MaxUpdateIndex uint64 `json:"max_update_index"`
}

type footerJSON struct {
	Kind     string `json:"kind"` // "footer"
	Table    string `json:"table"`
	Offset   int64  `json:"offset"`
	RefIndex int64  `json:"ref_index"`
	Obj      int64  `json:"obj"`
	ObjIDLen int    `json:"obj_id_len"`
	ObjIndex int64  `json:"obj_index"`
	Log      int64  `json:"log"`
	LogIndex int64  `json:"log_index"`
	CRC      string `json:"crc"`
}

type blockJSON struct {
	Kind     string `json:"kind"` // "block"
	Table    string `json:"table"`
	Offset   int64  `json:"offset"`
	Type     string `json:"type"`
	Len      int    `json:"len"`
	Size     int64  `json:"size"`
	Records  int    `json:"records"`
	Restarts int    `json:"restarts"`
}

type recordJSON struct {
	Kind  string   `json:"kind"` // "ref" or "log"
	Table string   `json:"table"`
	Ref   *refJSON `json:"ref,omitempty"`
	Log   *logJSON `json:"log,omitempty"`
}

func runDump(e *Env, flags any, args []string) error {
	f := flags.(*dumpFlags)
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
	src := source(dirSource(filepath.Dir(t.file)))
	if t.file == "" {
		if src, err = sourceOf(t); err != nil {
			return err
		}
	}
	defer src.Close()
	p := &printer{w: e.stdout, json: f.json}
	tables := v.Tables()
	if err := p.record(fmt.Sprintf("stack tables=%d update_index=%d..%d", len(tables), v.MinUpdateIndex(), v.MaxUpdateIndex()),
		stackJSON{Kind: "stack", Tables: len(tables), MinUpdateIndex: v.MinUpdateIndex(), MaxUpdateIndex: v.MaxUpdateIndex()}); err != nil {
		return err
	}
	for _, tbl := range tables {
		if err := dumpTable(p, tbl, src, f.records); err != nil {
			return err
		}
	}
	return nil
}

func dumpTable(p *printer, tbl *reftable.Table, src source, records bool) error {
	name := tbl.Name()
	tj := tableJSON{Kind: "table", Name: name, Size: tbl.Size(), Version: tbl.Version(), Hash: tbl.Hash().String(),
		BlockSize: tbl.BlockSize(), MinUpdateIndex: tbl.MinUpdateIndex(), MaxUpdateIndex: tbl.MaxUpdateIndex()}
	if err := p.record(fmt.Sprintf("table %s size=%d version=%d hash=%s block_size=%d update_index=%d..%d",
		name, tj.Size, tj.Version, tj.Hash, tj.BlockSize, tj.MinUpdateIndex, tj.MaxUpdateIndex), tj); err != nil {
		return err
	}
	l := tbl.Layout()
	crc, err := footerCRC(src, name)
	if err != nil {
		return err
	}
	fj := footerJSON{Kind: "footer", Table: name, Offset: l.FooterOffset, RefIndex: l.RefIndex, Obj: l.ObjOffset,
		ObjIDLen: l.ObjIDLen, ObjIndex: l.ObjIndex, Log: l.LogOffset, LogIndex: l.LogIndex, CRC: fmt.Sprintf("%08x", crc)}
	if err := p.record(fmt.Sprintf("footer offset=%d ref_index=%d obj=%d obj_id_len=%d obj_index=%d log=%d log_index=%d crc=%s",
		fj.Offset, fj.RefIndex, fj.Obj, fj.ObjIDLen, fj.ObjIndex, fj.Log, fj.LogIndex, fj.CRC), fj); err != nil {
		return err
	}
	for b, err := range tbl.Blocks() {
		if err != nil {
			return err
		}
		bj := blockJSON{Kind: "block", Table: name, Offset: b.Offset, Type: string(rune(b.Type)), Len: b.Len,
			Size: b.Size, Records: b.Records, Restarts: b.Restarts}
		if err := p.record(fmt.Sprintf("block offset=%d type=%s len=%d size=%d records=%d restarts=%d",
			bj.Offset, bj.Type, bj.Len, bj.Size, bj.Records, bj.Restarts), bj); err != nil {
			return err
		}
	}
	if !records {
		return nil
	}
	for r, err := range tbl.Refs(nil) {
		if err != nil {
			return err
		}
		rj := toRefJSON(&r)
		if err := p.record(fmt.Sprintf("ref %s update_index=%d", RefText(&r), r.UpdateIndex),
			recordJSON{Kind: "ref", Table: name, Ref: &rj}); err != nil {
			return err
		}
	}
	for l, err := range tbl.Logs(nil) {
		if err != nil {
			return err
		}
		lj := toLogJSON(&l)
		if err := p.record(fmt.Sprintf("log %d %s", l.UpdateIndex, logText(&l)),
			recordJSON{Kind: "log", Table: name, Log: &lj}); err != nil {
			return err
		}
	}
	return nil
}
