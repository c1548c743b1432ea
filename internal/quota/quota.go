// Package quota keeps a connection's daily request budget: APIs that count
// requests per day (HubSpot's 625,000 a day on Professional, shared by every
// integration of the account) refuse everything once it is spent, so hoist
// stops before, leaving a reserve for the account's other integrations.
//
// A Budget counts the requests hoist sends today in a Ledger (the state
// store), so that runs across the day share one count; it also reads what
// the API itself says is left (a remaining-requests header) and stops when
// that falls to the reserve. Once spent, every request fails with ErrSpent:
// the run stops as partial, commits what was acknowledged, and the next run
// (the next day, or with a larger budget) continues.
package quota

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	stdsync "sync"
	"time"
)

// ErrSpent is the error (wrapped, with why) of a request the budget refuses.
var ErrSpent = errors.New("daily request budget spent")

// Ledger keeps request counts per name and day across runs and processes.
type Ledger interface {
	// Spend adds n (negative to give requests back) to name's count for
	// day and returns the count after it; a day not seen before starts at
	// zero (yesterday's count is forgotten).
	Spend(ctx context.Context, name, day string, n int64) (int64, error)
}

// Config is a budget's settings.
type Config struct {
	// Name keys the count in the ledger: one connection's.
	Name string
	// Limit is the most requests hoist sends a day (0: no count kept).
	Limit int64
	// Reserve: stop once the API says no more than this many remain.
	Reserve int64
	// RemainingHeader names the header where the API says how many
	// requests are left today ("" when it says nothing).
	RemainingHeader string
	// Remaining, when set, reads what is left today (and the day's limit)
	// from an answer's headers instead of RemainingHeader, for an API that
	// states its usage another way (Salesforce's "api-usage=18/15000").
	Remaining func(h http.Header) (left, limit int64, ok bool)
	// ReserveShare, with Reserve 0, keeps limit/ReserveShare in reserve,
	// the limit being what Remaining reads.
	ReserveShare int64
	// Location is the time zone the API's day runs in (nil: UTC).
	Location *time.Location
	// Now is the clock (nil: time.Now).
	Now func() time.Time
}

// grantSize is how many requests a budget takes from the ledger at once: a
// round trip to the state store per request would cost more than the
// request, and a crash forgets at most this many.
const grantSize = 25

// Budget is one connection's daily budget, shared by every writer on it.
type Budget struct {
	cfg    Config
	ledger Ledger

	mu      stdsync.Mutex
	day     string
	granted int64 // taken from the ledger today and not used yet
	used    int64 // requests sent today by this process
	spent   error // set once spent (today)
	users   int
	// reserved: of granted (or, without a count, of what the API said is
	// left) set aside for batches' reservations
	reserved int64
	// left is what the API last said is left today (heard: it said so)
	left  int64
	heard bool
}

