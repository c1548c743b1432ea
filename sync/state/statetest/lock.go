package statetest

import (
	"errors"
	"os"
	"strconv"
	"strings"
	stdsync "sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hoist-dev/hoist/sync/state"
)

// locks checks that one runner at a time holds a sync's lock, and that a
// runner who cannot get it in time is told who holds it.
func (s *suite) locks(t *testing.T) {
	s.check(t, "a second lock waits, then names the holder", s.lockWaitsThenNames)
	s.check(t, "a waiter gets the lock once it is released", s.lockHandOver)
	s.check(t, "runners never overlap", s.lockExcludes)
}

func lock(t *testing.T, st state.Store, sync string, wait time.Duration) state.Lock {
	t.Helper()
	ctx, cancel := ctxFor()
	defer cancel()
	l, err := st.Lock(ctx, sync, wait)
	if err != nil {
		t.Fatalf("lock sync %s: %v", sync, err)
	}
	return l
}

// expectLocked tries to lock sync for wait and expects ErrLocked, after
// about wait, naming this process as the holder.
func expectLocked(t *testing.T, st state.Store, who, sync string, wait time.Duration) {
	t.Helper()
	ctx, cancel := ctxFor()
	defer cancel()
	start := time.Now()
	l, err := st.Lock(ctx, sync, wait)
	took := time.Since(start)
	if err == nil {
		l.Release()
		t.Fatalf("%s locked sync %s while another runner held it", who, sync)
	}
	if !errors.Is(err, state.ErrLocked) {
		t.Fatalf("%s: lock of a held sync: %v, want an error wrapping state.ErrLocked", who, err)
	}
	if took < wait || took > wait+3*time.Second {
		t.Errorf("%s: Lock gave up after %v, want about %v", who, took.Round(time.Millisecond), wait)
	}
	var le *state.LockedError
	host, _ := os.Hostname()
	switch {
	case !errors.As(err, &le):
		t.Errorf("%s: %v is not a *state.LockedError naming the holder", who, err)
	case le.Holder.PID != os.Getpid() || le.Holder.Host != host:
		t.Errorf("%s: the holder is pid %d on host %s, error says %+v", who, os.Getpid(), host, le.Holder)
	case !strings.Contains(err.Error(), strconv.Itoa(os.Getpid())) || !strings.Contains(err.Error(), host):
		t.Errorf("%s: error %q does not name the holder's pid %d and host %s", who, err, os.Getpid(), host)
	}
}

func (s *suite) lockWaitsThenNames(t *testing.T) {
	st := s.store(t)
	l := lock(t, st, "locked", 0)
	defer l.Release()
	other := s.another(t, st)
	expectLocked(t, st, "the same store", "locked", 0)
	expectLocked(t, st, "the same store, waiting", "locked", 300*time.Millisecond)
	expectLocked(t, other, "another runner, waiting", "locked", 300*time.Millisecond)
	// another sync is not held by it
	lock(t, other, "another sync", 0).Release()
}

func (s *suite) lockHandOver(t *testing.T) {
	st := s.store(t)
	other := s.another(t, st)
	l := lock(t, st, "handed over", 0)
	released := make(chan time.Time, 1)
	go func() {
		time.Sleep(300 * time.Millisecond)
		released <- time.Now()
		l.Release()
	}()
	l2 := lock(t, other, "handed over", 10*time.Second)
	if got, at := time.Now(), <-released; got.Before(at) {
		t.Errorf("the waiter got the lock at %v, before it was released at %v", got, at)
	}
	expectLocked(t, st, "the first runner, after handing over", "handed over", 0)
	if err := l2.Release(); err != nil {
		t.Fatalf("release: %v", err)
	}
	if err := l2.Release(); err != nil {
		t.Errorf("a second Release: %v, want none", err)
	}
	if err := l.Release(); err != nil {
		t.Errorf("a second Release of the first lock: %v, want none", err)
	}
	lock(t, st, "handed over", 0).Release()
}

// lockExcludes has runners of two stores take and release the lock
// repeatedly and counts how many hold it at once.
func (s *suite) lockExcludes(t *testing.T) {
	st := s.store(t)
	stores := []state.Store{st, s.another(t, st)}
	var inside, most, entries atomic.Int32
	var wg stdsync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 3 {
				ctx, cancel := ctxFor()
				l, err := stores[g%2].Lock(ctx, "shared", 20*time.Second)
				cancel()
				if err != nil {
					t.Errorf("runner %d: %v", g, err)
					return
				}
				n := inside.Add(1)
				for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
				}
				entries.Add(1)
				time.Sleep(5 * time.Millisecond)
				inside.Add(-1)
				if err := l.Release(); err != nil {
					t.Errorf("runner %d: release: %v", g, err)
				}
			}
		}()
	}
	wg.Wait()
	if most.Load() != 1 || entries.Load() != 12 {
		t.Fatalf("%d runners held the lock at once (%d holds), want 1 (12)", most.Load(), entries.Load())
	}
}

// fencing checks that a runner whose lock was taken away cannot commit or
// reset once another runner holds the lock: its commit would move the cursor
// or the snapshot under that runner.
func (s *suite) fencing(t *testing.T) {
	if s.h.LoseLock == nil {
		t.Skip("the store's lock cannot be lost while its holder lives")
	}
	st := s.store(t)
	l := lock(t, st, "fenced", 0)
	defer l.Release()
	a := commitA(t, st, "fenced")
	s.h.LoseLock(t, st, "fenced")
	other := s.another(t, st)
	l2 := lock(t, other, "fenced", 10*time.Second)
	defer l2.Release()

	ctx, cancel := ctxFor()
	err := st.Commit(ctx, "fenced", &state.Commit{Cursor: cursorAt("2"), Delta: delta(secondDelta()...), Run: runN(2), Identity: identityB})
	cancel()
	if err == nil {
		t.Errorf("a runner that lost its lock committed while another runner held it")
	} else if !errors.Is(err, state.ErrLockLost) {
		t.Logf("the refused commit's error does not wrap state.ErrLockLost: %v", err)
	}
	expectView(t, other, "fenced", "after the runner that lost its lock tried to commit", a)
	// nor reset: that would forget the new holder's cursor and snapshot
	ctx, cancel = ctxFor()
	err = st.Reset(ctx, "fenced")
	cancel()
	if err == nil {
		t.Errorf("a runner that lost its lock reset the state while another runner held it")
	} else if !errors.Is(err, state.ErrLockLost) {
		t.Logf("the refused reset's error does not wrap state.ErrLockLost: %v", err)
	}
	expectView(t, other, "fenced", "after the runner that lost its lock tried to reset", a)
	// the runner holding the lock now commits as usual
	commit(t, other, "fenced", &state.Commit{Cursor: cursorAt("3"), Run: runN(3)})
	a.Cursor, a.Runs = cursorAt("3"), append([]string{runText(runN(3))}, a.Runs...)
	expectView(t, other, "fenced", "after the new holder's commit", a)
}
