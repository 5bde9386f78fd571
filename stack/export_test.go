package stack

// NewDirBackend exposes the directory backend to the external tests.
func NewDirBackend(dir string, opts Options) Backend { return newDirBackend(dir, opts.withDefaults()) }

// WithoutFusedCompaction returns opts with commits that never fuse their
// auto-compaction (Addition.fuse), to test the compaction after a commit.
func WithoutFusedCompaction(opts Options) Options {
	opts.noFuse = true
	return opts
}
