package reftable

import "runtime"

// Log blocks are compressed while the next one fills: a block once sealed
// goes to a goroutine of its own that deflates it (or, when enough are
// busy, the writer deflates it itself), and the writer writes the
// compressed blocks in order as they come back, at most
// 2*maxInflightLogs behind. Deflating is most of the cost of writing a log
// section (a quarter of a million-ref bulk update's), and each block is a
// zlib stream of its own, so the bytes are those of compressing them one
// by one. Only a block that starts past the file header goes this way:
// its offset is known once the blocks before it are written, which
// nothing needs until the section ends (finishSection and Close wait for
// every block). A writer that fails or is dropped leaves the goroutines
// to finish their block and end.

// maxInflightLogs is the most log blocks goroutines compress at once;
// twice as many may wait to be written, after which the writer waits
// for the oldest.
const maxInflightLogs = 4

// inflightLog is a log block handed to a goroutine to compress, or
// compressed by the writer, waiting to be written.
type inflightLog struct {
	block []byte // the sealed block; compressed once done is closed
	zbuf  []byte // scratch of the compressor
	key   []byte // its last key, for the index
	done  chan struct{}
}

// pipelineLogs reports whether writers hand log blocks to goroutines:
// when another processor may run them.
func pipelineLogs() bool { return runtime.GOMAXPROCS(0) > 1 }

// submitLog seals the log block being filled and hands it to a goroutine
// to compress. When busyMax goroutines (maxInflightLogs) are still
// compressing, the writer compresses the block itself rather than wait
// for one: on a machine where starting a goroutine on an idle processor
// takes about as long as compressing a block, waiting left a third of
// two processors idle.
func (w *Writer) submitLog() error {
	if err := w.drainDoneLogs(); err != nil {
		return err
	}
	if len(w.inflight) >= 2*maxInflightLogs {
		if err := w.drainLogs(2*maxInflightLogs - 1); err != nil {
			return err
		}
	}
	w.bw.seal()
	var b *inflightLog
	if n := len(w.spareLogs); n > 0 {
		b, w.spareLogs = w.spareLogs[n-1], w.spareLogs[:n-1]
	} else {
		b = new(inflightLog)
	}
	b.key = append(b.key[:0], w.bw.lastKey...)
	skip := w.bw.headerOff + 4
	// The block writer goes on in the spare's memory.
	b.block, w.bw.buf = w.bw.buf, b.block[:0]
	busy := 0
	for _, f := range w.inflight {
		if !f.isDone() {
			busy++
		}
	}
	if busy >= w.busyMax {
		b.block, b.zbuf = compressLog(b.block, skip, b.zbuf)
		b.done = closedDone
	} else {
		b.done = make(chan struct{})
		go func() {
			b.block, b.zbuf = compressLog(b.block, skip, b.zbuf)
			close(b.done)
		}()
	}
	w.inflight = append(w.inflight, b)
	w.active = false
	return nil
}

// closedDone is the done channel of a block compressed by the writer.
var closedDone = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// isDone reports whether b is compressed.
func (b *inflightLog) isDone() bool {
	select {
	case <-b.done:
		return true
	default:
		return false
	}
}

// drainLogs writes the oldest log blocks, waiting for each, until at
// most keep remain, as flushBlock writes a block.
func (w *Writer) drainLogs(keep int) error {
	for len(w.inflight) > keep {
		if err := w.writeOldestLog(); err != nil {
			return err
		}
	}
	return nil
}

// drainDoneLogs writes the oldest log blocks that are compressed already,
// without waiting for the others.
func (w *Writer) drainDoneLogs() error {
	for len(w.inflight) > 0 && w.inflight[0].isDone() {
		if err := w.writeOldestLog(); err != nil {
			return err
		}
	}
	return nil
}

// writeOldestLog waits for the oldest log block and writes it.
func (w *Writer) writeOldestLog() error {
	b := w.inflight[0]
	<-b.done
	n := copy(w.inflight, w.inflight[1:])
	w.inflight[n] = nil
	w.inflight = w.inflight[:n]
	if w.logStat.blocks == 0 {
		w.logStat.offset = w.next
	}
	w.logStat.blocks++
	w.stats.Blocks++
	if err := w.write(b.block); err != nil {
		return err
	}
	w.pending = 0
	w.index = append(w.index, indexEntry{key: clone(b.key), offset: uint64(w.next)})
	w.next += int64(len(b.block))
	w.spareLogs = append(w.spareLogs, b)
	return nil
}
