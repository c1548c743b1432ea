package extract_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hoist-dev/hoist/connector"
	"github.com/hoist-dev/hoist/extract"
	"github.com/hoist-dev/hoist/internal/cursor"
	"github.com/hoist-dev/hoist/internal/pgtest"
	"github.com/hoist-dev/hoist/sync/spec"
)

// readAll reads every record, returning row counts per record and the
// values of column col rendered as text.
func readAll(t *testing.T, rr array.RecordReader, col string) (sizes []int, vals []string) {
	t.Helper()
	for rr.Next() {
		rec := rr.RecordBatch()
		sizes = append(sizes, int(rec.NumRows()))
		c := rec.Column(rec.Schema().FieldIndices(col)[0])
		for i := 0; i < c.Len(); i++ {
			vals = append(vals, c.ValueStr(i))
		}
	}
	if err := rr.Err(); err != nil {
		t.Fatal(err)
	}
	return sizes, vals
}

func TestIntegrationPostgresCursorPushdown(t *testing.T) {
	db := pgtest.New(t)
	db.Exec(t, `CREATE TABLE ev (id int PRIMARY KEY, amount numeric(10,2), at timestamptz, day date, label text)`,
		`INSERT INTO ev SELECT g, g * 1.5, '2024-01-01 00:00:00+00'::timestamptz + g * interval '1 minute',
			'2024-01-01'::date + g, 'l' || lpad(g::text, 3, '0') FROM generate_series(1, 100) g ORDER BY random()`)
	src := extract.NewPostgresSource(db.Pool)
	ctx := context.Background()
	cases := []struct {
		cursor string
		after  cursor.Cursor
		first  string
	}{
		{"id", cursor.Cursor{Kind: cursor.Int, Value: "60"}, "61"},
		{"at", cursor.Cursor{Kind: cursor.Timestamp, Value: "2024-01-01T01:00:00Z"}, "61"},
		{"amount", cursor.Cursor{Kind: cursor.Decimal, Value: "90.00"}, "61"},
		{"day", cursor.Cursor{Kind: cursor.Date, Value: "2024-03-01"}, "61"},
		// A value with a quote would break a spliced literal; bound, it is data.
		{"label", cursor.Cursor{Kind: cursor.String, Value: "l060' OR '1'='1"}, "61"},
	}
	for _, tc := range cases {
		t.Run(tc.cursor, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			after := tc.after
			rr, err := src.Read(ctx, extract.Request{Source: &spec.Source{Cursor: tc.cursor, Config: &connector.SQLSource{Query: "select * from ev -- trailing comment"}},
				After: &after, BatchRows: 7, Alloc: mem})
			if err != nil {
				t.Fatal(err)
			}
			defer rr.Release()
			_, ids := readAll(t, rr, "id")
			if len(ids) != 40 || ids[0] != tc.first || ids[39] != "100" {
				t.Fatalf("got %d rows %v…, want 40 rows 61..100 in cursor order", len(ids), ids[:min(3, len(ids))])
			}
			for i := 1; i < len(ids); i++ {
				if ids[i-1] >= ids[i] && len(ids[i-1]) == len(ids[i]) {
					t.Fatalf("not ordered by cursor at %d: %v", i, ids[i-1:i+1])
				}
			}
		})
	}
}

func TestIntegrationPostgresBatchesAndErrors(t *testing.T) {
	db := pgtest.New(t)
	src := extract.NewPostgresSource(db.Pool)
	ctx := context.Background()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)

	rr, err := src.Read(ctx, extract.Request{Source: &spec.Source{Config: &connector.SQLSource{Query: "select g as n from generate_series(1, 10) g"}}, BatchRows: 3, Alloc: mem})
	if err != nil {
		t.Fatal(err)
	}
	sizes, _ := readAll(t, rr, "n")
	rr.Release()
	if got := fmt.Sprint(sizes); got != "[3 3 3 1]" {
		t.Errorf("record sizes %v, want [3 3 3 1]", sizes)
	}

	errCases := []struct{ query, want string }{
		{"select '10.0.0.1'::inet as addr", `column "addr" has type inet`},
		{"select point(1,2) as p", `column "p" has type point`},
		{"select 'NaN'::numeric(10,2) as price", `column "price": numeric NaN`},
		{"select '{{1,2},{3,4}}'::int[] as grid", `column "grid": array with 2 dimensions`},
		{"select 1 as a, 2 as a", `column "a" appears twice`},
	}
	for _, tc := range errCases {
		rr, err := src.Read(ctx, extract.Request{Sync: "e", Source: &spec.Source{Config: &connector.SQLSource{Query: tc.query}}, Alloc: mem})
		if err == nil {
			for rr.Next() {
			}
			err = rr.Err()
			rr.Release()
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.query, err, tc.want)
		}
	}
	waitReleased(t, db.Pool, "errors")
}

// TestIntegrationPostgresStreams reads far more rows than one batch and
// checks that Arrow memory stays at about one record, then cancels a read
// mid-stream and expects a prompt context error and a returned connection.
func TestIntegrationPostgresStreams(t *testing.T) {
	if testing.Short() {
		t.Skip("streams 300k rows")
	}
	db := pgtest.New(t)
	src := extract.NewPostgresSource(db.Pool)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)

	rr, err := src.Read(context.Background(), extract.Request{BatchRows: 1000, Alloc: mem,
		Source: &spec.Source{Config: &connector.SQLSource{Query: "select g as id, md5(g::text) as h, now() as at from generate_series(1, 300000) g"}}})
	if err != nil {
		t.Fatal(err)
	}
	rows, peak := 0, 0
	for rr.Next() {
		rows += int(rr.RecordBatch().NumRows())
		peak = max(peak, mem.CurrentAlloc())
	}
	if err := rr.Err(); err != nil {
		t.Fatal(err)
	}
	rr.Release()
	if rows != 300000 {
		t.Fatalf("read %d rows", rows)
	}
	if peak > 1<<20 { // one 1000-row record is ~60 KB; 300 records would be ~18 MB
		t.Errorf("peak Arrow memory %d bytes: not streaming", peak)
	}

	ctx, cancel := context.WithCancel(context.Background())
	rr, err = src.Read(ctx, extract.Request{BatchRows: 1000, Alloc: mem,
		Source: &spec.Source{Config: &connector.SQLSource{Query: "select generate_series(1, 100000000) as g"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Release()
	for i := 0; i < 3 && rr.Next(); i++ {
	}
	cancel()
	start := time.Now()
	for rr.Next() {
	}
	if !errors.Is(rr.Err(), context.Canceled) {
		t.Errorf("after cancel: err %v, want context.Canceled", rr.Err())
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("cancel took %s", d)
	}
	waitReleased(t, db.Pool, "cancel")
}

// waitReleased fails unless every connection is back in the pool; a closed
// connection is destroyed asynchronously, hence the short poll.
func waitReleased(t *testing.T, pool *pgxpool.Pool, after string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for pool.Stat().AcquiredConns() != 0 {
		if time.Now().After(deadline) {
			t.Errorf("%d connections still held after %s", pool.Stat().AcquiredConns(), after)
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}
