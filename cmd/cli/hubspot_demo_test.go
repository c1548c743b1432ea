package cli_test

import (
	"bufio"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/hoist-dev/hoist/internal/hubspottest"
	"github.com/hoist-dev/hoist/internal/quickstart"
)

// startFakeHubSpot builds and starts cmd/fakehubspot on a free port with
// args, and returns its URL; the process is stopped when the test ends.
func startFakeHubSpot(t *testing.T, args ...string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "fakehubspot")
	build := exec.Command("go", "build", "-tags", "minicore_disabled", "-o", bin, "../fakehubspot")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build fakehubspot: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, append([]string{"-addr", "127.0.0.1:0"}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	url, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("fakehubspot printed no URL: %v", err)
	}
	return strings.TrimSpace(url)
}

func fakeStats(t *testing.T, url string) hubspottest.Stats {
	t.Helper()
	resp, err := http.Get(url + hubspottest.StatsPath)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st hubspottest.Stats
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	return st
}

// TestHubSpotDemo runs the README's HubSpot demo as a user would: the
// built fakehubspot command, and cmd/fakehubspot/demo.yaml as written (on
// a 3,000-row quickstart export, laid out beside it as in the repository)
// through validate --connect, plan, run and a second run, with the built
// hoist binary. A wrong token is refused by validate, naming neither token.
func TestHubSpotDemo(t *testing.T) {
	const token = "demo-token-7f3a9c"
	url := startFakeHubSpot(t, "-token", token)
	root := t.TempDir()
	specDir := filepath.Join(root, "cmd", "fakehubspot")
	dataDir := filepath.Join(root, "testdata", "quickstart")
	for _, d := range []string{specDir, dataDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	copyFile(t, "../fakehubspot/demo.yaml", filepath.Join(specDir, "demo.yaml"))
	f, err := os.Create(filepath.Join(dataDir, "customers.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	if err := quickstart.Write(f, 3000, 1000, memory.DefaultAllocator); err != nil {
		t.Fatal(err)
	}
	f.Close()
	env := []string{"HUBSPOT_TOKEN=" + token, "HUBSPOT_URL=" + url}

	bad := hoist(t, root, []string{"HUBSPOT_TOKEN=wrong-token-1234", "HUBSPOT_URL=" + url}, "validate", "--connect", "cmd/fakehubspot/demo.yaml")
	if bad.code != 1 || !strings.Contains(bad.stdout+bad.stderr, "refused the token (401)") {
		t.Errorf("validate --connect with a wrong token: exit %d\n%s%s", bad.code, bad.stdout, bad.stderr)
	}
	if strings.Contains(bad.stdout+bad.stderr, "wrong-token-1234") {
		t.Error("the token is in the output")
	}
	if res := hoist(t, root, env, "validate", "--connect", "cmd/fakehubspot/demo.yaml"); res.code != 0 {
		t.Fatalf("validate --connect: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	plan := hoist(t, root, env, "plan", "cmd/fakehubspot/demo.yaml")
	if plan.code != 0 || !strings.Contains(plan.stdout, "+ 3000 to add, ~ 0 to change, - 0 to remove") {
		t.Fatalf("plan: exit %d\n%s%s", plan.code, plan.stdout, plan.stderr)
	}
	type report struct {
		Status    string `json:"status"`
		Delivered int64  `json:"delivered"`
		Rejected  int64  `json:"rejected"`
	}
	for i, want := range []int64{3000, 0} {
		res := hoist(t, root, env, "run", "cmd/fakehubspot/demo.yaml", "--output", "json")
		var rep report
		if err := json.Unmarshal([]byte(res.stdout), &rep); err != nil || res.code != 0 {
			t.Fatalf("run %d: exit %d, %v\n%s%s", i+1, res.code, err, res.stdout, res.stderr)
		}
		if rep.Status != "ok" || rep.Delivered != want || rep.Rejected != 0 {
			t.Fatalf("run %d: %+v, want ok and %d delivered", i+1, rep, want)
		}
		if strings.Contains(res.stdout+res.stderr, token) {
			t.Fatalf("run %d: the token is in the output", i+1)
		}
	}
	st := fakeStats(t, url)
	if st.LiveRecords != 3000 || st.Invalid != 0 || st.Limited != 0 || st.ByEndpoint["batch/upsert"] != 30 {
		t.Errorf("the fake: %d contacts, %d invalid requests, %d ten-secondly 429s, %d upserts; want 3000, 0, 0, 30 (%v)",
			st.LiveRecords, st.Invalid, st.Limited, st.ByEndpoint["batch/upsert"], st.InvalidReasons)
	}
}
