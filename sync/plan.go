package sync

import (
	"context"
	"fmt"
	"io"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/hoist-dev/hoist/sync/diff"
	"github.com/hoist-dev/hoist/sync/spec"
	"github.com/hoist-dev/hoist/sync/state"
)

// DefaultPlanLimit is the number of sample rows per operation a plan shows.
const DefaultPlanLimit = 10

// Plan computes what Run would send, writing nothing anywhere: no
// destination is written (a Postgres one is opened dry to check its
// columns, see planDestination) and no state lock is taken (the snapshot is
// read as a consistent view).
func (r *Runner) Plan(ctx context.Context, s *spec.Sync) (*PlanReport, error) {
	limit := r.Opt.Limit
	if limit <= 0 {
		limit = DefaultPlanLimit
	}
	conn := r.File.Connections[s.Destination.Connection]
	pr := &PlanReport{Sync: s.Name, Mode: s.Destination.Mode, Samples: []Sample{}}
	pr.Destination = conn.Name
	if s.Destination.Object != "" {
		pr.Destination += "/" + s.Destination.Object
	}
	st, err := r.Store.Get(ctx, r.stateName(s))
	if err != nil {
		return nil, fmt.Errorf("read state: %w", err)
	}
	o, err := r.openSync(ctx, s, st)
	if err != nil {
		return nil, err
	}
	pr.Warnings = append(pr.Warnings, o.warnings...)
	if o.x == nil {
		return pr, nil
	}
	x, chg := o.x, o.chg
	defer x.close()
	// Plan says what run would do: refuse a target change, or re-read the
	// whole source for a changed one.
	switch {
	case x.noSnapshot:
		pr.Warnings = append(pr.Warnings, "state identity changed ("+strings.Join(chg.target, "; ")+"): --full-refresh forgets the old state, and every row is sent")
		st = &state.SyncState{Sync: r.stateName(s)}
	case len(chg.reread) > 0 && s.Source.Cursor != "":
		pr.Warnings = append(pr.Warnings, "state identity changed: "+chg.note())
	}
	if x.wh != nil && st.Identity == nil {
		x.wh.empty = true // what run's prepare does to a fresh state
	}
	warn, values := r.planDestination(ctx, s, x)
	if warn != "" {
		pr.Warnings = append(pr.Warnings, warn)
	}
	defer values.done()

	mode := ModeOf(s.Destination.Mode)
	if !mode.Keyed {
		for {
			rec, cur, err := x.next(ctx)
			if err == io.EOF {
				break
			}
			if err != nil {
				return nil, err
			}
			for i := 0; i < int(rec.NumRows()) && len(pr.Samples) < limit; i++ {
				pr.Samples = append(pr.Samples, Sample{Op: "add", Key: keyOf(rec, i, x.keyIdx), After: rowMap(rec, i, nil)})
			}
			rec.Release()
			if cur != nil {
				cur.Release()
			}
		}
		pr.RowsRead, pr.Added = x.read, x.read
		pr.Warnings = append(pr.Warnings, values.warnings()...)
		return pr, nil
	}

	tmp, err := r.tempDir()
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	keys := x.keySchema()
	count := map[diff.Kind]int{}
	var sampleErr error
	res, err := r.runDiff(ctx, s, x, tmp, nil, func(e diff.Event) error {
		if e.Kind == diff.Unchanged || !mode.Sends(e.Kind, r.Opt.FullRefresh, r.Opt.Refresh) || count[e.Kind] >= limit {
			return nil
		}
		count[e.Kind]++
		smp, err := sample(e, keys)
		if err != nil && sampleErr == nil {
			sampleErr = fmt.Errorf("render sample %s: %w", diff.KeyString(e.Key), err)
		}
		pr.Samples = append(pr.Samples, smp)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if sampleErr != nil {
		return nil, sampleErr
	}
	missing := r.unsentAdds(mode, res)
	sort.SliceStable(pr.Samples, func(i, j int) bool { return opOrder[pr.Samples[i].Op] < opOrder[pr.Samples[j].Op] })
	pr.RowsRead = x.read
	pr.counts = tally(mode, r.Opt.FullRefresh, res)
	r.refreshWarnings(pr, res, missing)
	if err := massDelete(mode, s, res.removed, r.baseRows(st, res)); err != nil && !r.Opt.AllowMassDelete {
		pr.Warnings = append(pr.Warnings, "run would fail: "+err.Error())
	}
	if len(res.nullKeys) > 0 {
		pr.Warnings = append(pr.Warnings, fmt.Sprintf("%d rows have a NULL primary key and would be rejected", len(res.nullKeys)))
	}
	pr.Warnings = append(pr.Warnings, values.warnings()...)
	return pr, nil
}

var opOrder = map[string]int{"add": 0, "change": 1, "remove": 2}

// sample renders one classified key for the plan.
func sample(e diff.Event, keys *arrow.Schema) (Sample, error) {
	key, err := keyMap(e.Key, keys)
	if err != nil {
		return Sample{}, err
	}
	smp := Sample{Op: e.Kind.String(), Key: key}
	switch {
	case e.Kind == diff.Add || (e.Kind == diff.Change && e.Old == nil):
		// a change the warehouse diff found: its snapshot keeps a hash,
		// not the old row, so the sample shows the new row whole
		after, err := diff.DecodeRow(e.New)
		if err != nil {
			return smp, err
		}
		smp.After = fieldMap(after)
		for _, f := range after {
			smp.Fields = append(smp.Fields, f.Name)
		}
	case e.Kind == diff.Change:
		before, err := diff.DecodeRow(e.Old)
		if err != nil {
			return smp, err
		}
		after, err := diff.DecodeRow(e.New)
		if err != nil {
			return smp, err
		}
		old, cur := fieldMap(before), fieldMap(after)
		names := map[string]bool{}
		for n := range old {
			names[n] = true
		}
		for n := range cur {
			names[n] = true
		}
		smp.Before, smp.After = map[string]any{}, map[string]any{}
		for n := range names {
			ov, oldHas := old[n]
			nv, newHas := cur[n]
			if oldHas == newHas && reflect.DeepEqual(ov, nv) {
				continue
			}
			smp.Fields = append(smp.Fields, n)
			smp.Before[n], smp.After[n] = ov, nv
		}
		sort.Strings(smp.Fields)
	}
	return smp, nil
}

func fieldMap(fs []diff.Field) map[string]any {
	m := make(map[string]any, len(fs))
	for _, f := range fs {
		m[f.Name] = f.Value
	}
	return m
}

// keyMap renders an encoded key with each field typed as the schema says.
func keyMap(key []byte, keys *arrow.Schema) (map[string]any, error) {
	parts, err := diff.DecodeKey(key)
	if err != nil {
		return nil, err
	}
	m := make(map[string]any, len(parts))
	for i, text := range parts {
		if i >= keys.NumFields() {
			break
		}
		f := keys.Field(i)
		var v any = text
		if arrow.IsInteger(f.Type.ID()) {
			if n, err := strconv.ParseInt(text, 10, 64); err == nil {
				v = n
			}
		}
		m[f.Name] = v
	}
	return m, nil
}
