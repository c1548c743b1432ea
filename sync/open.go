package sync

import (
	"context"
	"errors"
	"fmt"

	"github.com/hoist-dev/hoist/sync/spec"
	"github.com/hoist-dev/hoist/sync/state"
)

// opened is a sync ready to diff: its source extraction, opened past the
// right cursor, and what the identity check found.
type opened struct {
	// x is nil when the source had nothing new to read (errNothingNew).
	x   *extraction
	id  *state.Identity
	chg *identityChange
	// warnings are for the plan's summary, or run's log.
	warnings []string
	// layout is set when --reshard lets a changed shard layout through.
	layout *layoutChange
}

// openSync opens a sync's source the way plan and run both must, so that
// the plan tells what the run does: the cursor (moved back by a lookback,
// dropped for --full-refresh and --refresh), --refresh's early check, then
// the identity check, which may refuse or re-open the whole source. The
// caller closes o.x.
func (r *Runner) openSync(ctx context.Context, s *spec.Sync, st *state.SyncState) (*opened, error) {
	after, err := r.extractAfter(s, st.Cursor)
	if err != nil {
		return nil, err
	}
	if err := r.checkRefresh(ctx, s); err != nil {
		return nil, err
	}
	o := &opened{}
	if o.layout, err = r.checkLayout(ctx, s, st); err != nil {
		return nil, err
	}
	if o.layout != nil {
		o.warnings = append(o.warnings, fmt.Sprintf("--reshard: the state was recorded %s; this shard's snapshot is rebuilt from what the destination holds", describeLayout(o.layout.was)))
	}
	if warn := r.refreshNoop(s); warn != "" {
		o.warnings = append(o.warnings, warn)
	}
	x, err := r.openExtraction(ctx, s, after)
	if errors.Is(err, errNothingNew) {
		return o, nil
	}
	if err != nil {
		return nil, err
	}
	x, o.id, o.chg, err = r.checkIdentity(ctx, s, st, x)
	if err != nil {
		if x != nil { // nil when the whole source could not be re-opened
			x.close()
		}
		return nil, err
	}
	o.x = x
	return o, nil
}
