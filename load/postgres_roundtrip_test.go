package load_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/hoist-dev/hoist/connector"
	"github.com/hoist-dev/hoist/extract"
	"github.com/hoist-dev/hoist/internal/pgtest"
	"github.com/hoist-dev/hoist/load"
	"github.com/hoist-dev/hoist/sync/spec"
)

// allTypesDDL has every type hoist reads and writes, arrays included.
const allTypesDDL = `CREATE TABLE src (
	id int8 PRIMARY KEY, i2 int2, i4 int4, n38 numeric(38,10), n12 numeric(12,2), nfree numeric,
	f4 real, f8 double precision, t text, vc varchar(20), bc char(5), b bool, d date,
	ts timestamp, tstz timestamptz, u uuid, j json, jb jsonb, by bytea,
	ai int4[], at text[], an numeric(10,3)[], ats timestamptz[], ab bool[], au uuid[], ajb jsonb[])`

var allTypesRows = []string{
	// Unicode, 38-digit numerics, arbitrary precision, NaN/Inf floats, a
	// leap day, a non-UTC offset, NULL array elements, quoting in arrays.
	`(1, 32767, -2147483648, 1234567890123456789012345678.0123456789, 9999999999.99,
	  123456789012345678901234567890.123456789012345678901, 'NaN', 'Infinity', 'héllo 🌍 ñ 中文', 'vär', 'ab',
	  true, '2024-02-29', '2024-02-29 12:34:56.789012', '2024-06-01 12:00:00+05:30',
	  'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{"a": [1, 2.50],  "k":"ü"}', '{"b": {"c": null}}', '\x00ff10',
	  '{1,NULL,3}', '{"a,b","c\"d",NULL,""}', '{1.500,NULL}', '{"2020-01-01 00:00:00+00"}', '{t,f}',
	  '{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}', '{"{\"x\": 1}"}')`,
	// Negatives, pre-2000 and pre-1970 times, infinities, -0, empty string.
	`(2, -32768, 0, -0.0000000001, -99.99, '-Infinity', '-Infinity', '-0', '', '', '', false,
	  '-infinity', 'infinity', '1969-12-31 23:59:59.999999+00', '00000000-0000-0000-0000-000000000000',
	  '[]', '[]', '', '{}', '{}', '{}', '{}', '{}', '{}', '{}')`,
	// NULL in every column but the key.
	`(3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
	  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`,
	// Zero with a display scale, NaN numeric, subnormal-ish floats, old dates.
	`(4, 0, 1, 0, 0, 0.000, 'NaN', '1e-300', 'x', 'y', 'z', true, '0001-01-01', '1900-01-01 00:00:00',
	  '2000-01-01 00:00:00+00', 'ffffffff-ffff-ffff-ffff-ffffffffffff', 'null', '"s"', '\x', '{0}',
	  '{"🌍"}', '{-0.001}', '{NULL}', '{NULL}', '{NULL}', '{null}')`,
	`(5, 1, 2, 99999999999999999999999999.9999999999, 0.01, 1e-20, 3.4028235e38, 1.7976931348623157e308,
	  repeat('long ', 1000), 'v', 'c', false, 'infinity', '-infinity', 'infinity',
	  '123e4567-e89b-12d3-a456-426614174000', '{"deep": {"a": [{"b": 1}]}}', '{"n": 1.0000000000000001}',
	  decode(repeat('ab', 3000), 'hex'), '{2147483647,-2147483648}', '{x}', '{1.5,1234567.891}', '{infinity}',
	  '{f}', '{}', '{"[1,2]"}')`,
}

