// Package stack implements the reftable stack: a directory of immutable
// reftable files and the tables.list file naming them, oldest first, as
// git keeps .git/reftable. Several processes, this package's and git's,
// may read and write the same stack at once.
//
// # Using a stack
//
// Open opens a directory (OpenBackend any storage.Backend, such as an
// object store's, see package objstore). Refs are Ref values, for reading
// and writing: Stack.Ref, Resolve, Refs and Reflog read the stack as it
// is, a Snapshot reads one moment of it (and gives the format's merged
// view to tools that look at tables), a Transaction changes refs with
// compare-and-swap and reflog entries, and AddTable writes a table of
// records as they are, for importers. AutoCompact, CompactAll and Clean
// maintain the stack; Locks and BreakStaleLock handle the locks writers
// that died left. A Cleanup removes what a program's stacks hold when it
// is interrupted. A git repository, with its config and worktrees, is
// package repo's.
//
// # Protocol
//
// Readers read tables.list and open the tables it names; they never lock
// and never write. A reader remembers the list it parsed by keeping that
// file open (package stat), so checking for changes is one stat call that
// a recycled inode number cannot fool; on network file systems and where
// files have no identity it compares contents instead.
//
// A writer (a Transaction, or Stack.AddTable):
//
//  1. takes tables.list.lock: it creates an empty file of its own whose
//     name records who it is (tables.list.<pid>-<start>-<random>-<host>.holder)
//     and links it as tables.list.lock, which fails like O_CREATE|O_EXCL
//     if the lock exists, retrying with git's jittered backoff until the
//     lock timeout; then it checks that the lock names its file;
//  2. re-reads tables.list under the lock and checks expected old values
//     against that state;
//  3. writes the new table to a uniquely named temporary file, fsyncs it
//     and renames it to a fresh 0x<min>-0x<max>-<random>.ref name that
//     does not exist;
//  4. writes the new list into the lock file, fsyncs it and the directory
//     (so that the new tables' names are there for good before a list
//     names them), checks again that the lock path names its file,
//     renames it over tables.list, removes its holder name and fsyncs
//     the directory.
//
// The holder is thus recorded from the instant the lock exists until the
// rename that releases it: a writer killed at any point leaves either no
// lock or one that BreakStaleLock can judge. (File systems without hard
// links, or without inode numbers, get a lock created with
// O_CREATE|O_EXCL that records its holder inside until step 4 writes the
// list there; a kill right after creating it or during step 4 then leaves
// a lock nobody can judge until the system restarts.)
//
// A compaction locks the list, locks the tables it merges (newest first,
// each with a <table>.lock file made the same way), releases the list lock
// while it merges into a temporary file, then locks the list again, finds
// the run of tables it merged in the current list, checks that its
// temporary file is still the one it wrote, renames it to a fresh table
// name and replaces exactly that run. Tables appended meanwhile are kept;
// if the run or the file is gone the compaction is abandoned and the
// tables it merged stay. The merged table never has a table's name while
// no lock is held: git's cleanup (git pack-refs, gc, maintenance) removes
// unlisted tables under the list lock, and would remove it.
//
// When the auto-compaction a commit triggers merges the new table with
// small newer tables (at most a megabyte of them) of which none is locked
// by a compaction, the commit does it before step 4, still holding the
// list lock: it writes the merged table and publishes the list with the
// run replaced, once. Under the list lock no compaction can lock a table,
// so checking for their lock files is enough. The result is the list that
// publishing and then compacting would give, with a third of the file
// operations. A transaction keeps its table in memory until then: a
// table merged away is never written itself, one that is not is written
// before step 4. When the transaction's records alone make the fuse
// certain (a lower bound of its table's size already has auto-compaction
// merge the whole stack), it does not even make its table: it writes the
// merged table from its records and the listed tables, checking the
// listed tables only, as the merge checks tables read from storage and
// its records never were there (see fusewrite.go). If the merge fails, the commit publishes its table
// alone and the failure goes to Options.OnCompactionError, as when an
// auto-compaction after a commit fails.
//
// # Guarantees
//
// Assuming that O_CREATE|O_EXCL is atomic, that rename atomically replaces
// its target, and that fsync makes data and directory entries durable:
//
//   - A commit is all or nothing: after a crash at any point the stack
//     holds the old list or the new one, and every listed table is whole.
//   - No committed update is lost by a concurrent writer or compaction:
//     writers serialize on tables.list.lock, re-validate under it, and
//     every published name is new, so no rename ever replaces another
//     writer's table.
//   - Correctness does not depend on advisory locks (flock, fcntl), which
//     some network file systems silently ignore: a holder takes flock on
//     its lock file only as a witness that it runs (see below).
//   - A lock file deleted or replaced after its creator made it is
//     detected before the commit point (ErrLockLost).
//   - Iterators and snapshots keep working across reloads and concurrent
//     compactions: tables are reference-counted and stay open.
//
// A writer killed while holding tables.list.lock leaves it behind, and
// later writers fail with a *LockError naming the file, its age and its
// holder: the holder file linked to the lock records the holder's process
// id, host and process start time (for git's locks, tables.list~pid.lock
// is read when git wrote one).
// BreakStaleLock removes a lock only when its holder is provably gone: the
// system restarted since the lock was taken, or the holder ran on this
// host and its process no longer exists; and no open file holds the lock
// file's advisory lock, which a holder takes before its lock exists and
// keeps until it lets the lock go (so a holder in another PID namespace,
// whose recorded id means nothing here, is not taken for gone). Holders
// on other hosts are never judged. A writer waiting for a lock of this
// package breaks it by the same rules when it can take that advisory lock
// (which also keeps two breakers from both removing it), so a writer
// killed while holding a lock stops no one for longer than it takes the
// next one to look.
//
// # Storage
//
// The protocol runs against the storage.Backend interface (package
// stack/storage, for those who write one); Open uses a directory, and an
// object store with conditional writes implements the same interface
// (package objstore) without changes to the commit, reload or compaction
// logic. Calls that may reach the storage take a context.Context: on a
// directory it bounds the time spent waiting for a lock.
//
// Without a lock a commit can lose the swap of the list to another
// writer (ErrConflict): a transaction then retries after a backoff, and
// first tries to rebase the table it wrote, publishing it unchanged on
// the new list when its checks pass there and give the same table at an
// update index still above the list's (see package objstore).
package stack
