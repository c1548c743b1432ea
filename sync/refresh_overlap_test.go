package sync_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	hsync "github.com/hoist-dev/hoist/sync"
)

// TestRefreshSourceFailsDuringDestinationRead: --refresh reads the
// destination beside the source; a source that fails part-way fails the
// run with its own error, stops the destination read, leaves no spill
// files behind, and a rerun on the repaired source repairs the drift.
func TestRefreshSourceFailsDuringDestinationRead(t *testing.T) {
	e := newRefreshEnv(t, "  db: {type: sqlite, path: ./dest.db}",
		`{connection: db, object: people, mode: mirror, primary_key: [id], create_table: true}`, "")
	var csv strings.Builder
	csv.WriteString("id,name,score\n")
	for i := 1; i <= 400; i++ {
		csv.WriteString(strconv.Itoa(i) + ",Name" + strconv.Itoa(i) + "," + strconv.Itoa(i) + ".5\n")
	}
	good := csv.String()
	e.source(good)
	e.run(false)
	sqliteExec(t, filepath.Join(e.dir, "dest.db"), `UPDATE people SET name = 'Hand' WHERE id = 7`)

	// row 300 has a field too many: the CSV reader fails there
	lines := strings.SplitAfter(good, "\n")
	lines[300] = "300,x,1,extra\n"
	e.source(strings.Join(lines, ""))
	before := tempEntries(t, e.dir)
	rep := e.runner(true).Run(context.Background(), e.file.Syncs[0])
	if rep.Status != hsync.StatusFailed || !strings.Contains(rep.Error, "people.csv") {
		t.Fatalf("run --refresh on a broken source: %s %q", rep.Status, rep.Error)
	}
	if after := tempEntries(t, e.dir); after != before {
		t.Errorf("temp entries before %q, after the failed run %q", before, after)
	}

	e.source(good)
	if rep := e.run(true); rep.Delivered != 1 {
		t.Errorf("run --refresh after the repair delivered %d, want 1 (the hand-changed row)", rep.Delivered)
	}
	if pr := e.plan(true); pr.Pending() {
		t.Errorf("plan --refresh after the repair: %s", counts(pr))
	}
}

// tempEntries lists dir's entries, to see what a run left behind.
func tempEntries(t *testing.T, dir string) string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return strings.Join(names, " ")
}
