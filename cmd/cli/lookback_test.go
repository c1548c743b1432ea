package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCursorLookbackPicksUpLateCommits (issue 10, item 4): a row whose
// transaction took its cursor value early and committed after a run passed
// that value is read by the next run through cursor_lookback; rows re-read
// in the window that were already delivered are not sent again. Without the
// lookback the late row is lost for good.
func TestCursorLookbackPicksUpLateCommits(t *testing.T) {
	for _, tc := range []struct {
		lookback  string
		delivered int64
	}{
		{lookback: "", delivered: 1},    // only id 4: the late id 3 is lost
		{lookback: "10", delivered: 2},  // ids 3 and 4; ids 1, 2 re-read, unchanged
		{lookback: "100", delivered: 2}, // a wider window reads more, sends the same
	} {
		t.Run("lookback="+tc.lookback, func(t *testing.T) {
			dir := t.TempDir()
			csv := filepath.Join(dir, "events.csv")
			os.WriteFile(csv, []byte("id,at\n1,100\n2,110\n"), 0o644)
			lb := ""
			if tc.lookback != "" {
				lb = ", cursor_lookback: " + tc.lookback
			}
			os.WriteFile(filepath.Join(dir, "hoist.yaml"), []byte(goodConns+`syncs:
  - name: ev
    source: {connection: src, path: events.csv, cursor: at`+lb+`}
    destination: {connection: db, object: ev, mode: upsert, primary_key: [id], create_table: true}
`), 0o644)
			if rep, res := runReport(t, dir, "run", "hoist.yaml"); res.code != 0 || rep.Delivered != 2 {
				t.Fatalf("first run: %d %+v %s", res.code, rep, res.stderr)
			}
			// id 3 took at=105 before the first run but committed after it.
			os.WriteFile(csv, []byte("id,at\n1,100\n2,110\n3,105\n4,120\n"), 0o644)
			plan := hoist(t, dir, nil, "plan", "hoist.yaml", "--output", "json")
			rep, res := runReport(t, dir, "run", "hoist.yaml")
			if res.code != 0 || rep.Delivered != tc.delivered {
				t.Fatalf("second run: %d %+v, want %d delivered %s", res.code, rep, tc.delivered, res.stderr)
			}
			if want := `"added":` + string(rune('0'+tc.delivered)); !strings.Contains(plan.stdout, want) {
				t.Fatalf("plan said %s, want %s", plan.stdout, want)
			}
			show := hoist(t, dir, nil, "state", "show", "hoist.yaml")
			if !strings.Contains(show.stdout, "cursor:   120") {
				t.Fatalf("cursor after the lookback run: %s", show.stdout)
			}
			if rep, res := runReport(t, dir, "run", "hoist.yaml"); res.code != 0 || rep.Delivered != 0 {
				t.Fatalf("third run: %d %+v", res.code, rep)
			}
		})
	}
}
