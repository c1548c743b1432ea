package httpkit

import (
	"context"
	stdsync "sync"
)

// slotsByConn holds one Slots per HTTP connection for the whole process, as
// limiters holds its token buckets: syncs run in parallel (run --parallel)
// and each opens its own writer, whose adaptive concurrency knows only its
// own requests, so the connection's max_concurrency would otherwise be
// granted once per sync.
var slotsByConn = struct {
	stdsync.Mutex
	m map[string]*Slots
}{m: map[string]*Slots{}}

// SharedSlots returns the process-wide cap of requests in flight to an http
// connection, keyed like SharedLimiter, holding n slots. Seen again with
// another n (a reloaded spec), the cap is resized in place.
func SharedSlots(name string, conn *Config, n int) *Slots {
	key := name + "\x00" + conn.BaseURL
	slotsByConn.Lock()
	defer slotsByConn.Unlock()
	if s, ok := slotsByConn.m[key]; ok {
		s.resize(n)
		return s
	}
	s := &Slots{size: max(n, 1)}
	slotsByConn.m[key] = s
	return s
}

// Slots is a counting semaphore that hands slots out in arrival order.
type Slots struct {
	mu      stdsync.Mutex
	size    int
	used    int
	waiters []chan struct{}
}

// Acquire takes a slot, waiting while all are taken or until ctx ends.
func (s *Slots) Acquire(ctx context.Context) error {
	s.mu.Lock()
	if s.used < s.size && len(s.waiters) == 0 {
		s.used++
		s.mu.Unlock()
		return nil
	}
	ch := make(chan struct{})
	s.waiters = append(s.waiters, ch)
	s.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		defer s.mu.Unlock()
		for i, w := range s.waiters {
			if w == ch {
				s.waiters = append(s.waiters[:i], s.waiters[i+1:]...)
				return ctx.Err()
			}
		}
		// granted while giving up: hand the slot on
		s.used--
		s.wake()
		return ctx.Err()
	}
}

// Release gives a slot back.
func (s *Slots) Release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.used--
	s.wake()
}

// InUse returns how many slots are taken (tests, logs).
func (s *Slots) InUse() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.used
}

func (s *Slots) resize(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.size = max(n, 1)
	s.wake()
}

// wake hands free slots to waiters in arrival order; called with mu held.
func (s *Slots) wake() {
	for len(s.waiters) > 0 && s.used < s.size {
		ch := s.waiters[0]
		s.waiters = s.waiters[1:]
		s.used++
		close(ch)
	}
}
