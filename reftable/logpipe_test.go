package reftable

import (
	"bytes"
	"testing"
)

// TestLogPipelineSameBytes: a table whose log blocks are compressed while
// the next ones fill is the table compressing them one by one writes,
// with refs before the logs or not (the first log block then holds the
// file header and is not handed over), for block sizes that make one log
// block, a few, and more than are in flight at once; its stats agree. It
// does with the writer compressing every block itself (busyMax 0), some
// (1), and as it does (maxInflightLogs).
func TestLogPipelineSameBytes(t *testing.T) {
	logs := benchLogs(3000)
	refs := benchRefs(50, SHA1)
	for _, withRefs := range []bool{false, true} {
		for _, bs := range []int{0, 1 << 10, 64 << 10} {
			for _, busy := range []int{0, 1, maxInflightLogs} {
				var tables [2][]byte
				var stats [2]WriterStats
				for k, pipeline := range []bool{false, true} {
					var buf bytes.Buffer
					w, err := NewWriter(&buf, WriterOptions{BlockSize: bs, MinUpdateIndex: 1, MaxUpdateIndex: 1})
					if err != nil {
						t.Fatal(err)
					}
					w.pipeline, w.busyMax = pipeline, busy
					if withRefs {
						for i := range refs {
							if err := w.AddRef(&refs[i]); err != nil {
								t.Fatal(err)
							}
						}
					}
					for i := range logs {
						if err := w.AddLog(&logs[i]); err != nil {
							t.Fatal(err)
						}
					}
					if err := w.Close(); err != nil {
						t.Fatal(err)
					}
					tables[k], stats[k] = buf.Bytes(), w.Stats()
				}
				if !bytes.Equal(tables[0], tables[1]) {
					t.Errorf("refs %v, block size %d, busyMax %d: the tables differ (%d and %d bytes)", withRefs, bs, busy, len(tables[0]), len(tables[1]))
				}
				if stats[0] != stats[1] {
					t.Errorf("refs %v, block size %d, busyMax %d: stats %+v, pipelined %+v", withRefs, bs, busy, stats[0], stats[1])
				}
			}
		}
	}
}
