package sync_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/hoist-dev/hoist/load/crmtest"
	hsync "github.com/hoist-dev/hoist/sync"
)

// TestHTTPCreateUpdateRouting mirrors into a REST API with separate verbs —
// POST creates (409 when the key exists), PATCH updates (404 when it is
// missing), DELETE deletes — with one sync: new rows must go to POST, changed
// rows to PATCH, and after adds, changes, deletes, a deleted key added back
// and a record removed behind hoist's back, the API holds exactly the source.
func TestHTTPCreateUpdateRouting(t *testing.T) {
	srv := crmtest.New(crmtest.Config{})
	defer srv.Close()
	dir := t.TempDir()
	f, store := loadSpecAndStore(t, dir, fmt.Sprintf(`version: 1
connections:
  src: {type: files, path: ., format: csv}
  crm: {type: http, base_url: %s}
syncs:
  - name: people
    source: {connection: src, path: people.csv}
    destination:
      connection: crm
      mode: mirror
      primary_key: [id]
      operations:
        insert: {method: POST, path: /contacts}
        update: {method: PATCH, path: "/contacts/{{.Row.id}}"}
        delete: {method: DELETE, path: "/contacts/{{.Row.id}}"}
    batch_size: 7
    max_delete_fraction: 1
`, srv.URL))
	r := &hsync.Runner{File: f, Store: store, Opt: hsync.Options{TempDir: dir}}
	src := map[int]string{}
	for id := 1; id <= 40; id++ {
		src[id] = fmt.Sprintf("Person %d", id)
	}
	write := func() {
		var b strings.Builder
		b.WriteString("id,email,name\n")
		ids := make([]int, 0, len(src))
		for id := range src {
			ids = append(ids, id)
		}
		sort.Ints(ids)
		for _, id := range ids {
			fmt.Fprintf(&b, "%d,p%d@example.com,%s\n", id, id, src[id])
		}
		if err := os.WriteFile(filepath.Join(dir, "people.csv"), []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	before := srv.Stats().Routes
	run := func(step string, posts, patches, deletes int64) {
		t.Helper()
		write()
		rep := r.Run(context.Background(), f.Syncs[0])
		if rep.Status != hsync.StatusOK {
			t.Fatalf("%s: %s: %s", step, rep.Status, rep.Error)
		}
		got := srv.Records()
		if len(got) != len(src) {
			t.Errorf("%s: the API holds %d records, the source %d", step, len(got), len(src))
		}
		for id, name := range src {
			rec, ok := got[fmt.Sprint(id)]
			if !ok || rec["name"] != name || rec["email"] != fmt.Sprintf("p%d@example.com", id) {
				t.Errorf("%s: record %d = %v, want name %q", step, id, rec, name)
			}
		}
		now := srv.Stats().Routes
		d := func(route string) int64 { return now[route] - before[route] }
		if d("POST /contacts") != posts || d("PATCH /contacts/{id}") != patches || d("DELETE /contacts/{id}") != deletes || d("PUT /contacts/{id}") != 0 {
			t.Errorf("%s: POST %d PATCH %d DELETE %d PUT %d, want %d %d %d 0", step,
				d("POST /contacts"), d("PATCH /contacts/{id}"), d("DELETE /contacts/{id}"), d("PUT /contacts/{id}"), posts, patches, deletes)
		}
		before = now
	}
	run("first load", 40, 0, 0)

	for id := 1; id <= 5; id++ { // changes
		src[id] += " (renamed)"
	}
	for id := 6; id <= 8; id++ { // deletes
		delete(src, id)
	}
	for id := 41; id <= 44; id++ { // adds
		src[id] = fmt.Sprintf("New %d", id)
	}
	run("adds, changes, deletes", 4, 5, 3)

	src[6] = "Back again" // a deleted key, added back
	src[9] += " (renamed)"
	// Removed behind hoist's back: its change is answered 404 and the row
	// is created instead.
	if !srv.Remove("9") {
		t.Fatal("record 9 is not in the API")
	}
	run("re-added key, drift", 2, 1, 0)

	write()
	if rep := r.Run(context.Background(), f.Syncs[0]); rep.Added+rep.Changed+rep.Removed != 0 {
		t.Errorf("rerun sends %+v, want nothing", rep)
	}
}
