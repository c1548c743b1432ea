package cli_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hoist-dev/hoist/load/crmtest"
)

// TestHTTPKillThenRerun SIGKILLs hoist while it upserts 20,000 contacts into
// a rate-limited fake CRM that also injects 5xx and 429s; the rerun must end
// with the CRM holding exactly the source rows.
func TestHTTPKillThenRerun(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	srv := crmtest.New(crmtest.Config{Seed: 3, Token: "kill-test-token", RateLimit: 400, Burst: 20, ErrorRate: 0.05, Throttle429Every: 80})
	defer srv.Close()
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("id,email,name\n")
	const n = 20000
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "%d,p%d@example.com,Person %d\n", i, i, i)
	}
	os.WriteFile(filepath.Join(dir, "people.csv"), []byte(b.String()), 0o644)
	os.WriteFile(filepath.Join(dir, "hoist.yaml"), []byte(fmt.Sprintf(`version: 1
connections:
  src: {type: files, path: ., format: csv}
  crm:
    type: http
    base_url: %s
    headers: {Authorization: "Bearer ${CRM_TOKEN}"}
    rate_limit: {requests_per_second: 300, burst: 10}
syncs:
  - name: contacts
    source: {connection: src, path: people.csv}
    destination:
      connection: crm
      mode: upsert
      primary_key: [id]
      operations: {upsert: {method: POST, path: /contacts/batch, batch: true}}
    batch_size: 25
`, srv.URL)), 0o644)
	env := []string{"CRM_TOKEN=kill-test-token"}
	cmd := exec.Command(hoistBin, "run", "hoist.yaml")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) && len(srv.Records()) < 3000 {
		time.Sleep(5 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	landed := len(srv.Records())
	if landed < 1 || landed >= n {
		t.Fatalf("could not kill mid-run: %d records landed", landed)
	}
	res := hoist(t, dir, env, "run", "hoist.yaml", "--output", "json")
	st := srv.Stats()
	t.Logf("fake CRM: %d requests, %d injected 429, %d injected 5xx, at most %d/s", st.Requests, st.Injected429, st.Injected5xx, st.MaxPerSecond)
	if res.code != 0 || !strings.Contains(res.stdout, `"status":"ok"`) {
		t.Fatalf("rerun: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	recs := srv.Records()
	if len(recs) != n {
		t.Fatalf("CRM holds %d records after the rerun, want %d", len(recs), n)
	}
	for i := 1; i <= n; i++ {
		r := recs[fmt.Sprint(i)]
		if r == nil || r["email"] != fmt.Sprintf("p%d@example.com", i) || r["name"] != fmt.Sprintf("Person %d", i) {
			t.Fatalf("record %d: %v", i, r)
		}
	}
	if strings.Contains(res.stdout+res.stderr, "kill-test-token") {
		t.Fatal("token in output")
	}
}
