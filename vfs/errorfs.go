package vfs

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"sync"
	"syscall"
)

// ErrInjected is the error an ErrorFS injects with FaultError, wrapped in
// an *fs.PathError (or *os.LinkError for Rename) naming the operation and
// the path.
var ErrInjected = errors.New("injected fault")

// Op is a set of kinds of file-system operations, a bit each.
type Op uint16

// The operations an ErrorFS counts: the methods of FS, then those of File.
const (
	OpOpen     Op = 1 << iota // FS.OpenFile
	OpRename                  // FS.Rename
	OpRemove                  // FS.Remove
	OpReadDir                 // FS.ReadDir
	OpStat                    // FS.Stat
	OpSyncDir                 // FS.SyncDir
	OpRead                    // File.Read
	OpReadAt                  // File.ReadAt
	OpWrite                   // File.Write
	OpSync                    // File.Sync
	OpFileStat                // File.Stat
	OpClose                   // File.Close
	OpTruncate                // File.Truncate
	OpLink                    // FS.Link

	// OpAll is every operation.
	OpAll Op = 1<<iota - 1
	// OpMutating is every operation that can change the file system or
	// what survives a crash. OpenFile counts as mutating only with
	// O_CREATE, O_TRUNC or write access; see Event.Mutating.
	OpMutating = OpOpen | OpRename | OpRemove | OpSyncDir | OpWrite | OpSync | OpClose | OpTruncate | OpLink
)

var opNames = [...]string{"open", "rename", "remove", "readdir", "stat", "syncdir", "read", "readat", "write", "sync", "fstat", "close", "truncate", "link"}

// String returns the names of the operations in o, joined by "|".
func (o Op) String() string {
	if o == 0 {
		return "none"
	}
	var names []string
	for i, name := range opNames {
		if o&(1<<i) != 0 {
			names = append(names, name)
		}
	}
	if rest := o &^ OpAll; rest != 0 {
		names = append(names, fmt.Sprintf("Op(%#x)", uint16(rest)))
	}
	return strings.Join(names, "|")
}

// Fault is the kind of failure an ErrorFS injects.
type Fault int

// The kinds of faults. Each applies to some operations only (see
// Fault.Applies); the operation index of an Injection counts the
// operations the fault applies to.
const (
	// FaultNone injects nothing: the ErrorFS only counts operations and
	// calls Injection.Before, for instance to simulate a crash.
	FaultNone Fault = iota
	// FaultError fails any operation without performing it, with an
	// *fs.PathError (*os.LinkError for Rename) wrapping ErrInjected. A
	// failed Close still closes the underlying file, as close(2) does.
	FaultError
	// FaultShortWrite makes a Write write the first half of its bytes
	// and return io.ErrShortWrite, as os.File does.
	FaultShortWrite
	// FaultENOSPC fails the operations that allocate space (OpenFile
	// with O_CREATE, Write, Sync, Rename) with syscall.ENOSPC wrapped as
	// package os wraps it. A Write writes nothing.
	FaultENOSPC
	// FaultSync fails File.Sync and FS.SyncDir with syscall.EIO without
	// making anything durable, as a failed fsync leaves it: a crash
	// afterwards loses what was not synced before.
	FaultSync
	// FaultRename makes a Rename happen and then fail with syscall.EIO,
	// the one error after which POSIX leaves unspecified whether the new
	// name was bound (an NFS reply lost after the server renamed).
	FaultRename
)

var faultNames = [...]string{"none", "error", "shortwrite", "enospc", "sync", "rename"}

// String returns the name of the fault kind.
func (f Fault) String() string {
	if f >= 0 && int(f) < len(faultNames) {
		return faultNames[f]
	}
	return fmt.Sprintf("Fault(%d)", int(f))
}

