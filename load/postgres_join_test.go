package load_test

import (
	"context"
	"errors"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/jackc/pgx/v5"

	"github.com/hoist-dev/hoist/internal/pgconn"
	"github.com/hoist-dev/hoist/internal/pgtest"
	"github.com/hoist-dev/hoist/internal/txjoin"
	"github.com/hoist-dev/hoist/load"
	"github.com/hoist-dev/hoist/sync/spec"
)

// TestIntegrationPostgresStateJoiner: a postgres writer names its own
// database and runs the caller's commit inside the last batch's transaction,
// both landing or neither; a replace writer offers no transaction to join.
func TestIntegrationPostgresStateJoiner(t *testing.T) {
	db := pgtest.New(t)
	db.Exec(t, peopleDDL, "CREATE TABLE marks (note text)")
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ctx := context.Background()
	cfg, err := pgx.ParseConfig(db.URL)
	if err != nil {
		t.Fatal(err)
	}
	own := pgconn.JoinTarget(cfg)
	dst := load.NewPostgresDestination(db.Pool)
	open := func(mode string) load.Writer {
		w, err := dst.Open(ctx, load.Target{Sync: "s", Dest: &spec.Dest{Object: "people", Mode: mode, PrimaryKey: []string{"id"}}, Schema: peopleSchema})
		if err != nil {
			t.Fatal(err)
		}
		return w
	}

	sj, ok := open(spec.ModeUpsert).(load.StateJoiner)
	if !ok {
		t.Fatal("the postgres writer cannot join a state commit")
	}
	if !sj.JoinTarget().Equal(own) {
		t.Fatal("the postgres writer does not name its own database")
	}
	mark := func(note string, fail error) load.FinalFunc {
		return func(ctx context.Context, tx txjoin.Tx, res load.Result) error {
			ptx, err := pgconn.JoinedTx(tx, own)
			if err != nil {
				return err
			}
			if _, err := ptx.Exec(ctx, "INSERT INTO marks VALUES ($1)", note); err != nil {
				return err
			}
			return fail
		}
	}
	rec := people(mem, person{1, "ann", 10})
	defer rec.Release()
	injected := errors.New("injected")
	if _, err := sj.WriteFinal(ctx, load.Batch{Op: load.OpUpsert, Record: rec}, mark("rolled back", injected)); !errors.Is(err, injected) {
		t.Fatalf("a failing commit in the last batch's transaction: %v", err)
	}
	if got := contents(t, db); got != "" || len(db.Strings(t, "SELECT note FROM marks")) != 0 {
		t.Fatalf("the last batch (%q) or the commit landed without the other", got)
	}
	if _, err := sj.WriteFinal(ctx, load.Batch{Op: load.OpUpsert, Record: rec}, mark("kept", nil)); err != nil {
		t.Fatal(err)
	}
	batch := db.Strings(t, "SELECT xmin::text FROM people WHERE id = 1")
	note := db.Strings(t, "SELECT xmin::text FROM marks WHERE note = 'kept'")
	if len(batch) != 1 || len(note) != 1 || batch[0] != note[0] {
		t.Fatalf("the batch (xmin %v) and the commit (xmin %v) are not one transaction", batch, note)
	}

	w := open(spec.ModeReplace)
	defer w.Abort(ctx)
	if rj, ok := w.(load.StateJoiner); ok && rj.JoinTarget().Equal(own) {
		t.Fatal("a replace writer offers a transaction of its own to join")
	}
}
