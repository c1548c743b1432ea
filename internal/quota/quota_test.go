package quota

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	stdsync "sync"
	"testing"
	"time"
)

// memLedger is a Ledger in memory, as the state stores keep one on disk.
type memLedger struct {
	mu    stdsync.Mutex
	day   map[string]string
	count map[string]int64
	calls int
}

func (m *memLedger) Spend(_ context.Context, name, day string, n int64) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls++
	if m.day == nil {
		m.day, m.count = map[string]string{}, map[string]int64{}
	}
	if m.day[name] != day {
		m.day[name], m.count[name] = day, 0
	}
	m.count[name] = max(m.count[name]+n, 0)
	return m.count[name], nil
}

func take(b *Budget, n int) (sent int, err error) {
	for range n {
		if err = b.Take(context.Background()); err != nil {
			return sent, err
		}
		sent++
	}
	return sent, nil
}

// TestBudgetAcrossRuns: two runs (budgets on one ledger, as two processes
// on one state store) together send exactly the daily limit, the unsent
// grant goes back, and a new day in the API's time zone starts again.
func TestBudgetAcrossRuns(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skip("no time zone database")
	}
	now := time.Date(2026, 3, 1, 23, 0, 0, 0, ny) // 04:00 UTC on March 2
	clock := func() time.Time { return now }
	l := &memLedger{}
	cfg := Config{Name: "crm", Limit: 60, Location: ny, Now: clock}
	first := New(cfg, l)
	first.Acquire()
	if sent, err := take(first, 40); sent != 40 || err != nil {
		t.Fatalf("first run: %d sent, %v", sent, err)
	}
	if err := first.Release(context.Background()); err != nil {
		t.Fatal(err)
	}
	if l.count["crm"] != 40 {
		t.Errorf("ledger after the first run gave back its unused grant: %d, want 40", l.count["crm"])
	}
	second := New(cfg, l)
	second.Acquire()
	sent, err := take(second, 40)
	if sent != 20 || !errors.Is(err, ErrSpent) {
		t.Errorf("second run: %d sent, %v; want 20 and ErrSpent", sent, err)
	}
	if err := second.Take(context.Background()); !errors.Is(err, ErrSpent) {
		t.Errorf("a spent budget took a request: %v", err)
	}
	second.Release(context.Background())
	if l.count["crm"] != 60 {
		t.Errorf("ledger %d, want the limit, 60", l.count["crm"])
	}
	if l.day["crm"] != "2026-03-01" {
		t.Errorf("day %q, want the API's (New York's) 2026-03-01", l.day["crm"])
	}
	now = now.Add(2 * time.Hour) // past midnight in New York
	if sent, err := take(second, 5); sent != 5 || err != nil {
		t.Errorf("next day: %d sent, %v", sent, err)
	}
	if l.count["crm"] != grantSize || l.day["crm"] != "2026-03-02" {
		t.Errorf("next day's ledger: %d on %s", l.count["crm"], l.day["crm"])
	}
}

// TestBudgetReserve: an answer saying no more than the reserve is left
// spends the budget, whatever the count says.
func TestBudgetReserve(t *testing.T) {
	b := New(Config{Name: "hs", RemainingHeader: "X-Daily-Remaining", Reserve: 100}, nil)
	h := http.Header{}
	h.Set("X-Daily-Remaining", "101")
	b.Observe(h)
	if err := b.Take(context.Background()); err != nil {
		t.Fatalf("101 left, reserve 100: %v", err)
	}
	h.Set("X-Daily-Remaining", "100")
	b.Observe(h)
	if err := b.Take(context.Background()); !errors.Is(err, ErrSpent) {
		t.Errorf("100 left, reserve 100: %v, want ErrSpent", err)
	}
}

// TestBudgetReservation: a batch's requests are set aside before it starts:
// a reservation larger than what is left spends the budget without
// sending anything; a granted one is honoured even after the others spend
// the rest; what it did not use goes back.
func TestBudgetReservation(t *testing.T) {
	l := &memLedger{}
	b := New(Config{Name: "hs", Limit: 10}, l)
	b.Acquire()
	ctx := context.Background()
	r, err := b.Reserve(ctx, 4)
	if err != nil {
		t.Fatal(err)
	}
	rctx := WithReservation(ctx, r)
	if err := b.Take(rctx); err != nil {
		t.Fatal(err)
	}
	if sent, err := take(b, 10); sent != 6 || !errors.Is(err, ErrSpent) {
		t.Fatalf("the others: %d sent, %v; want the 6 not reserved", sent, err)
	}
	for i := range 3 {
		if err := b.Take(rctx); err != nil {
			t.Fatalf("reserved request %d after the rest was spent: %v", i+2, err)
		}
	}
	if err := b.Take(rctx); !errors.Is(err, ErrSpent) {
		t.Errorf("a fifth request on a reservation of 4: %v", err)
	}
	r.Release()
	if b.Used() != 10 {
		t.Errorf("used %d, want 10", b.Used())
	}

	// too few left: refused before anything is sent, the grant given back
	l2 := &memLedger{}
	c := New(Config{Name: "hs", Limit: 30}, l2)
	c.Acquire()
	if sent, err := take(c, 27); sent != 27 || err != nil {
		t.Fatal(sent, err)
	}
	if _, err := c.Reserve(ctx, 5); !errors.Is(err, ErrSpent) {
		t.Fatalf("5 more with 3 left: %v, want ErrSpent", err)
	}
	if err := c.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if l2.count["hs"] != 27 {
		t.Errorf("the ledger counts %d, want the 27 sent", l2.count["hs"])
	}

	// a reservation on the API's count (what it says is left, above the
	// reserve)
	d := New(Config{Name: "hs", RemainingHeader: "X-Left", Reserve: 100}, nil)
	h := http.Header{}
	h.Set("X-Left", "105")
	d.Observe(h)
	if _, err := d.Reserve(ctx, 6); !errors.Is(err, ErrSpent) {
		t.Errorf("6 with 105 left and 100 in reserve: %v, want ErrSpent", err)
	}
	d2 := New(Config{Name: "hs2", RemainingHeader: "X-Left", Reserve: 100}, nil)
	d2.Observe(h)
	if r, err := d2.Reserve(ctx, 5); err != nil || r == nil {
		t.Errorf("5 with 105 left and 100 in reserve: %v", err)
	}
}

// TestRemainingParser: an API stating its usage its own way (Salesforce's
// "api-usage=used/max") spends the budget once what is left reaches the
// reserve share of its limit.
func TestRemainingParser(t *testing.T) {
	parse := func(h http.Header) (int64, int64, bool) {
		var used, limit int64
		if _, err := fmt.Sscanf(h.Get("X-Usage"), "%d/%d", &used, &limit); err != nil {
			return 0, 0, false
		}
		return limit - used, limit, true
	}
	b := New(Config{Name: "org", Remaining: parse, ReserveShare: 10}, nil)
	for _, tc := range []struct {
		usage string
		spent bool
	}{{"", false}, {"100/1000", false}, {"899/1000", false}, {"900/1000", true}} {
		h := http.Header{}
		h.Set("X-Usage", tc.usage)
		b.Observe(h)
		if err := b.Take(context.Background()); errors.Is(err, ErrSpent) != tc.spent {
			t.Errorf("after %q: take %v, want spent %v", tc.usage, err, tc.spent)
		}
	}
}