// Ops returns the operations f can be injected into.
func (f Fault) Ops() Op {
	switch f {
	case FaultNone, FaultError:
		return OpAll
	case FaultShortWrite:
		return OpWrite
	case FaultENOSPC:
		return OpOpen | OpWrite | OpSync | OpRename | OpLink
	case FaultSync:
		return OpSync | OpSyncDir
	case FaultRename:
		return OpRename
	}
	return 0
}

// Applies reports whether f can be injected into the operation ev.
// FaultENOSPC applies to OpenFile only when it creates.
func (f Fault) Applies(ev Event) bool {
	if f.Ops()&ev.Op == 0 {
		return false
	}
	return f != FaultENOSPC || ev.Op != OpOpen || ev.Flag&os.O_CREATE != 0
}

// Event describes one operation an ErrorFS is about to perform.
type Event struct {
	Op    Op
	Path  string // for Rename and Link, the old name
	New   string // for Rename and Link, the new name
	Flag  int    // for OpenFile, the flags; for files, those the file was opened with
	Size  int    // for Write, Read and ReadAt, the length of the buffer
	Index int    // the index of the operation among the eligible ones
}

// Mutating reports whether the operation can change the file system or
// what survives a crash.
func (ev Event) Mutating() bool {
	if ev.Op == OpOpen {
		return ev.Flag&(os.O_CREATE|os.O_TRUNC|os.O_WRONLY|os.O_RDWR) != 0
	}
	return ev.Op&OpMutating != 0
}

// String describes the event as "op path", for messages.
func (ev Event) String() string {
	if ev.Op == OpRename || ev.Op == OpLink {
		return fmt.Sprintf("#%d %v %s -> %s", ev.Index, ev.Op, ev.Path, ev.New)
	}
	return fmt.Sprintf("#%d %v %s", ev.Index, ev.Op, ev.Path)
}

// Injection configures an ErrorFS. The zero value counts every operation
// and injects nothing.
type Injection struct {
	// Ops are the operations that are counted and may fail; 0 means all.
	// Only those the fault applies to are eligible (Fault.Applies).
	Ops Op
	// Index is the index, counting from 0, of the eligible operation
	// that fails; a negative index fails none.
	Index int
	// Fault is the kind of failure.
	Fault Fault
	// Sticky makes every eligible operation from Index on fail, as a
	// full disk does, instead of only the one at Index.
	Sticky bool
	// Before, if not nil, is called right before every eligible
	// operation is performed or failed, outside the ErrorFS's lock. A
	// crash at the moment of operation N is the MemFS's Crash taken in
	// Before when ev.Index == N.
	Before func(ev Event)
}

// ErrorFS wraps a file system, counts its operations and injects a fault
// into the Nth eligible one, as configured by an Injection. Files opened
// through it are wrapped too, so their reads, writes, syncs, stats and
// closes are counted. An ErrorFS is safe for concurrent use; the order of
// concurrent operations, and so their indexes, is that in which they
// reach the ErrorFS.
type ErrorFS struct {
	fs FS

	mu       sync.Mutex
	inj      Injection
	count    int     // eligible operations seen
	total    int     // all operations seen
	injected []error // errors injected, in order
	hits     []Event // operations failed, in order
}

// NewErrorFS returns fsys wrapped with the injection inj.
func NewErrorFS(fsys FS, inj Injection) *ErrorFS {
	return &ErrorFS{fs: fsys, inj: inj}
}

// Arm replaces the injection and resets the counters and the record of
// injected faults: operations are counted from 0 again.
func (e *ErrorFS) Arm(inj Injection) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.inj = inj
	e.count, e.total = 0, 0
	e.injected, e.hits = nil, nil
}

// Disarm stops injecting faults and calling Before; operations are still
// counted.
func (e *ErrorFS) Disarm() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.inj.Index, e.inj.Sticky, e.inj.Before = -1, false, nil
}

// Count returns the number of eligible operations seen since the last
// Arm. After an operation that hit no fault, Count is the first index
// that would fail nothing: the end of a fault loop.
func (e *ErrorFS) Count() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.count
}

// Total returns the number of operations of any kind seen since the last
// Arm.
func (e *ErrorFS) Total() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.total
}

