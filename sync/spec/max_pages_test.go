package spec_test

import (
	"strings"
	"testing"

	"github.com/hoist-dev/hoist/extract"
	. "github.com/hoist-dev/hoist/sync/spec"
)

// TestMaxPages: pagination.max_pages parses, and a negative one is refused
// with its file, line and field.
func TestMaxPages(t *testing.T) {
	doc := func(maxPages string) string {
		return `version: 1
state: file://state
connections:
  api: {type: http, base_url: "http://127.0.0.1:1"}
  out: {type: sqlite, path: out.db}
syncs:
  - name: s
    source:
      connection: api
      endpoint: /items
      pagination: {type: page, max_pages: ` + maxPages + `}
    destination: {connection: out, object: t, mode: append}
`
	}
	f, err := Parse("s.yaml", []byte(doc("250")), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Syncs[0].Source.Config.(*extract.HTTPSource).Pagination.MaxPages; got != 250 {
		t.Errorf("max_pages = %d, want 250", got)
	}
	_, err = Parse("s.yaml", []byte(doc("-1")), env(nil))
	if err == nil || !strings.Contains(err.Error(), "s.yaml:11: syncs[0].source.pagination.max_pages: max_pages must be positive (got -1)") {
		t.Fatalf("got %v", err)
	}
}
