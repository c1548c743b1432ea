package sync_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hoist-dev/hoist/load/crmtest"
	hsync "github.com/hoist-dev/hoist/sync"
	"github.com/hoist-dev/hoist/sync/state"
)

// TestHTTPDailyBudget: a run that spends its connection's daily budget
// stops as partial, having sent exactly the budget, and commits what was
// acknowledged; a second run the same day sends nothing (the count is in
// state); with a larger budget the next run sends exactly the rest, and
// the API ends holding the source.
func TestHTTPDailyBudget(t *testing.T) {
	srv := crmtest.New(crmtest.Config{})
	defer srv.Close()
	dir := t.TempDir()
	specText := func(budget int) string {
		return fmt.Sprintf(`version: 1
connections:
  src: {type: files, path: ., format: csv}
  crm:
    type: http
    base_url: %s
    daily_budget: {requests: %d}
syncs:
  - name: people
    source: {connection: src, path: people.csv}
    destination:
      connection: crm
      mode: mirror
      primary_key: [id]
      operations:
        upsert: {path: /contacts/batch, batch: true}
        delete: {path: /contacts/batch/delete, batch: true}
    batch_size: 5
    concurrency: 4
`, srv.URL, budget)
	}
	src := &peopleSource{t: t, dir: dir, rows: map[int]string{}}
	for id := 1; id <= 100; id++ {
		src.rows[id] = fmt.Sprintf("Person %d", id)
	}
	src.write()
	store, err := state.Open(context.Background(), "file://"+filepath.Join(dir, ".hoist"), "")
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	run := func(budget int) *hsync.Report {
		f := loadSpec(t, dir, specText(budget))
		return (&hsync.Runner{File: f, Store: store, Opt: hsync.Options{TempDir: dir}}).Run(context.Background(), f.Syncs[0])
	}
	rep := run(8)
	if rep.Status != hsync.StatusPartial || !strings.Contains(rep.Stopped, "daily request budget spent") || rep.Error != "" {
		t.Fatalf("first run: status %s, stopped %q, error %q", rep.Status, rep.Stopped, rep.Error)
	}
	if got := srv.Stats().Requests; got != 8 {
		t.Errorf("first run sent %d requests, want the budget, 8", got)
	}
	if n := len(srv.Records()); n != 40 || rep.Delivered != 40 || rep.Committed != 40 {
		t.Errorf("first run: the API holds %d, delivered %d, committed %d; want 40", n, rep.Delivered, rep.Committed)
	}
	if rep := run(8); rep.Status != hsync.StatusPartial || rep.Delivered != 0 || srv.Stats().Requests != 8 {
		t.Errorf("second run the same day: %s, %d delivered, %d requests in all; want partial, 0, 8", rep.Status, rep.Delivered, srv.Stats().Requests)
	}
	rep = run(20)
	if rep.Status != hsync.StatusOK || rep.Delivered != 60 || rep.Added != 60 {
		t.Errorf("third run, a larger budget: %s, %d delivered (+%d): %s %s", rep.Status, rep.Delivered, rep.Added, rep.Stopped, rep.Error)
	}
	if got := srv.Stats().Requests; got != 20 {
		t.Errorf("%d requests in all, want 20 (100 rows in batches of 5)", got)
	}
	got := srv.Records()
	for id, name := range src.rows {
		if r := got[fmt.Sprint(id)]; r == nil || r["name"] != name {
			t.Errorf("record %d = %v", id, r)
		}
	}
	if len(got) != len(src.rows) {
		t.Errorf("the API holds %d records, the source %d", len(got), len(src.rows))
	}
}