// Hits returns the operations that failed, in order.
func (e *ErrorFS) Hits() []Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]Event(nil), e.hits...)
}

// Injected returns the errors injected since the last Arm, in order. A
// caller can test whether an error it got reports a fault with
// errors.Is(err, injected[i]): the values are distinct pointers, except
// io.ErrShortWrite.
func (e *ErrorFS) Injected() []error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]error(nil), e.injected...)
}

// Reported reports whether err wraps one of the errors injected since the
// last Arm.
func (e *ErrorFS) Reported(err error) bool {
	for _, inj := range e.Injected() {
		if errors.Is(err, inj) {
			return true
		}
	}
	return false
}

// step counts the operation ev and decides whether it fails. fail is true
// when the fault is to be injected.
func (e *ErrorFS) step(ev Event) (out Event, fail bool, kind Fault) {
	e.mu.Lock()
	e.total++
	inj := e.inj
	ops := inj.Ops
	if ops == 0 {
		ops = OpAll
	}
	if ops&ev.Op == 0 || !inj.Fault.Applies(ev) {
		e.mu.Unlock()
		return ev, false, FaultNone
	}
	ev.Index = e.count
	e.count++
	fail = inj.Fault != FaultNone && inj.Index >= 0 && (ev.Index == inj.Index || inj.Sticky && ev.Index > inj.Index)
	if fail {
		e.hits = append(e.hits, ev)
	}
	e.mu.Unlock()
	if inj.Before != nil {
		inj.Before(ev)
	}
	return ev, fail, inj.Fault
}

func (e *ErrorFS) record(err error) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.injected = append(e.injected, err)
	return err
}

// pathError returns the error of kind for operation op on path.
func (e *ErrorFS) pathError(kind Fault, op, path string) error {
	var err error = ErrInjected
	switch kind {
	case FaultENOSPC:
		err = syscall.ENOSPC
	case FaultSync, FaultRename:
		err = syscall.EIO
	}
	return e.record(&fs.PathError{Op: op, Path: path, Err: err})
}

// OpenFile opens name through the wrapped file system and wraps the file.
func (e *ErrorFS) OpenFile(name string, flag int, perm fs.FileMode) (File, error) {
	_, fail, kind := e.step(Event{Op: OpOpen, Path: name, Flag: flag})
	if fail {
		return nil, e.pathError(kind, "open", name)
	}
	f, err := e.fs.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return &errorFile{e: e, f: f, flag: flag}, nil
}

// Rename renames through the wrapped file system. With FaultRename the
// rename is performed and then reported as failed.
func (e *ErrorFS) Rename(oldname, newname string) error {
	_, fail, kind := e.step(Event{Op: OpRename, Path: oldname, New: newname})
	if fail {
		var err error = ErrInjected
		switch kind {
		case FaultENOSPC:
			err = syscall.ENOSPC
		case FaultRename:
			if rerr := e.fs.Rename(oldname, newname); rerr != nil {
				return rerr
			}
			err = syscall.EIO
		}
		return e.record(&os.LinkError{Op: "rename", Old: oldname, New: newname, Err: err})
	}
	return e.fs.Rename(oldname, newname)
}

// Link links through the wrapped file system.
func (e *ErrorFS) Link(oldname, newname string) error {
	if _, fail, kind := e.step(Event{Op: OpLink, Path: oldname, New: newname}); fail {
		var err error = ErrInjected
		if kind == FaultENOSPC {
			err = syscall.ENOSPC
		}
		return e.record(&os.LinkError{Op: "link", Old: oldname, New: newname, Err: err})
	}
	return e.fs.Link(oldname, newname)
}

// Remove removes name through the wrapped file system.
func (e *ErrorFS) Remove(name string) error {
	if _, fail, kind := e.step(Event{Op: OpRemove, Path: name}); fail {
		return e.pathError(kind, "remove", name)
	}
	return e.fs.Remove(name)
}

