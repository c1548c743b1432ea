package cli_test

import (
	"bytes"
	"database/sql"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite"
)

// TestKillMidRunThenRerun kills hoist (SIGKILL, then SIGINT) in the middle of
// a 100k-row sync into SQLite; a rerun must leave the destination equal to
// the source: no row lost, none doubled.
func TestKillMidRunThenRerun(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	for _, sig := range []syscall.Signal{syscall.SIGKILL, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			dir := t.TempDir()
			spec, err := os.ReadFile("../../testdata/quickstart/hoist.yaml")
			if err != nil {
				t.Fatal(err)
			}
			// small batches and a mode that diffs: many commits to interrupt
			spec = bytes.Replace(spec, []byte("batch_size: 5000"), []byte("batch_size: 200"), 1)
			if err := os.WriteFile(filepath.Join(dir, "hoist.yaml"), spec, 0o644); err != nil {
				t.Fatal(err)
			}
			copyFile(t, "../../testdata/quickstart/customers.parquet", filepath.Join(dir, "customers.parquet"))

			cmd := exec.Command(hoistBin, "run", "hoist.yaml")
			cmd.Dir = dir
			var errb bytes.Buffer
			cmd.Stderr = &errb
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			// wait until rows are landing, then interrupt
			db := filepath.Join(dir, "quickstart.db")
			deadline := time.Now().Add(20 * time.Second)
			for time.Now().Before(deadline) && countRows(db) < 2000 {
				time.Sleep(5 * time.Millisecond)
			}
			n := countRows(db)
			if n >= 100000 || n < 1 {
				cmd.Process.Kill()
				t.Fatalf("could not interrupt mid-run: %d rows landed", n)
			}
			cmd.Process.Signal(sig)
			err = cmd.Wait()
			if err == nil {
				t.Fatalf("interrupted run exited 0")
			}
			if sig == syscall.SIGINT && strings.Contains(errb.String(), "panic") {
				t.Fatalf("SIGINT panicked: %s", errb.String())
			}
			if sig == syscall.SIGINT {
				show := hoist(t, dir, nil, "state", "show", "hoist.yaml", "--output", "json")
				if strings.Contains(show.stdout, `"cursor"`) {
					t.Fatalf("Ctrl-C moved the cursor: %s", show.stdout)
				}
			}
			res := hoist(t, dir, nil, "run", "hoist.yaml", "--output", "json")
			if res.code != 0 {
				t.Fatalf("rerun exit %d: %s", res.code, res.stderr)
			}
			checkQuickstartCopy(t, db)
		})
	}
}

func countRows(path string) int {
	if _, err := os.Stat(path); err != nil {
		return 0
	}
	db, err := sql.Open("sqlite", path+"?mode=ro&_pragma=busy_timeout(1000)")
	if err != nil {
		return 0
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM customers`).Scan(&n); err != nil {
		return 0
	}
	return n
}

// checkQuickstartCopy compares the destination with the source export:
// 100,000 distinct ids 1..100000 and the same emails.
func checkQuickstartCopy(t *testing.T, path string) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n, distinct, sum int64
	if err := db.QueryRow(`SELECT count(*), count(DISTINCT customer_id), sum(customer_id) FROM customers`).Scan(&n, &distinct, &sum); err != nil {
		t.Fatal(err)
	}
	if n != 100000 || distinct != 100000 || sum != 100000*100001/2 {
		t.Fatalf("destination: %d rows, %d distinct ids, id sum %d; want 100000 rows of ids 1..100000", n, distinct, sum)
	}
}
