// Package sync runs hoist's syncs: extract, map, diff against the snapshot,
// load in parallel batches, then commit state for what was acknowledged.
package sync

// Run statuses (docs/spec.md, "Reports").
const (
	StatusOK      = "ok"
	StatusPartial = "partial"
	StatusFailed  = "failed"
	// StatusSkipped: the sync did not run, because a sync it runs after
	// (spec key after) failed or was skipped.
	StatusSkipped = "skipped"
)

// Report is the outcome of one sync's run; `hoist run --output json` prints it.
type Report struct {
	Sync string `json:"sync"`
	// Shard is "I/N" in a sharded run of a sharded sync.
	Shard  string `json:"shard,omitempty"`
	Status string `json:"status"`
	// RunID names this run of the sync, in its logs and on its lines of
	// the rejected-rows file.
	RunID    string `json:"run_id"`
	Mode     string `json:"mode"`
	RowsRead int64  `json:"rows_read"`
	counts
	Delivered int64 `json:"delivered"`
	// Committed is how many of the delivered rows the state commit
	// recorded: less than Delivered when the state commit failed, and the
	// rest will be sent again by the next run.
	Committed    int64  `json:"committed"`
	Rejected     int64  `json:"rejected"`
	NotHeld      int64  `json:"not_held"` // update rows whose key the destination lacks: left alone
	CursorBefore string `json:"cursor_before,omitempty"`
	CursorAfter  string `json:"cursor_after,omitempty"`
	DurationMS   int64  `json:"duration_ms"`
	RejectedFile string `json:"rejected_file,omitempty"`
	// Stopped says why a partial run stopped before sending everything
	// (its connection's daily request budget); the next run sends the rest.
	Stopped string `json:"stopped,omitempty"`
	Error   string `json:"error,omitempty"`

	// unacked counts rows sent to the destination that it did not
	// acknowledge (in flight when the run stopped, or rolled back).
	unacked int64
}

// PlanReport is what `hoist plan` shows for one sync; text and JSON are both
// rendered from it.
type PlanReport struct {
	Sync     string `json:"sync"`
	Mode     string `json:"mode"`
	RowsRead int64  `json:"rows_read"`
	counts
	Samples []Sample `json:"samples"`
	// Destination says where the changes would go ("crm/contacts"), for text output.
	Destination string `json:"-"`
	// Warnings are shown under the summary (a mass delete that run would refuse).
	Warnings []string `json:"warnings,omitempty"`
}

// Pending reports whether the plan would change anything.
func (p *PlanReport) Pending() bool { return p.Added+p.Changed+p.Removed+p.Resent > 0 }

// counts say what a run sends, and plan and run count alike (see tally).
type counts struct {
	Added     int64 `json:"added"`
	Changed   int64 `json:"changed"`
	Removed   int64 `json:"removed"`
	Unchanged int64 `json:"unchanged"`
	// Resent counts unchanged rows that --full-refresh sends again.
	Resent int64 `json:"resent,omitempty"`
}

// tally turns the diff's classification of keys into what the mode sends,
// so that plan and run report the same numbers for the same change: a change
// that insert mode leaves alone counts as unchanged, a key gone from the
// source is removed only in mirror mode (the others never delete), and the
// unchanged rows --full-refresh sends anyway are resent.
func tally(mode Mode, full bool, res *diffResult) counts {
	c := counts{Added: res.added, Changed: res.changed, Unchanged: res.unchanged}
	if !mode.SendsChanges {
		c.Changed, c.Unchanged = 0, c.Unchanged+res.changed
	}
	if mode.SendsDeletes {
		c.Removed = res.removed
	}
	if full {
		c.Resent, c.Unchanged = res.unchanged, c.Unchanged-res.unchanged
	}
	return c
}

// Sample is one example row of a plan. Before and After hold the changed
// fields only for "change"; "add" has After only; "remove" has Key only.
type Sample struct {
	Op     string         `json:"op"`
	Key    map[string]any `json:"key"`
	Before map[string]any `json:"before,omitempty"`
	After  map[string]any `json:"after,omitempty"`
	// Fields orders the changed fields for text output.
	Fields []string `json:"-"`
}
