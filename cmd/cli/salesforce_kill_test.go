package cli_test

import (
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hoist-dev/hoist/internal/salesforcetest"
)

const sfKillRows = 4_000

// writeSFSource writes n opportunities into a SQLite table opps.
func writeSFSource(t *testing.T, path string, n int) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(`CREATE TABLE opps (Ext_Id__c TEXT PRIMARY KEY, Name TEXT, StageName TEXT, CloseDate DATE, Amount REAL)`); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if _, err := tx.Exec("INSERT INTO opps VALUES (?,?,?,?,?)", fmt.Sprintf("OPP-%06d", i), fmt.Sprintf("Deal %d", i),
			salesforcetest.Stages[i%len(salesforcetest.Stages)], time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i%365).Format(time.DateOnly),
			float64(i)+0.5); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

func sfKillSpec(url string) string {
	return fmt.Sprintf(`version: 1
state: file://.hoist
connections:
  wh: {type: sqlite, path: source.db}
  sf:
    type: salesforce
    login_url: %s
    client_id: 3MVG9hoistTestConsumerKey
    username: integration@acme.example
    private_key: ${SF_PRIVATE_KEY}
    poll_interval: 50ms
syncs:
  - name: opps
    source: {connection: wh, table: opps}
    destination: {connection: sf, object: Opportunity, mode: mirror, primary_key: [Ext_Id__c]}
`, url)
}

// TestSalesforceKillWhileJobRuns SIGKILLs hoist while its Bulk job is
// processing (the fake takes 1 ms a record) and reruns: the rerun reads
// that job's results instead of uploading again, so the org ends exact,
// the job's results are read once, no record is uploaded twice, and the
// job's record in the state is gone. Then a kill while a job is still
// being uploaded (the fake reads uploads slowly) leaves it Open: the rerun
// aborts it and sends the rows in a job of its own.
func TestSalesforceKillWhileJobRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	key, pub, err := salesforcetest.Key()
	if err != nil {
		t.Fatal(err)
	}
	env := []string{"SF_PRIVATE_KEY=" + key}
	for _, tc := range []struct {
		name     string
		cfg      salesforcetest.Config
		killWhen string // the job state to kill in
	}{
		{"processing", salesforcetest.Config{PerRecord: time.Millisecond}, "InProgress"},
		{"uploading", salesforcetest.Config{UploadDelay: 5 * time.Second}, "Open"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			cfg.ClientID, cfg.Username, cfg.PublicKey, cfg.KeepLog = "3MVG9hoistTestConsumerKey", "integration@acme.example", pub, true
			cfg.Objects = []salesforcetest.Object{salesforcetest.Opportunity(0)}
			srv := salesforcetest.New(cfg)
			defer srv.Close()
			dir := t.TempDir()
			writeSFSource(t, filepath.Join(dir, "source.db"), sfKillRows)
			if err := os.WriteFile(filepath.Join(dir, "hoist.yaml"), []byte(sfKillSpec(srv.URL)), 0o644); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(hoistBin, "run", "hoist.yaml")
			cmd.Dir, cmd.Env = dir, append(os.Environ(), env...)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			first := ""
			deadline := time.Now().Add(60 * time.Second)
			// the kill comes once the job is in the fake's tc.killWhen state
			// and recorded in the state (its .job file renamed in): a kill
			// between the fake creating a job and hoist recording it leaves
			// an empty Open job no run knows of, which is not this test
			recorded := func() bool {
				m, _ := filepath.Glob(filepath.Join(dir, ".hoist", ".jobs", "opps", "*.job"))
				return len(m) > 0
			}
			for first == "" && time.Now().Before(deadline) {
				for id, state := range srv.Jobs() {
					if state == tc.killWhen && recorded() {
						first = id
					}
				}
				time.Sleep(2 * time.Millisecond)
			}
			if first == "" {
				cmd.Process.Kill()
				cmd.Wait()
				t.Fatalf("no job reached %s: %v", tc.killWhen, srv.Jobs())
			}
			if err := cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			cmd.Wait()
			if n := srv.Count("Opportunity"); n == sfKillRows && tc.killWhen == "InProgress" {
				t.Fatalf("the job had finished before the kill")
			}
			entries, _ := filepath.Glob(filepath.Join(dir, ".hoist", ".jobs", "opps", "*.job"))
			if len(entries) != 1 {
				t.Fatalf("the state records %d jobs after the kill, want the one in flight", len(entries))
			}
			if tc.killWhen == "Open" {
				srv.SetFaults(0, 0, 0, 0)
			}

			res := hoist(t, dir, env, "run", "hoist.yaml", "--output", "json")
			if res.code != 0 {
				t.Fatalf("rerun exit %d: %s", res.code, res.stderr)
			}
			recs := srv.Records("Opportunity")
			if len(recs) != sfKillRows {
				t.Fatalf("Salesforce holds %d opportunities, want %d", len(recs), sfKillRows)
			}
			for _, r := range recs {
				var i int
				fmt.Sscanf(r["Ext_Id__c"], "OPP-%06d", &i)
				if r["Name"] != fmt.Sprintf("Deal %d", i) || r["Amount"] != fmt.Sprintf("%d.5", i) {
					t.Fatalf("record %v is not the source's", r)
				}
			}
			for ext, n := range srv.Uploads("Opportunity") {
				if n != 1 {
					t.Fatalf("%s was uploaded %d times", ext, n)
				}
			}
			jobs := srv.Jobs()
			switch tc.killWhen {
			case "InProgress":
				if reads := srv.ResultReads()[first]; reads != 1 && jobs[first] != "" {
					t.Errorf("the killed run's job's results were read %d times, want once", reads)
				}
				if st := srv.Stats(); st.Jobs != 1 {
					t.Errorf("%d jobs were created; the rerun should have read the first one's results, not uploaded again", st.Jobs)
				}
			case "Open":
				if st := srv.Stats(); st.Jobs != 2 || !strings.Contains(res.stderr, "abort") {
					t.Errorf("%d jobs, the first %q; want it aborted and one new job (stderr: %s)", st.Jobs, jobs[first], res.stderr)
				}
			}
			if entries, _ := filepath.Glob(filepath.Join(dir, ".hoist", ".jobs", "opps", "*.job")); len(entries) != 0 {
				t.Errorf("the state still records %d jobs after the rerun committed", len(entries))
			}
			if strings.Contains(res.stdout+res.stderr, strings.Split(key, "\n")[2]) {
				t.Error("the private key is in hoist's output")
			}
		})
	}
}
