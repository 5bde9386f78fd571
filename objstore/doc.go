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
// is then a *stack.RefConflictError, as on disk).
//
// Begin's read is a GET with If-None-Match: <etag> of the newest list the
// backend knows (the one it last read, or the one it published, whose
// ETag the PUT returned): "not modified" means that list is current, and
// its names are used. A commit then takes the list it published as the
// stack's without reading it back (storage.ListAdopter), and one that
// merged its table with listed ones (stack's fused auto-compaction)
// keeps the merged table it wrote in memory: an uncontended commit of
// one ref is three requests, the GET answered 304, the table's PUT and
// the list's PUT, with or without auto-compaction, and a reload when
// nothing changed one GET answered 304. A commit within a second of a
// read of the list (the open of a process that commits once, a reload
// answered 304) begins on that read's list without reading it again
// (storage.FreshBeginner): a base another writer replaced meanwhile
// costs a refused swap, as any lost race does, and the retry reads. The
// tables a fused commit replaced are deleted, one DELETE each, by the
// stack's next read of the list (see Interleaving).
//
// A writer whose swap was lost waits at least a few times as long as the
// attempt took, and while the list keeps changing (one conditional GET
// after each pause), up to three times longer, before it tries again: a
// lost attempt costs an upload, a refused swap and a deletion. A
// transaction whose swap was lost keeps its uploaded table and, after
// the backoff, rebases it: it reads the list again and publishes it with
// the table appended, without uploading again, when the table is what
// the transaction would write on that list. That needs three things
// (stack's addition.rebaseOnce): the list still names a table of the list
// the commit extended (so none in between was empty, and the highest
// update index of the lists in between never went down); its highest
// update index is below the table's, so that indexes keep increasing
// (only compactions came in between, or commits that took fewer indexes
// than the table left free: a retried transaction writes its table
// three indexes above the next one, see addition.contend); and the
// transaction's checks, run again on that list, pass and give the same
// bytes at the same index, so nothing it depends on (old values,
// reflogs, symbolic refs, directory/file conflicts) changed. The list
// published is then the one a writer that began on it would publish. A
// failed check is reported as before (*stack.RefConflictError); a table
// that cannot be rebased is deleted and the transaction starts again. A
// retried transaction does not merge listed tables, which would make its
// table impossible to rebase: the writers that win at once compact. A commit that merges
// its table with listed ones (stack's fused auto-compaction) swaps the
// same way: its list replaces the one it merged, or nothing. A compaction
// that loses rebases: it swaps again without rewriting if the tables it
// merged are still listed as one run, and is abandoned otherwise. A
// writer whose swap was refused deletes the tables it uploaded for that
// attempt unless it rebases them (a compaction reuses its table for the
// rebase, a transaction its table); a compaction deletes its run after
// its swap, and a fused commit the listed tables it replaced once a
// later read of the list shows its swap stood.
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
// the commit path where the list shows it. A compaction reads the list
// back right after its swap, before it deletes anything: when the tables
// it merged are listed again, another writer overwrote it: it fails with
// stack.ErrLostCommit and keeps them instead of deleting them from under
// the stack, and the probe's marker is removed (Backend.StoreUnsafe). A
// commit does not read back (it adopts its list, see Consistency): the
// same check (the tables it replaced are not listed again, and the ref
// it set has a record of its update index or a later one) runs on the
// next list its stack loads that differs from the one it published (its
// next commit's Begin, a reload), and that operation fails with
// ErrLostCommit, after the lost commit reported success. The tables a
// fused commit replaced are deleted only once that check passed, or the
// store answered "not modified" for the list it published (a stack
// that is closed reads the list for that; a process that dies first
// leaves them to Clean). This misses a loss only when,
// before the check, later commits deleted the ref and a compaction of
// the oldest tables dropped the deletion, or when the stack loads no
// other list before it is closed. On such a store (s3fake.Server.NonAtomic, its marker
// planted), 8 writers of 25 commits each lost 13 and 16 reported commits
// in two runs with no check, and none in 10 runs when every commit read
// its list back, 11 to 24 commits failing with ErrLostCommit instead;
// now that a commit adopts its list, such a loss is reported by the
// writer's next operation instead. With
// Options.ConfirmCommits every commit reads its list back, one request
// more, and fails before it reports success: the reftable command's
// choice, whose process ends after one commit.
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
// names (a rebased table, too, was never listed), and a removed name is
// never published again, since only lists that name it are read to build
// on. Not even the empty list comes back: a compaction that leaves no
// record keeps a table without records spanning the update indexes it
// merged (see Cleanup and readers). A deleted name could only come
// back if a later table drew the same 32-bit random part for the same
// update index range; the block cache keys blocks by name and ETag, so it
// never serves another object's bytes even then.
//
// Interleaving: versitygw reads an object's ETag before it opens the
// object, so a GET racing a PUT may return the new content with the old
// ETag. A writer building on that content swaps with If-Match on the old
// ETag, which the store refuses (the list has the new ETag): a
// conflict, retried. A conditional GET with the old ETag answers "not
// modified" only while the old object is in place; were it answered in
// the race, Begin would use the names it knows for the old ETag, and
// the swap, If-Match on that ETag, is refused the same way. The other mix, old
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
//     day): one GET instead of about 70 requests, sent together with
//     the GET of the list the stack loads first. The marker lives in the
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
// removed, whatever its age and whatever the clocks say. A transaction
// that rebases its table publishes it on a later list than the one it
// extends, but only on one that still names a table of that list and
// whose highest index is below the table's (see Consistency): every list
// from the one it extended to that one names that table, so none was
// empty, and the highest index of a list never goes down (a swap appends
// a table above it or replaces a run by a table of the same range, one
// without records when the merge left none: the list is never emptied
// again once a commit listed a table). So each list in between, any
// Clean read, had its highest index below the table's, and Clean kept
// it.
//
// Interleaving: a compaction that merged every table into nothing used
// to publish an empty list, and the next commit took update index 1
// again. A Clean that had read the list before (highest index 3, say)
// and listed the objects after that commit uploaded its table judged the
// table one no list could take, and removed it; the commit's swap then
// published a list naming a missing table, after reporting success
// (TestCleanBesideEmptiedStack). A swap names a
// table it confirmed under the same condition: a compaction checks its
// table (StagedTable.Place: still there, same ETag) after it read the
// list it swaps with If-Match, and Clean keeps the table for as long as
// that list's run is listed. Place also refuses a table uploaded longer
// than MaxPublishDelay ago, for a Clean of an earlier version, which
// judged by age alone; a transaction rebases a table stored at most as
// long ago, and writes it again otherwise.
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
