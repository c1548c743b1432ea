package load

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	stdsync "sync"
	"testing"
	"text/template"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/hoist-dev/hoist/connector"
	"github.com/hoist-dev/hoist/internal/httpkit"
	"github.com/hoist-dev/hoist/sync/spec"
)

func TestUsesRecordID(t *testing.T) {
	tests := []struct {
		text string
		want bool
	}{
		{"/people/{{.ID}}", true},
		{"/people/{{.Row.id}}", false},
		{`{{range .Records}}{{json .ID}}{{end}}`, true},
		{`{{range $i, $r := .Rows}}{{index $.IDs $i}}{{end}}`, true},
		{`{{if .Row.x}}{{$.ID}}{{end}}`, true},
		{`{{with .Row}}{{.name}}{{end}}`, false},
		{`{"ids": {{json .IDs}}}`, true},
		{`{{.Rows}}`, false},
	}
	for _, tc := range tests {
		tmpl := template.Must(template.New("").Funcs(tmplFuncs).Parse(tc.text))
		if got := usesRecordID(tmpl); got != tc.want {
			t.Errorf("usesRecordID(%q) = %v, want %v", tc.text, got, tc.want)
		}
	}
}

// recorder is an API that answers every request with the reply its
// handler gives, and records each request's method, path and body.
type recorder struct {
	mu     stdsync.Mutex
	seen   []string
	bodies []string
	reply  func(method, path string, body []byte) (int, string)
}

func (rc *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	rc.seen = append(rc.seen, r.Method+" "+r.URL.RequestURI())
	rc.bodies = append(rc.bodies, string(body))
	rc.mu.Unlock()
	status, out := rc.reply(r.Method, r.URL.Path, body)
	w.WriteHeader(status)
	io.WriteString(w, out)
}

