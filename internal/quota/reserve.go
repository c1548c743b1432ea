package quota

import (
	"context"
	"fmt"
)

// A batch that takes several requests (a destination's batch cut into
// requests of 100, a lookup before an archive) must not be cut off by the
// budget half-way: its first requests would be applied and the batch still
// fail, so the run would neither count those rows delivered nor stop
// cleanly between batches. The writer reserves the batch's requests before
// sending any: if fewer are left the budget is spent there, and the batch
// is left whole for the next run.

// Reservation is requests set aside for one batch; its attempts take from
// it first (through the context, see WithReservation).
type Reservation struct {
	b    *Budget
	left int64
}

type reservationKey struct{}

// WithReservation returns a context whose attempts on r's budget take from
// r before the budget's common pool. A nil r returns ctx.
func WithReservation(ctx context.Context, r *Reservation) context.Context {
	if r == nil {
		return ctx
	}
	return context.WithValue(ctx, reservationKey{}, r)
}

// Reserve sets k requests aside, or, when fewer than k are left today,
// spends the budget and returns the error of a spent budget. Only a budget
// that counts (Limit) or has heard the API's count (RemainingHeader) can
// tell; otherwise the reservation is empty and Take decides request by
// request.
func (b *Budget) Reserve(ctx context.Context, k int) (*Reservation, error) {
	if b == nil || k <= 0 {
		return nil, nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.rollover()
	if b.spent != nil {
		return nil, b.spent
	}
	n := int64(k)
	if b.heard && b.left-b.cfg.Reserve-b.reserved < n {
		return nil, b.exhaust(fmt.Sprintf("the next batch needs %d requests, and the API says %d are left today of which %d are kept in reserve for other integrations",
			k, b.left, b.cfg.Reserve))
	}
	if b.cfg.Limit > 0 {
		for b.granted-b.reserved < n {
			before := b.granted
			if err := b.grant(ctx); err != nil {
				return nil, err
			}
			if b.granted == before {
				break
			}
		}
		if b.granted-b.reserved < n {
			return nil, b.exhaust(fmt.Sprintf("the next batch needs %d requests and only %d are left of the daily_budget of %d", k, b.granted-b.reserved, b.cfg.Limit))
		}
	}
	b.reserved += n
	return &Reservation{b: b, left: n}, nil
}

// Release gives back what the batch did not use. A nil r does nothing.
func (r *Reservation) Release() {
	if r == nil {
		return
	}
	r.b.mu.Lock()
	defer r.b.mu.Unlock()
	r.b.reserved -= r.left
	r.left = 0
}

// fromReservation takes one request from ctx's reservation on b, if it has
// one left; b.mu held.
func (b *Budget) fromReservation(ctx context.Context) bool {
	r, _ := ctx.Value(reservationKey{}).(*Reservation)
	if r == nil || r.b != b || r.left == 0 {
		return false
	}
	r.left--
	b.reserved--
	if b.cfg.Limit > 0 {
		b.granted--
	}
	if b.heard {
		b.left--
	}
	b.used++
	return true
}
