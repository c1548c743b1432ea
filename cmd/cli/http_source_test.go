package cli_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hoist-dev/hoist/load/crmtest"
)

// httpSourceSpec reads the fake CRM's contacts incrementally, columns
// inferred, into SQLite.
func httpSourceSpec(url string) string {
	return fmt.Sprintf(`version: 1
connections:
  crm: {type: http, base_url: %s}
  db: {type: sqlite, path: ./dest.db}
syncs:
  - name: contacts
    source:
      connection: crm
      endpoint: /contacts
      records_path: data
      cursor: updated_at
      cursor_param: updated_since
      pagination: {type: cursor, size_param: limit, page_size: 10, next_path: meta.next_cursor}
    destination: {connection: db, object: contacts, mode: upsert, primary_key: [id], create_table: true}
`, url)
}

func putContacts(srv *crmtest.Server, from, to int, extra map[string]any) {
	epoch := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	for i := from; i <= to; i++ {
		rec := map[string]any{"id": i, "email": fmt.Sprintf("u%d@x.io", i), "updated_at": epoch.Add(time.Duration(i) * time.Minute).Format(time.RFC3339)}
		for k, v := range extra {
			rec[k] = v
		}
		srv.Put(rec)
	}
}

// TestHTTPSourceQuietIncrementalRun: a cron run of an incremental http
// sync with inferred columns that finds no new records succeeds, delivering
// nothing and keeping the cursor, and so does plan; new records later are
// read as usual.
func TestHTTPSourceQuietIncrementalRun(t *testing.T) {
	srv := crmtest.New(crmtest.Config{})
	defer srv.Close()
	putContacts(srv, 1, 25, nil)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "hoist.yaml"), []byte(httpSourceSpec(srv.URL)), 0o644)
	type report struct {
		Status      string `json:"status"`
		Delivered   int64  `json:"delivered"`
		CursorAfter string `json:"cursor_after"`
	}
	run := func(step string) report {
		t.Helper()
		res := hoist(t, dir, nil, "run", "hoist.yaml", "--output", "json")
		var rep report
		if res.code != 0 || json.Unmarshal([]byte(res.stdout), &rep) != nil {
			t.Fatalf("%s: exit %d\n%s%s", step, res.code, res.stdout, res.stderr)
		}
		return rep
	}
	first := run("first run")
	if first.Status != "ok" || first.Delivered != 25 || !strings.Contains(first.CursorAfter, "2026-11-01T00:25:00") {
		t.Fatalf("first run: %+v", first)
	}
	for _, step := range []string{"quiet run", "second quiet run"} {
		if rep := run(step); rep.Status != "ok" || rep.Delivered != 0 || rep.CursorAfter != first.CursorAfter {
			t.Fatalf("%s: %+v, want ok, nothing delivered, cursor %s", step, rep, first.CursorAfter)
		}
	}
	plan := hoist(t, dir, nil, "plan", "hoist.yaml", "--detailed-exitcode")
	if plan.code != 0 {
		t.Fatalf("plan of a quiet run: exit %d\n%s%s", plan.code, plan.stdout, plan.stderr)
	}
	putContacts(srv, 26, 30, nil)
	if rep := run("run after new records"); rep.Delivered != 5 || !strings.Contains(rep.CursorAfter, "2026-11-01T00:30:00") {
		t.Fatalf("run after new records: %+v", rep)
	}
}

// TestHTTPSourceLateFields: a field that first appears after the first
// page (the one the columns are inferred from) fails the run naming it,
// rather than being dropped.
func TestHTTPSourceLateFields(t *testing.T) {
	srv := crmtest.New(crmtest.Config{})
	defer srv.Close()
	putContacts(srv, 1, 10, nil)
	putContacts(srv, 11, 12, map[string]any{"phone": "+1 555", "plan": "pro"})
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "hoist.yaml"), []byte(httpSourceSpec(srv.URL)), 0o644)
	res := hoist(t, dir, nil, "run", "hoist.yaml")
	want := "http source page 2 record 0 has field(s) phone, plan that no record of the first page has"
	if res.code == 0 || !strings.Contains(res.stdout+res.stderr, want) {
		t.Fatalf("exit %d, want a failure naming the late fields (%q)\n%s%s", res.code, want, res.stdout, res.stderr)
	}
	if !strings.Contains(res.stdout+res.stderr, "source.columns") {
		t.Errorf("the error does not say how to fix it:\n%s%s", res.stdout, res.stderr)
	}
}
