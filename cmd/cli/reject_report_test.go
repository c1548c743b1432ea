package cli_test

import (
	"bufio"
	"bytes"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// runJSON is the part of a run report these tests read.
type runJSON struct {
	Status    string `json:"status"`
	RunID     string `json:"run_id"`
	Delivered int64  `json:"delivered"`
	Committed int64  `json:"committed"`
	Rejected  int64  `json:"rejected"`
	Error     string `json:"error"`
}

// rejectingDest makes dir/dest.db with a people table that rejects n < 0,
// and a spec syncing dir/people.csv into it with the given on_reject.
func rejectingDest(t *testing.T, dir, onReject string) {
	t.Helper()
	db, err := sql.Open("sqlite", filepath.Join(dir, "dest.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE people (id INTEGER PRIMARY KEY, n INTEGER CHECK (n >= 0))`); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "hoist.yaml"), []byte(goodConns+`syncs:
  - name: people
    source: {connection: src, path: people.csv}
    destination: {connection: db, object: people, mode: upsert, primary_key: [id]}
    batch_size: 2
`+onReject), 0o644)
}

func decodeRun(t *testing.T, res result) runJSON {
	t.Helper()
	var rep runJSON
	if err := json.Unmarshal([]byte(res.stdout), &rep); err != nil {
		t.Fatalf("report %q: %v (stderr %s)", res.stdout, err, res.stderr)
	}
	return rep
}

// TestMaxRejectedCountsLikeTheReport: past on_reject.max_rejected the
// error's count is the report's rejected, NULL keys included.
func TestMaxRejectedCountsLikeTheReport(t *testing.T) {
	dir := t.TempDir()
	rejectingDest(t, dir, "    on_reject: {max_rejected: 2}\n")
	// two NULL keys, then three rows the destination rejects
	os.WriteFile(filepath.Join(dir, "people.csv"), []byte("id,n\n,1\n,2\n1,-1\n2,-2\n3,-3\n4,4\n5,5\n6,6\n"), 0o644)
	res := hoist(t, dir, nil, "run", "hoist.yaml", "--output", "json")
	rep := decodeRun(t, res)
	if res.code != 1 || rep.Status != "failed" || rep.Rejected < 3 {
		t.Fatalf("exit %d: %+v", res.code, rep)
	}
	want := fmt.Sprintf("%d rows rejected, more than on_reject.max_rejected 2", rep.Rejected)
	if !strings.Contains(rep.Error, want) {
		t.Fatalf("error %q does not count the report's %d rejected rows", rep.Error, rep.Rejected)
	}
}

// TestRejectedRowsNameTheirRun: the rejected-rows file keeps growing across
// runs, and every line carries the run_id of its run's report and a time.
func TestRejectedRowsNameTheirRun(t *testing.T) {
	dir := t.TempDir()
	rejectingDest(t, dir, "")
	os.WriteFile(filepath.Join(dir, "people.csv"), []byte("id,n\n1,-1\n2,2\n3,-3\n"), 0o644)
	var ids []string
	for i := 0; i < 2; i++ {
		res := hoist(t, dir, nil, "run", "hoist.yaml", "--output", "json")
		rep := decodeRun(t, res)
		if res.code != 3 || rep.Rejected != 2 || rep.RunID == "" {
			t.Fatalf("run %d: exit %d %+v", i+1, res.code, rep)
		}
		ids = append(ids, rep.RunID)
	}
	if ids[0] == ids[1] {
		t.Fatalf("two runs share the run id %s", ids[0])
	}
	data, err := os.ReadFile(filepath.Join(dir, "rejected", "people.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	perRun := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		var line struct {
			RunID string `json:"run_id"`
			Time  string `json:"time"`
			Sync  string `json:"sync"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatal(err)
		}
		at, err := time.Parse(time.RFC3339Nano, line.Time)
		if err != nil || time.Since(at) > time.Hour || line.Sync != "people" {
			t.Fatalf("line %s: time %v", sc.Text(), err)
		}
		perRun[line.RunID]++
	}
	if perRun[ids[0]] != 2 || perRun[ids[1]] != 2 || len(perRun) != 2 {
		t.Fatalf("rejected lines per run %v, want 2 for each of %v", perRun, ids)
	}
}

// TestInterruptSaysWhatWasCommitted: Ctrl-C mid-run ends with exit 1 and
// an error saying how many rows were delivered and committed, not a bare
// "context canceled"; the count is the report's and the state's.
func TestInterruptSaysWhatWasCommitted(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	dir := t.TempDir()
	spec, err := os.ReadFile("../../testdata/quickstart/hoist.yaml")
	if err != nil {
		t.Fatal(err)
	}
	spec = bytes.Replace(spec, []byte("batch_size: 5000"), []byte("batch_size: 200"), 1)
	os.WriteFile(filepath.Join(dir, "hoist.yaml"), spec, 0o644)
	copyFile(t, "../../testdata/quickstart/customers.parquet", filepath.Join(dir, "customers.parquet"))
	cmd := exec.Command(hoistBin, "run", "hoist.yaml", "--output", "json")
	cmd.Dir = dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dir, "quickstart.db")
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline) && countRows(db) < 2000; {
		time.Sleep(5 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGINT)
	cmd.Wait()
	res := result{cmd.ProcessState.ExitCode(), out.String(), errb.String()}
	rep := decodeRun(t, res)
	if res.code != 1 || rep.Status != "failed" || rep.Delivered == 0 || rep.Delivered >= 100000 {
		t.Fatalf("exit %d, %+v: not interrupted mid-run\n%s", res.code, rep, res.stderr)
	}
	want := fmt.Sprintf("interrupted: %d rows delivered and committed", rep.Committed)
	if !strings.HasPrefix(rep.Error, want) || rep.Committed != rep.Delivered || strings.Contains(rep.Error, "context canceled") {
		t.Fatalf("error %q, want it to start %q", rep.Error, want)
	}
}
