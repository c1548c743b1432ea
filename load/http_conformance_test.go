package load_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	stdsync "sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/hoist-dev/hoist/internal/httpkit"
	"github.com/hoist-dev/hoist/load"
	"github.com/hoist-dev/hoist/load/crmtest"
	"github.com/hoist-dev/hoist/load/loadtest"
	"github.com/hoist-dev/hoist/sync/spec"
)

// TestHTTPConformance runs the destination suite against the fake CRM:
// one fake per object, served under /<object>/, read back from its store.
func TestHTTPConformance(t *testing.T) {
	t.Parallel()
	crm := newCRMObjects()
	srv := httptest.NewServer(crm)
	t.Cleanup(srv.Close)
	retries := 2
	conn := &spec.Connection{
		Name: "crm-conformance",
		Type: httpkit.Type,
		Config: &httpkit.Config{
			BaseURL:    srv.URL,
			Timeout:    spec.Duration(10 * time.Second),
			MaxRetries: &retries,
		},
	}
	// Every operation the fake has: batched upserts and deletes, per-row
	// creates (409 for a key it holds) and patches (404 for one it lacks).
	ops := map[string]*load.HTTPOperation{
		"upsert": {Method: http.MethodPost, Path: "/{{.Object}}/contacts/batch", Batch: true},
		"delete": {Method: http.MethodPost, Path: "/{{.Object}}/contacts/batch/delete", Batch: true},
		"insert": {Method: http.MethodPost, Path: "/{{.Object}}/contacts"},
		"update": {Method: http.MethodPatch, Path: "/{{.Object}}/contacts/{{.Row.id}}"},
	}
	loadtest.Run(t, loadtest.Harness{
		Open: func(t *testing.T) load.Destination {
			d, err := load.Open(context.Background(), conn, "")
			if err != nil {
				t.Fatal(err)
			}
			return d
		},
		Target: func(_ *testing.T, object, mode string, key []string, schema *arrow.Schema) load.Target {
			return load.Target{Dest: &spec.Dest{Connection: conn.Name, Object: object, Mode: mode, PrimaryKey: key, Config: &load.HTTPDest{Operations: ops}}, Schema: schema}
		},
		Read: func(t *testing.T, object string, schema *arrow.Schema, mem memory.Allocator) []arrow.RecordBatch {
			return crm.read(t, object, schema, mem)
		},
		// Not append: the fake keys every record, so a row whose key it
		// holds is not added again; not replace, which the http destination
		// refuses (an API cannot swap a collection atomically).
		Modes: []string{spec.ModeInsert, spec.ModeUpdate, spec.ModeUpsert, spec.ModeMirror},
		// JSON has no NaN or infinity: they are sent as null.
		Types: loadtest.Without(loadtest.AllTypes(), loadtest.FloatSpecial),
		Reject: func(_ *testing.T, object string) string {
			const bad = "refused by the API's validation"
			crm.reject(object, bad)
			return bad
		},
	})
}

// crmObjects serves a fake CRM of its own under each /<object>/ prefix, so
// that the suite's objects do not share one record store.
type crmObjects struct {
	mu   stdsync.Mutex
	crms map[string]*crmtest.Server
	bad  map[string]string // per object, the name its fake refuses
}

func newCRMObjects() *crmObjects {
	return &crmObjects{crms: map[string]*crmtest.Server{}, bad: map[string]string{}}
}

func (c *crmObjects) get(object string) *crmtest.Server {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.crms[object]
	if !ok {
		s = crmtest.NewHandler(crmtest.Config{Validate: func(rec map[string]any) string {
			c.mu.Lock()
			bad := c.bad[object]
			c.mu.Unlock()
			if name, ok := rec["name"].(string); ok && bad != "" && name == bad {
				return "name " + name + " is not allowed"
			}
			return ""
		}})
		c.crms[object] = s
	}
	return s
}

func (c *crmObjects) reject(object, name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.bad[object] = name
}

func (c *crmObjects) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	object, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	http.StripPrefix("/"+object, c.get(object)).ServeHTTP(w, r)
}

// read turns the object's records into rows of schema with Arrow's JSON
// reader: numbers as written (the fake keeps them as json.Number), binary
// from base64, timestamps and dates from their text.
func (c *crmObjects) read(t *testing.T, object string, schema *arrow.Schema, mem memory.Allocator) []arrow.RecordBatch {
	t.Helper()
	recs := c.get(object).Records()
	if len(recs) == 0 {
		return nil
	}
	rows := make([]map[string]any, 0, len(recs))
	for _, r := range recs {
		row := map[string]any{}
		for _, f := range schema.Fields() {
			row[f.Name] = r[f.Name]
		}
		rows = append(rows, row)
	}
	b, err := json.Marshal(rows)
	if err != nil {
		t.Fatal(err)
	}
	rec, _, err := array.RecordFromJSON(mem, schema, bytes.NewReader(b))
	if err != nil {
		t.Fatalf("read back the records of %s as %s: %v", object, schema, err)
	}
	return []arrow.RecordBatch{rec}
}
