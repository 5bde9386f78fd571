package tool

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

var cmdRewrite = &Command{
	Name:  "rewrite",
	Usage: "[-block-size N] [-restart-interval N] [-no-obj-index] [-unpadded] IN OUT",
	Short: "re-encode one table with other write options",
	Long: `Rewrite writes the records of the table file IN to a new table file OUT:
every ref record and every log record, deletions included, reflog
messages exactly as stored, the same update index range and the same
hash function.

By default OUT is written with IN's options, as IN shows them:

  - the block size IN declares; for a table declaring 0 (unaligned), the
    length of its longest block (inflated, for log blocks);
  - the restart interval: git's writer puts a restart point every N
    records of a block, counted from its first, and one wherever a key
    shares no byte with the previous key. N is taken as the greatest
    common divisor of the positions of the restart points of the first
    kind. Where no block shows one (blocks of a record or a few each),
    git's default, 16, or the least interval above it that adds no
    restart point IN lacks; for restart points that follow no such rule
    (JGit's), the most records from one restart point to the next;
  - an object index, unless IN has a ref index but no obj section (git
    writes an object index only after a ref index);
  - padding, unless IN declares block size 0, or one of its blocks is
    followed at once by the next though shorter than the block size, or
    a section of 2 or 3 blocks has an index (git writes one from 4 on).

Rewriting a table so reproduces it byte for byte, log blocks too (they
are compressed as git's zlib compresses them at level 9; JGit's may
differ). Each flag overrides what IN shows; -no-obj-index=false and
-unpadded=false turn the object index and padding on.

-unpadded writes blocks back to back and declares block size 0 in the
header, as the format asks of unaligned tables. git's library declares
its block size even when it does not pad, which git reads but JGit
refuses; block size 0 is read by both. (Without the flag an unpadded
IN keeps the block size it declares.)

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
		fs.IntVar(&f.restartInterval, "restart-interval", 0, "records between restart points (default: IN's)")
		fs.Var(&f.noObjIndex, "no-obj-index", "write no object index (default: as IN)")
		fs.Var(&f.unpadded, "unpadded", "do not pad blocks, declare block size 0 (default: as IN)")
		return f
	},
	Run: runRewrite,
}

type rewriteFlags struct {
	blockSize, restartInterval int
	noObjIndex, unpadded       optBool
}

// optBool is a boolean flag that knows whether it was given.
type optBool struct{ set, v bool }

func (b *optBool) String() string   { return strconv.FormatBool(b.v) }
func (b *optBool) IsBoolFlag() bool { return true }

func (b *optBool) Set(s string) error {
	v, err := strconv.ParseBool(s)
	if err != nil {
		return err
	}
	b.set, b.v = true, v
	return nil
}

func runRewrite(e *Env, flags any, args []string) error {
	f := flags.(*rewriteFlags)
	if err := wantArgs(args, "IN", "OUT"); err != nil {
		return err
	}
	if f.blockSize < 0 || f.blockSize > reftable.MaxBlockSize {
		return usagef("-block-size %d: want 1 to %d", f.blockSize, reftable.MaxBlockSize)
	}
	if f.restartInterval < 0 || f.restartInterval > 65535 {
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
	opts, err := tbl.WriterOptions()
	if err != nil {
		return err
	}
	opts.ExactLogMessage = true
	if f.blockSize != 0 {
		opts.BlockSize = f.blockSize
	}
	if f.restartInterval != 0 {
		opts.RestartInterval = f.restartInterval
	}
	if f.noObjIndex.set {
		opts.SkipIndexObjects = f.noObjIndex.v
	}
	if f.unpadded.set {
		opts.Unpadded, opts.UnalignedHeader = f.unpadded.v, f.unpadded.v
	}
	st, err := writeFileAtomic(e.held, out, func(w *os.File) (rewriteStats, error) {
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
// interrupt handler (it is held in held, see stack.Cleanup.Hold).
func writeFileAtomic[T any](held *stack.Cleanup, path string, fill func(*os.File) (T, error)) (res T, err error) {
	dir := filepath.Dir(path)
	name := filepath.Join(dir, "."+filepath.Base(path)+"."+strconv.FormatUint(rand.Uint64(), 36)+".temp")
	release := held.Hold(nil, name)
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
