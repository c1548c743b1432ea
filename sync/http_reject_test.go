package sync_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hoist-dev/hoist/load/crmtest"
	hsync "github.com/hoist-dev/hoist/sync"
)

// TestHTTPMaxRejectedStopsEarly: 2,000 rows the API refuses one by one,
// max_rejected 10. The run stops splitting requests once past the limit
// (it used to send ~4,000 split requests first), and fails with a count
// equal to the report's and to the rejected file's lines.
func TestHTTPMaxRejectedStopsEarly(t *testing.T) {
	tests := []struct {
		name, upsert string
		batch        int
		maxRequests  int64
	}{
		{"batched, split in halves", "{method: POST, path: /contacts/batch, batch: true}", 500, 300},
		{"one request per row", `{method: PUT, path: "/contacts/{{.Row.id}}"}`, 500, 300},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := crmtest.New(crmtest.Config{})
			defer srv.Close()
			dir := t.TempDir()
			var b strings.Builder
			b.WriteString("id,email\n")
			for i := 1; i <= 2000; i++ {
				fmt.Fprintf(&b, "%d,user%d-at-example\n", i, i) // every email invalid
			}
			os.WriteFile(filepath.Join(dir, "people.csv"), []byte(b.String()), 0o644)
			f, store := loadSpecAndStore(t, dir, fmt.Sprintf(`version: 1
connections:
  src: {type: files, path: ., format: csv}
  crm: {type: http, base_url: %s, max_concurrency: 8}
syncs:
  - name: contacts
    source: {connection: src, path: people.csv}
    destination:
      connection: crm
      mode: upsert
      primary_key: [id]
      operations: {upsert: %s}
    batch_size: %d
    concurrency: 4
    on_reject: {file: rejected.jsonl, max_rejected: 10}
`, srv.URL, tt.upsert, tt.batch))
			r := &hsync.Runner{File: f, Store: store, Opt: hsync.Options{TempDir: dir}}
			rep := r.Run(context.Background(), f.Syncs[0])
			want := fmt.Sprintf("too many rejected rows: %d rows rejected, more than on_reject.max_rejected 10", rep.Rejected)
			if rep.Status != hsync.StatusFailed || rep.Error != want {
				t.Fatalf("report %+v, want failed with %q", rep, want)
			}
			if rep.Rejected <= 10 || rep.Delivered != 0 {
				t.Errorf("rejected %d, delivered %d; want more than 10 rejected, none delivered", rep.Rejected, rep.Delivered)
			}
			lines, _ := os.ReadFile(filepath.Join(dir, "rejected.jsonl"))
			if n := int64(bytes.Count(lines, []byte("\n"))); n != rep.Rejected {
				t.Errorf("rejected file has %d lines, report says %d", n, rep.Rejected)
			}
			if reqs := srv.Stats().Requests; reqs > tt.maxRequests {
				t.Errorf("%d requests for a run past max_rejected 10, want at most %d", reqs, tt.maxRequests)
			} else {
				t.Logf("%d requests, %d rejected", reqs, rep.Rejected)
			}
		})
	}
}
