package gogit

// This file is the adapter's only contact with refstore: it opens the
// repository with refstore's repository package, which finds it (a
// working tree, a .git file, a bare or git directory, a linked
// worktree), reads its config and routes each ref to the stack that
// holds it, as git does, and reads and writes refs through it.

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/refstore/refstore/reftable"
	"github.com/refstore/refstore/repo"
	"github.com/refstore/refstore/stack"
)

// openRepo opens the reftable repository at path (with detect, at or
// above it); a repository of git's files backend fails with
// ErrNotReftable, a path in none with errNoRepository.
func openRepo(path string, detect bool) (repoInfo, refBackend, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return repoInfo{}, nil, err
	}
	if _, err := os.Stat(abs); errors.Is(err, fs.ErrNotExist) {
		return repoInfo{}, nil, fmt.Errorf("%s: %w", path, errNoRepository)
	}
	r, err := repo.Open(abs, repo.Options{NoParents: !detect})
	switch {
	case errors.Is(err, repo.ErrNotRepository):
		return repoInfo{}, nil, fmt.Errorf("%w: %w", errNoRepository, err)
	case errors.Is(err, repo.ErrFilesBackend):
		return repoInfo{}, nil, fmt.Errorf("%w: %w", ErrNotReftable, err)
	case err != nil:
		return repoInfo{}, nil, err
	}
	info := repoInfo{
		gitDir:       r.GitDir(),
		commonDir:    r.CommonDir(),
		workTree:     r.WorkTree(),
		linked:       filepath.Clean(r.GitDir()) != filepath.Clean(r.CommonDir()),
		objectFormat: r.Config().ObjectFormat.String(),
	}
	return info, repoRefs{r}, nil
}

// repoRefs is the refBackend of a repository.
type repoRefs struct{ r *repo.Repository }

// ctx is the context of every call: go-git's storer interfaces take none,
// and a lock is waited for as long as reftable.lockTimeout says.
var ctx = context.Background()

func (b repoRefs) read(name string) (refValue, error) {
	ref, err := b.r.Ref(ctx, name)
	if errors.Is(err, reftable.ErrNotFound) {
		return refValue{Name: name}, nil
	}
	return ref, err
}

func (b repoRefs) list() ([]refValue, error) {
	var refs []refValue
	for ref, err := range b.r.Refs(ctx, "") {
		if err != nil {
			return nil, err
		}
		if ref.Name == "HEAD" || strings.HasPrefix(ref.Name, "refs/") {
			refs = append(refs, ref)
		}
	}
	return refs, nil
}

func (b repoRefs) commit(who identity, updates []refUpdate) error {
	tx := b.r.NewTransaction(who)
	defer tx.Close()
	tx.Add(updates...)
	err := tx.Commit(ctx)
	if errors.Is(err, stack.ErrRefConflict) {
		return fmt.Errorf("%w: %w", errRefChanged, err)
	}
	return err
}

func (b repoRefs) reflog(name string) ([]logEntry, error) {
	var logs []logEntry
	for l, err := range b.r.Reflog(ctx, name) {
		if err != nil {
			return nil, err
		}
		if l.IsDeletion() {
			continue
		}
		tz := int(l.TZOffset)
		zone := time.FixedZone("", (tz/100*60+tz%100)*60)
		logs = append(logs, logEntry{
			old: append([]byte(nil), l.Old...), new: append([]byte(nil), l.New...),
			name: string(l.Name), email: string(l.Email),
			when:    time.Unix(int64(l.Time), 0).In(zone),
			message: strings.TrimSuffix(string(l.Message), "\n"),
		})
	}
	return logs, nil
}

func (b repoRefs) compact() error {
	st, err := b.r.Stack()
	if err != nil {
		return err
	}
	return st.CompactAll(ctx, nil)
}

func (b repoRefs) close() error { return b.r.Close() }

// identity returns who makes a change now, as git's reflogs record it:
// git's committer, from the environment and the repository's config with
// the system's and the user's, read now (go-git may have written the
// config since the repository was opened; see repo.Config.Committer). An
// unreadable GIT_COMMITTER_DATE is now.
func (s *Storage) identity() identity {
	cfg, err := repo.ReadConfig(s.info.commonDir)
	if err != nil {
		cfg = repo.Config{} // an invalid setting: the environment's identity
	}
	who, err := cfg.Committer(time.Now())
	if err != nil {
		who.Time = time.Now()
	}
	return who
}
