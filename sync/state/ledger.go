package state

import "context"

// Ledger is a Store that keeps daily request counts across runs, processes
// and hosts: a connection's daily_budget (internal/quota) spends from it, so
// every run of a day shares one count.
type Ledger interface {
	// Spend adds n (negative to give requests back) to name's count for
	// day and returns the count after it; a day other than the one name was
	// last counted for starts at zero. The count never goes below zero.
	Spend(ctx context.Context, name, day string, n int64) (int64, error)
}
