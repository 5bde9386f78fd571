// Package objstore runs a reftable stack on an object store with
// conditional writes. Tables are immutable objects created with
// If-None-Match: *, and tables.list (the same bytes as git's file) is the
// one mutable object, replaced with If-Match: <etag> at every commit.
// There are no lock objects and no leases.
//
//	P/tables.list                         the list, oldest table first
//	P/0x<min>-0x<max>-<random>.ref        tables, never rewritten
//	P/probe.passed                        the store passed the probe (see ProbeCached)
//
// NewBackend returns a storage.Backend over a Store; stack.OpenBackend
// opens a Stack on it, and the commit, reload, transaction and compaction
// logic of package stack runs unchanged. Mem is an in-memory Store with
// real conditional semantics and fault injection, for tests.
//
// The sections below give the argument for each guarantee, and after
// each, marked "Interleaving:", the ways it was found broken and what
// now holds it.
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
// is then a *stack.RefConflictError, as on disk). A commit that merges
// its table with listed ones (stack's fused auto-compaction) swaps the
// same way: its list replaces the one it merged, or nothing. A compaction
// that loses rebases: it swaps again without rewriting if the tables it
// merged are still listed as one run, and is abandoned otherwise. A
// writer whose swap was refused deletes the tables it uploaded for that
// attempt (a compaction reuses its table for the rebase); so does a
// fused commit after its swap, for the listed tables it replaced, and a
// compaction for its run.
//
// A commit reports success (and the reftable command exits 0) only when
// the store accepted its PUT of the list: the 2xx reply of a request
// sent once (s3store sends writes once; Go's HTTP client re-sends a PUT
// only when none of it was written).
//
// Interleaving: a store that checks a condition and then writes in a
// separate step (a HEAD, then a plain PUT, as a naive gateway does)
// accepts two swaps from one list. The second overwrites the first,
// whose writer reported success: its update is gone without a trace, and
// its update index is reused by the other commit. 72 to 110 of 200
// commits were lost so. Probe cannot see it, its requests coming one at a
// time; RaceProbe races concurrent conditional writes of which exactly
// one may win, and NewBackend runs it with Probe (see "What the store
// must do"). A store that starts to fail after it passed is caught on
// the commit path where the list shows it: a commit reloads the list
// right after its swap, and when the tables it replaced are listed again,
// or the ref it set has no record of its update index or a later one,
// another writer overwrote it: the commit fails with stack.ErrLostCommit
// instead of reporting success, a compaction keeps the tables it merged
// (listed again) instead of deleting them from under the stack, and the
// probe's marker is removed (Backend.StoreUnsafe). This misses a loss
// only when, before the reload, later commits deleted the ref and a
// compaction of the oldest tables dropped the deletion. On such a store
// (s3fake.Server.NonAtomic, its marker planted), 8 writers of 25 commits
// each lost 13 and 16 reported commits in two runs before, and none in
// 10 runs after, 11 to 24 commits failing with ErrLostCommit instead.
//
// There is no ABA problem. The state of the stack is a function of the
// list's content alone, because a table name denotes one sequence of
// bytes forever: tables are created with If-None-Match: * (so a name in
// use is never overwritten; a taken name is retried with another random
// part) and never rewritten, and a writer publishes only names it read in
// the list or created itself. A swap can therefore only succeed against a
// list whose content is the one the writer checked: with ETags that change
// on every write, because the object was not written since; with ETags
// derived from content (S3's MD5 of a single-part upload, versitygw's),
// because equal content is an equal state. And a list's content never
// comes back: every swap adds a name never listed before, or removes
// names, and a removed name is never published again, since only lists
// that name it are read to build on (the one content that can recur is
// the empty list, of a stack whose every ref was deleted and compacted
// away, and an empty stack is one state). A deleted name could only come
// back if a later table drew the same 32-bit random part for the same
// update index range; the block cache keys blocks by name and ETag, so it
// never serves another object's bytes even then.
//
// Interleaving: versitygw reads an object's ETag before it opens the
// object, so a GET racing a PUT may return the new content with the old
// ETag. A writer building on that content swaps with If-Match on the old
// ETag, which the store refuses (the list has the new ETag): a
// conflict, retried. A conditional GET with the old ETag answers "not
// modified" only while the old object is in place. The other mix, old
// content with the new ETag, would let a writer overwrite the newer list;
// no store that links a fully written object into place returns it.
//
// # What the store must do
//
//   - Strong read-after-write consistency for single keys: a GET or HEAD
//     after an accepted PUT sees it, and a conditional request is judged
//     against the latest accepted write (AWS S3, MinIO, versitygw, GCS
//     and Azure do this today).
//   - Honour If-None-Match: * and If-Match on PUT, and If-None-Match on
//     GET, judging a condition and applying the write as one step.
//     NewBackend checks this with ProbeCached: Probe, each condition on a
//     scratch key, and RaceProbe, concurrent conditional writes of which
//     exactly one must win. It refuses a store that fails unless
//     Options.AllowUnsafe is set (readers set it, since the probe writes):
//     a store that ignores conditions, or checks them apart from the
//     write, would silently let concurrent commits overwrite each other.
//     A pass is recorded in the marker P/probe.passed, which later
//     backends on the prefix read instead of probing, for ProbeTTL (a
//     day): one GET instead of about 70 requests. The marker lives in the
//     store rather than in a local cache, so that a new or emptied store
//     is always probed whatever ran on the machine before, and one probe
//     serves every client; the commit path removes it when it finds the
//     store overwrote a commit (above).
//   - Nothing about lost replies: a request whose reply was lost (a
//     timeout, a broken connection, a dead helper) may still be applied
//     afterwards, after any number of later requests.
//
// Interleaving: the backend used to assume that a PUT whose reply was
// lost takes effect, if at all, before the next request of the same
// client is answered, and read the list back after a failed PUT of the
// list: a list that did not name the commit's tables was taken for a
// refusal, and the commit deleted them. But a request may wait in the
// store (behind the key's lock, on a slow disk) past the client's
// timeout and be applied after the read-back; the list it installs then
// names deleted tables, and the stack is unreadable. Now only a read-back
// naming the commit's tables decides (the commit happened,
// *stack.CommittedError); anything else is stack.ErrCommitUncertain, and
// the tables are kept: Clean removes them once no list can name them.
//
// # Cleanup and readers
//
// Nothing locks a table against compaction or cleanup, and nothing
// bounds the time from a writer's upload of a table to the request that
// publishes it: a writer may be suspended anywhere, for an hour, also
// between its last check and its PUT (a SigV4 signature bounds only the
// time from signing a request to its arrival, and a request is signed
// after the check). So stack.Clean does not judge an unlisted table by
// age but by what can still publish it, against one list it reads: an
// addition's table has update indexes above those of the list it
// extends, and is kept while the stack's highest index is below them; a
// compaction's table spans exactly the update indexes of the run of
// tables it replaces, and is kept while a run of listed tables spans
// them. Once neither holds, the list the writer checked is gone and never
// comes back (no ABA, above), and its swap cannot succeed: the table is
// removed, whatever its age and whatever the clocks say. A swap names a
// table it confirmed under the same condition: a compaction checks its
// table (StagedTable.Place: still there, same ETag) after it read the
// list it swaps with If-Match, and Clean keeps the table for as long as
// that list's run is listed. Place also refuses a table uploaded longer
// than MaxPublishDelay ago, for a Clean of an earlier version, which
// judged by age alone.
//
// Interleaving: Clean used to remove an unlisted table older than its
// grace period. A compaction's table is unlisted from its upload to its
// swap; with a grace shorter than that (reftable clean -grace 0, or a
// compaction suspended for longer than the grace), Clean removed it
// between the compaction's check and its swap, and the swap published a
// list naming a missing table.
//
// A compaction deletes the tables it replaced right after its swap, so a
// reader holding an older list may find a table gone: it gets an error
// matching fs.ErrNotExist, reads the list again and retries, as long as
// the list keeps changing, for up to 30 seconds, keeping the tables it
// opened already (a name denotes the same bytes forever), so that each
// try opens only the tables new in the list. A listed table missing from
// a list that has not changed is damage: stack.ErrCorrupt, at once.
//
// Interleaving: a reader (and a writer, which reads the list and opens
// its tables to check its updates) used to give up after three tries and
// three seconds, calling the stack corrupt. Four writers on versitygw
// under load, each of their commits followed by an auto-compaction that
// deletes tables, failed 4 to 11 commits in 100 so. And a listed table
// missing for good was taken for a concurrent compaction and retried for
// 10 seconds, "tables.list changed concurrently".
package objstore