func appWriter(t *testing.T, srv *httptest.Server, mode string, dest *HTTPDest, schema *arrow.Schema) Writer {
	t.Helper()
	retries := 1
	conn := &spec.Connection{Name: "app-" + t.Name(), Type: httpkit.Type, Config: &httpkit.Config{BaseURL: srv.URL, MaxRetries: &retries}}
	d, err := Open(context.Background(), conn, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	w, err := d.Open(context.Background(), Target{Sync: "s", Dest: &spec.Dest{Mode: mode, PrimaryKey: []string{"id"}, Config: dest}, Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

var appSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "props.plan", Type: arrow.BinaryTypes.String, Nullable: true},
}, nil)

func appRecord(t *testing.T, schema *arrow.Schema, rows ...[]any) arrow.RecordBatch {
	t.Helper()
	b := array.NewRecordBuilder(memory.NewGoAllocator(), schema)
	defer b.Release()
	for _, row := range rows {
		for c, v := range row {
			switch x := v.(type) {
			case nil:
				b.Field(c).AppendNull()
			case int:
				b.Field(c).(*array.Int64Builder).Append(int64(x))
			case string:
				b.Field(c).(*array.StringBuilder).Append(x)
			}
		}
	}
	rec := b.NewRecordBatch()
	t.Cleanup(rec.Release)
	return rec
}

// TestHTTPUnknownRecordID: a row whose record ID the state lacks is never
// sent to a guessed address: without operations.lookup it is rejected
// naming why, with one it is looked up, and a delete of a record the lookup
// does not find is done.
func TestHTTPUnknownRecordID(t *testing.T) {
	rc := &recorder{reply: func(method, path string, _ []byte) (int, string) {
		switch {
		case method == http.MethodGet && path == "/find/1":
			return 200, `{"results": [{"id": "r-1"}]}`
		case method == http.MethodGet:
			return 200, `{"results": []}`
		}
		return 204, ""
	}}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	ops := map[string]*HTTPOperation{
		"upsert": {Method: "PUT", Path: "/p/{{.Row.id}}", IDPath: "id"},
		"delete": {Method: "DELETE", Path: "/p/{{.ID}}"},
	}
	rec := appRecord(t, arrow.NewSchema(appSchema.Fields()[:1], nil), []any{1}, []any{2}, []any{3})
	w := appWriter(t, srv, spec.ModeMirror, &HTTPDest{Operations: ops}, appSchema)
	res, err := w.Write(context.Background(), Batch{Op: OpDelete, Record: rec, IDs: []string{"", "r-2", ""}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Failed) != 2 || res.Failed[0].Row != 0 || res.Failed[1].Row != 2 || !strings.Contains(res.Failed[0].Msg, "record ID is unknown") {
		t.Errorf("without lookup: %+v, want rows 0 and 2 rejected for an unknown ID", res.Failed)
	}
	if !slices.Equal(rc.seen, []string{"DELETE /p/r-2"}) {
		t.Errorf("requests %v, want only the delete of r-2", rc.seen)
	}

	rc.seen = nil
	ops["lookup"] = &HTTPOperation{Path: "/find/{{.Row.id}}", IDPath: "results.0.id"}
	w = appWriter(t, srv, spec.ModeMirror, &HTTPDest{Operations: ops}, appSchema)
	res, err = w.Write(context.Background(), Batch{Op: OpDelete, Record: rec, IDs: []string{"", "r-2", ""}})
	if err != nil || len(res.Failed) != 0 {
		t.Fatalf("with lookup: %v %+v", err, res)
	}
	slices.Sort(rc.seen)
	if want := []string{"DELETE /p/r-1", "DELETE /p/r-2", "GET /find/1", "GET /find/3"}; !slices.Equal(rc.seen, want) {
		t.Errorf("requests %v, want %v (key 3 is not found: nothing to delete)", rc.seen, want)
	}
	if res.IDs == nil || res.IDs[0] != "r-1" {
		t.Errorf("learnt IDs %v, want r-1 for row 0", res.IDs)
	}
}

// TestHTTPErrorsByIdentity: a 207 whose errors name their records by key
// (in no order) rejects exactly those rows; one naming no row of the
// request rejects the rows not otherwise accounted for; results give IDs
// by key, whatever their order.
func TestHTTPErrorsByIdentity(t *testing.T) {
	var reply string
	rc := &recorder{reply: func(string, string, []byte) (int, string) { return 207, reply }}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	ops := map[string]*HTTPOperation{
		"upsert": {Path: "/batch", Batch: true,
			Errors:  &HTTPErrors{Path: "errors", Keys: "context.ids"},
			Results: &HTTPResults{Path: "results", Key: "properties.id"}},
	}
	w := appWriter(t, srv, spec.ModeUpsert, &HTTPDest{Operations: ops}, appSchema)
	rec := appRecord(t, appSchema, []any{10, "a", nil}, []any{11, "b", nil}, []any{12, "c", nil}, []any{13, "d", nil})
	reply = `{"status": "COMPLETE", "results": [{"id": "r13", "properties": {"id": "13"}}, {"id": "r10", "properties": {"id": "10"}}],
		"errors": [{"status": "error", "message": "bad email", "context": {"ids": ["12", "11"]}}]}`
	res, err := w.Write(context.Background(), Batch{Op: OpUpsert, Record: rec})
	if err != nil {
		t.Fatal(err)
	}
	var rows []int
	for _, f := range res.Failed {
		rows = append(rows, f.Row)
		if f.Msg != "bad email" || f.Status != 207 {
			t.Errorf("row %d: %q status %d", f.Row, f.Msg, f.Status)
		}
	}
	if !slices.Equal(rows, []int{1, 2}) {
		t.Errorf("rejected rows %v, want [1 2] (keys 11 and 12)", rows)
	}
	if !slices.Equal(res.IDs, []string{"r10", "", "", "r13"}) {
		t.Errorf("IDs %v, want r10 and r13 by key", res.IDs)
	}

	reply = `{"results": [{"id": "r10", "properties": {"id": "10"}}], "errors": [{"message": "internal", "context": {}}, {"message": "bad", "context": {"ids": ["11"]}}]}`
	res, err = w.Write(context.Background(), Batch{Op: OpUpsert, Record: rec})
	if err != nil {
		t.Fatal(err)
	}
	rows = rows[:0]
	for _, f := range res.Failed {
		rows = append(rows, f.Row)
	}
	if !slices.Equal(rows, []int{0, 1, 2, 3}) || !strings.Contains(res.Failed[0].Msg, "naming no row") {
		t.Errorf("an error naming no row: rejected %v (%+v), want every row not named otherwise", rows, res.Failed)
	}
}

// TestHTTPPatchAndNulls: patch: changed sends a changed row's changed
// fields and its key, a new row whole; nulls: skip leaves a NULL out,
// clear sends "", send sends null; on_delete: clear sends the key with the
// other mapped fields emptied, ignore sends nothing.
func TestHTTPPatchAndNulls(t *testing.T) {
	rc := &recorder{reply: func(string, string, []byte) (int, string) { return 200, "" }}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	rec := appRecord(t, appSchema, []any{1, "Ann", nil}, []any{2, nil, "pro"})
	tests := []struct {
		name  string
		app   connector.AppDest
		op    Op
		rec   arrow.RecordBatch
		batch func(b *Batch)
		want  []string
	}{
		{"patch changed", connector.AppDest{Patch: "changed"}, OpUpdate, rec,
			func(b *Batch) { b.Changed = [][]int{{1}, nil} },
			[]string{`{"id":1,"name":"Ann"}`, `{"id":2,"name":null,"props":{"plan":"pro"}}`}},
		{"nulls skip", connector.AppDest{Nulls: "skip"}, OpUpdate, rec, nil,
			[]string{`{"id":1,"name":"Ann"}`, `{"id":2,"props":{"plan":"pro"}}`}},
		{"nulls clear with patch", connector.AppDest{Patch: "changed", Nulls: "clear"}, OpUpdate, rec,
			func(b *Batch) { b.Changed = [][]int{{2}, {1}} },
			[]string{`{"id":1,"props":{"plan":""}}`, `{"id":2,"name":""}`}},
		{"nulls send", connector.AppDest{}, OpUpdate, rec, nil,
			[]string{`{"id":1,"name":"Ann","props":{"plan":null}}`, `{"id":2,"name":null,"props":{"plan":"pro"}}`}},
		{"on_delete clear", connector.AppDest{OnDelete: "clear", Nulls: "clear"}, OpDelete,
			appRecord(t, arrow.NewSchema(appSchema.Fields()[:1], nil), []any{1}), nil,
			[]string{`{"id":1,"name":"","props":{"plan":""}}`}},
		{"on_delete ignore", connector.AppDest{OnDelete: "ignore"}, OpDelete,
			appRecord(t, arrow.NewSchema(appSchema.Fields()[:1], nil), []any{1}), nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rc.mu.Lock()
			rc.bodies = nil
			rc.mu.Unlock()
			ops := map[string]*HTTPOperation{
				"upsert": {Path: "/p/{{.Row.id}}"}, "update": {Method: "PATCH", Path: "/p/{{.Row.id}}"}, "delete": {Path: "/p/{{.Row.id}}"},
			}
			w := appWriter(t, srv, spec.ModeMirror, &HTTPDest{Operations: ops, AppDest: tc.app}, appSchema)
			b := Batch{Op: tc.op, Record: tc.rec}
			if tc.batch != nil {
				tc.batch(&b)
			}
			if res, err := w.Write(context.Background(), b); err != nil || len(res.Failed) > 0 {
				t.Fatalf("%v %+v", err, res)
			}
			rc.mu.Lock()
			got := slices.Clone(rc.bodies)
			rc.mu.Unlock()
			slices.Sort(got)
			for i := range got {
				var v any
				json.Unmarshal([]byte(got[i]), &v)
				b, _ := json.Marshal(v)
				got[i] = string(b)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("bodies\n got %v\nwant %v", got, tc.want)
			}
		})
	}
}
