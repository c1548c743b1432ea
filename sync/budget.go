package sync

import (
	"errors"

	"github.com/hoist-dev/hoist/load"
	"github.com/hoist-dev/hoist/sync/state"
)

// A connection's daily request budget (its daily_budget, or what the API
// says is left) can run out mid-run. That is not a failure: the run stops
// sending, commits what was acknowledged, and ends as partial, saying why in
// the report's "stopped"; the next run (a new day, a larger budget) sends the
// rest, as it would after any stop.

// budgetStop reports whether a run's error is its budget running out.
func budgetStop(err error) bool { return err != nil && errors.Is(err, load.ErrBudgetSpent) }

// ledgerOf is the store's daily request ledger, or nil when it keeps none.
func ledgerOf(s state.Store) state.Ledger {
	l, _ := s.(state.Ledger)
	return l
}
