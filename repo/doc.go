// Package repo opens a git repository whose refs are in reftable, as git
// does: it finds the repository from any directory of a working tree, a
// .git file, a bare repository or a linked worktree's git directory
// (Find), reads what its config says about refs and who changes them
// (Config: object format, core.bare, core.logAllRefUpdates, core.fsync,
// the reftable.* settings and the committer's identity, from the system's,
// the user's and the repository's config files, as git reads them), and
// reads and writes its refs through package stack with git's rules for
// worktrees.
//
// # Worktrees
//
// A linked worktree keeps its per-worktree refs (HEAD and the other root
// refs, refs/bisect/, refs/worktree/, refs/rewritten/) in its own stack,
// .git/worktrees/<id>/reftable, and shares every other ref through the
// main stack, .git/reftable. Reading, a Repository merges both as git
// does: per-worktree names from the worktree's stack, shared names from
// the main stack (the main worktree's own HEAD and refs/bisect/ stay
// hidden). A name main-worktree/X or worktrees/<id>/X, where X is a
// per-worktree ref, is that worktree's X. Writing, each ref goes to the
// stack its name belongs to, and a Transaction takes the locks of every
// stack it writes before it follows symbolic refs through them (see
// Transaction).
//
// # What is not here
//
// Objects: a Repository reads and writes refs, not the object database,
// and takes object ids as given. A bare stack directory or a single table
// file is no repository: open those with package stack and package
// reftable.
package repo
