package sync_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	stdsync "sync"
	"testing"
	"time"

	"github.com/hoist-dev/hoist/load/crmtest"
	hsync "github.com/hoist-dev/hoist/sync"
)

// inFlight counts the requests a handler is serving at once.
type inFlight struct {
	mu        stdsync.Mutex
	now, peak int
	next      http.Handler
	delay     time.Duration
}

func (f *inFlight) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.now++
	f.peak = max(f.peak, f.now)
	f.mu.Unlock()
	time.Sleep(f.delay) // long enough for requests to overlap
	f.next.ServeHTTP(w, r)
	f.mu.Lock()
	f.now--
	f.mu.Unlock()
}

// TestParallelSyncsShareHTTPLimits: four syncs run at once against one http
// connection keep its limits together: never more than max_concurrency
// requests in flight and never more requests in a second than rate_limit
// allows, though each sync alone could use all of both; every record
// arrives.
func TestParallelSyncsShareHTTPLimits(t *testing.T) {
	injector.set(nil, 0)
	crm := crmtest.NewHandler(crmtest.Config{})
	counter := &inFlight{next: crm, delay: 15 * time.Millisecond}
	srv := httptest.NewServer(counter)
	defer srv.Close()
	dir := t.TempDir()
	const syncs, rows = 4, 60
	var b strings.Builder
	fmt.Fprintf(&b, `version: 1
connections:
  src: {type: files, path: ., format: csv}
  crm:
    type: http
    base_url: %s
    max_concurrency: 3
    rate_limit: {requests_per_second: 100, burst: 5}
syncs:
`, srv.URL)
	for i := range syncs {
		var csv strings.Builder
		csv.WriteString("id,email\n")
		for j := range rows {
			fmt.Fprintf(&csv, "%d-%d,u%d@s%d.example\n", i, j, j, i)
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("s%d.csv", i)), []byte(csv.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, `  - name: s%d
    source: {connection: src, path: s%d.csv}
    destination:
      connection: crm
      mode: upsert
      primary_key: [id]
      operations: {upsert: {method: POST, path: /contacts/batch, batch: true}}
    batch_size: 2
    concurrency: 8
`, i, i)
	}
	f, store := loadSpecAndStore(t, dir, b.String())
	sc, err := hsync.NewSchedule(f, f.Syncs)
	if err != nil {
		t.Fatal(err)
	}
	r := &hsync.Runner{File: f, Store: store, Opt: hsync.Options{TempDir: dir}}
	reps, _ := r.RunAll(context.Background(), sc, syncs)
	for _, rep := range reps {
		if rep.Status != hsync.StatusOK || rep.Delivered != rows {
			t.Fatalf("%s: %s, %d delivered: %s", rep.Sync, rep.Status, rep.Delivered, rep.Error)
		}
	}
	if n := len(crm.Records()); n != syncs*rows {
		t.Fatalf("the CRM holds %d records, want %d", n, syncs*rows)
	}
	if counter.peak > 3 {
		t.Errorf("%d requests in flight at once, past max_concurrency 3", counter.peak)
	}
	if counter.peak < 2 {
		t.Errorf("at most %d request in flight: the syncs did not overlap", counter.peak)
	}
	if st := crm.Stats(); st.MaxPerSecond > 100+5 {
		t.Errorf("%d requests within one second, past rate_limit 100/s + burst 5", st.MaxPerSecond)
	}
}
