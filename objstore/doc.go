// Package objstore runs a reftable stack on an object store with
// conditional writes. Tables are immutable objects created with
// If-None-Match: *, and tables.list (the same bytes as git's file) is the
// one mutable object, replaced with If-Match: <etag> at every commit.
// There are no lock objects and no leases.
//
//	P/tables.list                         the list, oldest table first
//	P/0x<min>-0x<max>-<random>.ref        tables, never rewritten
//
// NewBackend returns a stack.Backend over a Store; stack.OpenBackend
// opens a Stack on it, and the commit, reload, transaction and compaction
// logic of package stack runs unchanged. Mem is an in-memory Store with
// real conditional semantics and fault injection, for tests.
//
// # Consistency
//
// Every commit is linearized at the one accepted conditional PUT of
// tables.list. A writer reads the list and its ETag (Begin), checks the
// expected old values of its refs against the tables that list names,
// uploads its new table under a fresh name, and replaces the list with
// If-Match: <etag>. The store accepts that PUT only if no other PUT of
// the list was accepted since the writer's read, so the view the writer
// checked is exactly the state its commit replaces: a commit is a
// compare-and-swap of the whole stack state. The first list is created
// with If-None-Match: *, so two writers of an empty stack cannot both
// win. A lost swap is stack.ErrConflict; the stack re-reads, re-checks
// and retries with jittered backoff (a ref whose value changed meanwhile
// is then a *stack.RefConflictError, as on disk). A compaction that loses
// rebases: it swaps again without rewriting if the tables it merged are
// still listed as one run, and is abandoned otherwise.
//
// There is no ABA problem. The state of the stack is a function of the
// list's content alone, because a table name denotes one sequence of
// bytes forever: tables are created with If-None-Match: * (so a name in
// use is never overwritten; a taken name is retried with another random
// part) and never rewritten, and a writer publishes only names it read in
// the list or created itself. A swap can therefore only succeed against a
// list whose content is the one the writer checked: with ETags that change
// on every write, because the object was not written since; with ETags
// derived from content (S3's MD5 of a single-part upload), because equal
// content is an equal state. A deleted name could only come back if a
// later table drew the same 32-bit random part for the same update index
// range; the block cache keys blocks by name and ETag, so it never serves
// another object's bytes even then.
//
// # What the store must do
//
//   - Strong read-after-write consistency for single keys: a GET or HEAD
//     after an accepted PUT sees it, and a conditional request is judged
//     against the latest accepted write (AWS S3, MinIO, versitygw, GCS
//     and Azure do this today).
//   - Honour If-None-Match: * and If-Match on PUT, and If-None-Match on
//     GET. NewBackend runs Probe, which checks each of these on a scratch
//     key, and refuses a store that fails unless Options.AllowUnsafe is
//     set: a store that ignores conditions would silently let concurrent
//     commits overwrite each other.
//   - A PUT whose reply was lost takes effect, if at all, before the next
//     request of the same client is answered. After such a failure the
//     backend reads the list back: if it names a table the commit added,
//     the commit happened (stack.CommittedError); if the list cannot be
//     read, the result is stack.ErrCommitUncertain and the tables are
//     kept.
//
// # Cleanup and readers
//
// Nothing locks a table against compaction or cleanup, so unlisted
// tables are judged by age: stack.Clean removes an unlisted table only
// when it is older than the grace period (the CLI's default is one hour),
// which must exceed the time a writer takes from uploading a table to
// publishing the list that names it. A compaction deletes the tables it
// replaced right after its swap, so a reader holding an older list may
// find a table gone: it gets an error matching fs.ErrNotExist, and the
// stack reloads the list and retries (bounded) before reporting it.
package objstore
