package statetest

import (
	"context"
	"testing"

	"golang.org/x/sync/errgroup"

	"github.com/hoist-dev/hoist/sync/state"
)

// ledger checks, for a store that keeps daily request counts
// (state.Ledger), that counts add up exactly under concurrent runners, start
// again on a new day, never go below zero, and outlive the store.
func (s *suite) ledger(t *testing.T) {
	st := s.store(t)
	l, ok := st.(state.Ledger)
	if !ok {
		t.Skip("the store does not implement state.Ledger")
	}
	other, ok := s.another(t, st).(state.Ledger)
	if !ok {
		t.Fatal("the store is a state.Ledger, a second runner's is not")
	}
	ctx, cancel := ctxFor()
	defer cancel()
	spend := func(l state.Ledger, name, day string, n int64) int64 {
		t.Helper()
		got, err := l.Spend(ctx, name, day, n)
		if err != nil {
			t.Fatalf("spend %d of %s on %s: %v", n, name, day, err)
		}
		return got
	}
	if got := spend(l, "crm", "2026-01-02", 25); got != 25 {
		t.Errorf("first spend: count %d, want 25", got)
	}
	// two runners, many spends each, at once
	var g errgroup.Group
	for _, r := range []state.Ledger{l, other} {
		g.Go(func() error {
			for range 20 {
				if _, err := r.Spend(context.Background(), "crm", "2026-01-02", 5); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	if got := spend(other, "crm", "2026-01-02", 0); got != 225 {
		t.Errorf("after 25 + 2×20×5 spent by two runners: count %d, want 225", got)
	}
	if got := spend(l, "crm", "2026-01-02", -30); got != 195 {
		t.Errorf("after giving 30 back: count %d, want 195", got)
	}
	if got := spend(l, "other api", "2026-01-02", 1); got != 1 {
		t.Errorf("another name: count %d, want 1 (names are counted apart)", got)
	}
	if got := spend(l, "crm", "2026-01-03", 7); got != 7 {
		t.Errorf("a new day: count %d, want 7 (yesterday's is forgotten)", got)
	}
	if got := spend(l, "crm", "2026-01-03", -100); got != 0 {
		t.Errorf("giving back more than counted: count %d, want 0", got)
	}
	again := s.another(t, st).(state.Ledger)
	if got := spend(again, "other api", "2026-01-02", 0); got != 1 {
		t.Errorf("reopened: count %d, want 1", got)
	}
}
