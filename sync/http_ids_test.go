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
	"github.com/hoist-dev/hoist/sync/diff"
	"github.com/hoist-dev/hoist/sync/spec"
	"github.com/hoist-dev/hoist/sync/state"
)

// peopleSource is a CSV source of people by external id.
type peopleSource struct {
	t    *testing.T
	dir  string
	rows map[int]string // external id → name
}

func (p *peopleSource) write() {
	var b strings.Builder
	b.WriteString("id,email,name\n")
	ids := make([]int, 0, len(p.rows))
	for id := range p.rows {
		ids = append(ids, id)
	}
	sort.Ints(ids)
	for _, id := range ids {
		fmt.Fprintf(&b, "%d,p%d@example.com,%s\n", id, id, p.rows[id])
	}
	if err := os.WriteFile(filepath.Join(p.dir, "people.csv"), []byte(b.String()), 0o644); err != nil {
		p.t.Fatal(err)
	}
}

// checkPeople holds the fake's people to the source, and the state's record
// IDs to the fake's: every key with an ID has its person's ID, and keys
// have one exactly where wantIDs says.
func checkPeople(t *testing.T, step string, srv *crmtest.Server, store state.Store, sync string, src map[int]string, wantIDs func(key string) bool) {
	t.Helper()
	byKey := map[string]map[string]any{}
	for id, p := range srv.People() {
		k := fmt.Sprint(p["external_id"])
		if _, dup := byKey[k]; dup {
			t.Errorf("%s: two people with external id %s", step, k)
		}
		p["id"] = id
		byKey[k] = p
	}
	if len(byKey) != len(src) {
		t.Errorf("%s: the API holds %d people, the source %d", step, len(byKey), len(src))
	}
	for id, name := range src {
		p := byKey[fmt.Sprint(id)]
		if p == nil || p["name"] != name || p["email"] != fmt.Sprintf("p%d@example.com", id) {
			t.Errorf("%s: person %d = %v, want name %q", step, id, p, name)
		}
	}
	it, err := store.Snapshot(context.Background(), sync)
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	for it.Next() {
		e := it.Entry()
		k := diff.KeyString(e.Key)
		p := byKey[k]
		switch {
		case wantIDs(k) && p != nil && string(e.ID) != p["id"]:
			t.Errorf("%s: the state keeps record ID %q for key %s, the API gave it %v", step, e.ID, k, p["id"])
		case !wantIDs(k) && e.ID != nil:
			t.Errorf("%s: the state keeps record ID %q for key %s, want none", step, e.ID, k)
		}
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
}

func loadSpec(t *testing.T, dir, text string) *spec.File {
	t.Helper()
	path := filepath.Join(dir, "hoist.yaml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := spec.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestHTTPRecordIDs mirrors into an API that assigns record IDs and
// addresses records by them: the IDs the creates answer are kept in state
// and used by later updates and deletes; rows whose IDs the state lacks
// (created by a spec that did not read them) are looked up once, and their
// IDs kept; a record gone behind hoist's back is created again.
func TestHTTPRecordIDs(t *testing.T) {
	for _, batched := range []bool{false, true} {
		t.Run(map[bool]string{false: "per row", true: "batched"}[batched], func(t *testing.T) {
			testHTTPRecordIDs(t, batched)
		})
	}
}

func testHTTPRecordIDs(t *testing.T, batched bool) {
	srv := crmtest.New(crmtest.Config{KeyField: "external_id"})
	defer srv.Close()
	dir := t.TempDir()
	ops := func(readIDs bool) string {
		idPath, results := "", ""
		if readIDs {
			idPath, results = ", id_path: id", ", results: {path: results, key: external_id}"
		}
		if batched {
			return `insert: {path: /people/batch/create, batch: true, errors: {path: errors, keys: key}` + results + `}
        update: {path: /people/batch/update, batch: true, errors: {path: errors, ids: id}, body: '[{{range $i, $r := .Records}}{{if $i}},{{end}}{"id": {{json $r.ID}}, "name": {{json $r.Row.name}}, "email": {{json $r.Row.email}}}{{end}}]'}
        delete: {path: /people/batch/delete, batch: true, body: '[{{range $i, $id := .IDs}}{{if $i}},{{end}}{"id": {{json $id}}}{{end}}]'}`
		}
		return `insert: {method: POST, path: /people` + idPath + `}
        update: {method: PATCH, path: "/people/{{.ID}}"}
        delete: {method: DELETE, path: "/people/{{.ID}}"}`
	}
	specText := func(readIDs bool) string {
		return fmt.Sprintf(`version: 1
connections:
  src: {type: files, path: ., format: csv}
  crm: {type: http, base_url: %s}
syncs:
  - name: people
    source: {connection: src, path: people.csv}
    destination:
      connection: crm
      mode: mirror
      primary_key: [external_id]
      operations:
        %s
        lookup: {path: "/people?external_id={{.Row.external_id}}", id_path: results.0.id}
    mappings:
      - {from: id, to: external_id}
      - {from: email, to: email}
      - {from: name, to: name}
    batch_size: 6
    max_delete_fraction: 1
`, srv.URL, ops(readIDs))
	}
	src := &peopleSource{t: t, dir: dir, rows: map[int]string{}}
	for id := 1; id <= 30; id++ {
		src.rows[id] = fmt.Sprintf("Person %d", id)
	}
	store, err := state.Open(context.Background(), "file://"+filepath.Join(dir, ".hoist"), "")
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	before := srv.Stats().Routes
	run := func(step string, readIDs bool, wantIDs func(string) bool, routes map[string]int64) {
		t.Helper()
		f := loadSpec(t, dir, specText(readIDs))
		src.write()
		r := &hsync.Runner{File: f, Store: store, Opt: hsync.Options{TempDir: dir}}
		rep := r.Run(context.Background(), f.Syncs[0])
		if rep.Status != hsync.StatusOK {
			t.Fatalf("%s: %s: %s", step, rep.Status, rep.Error)
		}
		checkPeople(t, step, srv, store, "people", src.rows, wantIDs)
		now := srv.Stats().Routes
		for route, want := range routes {
			if got := now[route] - before[route]; got != want {
				t.Errorf("%s: %s answered %d requests, want %d", step, route, got, want)
			}
		}
		before = now
	}
	create, update, del, find := "POST /people", "PATCH /people/{id}", "DELETE /people/{id}", "GET /people"
	if batched {
		create, update, del = "POST /people/batch/create", "POST /people/batch/update", "POST /people/batch/delete"
	}
	// A first load by a spec that does not read IDs: the state has none.
	run("first load, IDs not read", false, func(string) bool { return false }, map[string]int64{find: 0})

	// Changes and deletes of rows without IDs: each is looked up once.
	for id := 1; id <= 4; id++ {
		src.rows[id] += " (renamed)"
	}
	delete(src.rows, 5)
	delete(src.rows, 6)
	looked := map[string]bool{"1": true, "2": true, "3": true, "4": true}
	run("looked up", true, func(k string) bool { return looked[k] }, map[string]int64{find: 6})

	// The IDs learnt are used: no lookup again. New rows get theirs from
	// the create.
	for id := 1; id <= 2; id++ {
		src.rows[id] += " again"
	}
	delete(src.rows, 3)
	for id := 31; id <= 33; id++ {
		src.rows[id] = fmt.Sprintf("New %d", id)
		looked[fmt.Sprint(id)] = true
	}
	wantUpdates, wantDeletes, wantCreates := int64(2), int64(1), int64(3)
	if batched {
		wantUpdates, wantDeletes, wantCreates = 1, 1, 1
	}
	run("IDs from state and creates", true, func(k string) bool { return looked[k] }, map[string]int64{find: 0, update: wantUpdates, del: wantDeletes, create: wantCreates})

	// A record removed behind hoist's back, then changed in the source:
	// the update by its ID fails, and it is created again with a new ID.
	var gone string
	for id, p := range srv.People() {
		if fmt.Sprint(p["external_id"]) == "31" {
			gone = id
		}
	}
	srv.RemovePerson(gone)
	src.rows[31] = "Back"
	if batched {
		// the batched update's answer names the missing record among its
		// errors (by ID): the row is rejected, not counted delivered
		f := loadSpec(t, dir, specText(true))
		src.write()
		rep := (&hsync.Runner{File: f, Store: store, Opt: hsync.Options{TempDir: dir}}).Run(context.Background(), f.Syncs[0])
		if rep.Status != hsync.StatusPartial || rep.Rejected != 1 || rep.Delivered != 0 {
			t.Errorf("drift, batched: %s, %d delivered, %d rejected: %s", rep.Status, rep.Delivered, rep.Rejected, rep.Error)
		}
		return
	}
	run("drift", true, func(k string) bool { return looked[k] }, map[string]int64{update: 1, create: 1})
}
