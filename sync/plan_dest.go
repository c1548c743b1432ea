package sync

import (
	"context"

	"github.com/hoist-dev/hoist/connector"
	"github.com/hoist-dev/hoist/load"
	"github.com/hoist-dev/hoist/sync/spec"
)

// planDestination checks that the destination can take the mapped schema,
// so plan says what run would fail on (a table lacking a mapped column with
// create_table off, a column of the wrong type) instead of a clean plan.
// Only destinations that declare PlanCheck are probed (Postgres: its dry-run
// open reads the catalog and changes nothing), where opening SQLite would
// create the database file and HTTP destinations have no schema to check.
func (r *Runner) planDestination(ctx context.Context, s *spec.Sync, x *extraction) string {
	conn := r.File.Connections[s.Destination.Connection]
	if conn == nil {
		return ""
	}
	if k, ok := connector.Lookup(conn.Type); !ok || k.Dest == nil || !k.Dest.PlanCheck {
		return ""
	}
	dst, err := load.Open(ctx, conn, r.File.Dir)
	if err != nil {
		return "run would fail: open " + conn.Name + ": " + err.Error()
	}
	defer dst.Close()
	w, err := dst.Open(ctx, load.Target{Sync: s.Name, Dest: &s.Destination, Schema: x.mappedSchema(),
		Alloc: r.alloc(), Logger: r.log().With("sync", s.Name), DryRun: true})
	if err != nil {
		return "run would fail: " + err.Error()
	}
	_ = w.Abort(ctx) // a dry-run writer holds nothing
	return ""
}