// ReadDir lists dir through the wrapped file system.
func (e *ErrorFS) ReadDir(dir string) ([]fs.DirEntry, error) {
	if _, fail, kind := e.step(Event{Op: OpReadDir, Path: dir}); fail {
		return nil, e.pathError(kind, "readdir", dir)
	}
	return e.fs.ReadDir(dir)
}

// Stat stats name through the wrapped file system.
func (e *ErrorFS) Stat(name string) (fs.FileInfo, error) {
	if _, fail, kind := e.step(Event{Op: OpStat, Path: name}); fail {
		return nil, e.pathError(kind, "stat", name)
	}
	return e.fs.Stat(name)
}

// SyncDir syncs dir through the wrapped file system. A failed SyncDir
// makes nothing durable.
func (e *ErrorFS) SyncDir(dir string) error {
	if _, fail, kind := e.step(Event{Op: OpSyncDir, Path: dir}); fail {
		return e.pathError(kind, "syncdir", dir)
	}
	return e.fs.SyncDir(dir)
}

// errorFile is a file opened through an ErrorFS.
type errorFile struct {
	e    *ErrorFS
	f    File
	flag int
}

func (f *errorFile) Name() string { return f.f.Name() }

func (f *errorFile) Read(p []byte) (int, error) {
	if _, fail, kind := f.e.step(Event{Op: OpRead, Path: f.Name(), Flag: f.flag, Size: len(p)}); fail {
		return 0, f.e.pathError(kind, "read", f.Name())
	}
	return f.f.Read(p)
}

func (f *errorFile) ReadAt(p []byte, off int64) (int, error) {
	if _, fail, kind := f.e.step(Event{Op: OpReadAt, Path: f.Name(), Flag: f.flag, Size: len(p)}); fail {
		return 0, f.e.pathError(kind, "read", f.Name())
	}
	return f.f.ReadAt(p, off)
}

func (f *errorFile) Write(p []byte) (int, error) {
	_, fail, kind := f.e.step(Event{Op: OpWrite, Path: f.Name(), Flag: f.flag, Size: len(p)})
	if !fail {
		return f.f.Write(p)
	}
	if kind == FaultShortWrite {
		n, err := f.f.Write(p[:len(p)/2])
		if err != nil {
			return n, err
		}
		return n, f.e.record(io.ErrShortWrite)
	}
	return 0, f.e.pathError(kind, "write", f.Name())
}

func (f *errorFile) Truncate(size int64) error {
	if _, fail, kind := f.e.step(Event{Op: OpTruncate, Path: f.Name(), Flag: f.flag}); fail {
		return f.e.pathError(kind, "truncate", f.Name())
	}
	return f.f.Truncate(size)
}

func (f *errorFile) Sync() error {
	if _, fail, kind := f.e.step(Event{Op: OpSync, Path: f.Name(), Flag: f.flag}); fail {
		return f.e.pathError(kind, "sync", f.Name())
	}
	return f.f.Sync()
}

func (f *errorFile) Stat() (fs.FileInfo, error) {
	if _, fail, kind := f.e.step(Event{Op: OpFileStat, Path: f.Name(), Flag: f.flag}); fail {
		return nil, f.e.pathError(kind, "stat", f.Name())
	}
	return f.f.Stat()
}

// TryLock takes the advisory lock of the underlying file (see TryLock);
// it is not a step.
func (f *errorFile) TryLock() (bool, error) { return TryLock(f.f) }

// Unlock lets go of it (see Unlock); it is not a step.
func (f *errorFile) Unlock() error { return Unlock(f.f) }

// Close closes the file. An injected failure still closes the underlying
// file: after close(2) fails the descriptor is gone all the same.
func (f *errorFile) Close() error {
	if _, fail, kind := f.e.step(Event{Op: OpClose, Path: f.Name(), Flag: f.flag}); fail {
		f.f.Close()
		return f.e.pathError(kind, "close", f.Name())
	}
	return f.f.Close()
}
