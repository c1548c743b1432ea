package extract_test

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/hoist-dev/hoist/connector"
	"github.com/hoist-dev/hoist/extract"
	"github.com/hoist-dev/hoist/internal/mysqltest"
	"github.com/hoist-dev/hoist/internal/pgtest"
	"github.com/hoist-dev/hoist/internal/shard"
	"github.com/hoist-dev/hoist/sync/spec"
)

// shardKeys reads one shard of src's table k with the given key columns
// and returns the key texts of the rows it returned, checking that the
// source pushed the filter down (or not) and that every row is the
// shard's by the Go hash.
func shardKeys(t *testing.T, src extract.Source, source connector.SourceConfig, cols []string, sh shard.Spec, pushed bool) []string {
	t.Helper()
	f := &extract.ShardFilter{Spec: sh, Columns: cols}
	rr, err := src.Read(context.Background(), extract.Request{Sync: "s", Source: &spec.Source{Config: source}, Shard: f})
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Release()
	if f.Pushed != pushed {
		t.Fatalf("shard %s: pushed = %v, want %v", sh, f.Pushed, pushed)
	}
	var out []string
	for rr.Next() {
		rec := rr.RecordBatch()
		keys := make([]arrow.Array, len(cols))
		for i, c := range cols {
			keys[i] = rec.Column(rec.Schema().FieldIndices(c)[0])
		}
		for i := range int(rec.NumRows()) {
			text := shard.AppendKeyText(nil, keys, i)
			if pushed && !sh.Holds(text) {
				t.Fatalf("shard %s returned key %q of shard %d", sh, text, shard.Of(text, sh.Count))
			}
			out = append(out, string(text))
		}
	}
	if err := rr.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// checkPartition reads every shard of n and checks the shards partition
// the rows: each row in exactly one, and the Go hash agrees with the SQL.
func checkPartition(t *testing.T, src extract.Source, source connector.SourceConfig, cols []string, rows, n int) {
	t.Helper()
	var all []string
	for i := range n {
		keys := shardKeys(t, src, source, cols, shard.Spec{Index: i, Count: n}, true)
		if len(keys) == 0 || len(keys) == rows {
			t.Fatalf("shard %d of %d holds %d of %d rows", i, n, len(keys), rows)
		}
		all = append(all, keys...)
	}
	slices.Sort(all)
	if len(all) != rows || len(slices.Compact(all)) != rows {
		t.Fatalf("the shards hold %d rows (%d distinct), want %d", len(all), len(slices.Compact(all)), rows)
	}
}

func TestIntegrationPostgresShardPushdown(t *testing.T) {
	db := pgtest.New(t)
	db.Exec(t, `CREATE TABLE k (org text, id bigint, small int2, at timestamptz, v text)`,
		`INSERT INTO k SELECT CASE WHEN g % 50 = 0 THEN NULL ELSE 'org é ' || (g % 7) END, g - 500, (g % 300)::int2,
			'2024-01-01'::timestamptz + g * interval '1 second', 'v' FROM generate_series(1, 1000) g`)
	src := extract.NewPostgresSource(db.Pool)
	defer src.Close()
	table := &connector.SQLSource{Table: "k"}
	checkPartition(t, src, table, []string{"id"}, 1000, 4)
	checkPartition(t, src, table, []string{"org", "id"}, 1000, 3)
	checkPartition(t, src, &connector.SQLSource{Query: "select small, v || id as v from k where id < 0"}, []string{"v", "small"}, 499, 2)
	// a timestamp's text differs between SQL and Arrow: read whole
	if got := shardKeys(t, src, table, []string{"at"}, shard.Spec{Index: 0, Count: 4}, false); len(got) != 1000 {
		t.Fatalf("not pushed down: %d rows, want all 1000", len(got))
	}
}

func TestIntegrationMySQLShardPushdown(t *testing.T) {
	db := mysqltest.New(t)
	db.Exec(t, "CREATE TABLE k (org varchar(20), id bigint, at datetime)")
	var vals []string
	for g := 1; g <= 600; g++ {
		org := "'org é " + string(rune('a'+g%5)) + "'"
		if g%50 == 0 {
			org = "NULL"
		}
		vals = append(vals, "("+org+", "+itoa(g-300)+", '2024-01-01 00:00:00' + INTERVAL "+itoa(g)+" SECOND)")
	}
	db.Exec(t, "INSERT INTO k VALUES "+strings.Join(vals, ","))
	src := extract.NewMySQLSource(db.DB)
	defer src.Close()
	table := &extract.MySQLSource{SQLSource: connector.SQLSource{Table: "k"}}
	checkPartition(t, src, table, []string{"id"}, 600, 4)
	checkPartition(t, src, table, []string{"org", "id"}, 600, 3)
	if got := shardKeys(t, src, table, []string{"at"}, shard.Spec{Index: 1, Count: 4}, false); len(got) != 600 {
		t.Fatalf("not pushed down: %d rows, want all 600", len(got))
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
