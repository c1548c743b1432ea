package cli_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hoist-dev/hoist/internal/pgtest"
)

// TestIntegrationPostgresKillPipelinedMirror SIGKILLs hoist during a mirror
// run whose diff and load overlap: once while changes are landing (the
// merge still running), once while the held-back deletes are going out. A
// rerun leaves dst equal to src, and a third run sends nothing.
func TestIntegrationPostgresKillPipelinedMirror(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	cases := []struct {
		name  string
		ready string // true once the run is where the kill should land
	}{
		// the loaders take batches as the merge makes them, so 2 of the 40
		// change batches landed means the merge is still running, and no
		// delete may have gone out (they wait for the guard)
		{"changes landing", `SELECT count(*) >= 2000 FROM dst WHERE email LIKE '%+x'`},
		{"deletes going out", `SELECT count(*) BETWEEN 1 AND 39000 FROM dst WHERE id % 5 = 1`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			db := pgtest.New(t)
			pgSource(t, db, 200000)
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, "hoist.yaml"), []byte(pgSpec(db, "mirror")), 0o644)
			if res := hoist(t, dir, nil, "run", "hoist.yaml", "--output", "json"); res.code != 0 {
				t.Fatalf("first run: exit %d %s", res.code, res.stderr)
			}
			// 40,000 changes, 40,000 deletes (20%, under max_delete_fraction), 5,000 adds
			db.Exec(t, `UPDATE src SET email = email || '+x' WHERE id % 5 = 0`,
				`DELETE FROM src WHERE id % 5 = 1`,
				`INSERT INTO src SELECT g, 'new'||g||'@example.com', g, true, now(), '{}' FROM generate_series(300001, 305000) g`)
			cmd := exec.Command(hoistBin, "run", "hoist.yaml")
			cmd.Dir = dir
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			killed := false
			deadline := time.Now().Add(90 * time.Second)
		wait:
			for time.Now().Before(deadline) {
				select {
				case <-done:
					break wait // finished before the point: reported below
				default:
				}
				var ready bool
				if err := db.Pool.QueryRow(context.Background(), c.ready).Scan(&ready); err == nil && ready {
					cmd.Process.Signal(syscall.SIGKILL)
					<-done
					killed = true
					break
				}
				time.Sleep(2 * time.Millisecond)
			}
			if !killed {
				cmd.Process.Kill()
				t.Fatalf("could not kill the run with %s", c.name)
			}
			if c.name == "changes landing" {
				if n := db.Strings(t, `SELECT count(*)::text FROM dst WHERE id % 5 = 1`); n[0] != "40000" {
					t.Fatalf("deletes went out while changes were landing: %s of 40000 left", n[0])
				}
			}
			res := hoist(t, dir, nil, "run", "hoist.yaml", "--output", "json")
			if res.code != 0 {
				t.Fatalf("rerun: exit %d %s", res.code, res.stderr)
			}
			pgSame(t, db)
			res = hoist(t, dir, nil, "run", "hoist.yaml", "--output", "json")
			if res.code != 0 || !strings.Contains(res.stdout, `"delivered":0`) {
				t.Fatalf("third run: %s %s", res.stdout, res.stderr)
			}
		})
	}
}