// New returns a budget; ledger may be nil (the count is then this process's
// only, as when hoist runs without a state store that keeps one).
func New(cfg Config, ledger Ledger) *Budget {
	if cfg.Location == nil {
		cfg.Location = time.UTC
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Budget{cfg: cfg, ledger: ledger}
}

// Day is the budget's current day, in the API's time zone.
func (b *Budget) Day() string { return b.cfg.Now().In(b.cfg.Location).Format(time.DateOnly) }

// rollover starts a new day's count when the day changed; b.mu held.
func (b *Budget) rollover() {
	if d := b.Day(); d != b.day {
		b.day, b.granted, b.used, b.spent = d, 0, 0, nil
		b.reserved, b.left, b.heard = 0, 0, false
	}
}

// Take counts one request about to be sent, or refuses it once the budget
// is spent.
func (b *Budget) Take(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.rollover()
	// a batch's reservation is honoured even once the budget is spent for
	// the others: it was promised before, and cutting the batch is what it
	// exists to prevent (an API that refuses for its own daily limit still
	// refuses: see Exhaust's callers)
	if b.fromReservation(ctx) {
		return nil
	}
	if b.spent != nil {
		return b.spent
	}
	if b.heard && b.left-b.reserved <= b.cfg.Reserve && b.reserved > 0 {
		// what is left above the reserve is promised to batches
		return b.exhaust(fmt.Sprintf("the API says %d requests are left today, %d of them promised to batches under way and %d kept in reserve", b.left, b.reserved, b.cfg.Reserve))
	}
	if b.cfg.Limit <= 0 {
		b.used++
		if b.heard {
			b.left--
		}
		return nil
	}
	if b.granted-b.reserved <= 0 {
		if err := b.grant(ctx); err != nil {
			return err
		}
		if b.granted-b.reserved <= 0 {
			return b.exhaust(fmt.Sprintf("%d requests counted today, the daily_budget; the rest are promised to batches under way", b.cfg.Limit))
		}
	}
	b.granted--
	b.used++
	if b.heard {
		b.left--
	}
	return nil
}

// Return gives back a request Take counted that was never sent (its
// context ended while it waited to be paced). A nil budget does nothing.
func (b *Budget) Return() {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.used == 0 {
		return
	}
	b.used--
	if b.cfg.Limit > 0 {
		b.granted++
	}
	if b.heard {
		b.left++
	}
}

// grant takes the next requests from the ledger; b.mu held.
func (b *Budget) grant(ctx context.Context) error {
	if b.ledger == nil {
		if b.used+b.granted >= b.cfg.Limit {
			return b.exhaust(fmt.Sprintf("%d requests sent today, the daily_budget", b.used))
		}
		b.granted = b.cfg.Limit - b.used
		return nil
	}
	total, err := b.ledger.Spend(ctx, b.cfg.Name, b.day, grantSize)
	if err != nil {
		return fmt.Errorf("daily request budget of %s: %w", b.cfg.Name, err)
	}
	if over := total - b.cfg.Limit; over > 0 {
		give := min(over, grantSize)
		if _, err := b.ledger.Spend(ctx, b.cfg.Name, b.day, -give); err != nil {
			return fmt.Errorf("daily request budget of %s: %w", b.cfg.Name, err)
		}
		if give == grantSize {
			return b.exhaust(fmt.Sprintf("%d requests counted today (this run and earlier ones), the daily_budget", b.cfg.Limit))
		}
		b.granted += grantSize - give
		return nil
	}
	b.granted += grantSize
	return nil
}

// exhaust marks the budget spent for today; b.mu held.
func (b *Budget) exhaust(why string) error {
	if b.spent == nil {
		b.spent = fmt.Errorf("%w: %s", ErrSpent, why)
	}
	return b.spent
}

// Exhaust marks the budget spent for today because the API said so (a 429
// for its daily limit).
func (b *Budget) Exhaust(why string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.rollover()
	return b.exhaust(why)
}

// Observe reads what an answer says is left today; at or below the reserve
// the budget is spent.
func (b *Budget) Observe(h http.Header) {
	if b.cfg.Remaining != nil && h != nil {
		left, limit, ok := b.cfg.Remaining(h)
		reserve := b.cfg.Reserve
		if reserve == 0 && b.cfg.ReserveShare > 0 {
			reserve = limit / b.cfg.ReserveShare
		}
		if ok && left <= reserve {
			b.Exhaust(fmt.Sprintf("the API says %d of %d requests are left today, and %d are kept in reserve for other integrations", left, limit, reserve))
		}
		return
	}
	if b.cfg.RemainingHeader == "" || h == nil {
		return
	}
	v := strings.TrimSpace(h.Get(b.cfg.RemainingHeader))
	if v == "" {
		return
	}
	left, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return
	}
	b.mu.Lock()
	b.rollover()
	b.left, b.heard = left, true
	b.mu.Unlock()
	if left <= b.cfg.Reserve {
		b.Exhaust(fmt.Sprintf("the API says %d requests are left today (%s), and %d are kept in reserve for other integrations", left, b.cfg.RemainingHeader, b.cfg.Reserve))
	}
}

// Used is how many requests this process sent today.
func (b *Budget) Used() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.rollover()
	return b.used
}

// Acquire registers a user (a run's writer); Release gives back, when the
// last user leaves, the requests granted and not sent.
func (b *Budget) Acquire() {
	b.mu.Lock()
	b.users++
	b.mu.Unlock()
}

// Release ends a user; the last one returns the unused grant to the ledger.
func (b *Budget) Release(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.users--
	if b.users > 0 || b.granted == 0 || b.ledger == nil {
		return nil
	}
	n := b.granted
	b.granted = 0
	if _, err := b.ledger.Spend(ctx, b.cfg.Name, b.day, -n); err != nil {
		return fmt.Errorf("daily request budget of %s: give back %d unused requests: %w", b.cfg.Name, n, err)
	}
	return nil
}

// budgets holds one Budget per connection for the whole process, as
// httpkit's limiters do: every sync on a connection spends one budget.
var budgets = struct {
	stdsync.Mutex
	m map[string]*Budget
}{m: map[string]*Budget{}}

// Shared returns the process's budget for cfg.Name, made with cfg and
// ledger the first time; later calls retune its settings (a reloaded spec)
// and keep its count.
func Shared(cfg Config, ledger Ledger) *Budget {
	budgets.Lock()
	defer budgets.Unlock()
	if b, ok := budgets.m[cfg.Name]; ok {
		b.mu.Lock()
		now := b.cfg.Now
		b.cfg = cfg
		if b.cfg.Location == nil {
			b.cfg.Location = time.UTC
		}
		if b.cfg.Now == nil {
			b.cfg.Now = now
		}
		if b.ledger == nil {
			b.ledger = ledger
		}
		// a new run may bring a larger budget: ask the count again (a
		// budget the API said was spent is found so again by its next
		// answer)
		b.spent = nil
		b.mu.Unlock()
		return b
	}
	b := New(cfg, ledger)
	budgets.m[cfg.Name] = b
	return b
}
