package mysqlconn

import (
	"context"
	"errors"
	"time"
)

// Backoff says how often and how long to retry a lost connection.
type Backoff struct {
	Attempts int
	First    time.Duration
	Max      time.Duration
}

// DefaultRetry rides out a server restart or failover of a few seconds.
var DefaultRetry = Backoff{Attempts: 5, First: 200 * time.Millisecond, Max: 5 * time.Second}

// Retry runs op until it succeeds, fails with an error that is not
// Transient, runs out of attempts, or ctx ends. op must be safe to repeat.
func Retry(ctx context.Context, b Backoff, op func(ctx context.Context) error) error {
	return RetryIf(ctx, b, Transient, op)
}

// RetryIf is Retry with the caller's own test of which errors to retry.
func RetryIf(ctx context.Context, b Backoff, retry func(error) bool, op func(ctx context.Context) error) error {
	wait := b.First
	for attempt := 1; ; attempt++ {
		err := op(ctx)
		if err == nil || !retry(err) || attempt >= b.Attempts || ctx.Err() != nil {
			return err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return errors.Join(err, ctx.Err())
		case <-t.C:
		}
		wait = min(wait*2, b.Max)
	}
}
