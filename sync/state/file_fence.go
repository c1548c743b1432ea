package state

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	stdsync "sync"
)

// Fencing for the file store. A run lock is a flock on one inode of the
// sync's lock file; it excludes others only while that inode is the one
// named "lock". If the file is deleted or replaced while a run holds it (an
// operator removes a lock that looks stale, the state folder is removed or
// restored from a copy), the next runner creates a new lock file, locks it
// and runs alongside. So each write of a sync's state (Commit, Reset) first
// checks, under the commit lock, that the lock file on disk is still the
// file this store locked, and fails with ErrLockLost if not.
//
// The identity of the file is the fence: while this store keeps its lock
// file open, its inode cannot be reused, so no other file can pass for it.
// A token written into the file would prove less: the file's text is
// advisory holder info that anyone can overwrite, while the flock is on the
// inode.

// fileLockLostError is ErrLockLost as the file store says it: which lock
// file, and what became of it.
type fileLockLostError struct {
	path    string
	missing bool
}

func (e *fileLockLostError) Error() string {
	what := "was replaced by another file"
	if e.missing {
		what = "was removed"
	}
	return fmt.Sprintf("this run lost its lock on the sync (its lock file %s %s while the run held it, so another run may hold the sync); it commits no state",
		e.path, what)
}

// Is makes errors.Is(err, ErrLockLost) true, so the engine reports a lost
// file lock as it does a lost PostgreSQL one.
func (e *fileLockLostError) Is(target error) bool { return target == ErrLockLost }

// heldFiles remembers, per sync, the lock file this store holds (as opened
// and locked), so a write can check that it still holds it.
type heldFiles struct {
	mu stdsync.Mutex
	by map[string]*fileLock
}

func (h *heldFiles) set(sync string, l *fileLock) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.by == nil {
		h.by = map[string]*fileLock{}
	}
	h.by[sync] = l
}

// clear forgets l; a later holding of the same sync is kept.
func (h *heldFiles) clear(sync string, l *fileLock) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.by[sync] == l {
		delete(h.by, sync)
	}
}

func (h *heldFiles) get(sync string) (*fileLock, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	l, ok := h.by[sync]
	return l, ok
}

// checkHeld fails with ErrLockLost if this store locked sync and the lock
// file in dir is no longer the file it locked. The caller holds dir's
// commit lock, which a new holder of the run lock waits for (see Lock): a
// commit that passes the check lands before another runner starts. A store
// that did not lock sync (a test, a tool reading state) skips the check.
func (s *fileStore) checkHeld(dir, sync string) error {
	l, ok := s.held.get(sync)
	if !ok {
		return nil
	}
	path := filepath.Join(dir, lockFileName)
	on, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return &fileLockLostError{path: path, missing: true}
	case err != nil:
		return fmt.Errorf("check the run lock: %w", err)
	case !os.SameFile(on, l.id):
		return &fileLockLostError{path: path}
	}
	return nil
}

// namesFile reports whether path still names the file whose identity (from
// its open descriptor's Stat) is id: false once it was removed or replaced.
func namesFile(path string, id fs.FileInfo) (bool, error) {
	on, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return os.SameFile(on, id), nil
}

// lockedNamed reports whether path still names the open file f.
func lockedNamed(f *os.File, path string) (bool, error) {
	id, err := f.Stat()
	if err != nil {
		return false, err
	}
	return namesFile(path, id)
}
