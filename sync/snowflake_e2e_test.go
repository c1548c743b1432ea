package sync_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/hoist-dev/hoist/extract/snowflaketest"
	"github.com/hoist-dev/hoist/internal/pgtest"
	hsync "github.com/hoist-dev/hoist/sync"
)

// TestSnowflakeToParquetAndPostgres syncs a 1,000,000-row, 20-chunk result
// from the fake Snowflake (real gosnowflake driver, Arrow batches) into
// Parquet and into Postgres, and checks count and sums against the
// generator's values.
func TestSnowflakeToParquetAndPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	t.Setenv("SNOWFLAKE_DISABLE_PLATFORM_DETECTION", "true")
	rows := 1_000_000
	if raceEnabled {
		rows = 100_000
	}
	sf := snowflaketest.New(snowflaketest.Options{ChunkRows: rows / 20, Tables: []*snowflaketest.Table{snowflaketest.Customers(rows)}})
	defer sf.Close()
	pg := pgtest.New(t)
	dir := t.TempDir()
	specText := fmt.Sprintf(`version: 1
connections:
  warehouse: {type: snowflake, dsn: %q, download_concurrency: 4}
  lake: {type: files, path: ./lake, format: parquet}
  pg: {type: postgres, url: %q}
syncs:
  - name: to_parquet
    source: {connection: warehouse, table: customers}
    destination: {connection: lake, object: customers, mode: replace}
    batch_size: 10000
  - name: to_postgres
    source: {connection: warehouse, table: customers}
    destination: {connection: pg, object: %s.customers, mode: replace, create_table: true}
    batch_size: 10000
`, sf.DSN("DEMO", "PUBLIC"), pg.URL, pg.Schema)
	f, store := loadSpecAndStore(t, dir, specText)
	ctx := context.Background()
	r := &hsync.Runner{File: f, Store: store, Opt: hsync.Options{TempDir: dir}}
	for _, s := range f.Syncs {
		rep := r.Run(ctx, s)
		if rep.Status != hsync.StatusOK || rep.Delivered != int64(rows) {
			t.Fatalf("%s: %+v", s.Name, rep)
		}
	}
	var wantIDs, wantCents int64
	for id := int64(1); id <= int64(rows); id++ {
		wantIDs += id
		wantCents += snowflaketest.CustomerAt(id).BalanceCents
	}

	// Parquet: read it back with pqarrow
	pf, err := file.OpenParquetFile(filepath.Join(dir, "lake", "customers.parquet"), false)
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 65536}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	rr, err := fr.GetRecordReader(ctx, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Release()
	var n, ids, cents int64
	for rr.Next() {
		rec := rr.RecordBatch()
		idCol := rec.Column(rec.Schema().FieldIndices("id")[0]).(*array.Int64)
		bal := rec.Column(rec.Schema().FieldIndices("balance")[0]).(*array.Decimal128)
		for i := 0; i < int(rec.NumRows()); i++ {
			ids += idCol.Value(i)
			cents += int64(bal.Value(i).LowBits()) // small positive values
		}
		n += rec.NumRows()
	}
	if n != int64(rows) || ids != wantIDs || cents != wantCents {
		t.Fatalf("parquet: %d rows, id sum %d, balance sum %d; want %d, %d, %d", n, ids, cents, rows, wantIDs, wantCents)
	}

	// Postgres: the same checks in SQL
	got := pg.Strings(t, `SELECT count(*)::text || ' ' || sum(id)::text || ' ' || (sum(balance) * 100)::bigint::text FROM customers`)
	if want := fmt.Sprintf("%d %d %d", rows, wantIDs, wantCents); got[0] != want {
		t.Fatalf("postgres: %s, want %s", got[0], want)
	}
}
