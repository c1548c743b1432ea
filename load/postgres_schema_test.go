package load_test

import (
	"context"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/hoist-dev/hoist/connector"
	"github.com/hoist-dev/hoist/extract"
	"github.com/hoist-dev/hoist/internal/pgtest"
	"github.com/hoist-dev/hoist/load"
	"github.com/hoist-dev/hoist/sync/spec"
)

// TestIntegrationPostgresCreateTableNumeric: numeric read as exact text (no
// precision, or more than decimal128's 38 digits) is created as numeric with
// the source's declaration, not text, so the copy sorts and sums as numbers.
func TestIntegrationPostgresCreateTableNumeric(t *testing.T) {
	db := pgtest.New(t)
	db.Exec(t, `CREATE TABLE src (id int8 PRIMARY KEY, free numeric, wide numeric(50,10), fits numeric(12,2), note text)`,
		`INSERT INTO src VALUES (1, 123456789012345678901234567890.123456789012345678901, 1234567890123456789012345678901234567890.0123456789, 12.50, 'x'),
			(2, 'NaN', -0.0000000001, -0.01, NULL), (3, NULL, NULL, NULL, NULL)`)
	ctx := context.Background()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rr, err := extract.NewPostgresSource(db.Pool).Read(ctx, extract.Request{Source: &spec.Source{Config: &connector.SQLSource{Table: "src"}}, Alloc: mem})
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Release()
	w, err := load.NewPostgresDestination(db.Pool).Open(ctx, load.Target{Sync: "n",
		Dest:   &spec.Dest{Object: "made", Mode: spec.ModeUpsert, PrimaryKey: []string{"id"}, Config: &connector.SQLDest{CreateTable: true}},
		Schema: rr.Schema()})
	if err != nil {
		t.Fatal(err)
	}
	for rr.Next() {
		if res, err := w.Write(ctx, load.Batch{Op: load.OpUpsert, Record: rr.RecordBatch()}); err != nil || len(res.Failed) > 0 {
			t.Fatalf("write: %v %+v", err, res.Failed)
		}
	}
	if err := rr.Err(); err != nil {
		t.Fatal(err)
	}
	typ := `SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod), ', ' ORDER BY a.attnum)
		FROM pg_attribute a WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped`
	want := "id bigint, free numeric, wide numeric(50,10), fits numeric(12,2), note text"
	if got := db.Strings(t, typ, "made")[0]; got != want {
		t.Errorf("created columns\n got: %s\nwant: %s", got, want)
	}
	q := "SELECT (id, free, wide, fits, note)::text FROM %s ORDER BY id"
	if got, want := db.Strings(t, strings.Replace(q, "%s", "made", 1)), db.Strings(t, strings.Replace(q, "%s", "src", 1)); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("values differ\n got: %v\nwant: %v", got, want)
	}
}

// TestIntegrationPostgresCreateTableAddsColumn: with create_table, a field
// newly mapped into an existing table becomes a new nullable column (as in
// SQLite); a dry run (plan) adds nothing but passes; without create_table
// the open fails naming the column.
func TestIntegrationPostgresCreateTableAddsColumn(t *testing.T) {
	db := pgtest.New(t)
	db.Exec(t, `CREATE TABLE people (id bigint PRIMARY KEY, name text)`, `INSERT INTO people VALUES (9, 'old')`)
	ctx := context.Background()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	dst := load.NewPostgresDestination(db.Pool)
	target := func(create, dry bool) load.Target {
		return load.Target{Sync: "a", Schema: peopleSchema, DryRun: dry,
			Dest: &spec.Dest{Object: "people", Mode: spec.ModeUpsert, PrimaryKey: []string{"id"}, Config: &connector.SQLDest{CreateTable: create}}}
	}
	if _, err := dst.Open(ctx, target(false, true)); err == nil || !strings.Contains(err.Error(), `column "score" does not exist in the table`) {
		t.Fatalf("dry run without create_table: %v, want the missing column named", err)
	}
	if _, err := dst.Open(ctx, target(true, true)); err != nil {
		t.Fatalf("dry run with create_table: %v", err)
	}
	if cols := db.Strings(t, `SELECT column_name::text FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'people' ORDER BY ordinal_position`, db.Schema); strings.Join(cols, ",") != "id,name" {
		t.Fatalf("dry run changed the table: %v", cols)
	}
	w, err := dst.Open(ctx, target(true, false))
	if err != nil {
		t.Fatal(err)
	}
	rec := people(mem, person{1, "Ann", 5})
	defer rec.Release()
	if res, err := w.Write(ctx, load.Batch{Op: load.OpUpsert, Record: rec}); err != nil || len(res.Failed) > 0 {
		t.Fatalf("write: %v %+v", err, res.Failed)
	}
	if err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	got := strings.Join(db.Strings(t, "SELECT format('%s:%s:%s', id, name, score) FROM people ORDER BY id"), " ")
	if got != "1:Ann:5 9:old:" {
		t.Fatalf("table %q, want the new column filled for the new row and NULL for the old", got)
	}
	if typ := db.Strings(t, `SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'people'::regclass AND attname = 'score'`); typ[0] != "integer" {
		t.Fatalf("added column type %v, want integer", typ)
	}
}
