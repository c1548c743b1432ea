package sync_test

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"testing"

	hsync "github.com/hoist-dev/hoist/sync"
	"github.com/hoist-dev/hoist/sync/spec"
	"github.com/hoist-dev/hoist/sync/state"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestPlanGolden plans and runs a scripted sequence of source changes and
// compares each plan's text and JSON with testdata/plan/<case>.golden.
func TestPlanGolden(t *testing.T) {
	injector.set(nil, 0)
	dir := t.TempDir()
	specText := `version: 1
connections:
  src: {type: files, path: ., format: csv}
  db: {type: sqlite, path: ./dest.db}
syncs:
  - name: people
    source: {connection: src, path: people.csv}
    destination: {connection: db, object: people, mode: mirror, primary_key: [id], create_table: true}
    max_delete_fraction: 1
`
	specPath := filepath.Join(dir, "hoist.yaml")
	if err := os.WriteFile(specPath, []byte(specText), 0o644); err != nil {
		t.Fatal(err)
	}
	steps := []struct{ name, csv string }{
		{"01_insert", "id,name,score\n1,Ann,10\n2,Bob,20\n3,Cy,30\n4,Di,40\n"},
		{"02_update", "id,name,score\n1,Ann,10\n2,Robert,21\n3,Cy,30\n4,Di,40\n"},
		{"03_delete", "id,name,score\n1,Ann,10\n2,Robert,21\n4,Di,40\n"},
		{"04_key_change", "id,name,score\n1,Ann,10\n2,Robert,21\n40,Di,40\n"},
		{"05_type_change", "id,name,score\n1,Ann,10.5\n2,Robert,21\n40,Di,40\n"},
		{"06_column_added", "id,name,score,tier\n1,Ann,10.5,gold\n2,Robert,21,silver\n40,Di,40,gold\n"},
		{"07_no_change", "id,name,score,tier\n1,Ann,10.5,gold\n2,Robert,21,silver\n40,Di,40,gold\n"},
	}
	ctx := context.Background()
	for _, st := range steps {
		if err := os.WriteFile(filepath.Join(dir, "people.csv"), []byte(st.csv), 0o644); err != nil {
			t.Fatal(err)
		}
		f, err := spec.Load(specPath)
		if err != nil {
			t.Fatal(err)
		}
		store, err := state.Open(ctx, "file://"+filepath.Join(dir, ".hoist"), "")
		if err != nil {
			t.Fatal(err)
		}
		r := &hsync.Runner{File: f, Store: store, Opt: hsync.Options{Limit: 10}}
		p, err := r.Plan(ctx, f.Syncs[0])
		if err != nil {
			t.Fatalf("%s: plan: %v", st.name, err)
		}
		var got bytes.Buffer
		hsync.RenderPlanText(&got, []*hsync.PlanReport{p}, false)
		got.WriteString("--- json\n")
		if err := hsync.RenderPlanJSON(&got, []*hsync.PlanReport{p}); err != nil {
			t.Fatal(err)
		}
		golden := filepath.Join("..", "testdata", "plan", st.name+".golden")
		if *update {
			os.MkdirAll(filepath.Dir(golden), 0o755)
			if err := os.WriteFile(golden, got.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%s: %v (run go test ./sync -run TestPlanGolden -update)", st.name, err)
		}
		if !bytes.Equal(got.Bytes(), want) {
			t.Errorf("%s: plan differs from %s:\n--- got\n%s\n--- want\n%s", st.name, golden, got.String(), want)
		}
		// plan writes nothing: the destination does not exist before the first run
		if st.name == "01_insert" {
			if _, err := os.Stat(filepath.Join(dir, "dest.db")); err == nil {
				t.Fatalf("plan created the destination database")
			}
		}
		if rep := r.Run(ctx, f.Syncs[0]); rep.Status != hsync.StatusOK {
			t.Fatalf("%s: run: %s", st.name, rep.Error)
		}
		store.Close()
	}
}
