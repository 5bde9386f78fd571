package stack

// NewDirBackend exposes the directory backend to the external tests.
func NewDirBackend(dir string, opts Options) Backend { return newDirBackend(dir, opts.withDefaults()) }
