package pgconn

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	jpg "github.com/jackc/pgx/v5/pgconn"
)

// Backoff says how often and how long to retry a lost connection.
type Backoff struct {
	Attempts int
	First    time.Duration
	Max      time.Duration
}

// DefaultRetry rides out a server restart or failover of a few seconds.
var DefaultRetry = Backoff{Attempts: 5, First: 200 * time.Millisecond, Max: 5 * time.Second}

// Retry runs op until it succeeds, fails with an error that is not a
// connection loss, runs out of attempts, or ctx ends. op must be safe to
// repeat: each attempt is its own transaction.
func Retry(ctx context.Context, b Backoff, op func(ctx context.Context) error) error {
	return RetryIf(ctx, b, Transient, op)
}

// RetryIf is Retry with the caller's own test of which errors to retry.
func RetryIf(ctx context.Context, b Backoff, retry func(error) bool, op func(ctx context.Context) error) error {
	wait := b.First
	var err error
	for attempt := 1; ; attempt++ {
		err = op(ctx)
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

// Transient reports a connection-class failure worth retrying on a new
// connection: SQLSTATE class 08, admin/crash shutdown (57P01-57P03), a
// network error, or an error pgx marks safe to retry. Cancellation by the
// caller's ctx is never transient.
func Transient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var pe *jpg.PgError
	if errors.As(err, &pe) {
		return strings.HasPrefix(pe.Code, "08") || pe.Code == "57P01" || pe.Code == "57P02" || pe.Code == "57P03" ||
			pe.Code == "40001" || pe.Code == "40P01"
	}
	if jpg.SafeToRetry(err) || jpg.Timeout(err) {
		return true
	}
	var ne net.Error
	var ce *jpg.ConnectError
	return errors.As(err, &ne) || errors.As(err, &ce) || errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		strings.Contains(err.Error(), "conn closed")
}

// SQLState returns the server's error code, or "".
func SQLState(err error) string {
	var pe *jpg.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// RowLevel reports an error that one row's data can cause (classes 21, 22
// data exception and 23 integrity violation): the batch is worth retrying
// row by row to find the culprits.
func RowLevel(err error) bool {
	c := SQLState(err)
	return strings.HasPrefix(c, "22") || strings.HasPrefix(c, "23") || c == "21000"
}

// ErrMsg renders a server error with its detail for RowError.Msg.
func ErrMsg(err error) string {
	var pe *jpg.PgError
	if errors.As(err, &pe) {
		msg := pe.Code + ": " + pe.Message
		if pe.Detail != "" {
			msg += " (" + pe.Detail + ")"
		}
		if pe.ConstraintName != "" && !strings.Contains(msg, pe.ConstraintName) {
			msg += " [constraint " + pe.ConstraintName + "]"
		}
		return msg
	}
	return err.Error()
}

// Rollback ends tx on a context of its own, so a cancelled run still
// releases its transaction instead of leaving it to the connection reset.
func Rollback(tx pgx.Tx) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = tx.Rollback(ctx)
}
