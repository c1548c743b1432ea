package sync_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/hoist-dev/hoist/internal/pgtest"
	hsync "github.com/hoist-dev/hoist/sync"
)

// TestRampedBatchesPostgres: a mirror into PostgreSQL with the spec a user
// writes (no batch_size), 25,000 rows changed and 100 deleted in a 30,000-row
// source: the changes go out in ramped batches (10,000, 10,000, 5,000 rows,
// the deletes apart) over the parallel loaders, and the table ends exact.
func TestRampedBatchesPostgres(t *testing.T) {
	injector.set(nil, 0)
	db := pgtest.New(t)
	dir := t.TempDir()
	db.Exec(t,
		"CREATE TABLE src (id bigint PRIMARY KEY, name text, n int)",
		"INSERT INTO src SELECT i, 'name ' || i, i FROM generate_series(1, 30000) i",
		"CREATE TABLE dst (id bigint PRIMARY KEY, name text, n int)")
	f, store := loadSpecAndStore(t, dir, fmt.Sprintf(`version: 1
connections:
  pg: {type: postgres, url: %q}
syncs:
  - name: ramp
    source: {connection: pg, table: %s.src}
    destination: {connection: pg, object: %s.dst, mode: mirror, primary_key: [id]}
    max_delete_fraction: 1
`, db.URL, db.Schema, db.Schema))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var logs bytes.Buffer
	r := &hsync.Runner{File: f, Store: store, Opt: hsync.Options{TempDir: dir,
		Logger: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}}
	if rep := r.Run(ctx, f.Syncs[0]); rep.Status != hsync.StatusOK || rep.Delivered != 30000 {
		t.Fatalf("first run: %s, %d delivered: %s", rep.Status, rep.Delivered, rep.Error)
	}
	db.Exec(t, "UPDATE src SET n = n + 1 WHERE id <= 25000", "DELETE FROM src WHERE id > 29900")
	logs.Reset()
	if rep := r.Run(ctx, f.Syncs[0]); rep.Status != hsync.StatusOK || rep.Delivered != 25100 {
		t.Fatalf("second run: %s, %d delivered: %s", rep.Status, rep.Delivered, rep.Error)
	}
	var upserts, deletes []int
	dec := json.NewDecoder(&logs)
	for dec.More() {
		var line struct {
			Msg, Op string
			Rows    int
		}
		if err := dec.Decode(&line); err != nil {
			t.Fatal(err)
		}
		if line.Msg != "batch loaded" {
			continue
		}
		if line.Op == "delete" {
			deletes = append(deletes, line.Rows)
		} else {
			upserts = append(upserts, line.Rows)
		}
	}
	slices.Sort(upserts)
	if !slices.Equal(upserts, []int{5000, 10000, 10000}) || !slices.Equal(deletes, []int{100}) {
		t.Errorf("batches: upserts %v, deletes %v; want [5000 10000 10000] and [100]", upserts, deletes)
	}
	for _, q := range []string{
		"SELECT count(*)::text FROM (SELECT * FROM src EXCEPT SELECT * FROM dst) d",
		"SELECT count(*)::text FROM (SELECT * FROM dst EXCEPT SELECT * FROM src) d",
	} {
		if got := db.Strings(t, q)[0]; got != "0" {
			t.Errorf("%s: %s rows differ", q, got)
		}
	}
}
