package state

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	stdsync "sync"
	"time"
)

const (
	lockPoll       = 100 * time.Millisecond
	commitLockPoll = 10 * time.Millisecond
)

// LockHolder is what a lock file says about the runner holding it.
type LockHolder struct {
	Host      string    `json:"host"`
	PID       int       `json:"pid"`
	StartedAt time.Time `json:"started_at"`
}

func (h LockHolder) String() string {
	if h.PID == 0 {
		return "another run (holder unknown)"
	}
	return fmt.Sprintf("pid %d on host %s since %s", h.PID, h.Host, h.StartedAt.UTC().Format(time.RFC3339))
}

// LockedError is returned when a sync's run lock stays held past the wait.
// It matches errors.Is(err, ErrLocked).
type LockedError struct {
	Sync   string
	Holder LockHolder
}

func (e *LockedError) Error() string {
	return fmt.Sprintf("sync %s is locked by %s", e.Sync, e.Holder)
}

// Unwrap makes errors.Is(err, ErrLocked) true.
func (e *LockedError) Unwrap() error { return ErrLocked }

// fileLock is one held run lock: an OS lock on an open file description, so
// it excludes other goroutines of this process as well as other processes,
// and the kernel drops it if the process dies (no stale locks to clean up).
// It excludes only while its file is the one named lock: the store's
// writes check that it still is (see file_fence.go).
type fileLock struct {
	once  stdsync.Once
	store *fileStore
	sync  string
	f     *os.File
	id    fs.FileInfo // f's identity, which the lock file must keep (see checkHeld)
	err   error
}

// Lock implements Store, polling every 100ms until wait has passed (0 = try
// once).
func (s *fileStore) Lock(ctx context.Context, sync string, wait time.Duration) (Lock, error) {
	dir, err := s.ensureDir(sync)
	if err != nil {
		return nil, fmt.Errorf("lock sync %s: %w", sync, err)
	}
	path := filepath.Join(dir, lockFileName)
	f, err := acquire(ctx, path, wait, lockPoll)
	if err != nil {
		if err == errLockBusy {
			return nil, &LockedError{Sync: sync, Holder: readHolder(path)}
		}
		return nil, fmt.Errorf("lock sync %s: %w", sync, err)
	}
	fail := func(err error) (Lock, error) {
		unlockFile(f)
		f.Close()
		return nil, fmt.Errorf("lock sync %s: %w", sync, err)
	}
	id, err := f.Stat()
	if err != nil {
		return fail(err)
	}
	if err := writeHolder(f); err != nil {
		return fail(fmt.Errorf("write holder to %s: %w", path, err))
	}
	// A runner that lost this lock (its lock file was removed) may be in
	// the middle of a commit that passed its fence: wait for it to land, so
	// that this run starts from it and no commit of that runner lands after.
	unlock, err := s.commitLock(ctx, dir)
	if err != nil {
		return fail(err)
	}
	unlock()
	if err := s.adoptLegacy(ctx, sync, dir, wait); err != nil {
		return fail(err)
	}
	l := &fileLock{store: s, sync: sync, f: f, id: id}
	s.held.set(sync, l)
	return l, nil
}

// Release implements Lock. The lock file is kept (removing it would let a
// waiter holding the old inode and a newcomer creating a new one both win);
// its holder info is cleared so nobody reads a stale holder.
func (l *fileLock) Release() error {
	l.once.Do(func() {
		l.store.held.clear(l.sync, l)
		l.f.Truncate(0) // best effort: the holder info is advisory
		if err := unlockFile(l.f); err != nil {
			l.err = fmt.Errorf("unlock %s: %w", l.f.Name(), err)
		}
		if err := l.f.Close(); err != nil && l.err == nil {
			l.err = fmt.Errorf("close %s: %w", l.f.Name(), err)
		}
	})
	return l.err
}

// commitLock serialises writers of one sync's folder (Commit, Reset) for the
// duration of one write, even if a caller commits without the run lock. It
// waits as long as ctx allows: a commit holds it for seconds at most.
func (s *fileStore) commitLock(ctx context.Context, dir string) (func(), error) {
	f, err := acquire(ctx, filepath.Join(dir, commitLockName), -1, commitLockPoll)
	if err != nil {
		return nil, err
	}
	return func() {
		unlockFile(f)
		f.Close()
	}, nil
}

var errLockBusy = fmt.Errorf("busy: %w", ErrLocked)

// acquire opens path and takes an exclusive lock on it, polling until wait
// has passed (wait < 0: until ctx ends). It returns errLockBusy on timeout.
func acquire(ctx context.Context, path string, wait, poll time.Duration) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, filePerm)
	if err != nil {
		return nil, notWritable(filepath.Dir(path), err)
	}
	deadline := time.Now().Add(wait)
	for {
		ok, err := tryLockFile(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if ok {
			// The file may have been removed or replaced since it was
			// opened (a runner waiting on a lock file that was deleted):
			// a lock on it excludes nobody, so lock the file path names.
			same, err := lockedNamed(f, path)
			if err != nil {
				unlockFile(f)
				f.Close()
				return nil, fmt.Errorf("lock %s: %w", path, err)
			}
			if same {
				return f, nil
			}
			unlockFile(f)
			f.Close()
			if f, err = os.OpenFile(path, os.O_RDWR|os.O_CREATE, filePerm); err != nil {
				return nil, notWritable(filepath.Dir(path), err)
			}
			continue
		}
		sleep := poll
		if wait >= 0 {
			left := time.Until(deadline)
			if left <= 0 {
				f.Close()
				return nil, errLockBusy
			}
			sleep = min(sleep, left)
		}
		t := time.NewTimer(sleep)
		select {
		case <-ctx.Done():
			t.Stop()
			f.Close()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}

func writeHolder(f *os.File) error {
	host, _ := os.Hostname()
	b, err := json.Marshal(LockHolder{Host: host, PID: os.Getpid(), StartedAt: time.Now().UTC().Truncate(time.Second)})
	if err != nil {
		return err
	}
	// Write then truncate: a reader sees old or new text, never an empty file
	// in the middle of a write of this size.
	if _, err := f.WriteAt(append(b, '\n'), 0); err != nil {
		return err
	}
	return f.Truncate(int64(len(b) + 1))
}

// readHolder reads the holder info; an unreadable or half-written file gives
// the zero holder ("holder unknown") rather than a second error.
func readHolder(path string) LockHolder {
	var h LockHolder
	if b, err := os.ReadFile(path); err == nil {
		json.Unmarshal(b, &h)
	}
	return h
}
