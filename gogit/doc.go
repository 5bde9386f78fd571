// Package gogit lets go-git (github.com/go-git/go-git/v5) open git
// repositories whose refs are in reftable (git init --ref-format=reftable,
// the default planned for git 3.0), which go-git v5 refuses on its own
// with git.ErrUnknownExtension.
//
//	repo, err := gogit.Open(path) // instead of git.PlainOpen(path)
//
// returns a *git.Repository whose storage (a Storage) keeps objects,
// config, index and shallow in go-git's filesystem storage and the refs
// in the repository's reftable stacks, through refstore: the same tables
// git reads and writes, under the same locking protocol, so git and
// go-git may work on one repository at once. Repositories of git's files
// backend open as git.PlainOpen opens them.
//
// # What git sees
//
// Every ref change is one stack transaction. CheckAndSetReference
// compares and swaps under the stack's lock; SetReference stores what it
// is given and, like git update-ref --no-deref, never follows a symbolic
// ref. Reflog entries are written as git's reftable backend writes them:
// the ref's own as core.logAllRefUpdates says (a bare repository logs
// only refs that have a reflog), HEAD's when HEAD points at the ref,
// deleted with the ref. go-git does not tell a storage why a ref changes,
// so the message is inferred from the change in git's words: "commit:
// <subject>", "commit (initial)", "commit (amend)", "commit (merge)",
// "reset: moving to <id>", "checkout: moving from <a> to <b>", "branch:
// Created from <x>", "branch: Reset to <id>", "fetch <remote>: storing
// head", "fetch <remote>: fast-forward", "fetch <remote>: forced-update",
// "update by push" (reflog.go has the table). The identity is git's
// committer, as package repo finds it (repo.Config.Committer):
// GIT_COMMITTER_NAME, GIT_COMMITTER_EMAIL and GIT_COMMITTER_DATE, then
// committer.* and user.* of the config (the system's, the user's and the
// repository's, with their includes, as git reads them), then EMAIL,
// then the user's account.
// An annotated tag's ref records the id it peels to, as git records it.
//
// In a linked worktree (git worktree add) HEAD and the other
// per-worktree refs (refs/worktree/, refs/bisect/, refs/rewritten/) are
// in the worktree's own stack and the rest in the main one, as git keeps
// them; a commit on the worktree's branch logs in the worktree's HEAD
// reflog, not the main worktree's. Other worktrees' refs, which git
// names worktrees/<id>/... and main-worktree/..., are not routed: writing
// them is refused.
//
// go-git never sees extensions.refStorage or extensions.objectFormat,
// which it would refuse (see Storage.Config); writing the config back
// keeps them (see Storage.SetConfig).
//
// # Object formats
//
// go-git v5 handles one object format per build: SHA-1, or SHA-256 when
// compiled with -tags sha256. Open refuses a repository of the other
// format with ErrObjectFormat.
package gogit