func TestIntegrationPostgresRoundTripAllTypes(t *testing.T) {
	db := pgtest.New(t)
	db.Exec(t, allTypesDDL, "INSERT INTO src VALUES "+strings.Join(allTypesRows, ","),
		"CREATE TABLE dst (LIKE src INCLUDING ALL)")
	ctx := context.Background()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)

	src := extract.NewPostgresSource(db.Pool)
	for _, batch := range []int{1, 2, 100} { // a batch boundary inside, at and past the end
		t.Run(fmt.Sprintf("batch=%d", batch), func(t *testing.T) {
			db.Exec(t, "TRUNCATE dst")
			rr, err := src.Read(ctx, extract.Request{Sync: "rt", Source: &spec.Source{Config: &connector.SQLSource{Table: "src"}}, BatchRows: batch, Alloc: mem})
			if err != nil {
				t.Fatal(err)
			}
			defer rr.Release()
			checkAllTypesSchema(t, rr.Schema())
			dst := load.NewPostgresDestination(db.Pool)
			w, err := dst.Open(ctx, load.Target{Sync: "rt", Dest: &spec.Dest{Object: "dst", Mode: spec.ModeAppend}, Schema: rr.Schema(), Alloc: mem})
			if err != nil {
				t.Fatal(err)
			}
			seq := 0
			for rr.Next() {
				res, err := w.Write(ctx, load.Batch{Seq: seq, Op: load.OpAppend, Record: rr.RecordBatch()})
				if err != nil {
					t.Fatalf("write batch %d: %v", seq, err)
				}
				if len(res.Failed) > 0 {
					t.Fatalf("rejected rows: %+v", res.Failed)
				}
				seq++
			}
			if err := rr.Err(); err != nil {
				t.Fatal(err)
			}
			if err := w.Commit(ctx); err != nil {
				t.Fatal(err)
			}
			want := db.Strings(t, "SELECT r::text FROM src r ORDER BY id")
			got := db.Strings(t, "SELECT r::text FROM dst r ORDER BY id")
			if len(got) != len(want) {
				t.Fatalf("got %d rows, want %d", len(got), len(want))
			}
			for i := range want {
				if got[i] != want[i] {
					t.Errorf("row %d differs\n got: %s\nwant: %s", i+1, got[i], want[i])
				}
			}
		})
	}
}

func checkAllTypesSchema(t *testing.T, s *arrow.Schema) {
	t.Helper()
	want := map[string]string{
		"id": "int64", "i2": "int16", "i4": "int32", "n38": "decimal(38, 10)", "n12": "decimal(12, 2)",
		"nfree": "utf8", "f4": "float32", "f8": "float64", "t": "utf8", "b": "bool", "d": "date32",
		"ts": "timestamp[us]", "tstz": "timestamp[us, tz=UTC]", "u": "utf8", "j": "utf8", "jb": "utf8",
		"by": "binary", "ai": "list<item: int32, nullable>", "an": "list<item: decimal(10, 3), nullable>",
	}
	for name, typ := range want {
		idx := s.FieldIndices(name)
		if len(idx) != 1 {
			t.Errorf("field %s missing", name)
			continue
		}
		if got := s.Field(idx[0]).Type.String(); got != typ {
			t.Errorf("field %s: arrow type %s, want %s", name, got, typ)
		}
	}
}

// TestIntegrationPostgresCreateTable writes into a table create_table makes
// from the Arrow schema and reads the same values back.
func TestIntegrationPostgresCreateTable(t *testing.T) {
	db := pgtest.New(t)
	db.Exec(t, allTypesDDL, "INSERT INTO src VALUES "+strings.Join(allTypesRows, ","))
	ctx := context.Background()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rr, err := extract.NewPostgresSource(db.Pool).Read(ctx, extract.Request{Source: &spec.Source{Config: &connector.SQLSource{Table: "src"}}, Alloc: mem})
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Release()
	w, err := load.NewPostgresDestination(db.Pool).Open(ctx, load.Target{Sync: "ct",
		Dest:   &spec.Dest{Object: db.Schema + ".made", Mode: spec.ModeUpsert, PrimaryKey: []string{"id"}, Config: &connector.SQLDest{CreateTable: true}},
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
	// uuid and json come back as text, the rest with their own types.
	cols := "id, i2, i4, n38, n12, nfree, f4, f8, t, b, d, ts, tstz, u::text, j::text, jb::text, by, ai, an, ats, ab"
	want := db.Strings(t, "SELECT ("+cols+")::text FROM src ORDER BY id")
	got := db.Strings(t, "SELECT ("+cols+")::text FROM made ORDER BY id")
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("created table differs\n got: %v\nwant: %v", got, want)
	}
	pk := db.Strings(t, `SELECT a.attname::text FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid
		AND a.attnum = ANY(i.indkey) WHERE i.indrelid = 'made'::regclass AND i.indisprimary`)
	if len(pk) != 1 || pk[0] != "id" {
		t.Errorf("primary key %v, want [id]", pk)
	}
}
