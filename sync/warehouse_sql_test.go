package sync

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/hoist-dev/hoist/internal/shard"
)

var updateWarehouse = flag.Bool("update-warehouse", false, "rewrite testdata/warehouse/*.golden")

// TestWarehouseSQLGolden pins the warehouse diff's query for each shape
// of sync: go test -run TestWarehouseSQLGolden -update-warehouse rewrites.
func TestWarehouseSQLGolden(t *testing.T) {
	t.Parallel()
	base := "SELECT * FROM \"app\".\"people\""
	for _, tc := range []struct {
		name string
		q    whQuery
	}{
		{"upsert", whQuery{base: base, keyCols: []string{"id"}, snapshot: true}},
		{"mirror", whQuery{base: base, keyCols: []string{"id"}, snapshot: true, removes: true}},
		{"first", whQuery{base: base, keyCols: []string{"id"}, removes: true}},
		{"md5", whQuery{base: base, keyCols: []string{"id"}, snapshot: true, removes: true, md5: true}},
		{"full_refresh", whQuery{base: base, keyCols: []string{"id"}, snapshot: true, removes: true, all: true}},
		{"mapped_sharded", whQuery{base: "select id, org, email from people", keyCols: []string{"org", "id"}, rowCols: []string{"org", "id", "email"},
			shard: shard.Spec{Index: 1, Count: 4}, snapshot: true, removes: true}},
	} {
		got := tc.q.sql() + "\n"
		path := filepath.Join("..", "testdata", "warehouse", tc.name+".golden")
		if *updateWarehouse {
			if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if got != string(want) {
			t.Errorf("%s:\n%s\nwant:\n%s", tc.name, got, want)
		}
	}
}
