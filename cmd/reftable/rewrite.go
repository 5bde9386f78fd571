package main

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"

	"github.com/refstore/refstore/reftable"
	"github.com/refstore/refstore/stack"
)

var cmdRewrite = &command{
	Name:  "rewrite",
	Usage: "[-block-size N] [-restart-interval N] [-no-obj-index] [-unpadded] IN OUT",
	Short: "re-encode one table with other write options",
	Long: `Rewrite writes the records of the table file IN to a new table file OUT
with other write options: every ref record and every log record,
deletions included, reflog messages exactly as stored, the same update
index range and the same hash function. The block size defaults to IN's,
the restart interval to 16, and the object index and block padding are
on, which are git's defaults: rewriting a table git wrote with its
default options reproduces it (log blocks only once inflated, since
zlib implementations compress differently).

OUT must not exist. The table is written to a temporary file next to
OUT, synced and renamed to OUT (an interrupt removes it). Rewrite
prints one line:

	refs=<n> logs=<n> size=<bytes>

Rewriting never changes a stack: put OUT in a stack only by hand.

Examples:

	reftable rewrite -block-size 65536 big.ref big-64k.ref
	reftable rewrite -no-obj-index -unpadded in.ref small.ref`,
	Flags: func(fs *flag.FlagSet) any {
		f := &rewriteFlags{}
		fs.IntVar(&f.blockSize, "block-size", 0, "block size in bytes (default: IN's)")
		fs.IntVar(&f.restartInterval, "restart-interval", reftable.DefaultRestartInterval, "records between restart points")
		fs.BoolVar(&f.noObjIndex, "no-obj-index", false, "write no object index")
		fs.BoolVar(&f.unpadded, "unpadded", false, "do not pad blocks to the block size")
		return f
	},
	Run: runRewrite,
}

type rewriteFlags struct {
	blockSize, restartInterval int
	noObjIndex, unpadded       bool
}

func runRewrite(e *env, flags any, args []string) error {
	f := flags.(*rewriteFlags)
	if len(args) != 2 {
		return usagef("want IN and OUT, got %d arguments", len(args))
	}
	if f.blockSize < 0 || f.blockSize > reftable.MaxBlockSize {
		return usagef("-block-size %d: want 1 to %d", f.blockSize, reftable.MaxBlockSize)
	}
	if f.restartInterval < 1 || f.restartInterval > 65535 {
		return usagef("-restart-interval %d: want 1 to 65535", f.restartInterval)
	}
	in, out := args[0], args[1]
	if _, err := os.Lstat(out); err == nil {
		return fmt.Errorf("%s: already exists; rewrite does not overwrite", out)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	tbl, src, err := openTableFile(in)
	if err != nil {
		return err
	}
	defer src.Close()
	opts := reftable.WriterOptions{
		BlockSize:        f.blockSize,
		RestartInterval:  f.restartInterval,
		SkipIndexObjects: f.noObjIndex,
		Unpadded:         f.unpadded,
		Hash:             tbl.Hash(),
		MinUpdateIndex:   tbl.MinUpdateIndex(),
		MaxUpdateIndex:   tbl.MaxUpdateIndex(),
		ExactLogMessage:  true,
	}
	if opts.BlockSize == 0 {
		opts.BlockSize = tbl.BlockSize()
	}
	st, err := writeFileAtomic(out, func(w *os.File) (rewriteStats, error) {
		return copyTable(w, tbl, opts)
	})
	if err != nil {
		return err
	}
	fprintf(e.stdout, "refs=%d logs=%d size=%d\n", st.refs, st.logs, st.size)
	return nil
}

type rewriteStats struct {
	refs, logs int
	size       int64
}

// copyTable writes every record of tbl to w with opts.
func copyTable(w *os.File, tbl *reftable.Table, opts reftable.WriterOptions) (rewriteStats, error) {
	var st rewriteStats
	tw, err := reftable.NewWriter(w, opts)
	if err != nil {
		return st, err
	}
	for r, err := range tbl.Refs(nil) {
		if err != nil {
			return st, err
		}
		if err := tw.AddRef(&r); err != nil {
			return st, err
		}
		st.refs++
	}
	for l, err := range tbl.Logs(nil) {
		if err != nil {
			return st, err
		}
		if err := tw.AddLog(&l); err != nil {
			return st, err
		}
		st.logs++
	}
	if err := tw.Close(); err != nil {
		return st, err
	}
	fi, err := w.Stat()
	if err != nil {
		return st, err
	}
	st.size = fi.Size()
	return st, nil
}

// writeFileAtomic creates path by writing a temporary file in its
// directory with fill, syncing it and renaming it to path, which must
// not exist. The temporary file is removed on failure, and by the
// interrupt handler (it is held, see stack.Hold).
func writeFileAtomic[T any](path string, fill func(*os.File) (T, error)) (res T, err error) {
	dir := filepath.Dir(path)
	name := filepath.Join(dir, "."+filepath.Base(path)+"."+strconv.FormatUint(rand.Uint64(), 36)+".temp")
	release := stack.Hold(name)
	defer release()
	tmp, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)
	if err != nil {
		return res, err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if res, err = fill(tmp); err != nil {
		return res, err
	}
	if err = tmp.Sync(); err != nil {
		return res, err
	}
	if err = tmp.Close(); err != nil {
		return res, err
	}
	// Publish with a hard link, which fails if OUT appeared meanwhile
	// (rename would replace it), then drop the temporary name.
	if err = os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return res, fmt.Errorf("%s: already exists; rewrite does not overwrite", path)
		}
		return res, err
	}
	if err = os.Remove(tmp.Name()); err != nil {
		return res, err
	}
	return res, syncDir(dir)
}

// syncDir makes a rename in dir durable. Windows cannot sync a
// directory; its renames are durable once they return.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
