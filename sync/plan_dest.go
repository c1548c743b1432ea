package sync

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/hoist-dev/hoist/connector"
	"github.com/hoist-dev/hoist/load"
	"github.com/hoist-dev/hoist/sync/spec"
)

// planDestination checks that the destination can take the mapped schema,
// so plan says what run would fail on (a table lacking a mapped column with
// create_table off, a column of the wrong type, a field that is no HubSpot
// property) instead of a clean plan. Only destinations that declare
// PlanCheck are probed (Postgres: its dry-run open reads the catalog and
// changes nothing), where opening SQLite would create the database file.
//
// A dry-run writer that can check values (load.ValueChecker: HubSpot's
// picklist options and property types) is kept open and given every
// extracted row: the returned check tallies the rows run would reject, and
// says so at the end of the plan.
func (r *Runner) planDestination(ctx context.Context, s *spec.Sync, x *extraction) (string, *valueCheck) {
	conn := r.File.Connections[s.Destination.Connection]
	if conn == nil {
		return "", nil
	}
	if k, ok := connector.Lookup(conn.Type); !ok || k.Dest == nil || !k.Dest.PlanCheck {
		return "", nil
	}
	dst, err := load.Open(ctx, conn, r.File.Dir)
	if err != nil {
		return "run would fail: open " + conn.Name + ": " + err.Error(), nil
	}
	w, err := dst.Open(ctx, load.Target{Sync: s.Name, Dest: &s.Destination, Schema: x.mappedSchema(),
		Alloc: r.alloc(), Logger: r.log().With("sync", s.Name), DryRun: true})
	if err != nil {
		dst.Close()
		return "run would fail: " + err.Error(), nil
	}
	vc, ok := w.(load.ValueChecker)
	if !ok {
		_ = w.Abort(ctx) // a dry-run writer holds nothing
		dst.Close()
		return "", nil
	}
	c := &valueCheck{sync: s.Name, keyIdx: x.keyIdx, checker: vc, fields: map[string]*fieldProblems{},
		close: func() { _ = w.Abort(ctx); dst.Close() }}
	x.inspect = c.check
	return "", c
}

// valueCheckExamples is how many refused values a plan shows per field.
const valueCheckExamples = 3

// valueCheck tallies, per field, the rows whose values the destination
// would refuse.
type valueCheck struct {
	sync    string
	keyIdx  []int
	checker load.ValueChecker
	rows    int64 // rows with at least one refused value
	fields  map[string]*fieldProblems
	close   func()
}

type fieldProblems struct {
	rows     int64
	examples []string
}

// check is the extraction's inspect hook: each mapped record, as run
// would send it.
func (c *valueCheck) check(rec arrow.RecordBatch) {
	bad := map[int]bool{}
	c.checker.CheckValues(rec, func(row int, field, value, why string) {
		bad[row] = true
		fp := c.fields[field]
		if fp == nil {
			fp = &fieldProblems{}
			c.fields[field] = fp
		}
		fp.rows++
		if len(fp.examples) < valueCheckExamples {
			fp.examples = append(fp.examples, fmt.Sprintf("%q (key %s): %s", value, keyText(keyOf(rec, row, c.keyIdx)), why))
		}
	})
	c.rows += int64(len(bad))
}

// warnings says, per field, how many rows run would reject and why, with
// the first examples.
func (c *valueCheck) warnings() []string {
	if c == nil || c.rows == 0 {
		return nil
	}
	names := make([]string, 0, len(c.fields))
	for f := range c.fields {
		names = append(names, f)
	}
	sort.Strings(names)
	out := []string{fmt.Sprintf("sync %s: run would reject %d rows, unsent: their values do not fit the destination's properties", c.sync, c.rows)}
	for _, f := range names {
		fp := c.fields[f]
		more := ""
		if n := fp.rows - int64(len(fp.examples)); n > 0 {
			more = fmt.Sprintf("; and %d more", n)
		}
		out = append(out, fmt.Sprintf("sync %s, field %s: %d rows, e.g. %s%s", c.sync, f, fp.rows, strings.Join(fp.examples, "; "), more))
	}
	return out
}

func (c *valueCheck) done() {
	if c != nil {
		c.close()
	}
}
