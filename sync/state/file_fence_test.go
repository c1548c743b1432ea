package state

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hoist-dev/hoist/internal/cursor"
)

// onFirstNext runs do when the commit first reads its delta: after the
// commit's first fence check, while it writes its tables.
type onFirstNext struct {
	SliceIterator
	do   func()
	done bool
}

func (o *onFirstNext) Next() bool {
	if !o.done {
		o.done = true
		o.do()
	}
	return o.SliceIterator.Next()
}

func lockOf(t *testing.T, s *fileStore, sync string) Lock {
	t.Helper()
	l, err := s.Lock(context.Background(), sync, 0)
	if err != nil {
		t.Fatalf("lock %s: %v", sync, err)
	}
	t.Cleanup(func() { l.Release() })
	return l
}

func cursorOf(t *testing.T, s Store, sync string) string {
	t.Helper()
	st, err := s.Get(context.Background(), sync)
	if err != nil {
		t.Fatalf("get %s: %v", sync, err)
	}
	return st.Cursor.String()
}

func at(v string) *cursor.Cursor { return &cursor.Cursor{Kind: cursor.Int, Value: v} }

// TestFileWriteFencedAfterLockLost: once the lock file is removed or
// replaced, neither a commit nor a reset of the runner that held it writes
// anything, whether the lock went before the write or during it (while a
// commit writes its tables); each fails with ErrLockLost naming the file.
func TestFileWriteFencedAfterLockLost(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		// write is the lost runner's write; lose takes its lock away at
		// the moment the case is about
		write func(s *fileStore, lose func()) error
		lose  func(t *testing.T, lockPath string)
		want  string // in the error
	}{
		{"commit after the lock file was removed", commitAfter, removeLock, "was removed"},
		{"commit after the lock file was replaced", commitAfter, replaceLock, "was replaced"},
		{"commit while its tables are written", commitDuring, removeLock, "was removed"},
		{"reset after the lock file was removed", resetAfter, removeLock, "was removed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			root := t.TempDir()
			s := openTestStore(t, root)
			lockOf(t, s, "s")
			if err := s.Commit(context.Background(), "s", &Commit{Cursor: at("1"), Delta: &SliceIterator{Entries: kvEntries("a=1")}}); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(root, "s", lockFileName)
			err := tc.write(s, func() { tc.lose(t, path) })
			if !errors.Is(err, ErrLockLost) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tc.want) ||
				strings.Count(err.Error(), "lost its lock") != 1 {
				t.Fatalf("write after the lock was lost: %v, want ErrLockLost naming %s, saying it %s", err, path, tc.want)
			}
			other := openTestStore(t, root)
			if got := cursorOf(t, other, "s"); got != "1" {
				t.Errorf("cursor %s after the refused write, want 1", got)
			}
			if got := entriesString(snapshotOf(t, other, "s")); got != `["a"="1"]` {
				t.Errorf("snapshot %s after the refused write, want a=1", got)
			}
			if left, _ := filepath.Glob(filepath.Join(root, "s", tempPrefix+"*")); len(left) > 0 {
				t.Errorf("the refused write left %v", left)
			}
		})
	}
}

func commitAfter(s *fileStore, lose func()) error {
	lose()
	return s.Commit(context.Background(), "s", &Commit{Cursor: at("2"), Delta: &SliceIterator{Entries: kvEntries("b=2")}})
}

func commitDuring(s *fileStore, lose func()) error {
	return s.Commit(context.Background(), "s", &Commit{Cursor: at("2"), Delta: &onFirstNext{SliceIterator: SliceIterator{Entries: kvEntries("b=2")}, do: lose}})
}

func resetAfter(s *fileStore, lose func()) error {
	lose()
	return s.Reset(context.Background(), "s")
}

func removeLock(t *testing.T, path string) {
	if err := os.Remove(path); err != nil {
		t.Error(err)
	}
}

// replaceLock puts another file in the lock file's place, as restoring the
// state folder from a copy would.
func replaceLock(t *testing.T, path string) {
	if err := os.WriteFile(path+".new", nil, filePerm); err != nil {
		t.Error(err)
	}
	if err := os.Rename(path+".new", path); err != nil {
		t.Error(err)
	}
}

// TestFileLockWaitsForCommitInFlight: a runner whose lock file is removed
// after its commit passed the fence still lands that commit, and a new
// runner's Lock returns only after it: the new run starts from that state,
// and nothing of the old runner's lands under it.
//
// Not parallel: it arms the package's crash hook.
func TestFileLockWaitsForCommitInFlight(t *testing.T) {
	root := t.TempDir()
	s, other := openTestStore(t, root), openTestStore(t, root)
	lockOf(t, s, "s")
	path := filepath.Join(root, "s", lockFileName)
	locked := make(chan error, 1)
	var newLock Lock
	crashHook = func(stage string) {
		if stage != "snapshot-renamed" {
			return
		}
		removeLock(t, path)
		go func() {
			l, err := other.Lock(context.Background(), "s", 10*time.Second)
			newLock = l
			locked <- err
		}()
		select {
		case err := <-locked:
			t.Errorf("a new runner locked the sync during another runner's commit (err %v)", err)
			locked <- err
		case <-time.After(500 * time.Millisecond):
		}
	}
	t.Cleanup(func() { crashHook = nil })
	if err := s.Commit(context.Background(), "s", &Commit{Cursor: at("1"), Delta: &SliceIterator{Entries: kvEntries("a=1")}}); err != nil {
		t.Fatalf("the commit that passed its fence: %v", err)
	}
	crashHook = nil
	if err := <-locked; err != nil {
		t.Fatalf("the new runner's lock: %v", err)
	}
	defer newLock.Release()
	if got := cursorOf(t, other, "s"); got != "1" {
		t.Errorf("the new runner starts from cursor %s, want the landed commit's 1", got)
	}
	if err := s.Commit(context.Background(), "s", &Commit{Cursor: at("2")}); !errors.Is(err, ErrLockLost) {
		t.Errorf("the old runner's next commit: %v, want ErrLockLost", err)
	}
	if err := other.Commit(context.Background(), "s", &Commit{Cursor: at("3")}); err != nil {
		t.Errorf("the new runner's commit: %v", err)
	}
}

// TestFileLockWaiterOnRemovedFile: a runner waiting on a lock file that is
// removed meanwhile does not take the lock of the removed file when its
// holder lets go (it would exclude nobody): it waits for the lock of the
// file now in its place.
func TestFileLockWaiterOnRemovedFile(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	first, waiter, newcomer := openTestStore(t, root), openTestStore(t, root), openTestStore(t, root)
	l := lockOf(t, first, "s")
	got := make(chan error, 1)
	go func() {
		l, err := waiter.Lock(context.Background(), "s", 1500*time.Millisecond)
		if err == nil {
			l.Release()
		}
		got <- err
	}()
	time.Sleep(300 * time.Millisecond) // the waiter has opened the old file and polls it
	removeLock(t, filepath.Join(root, "s", lockFileName))
	lockOf(t, newcomer, "s")
	l.Release()
	err := <-got
	var le *LockedError
	if !errors.As(err, &le) || le.Holder.PID != os.Getpid() {
		t.Fatalf("the waiter's lock while the newcomer holds the sync: %v, want it locked by the newcomer", err)
	}
}
