package load

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	stdsync "sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/hoist-dev/hoist/internal/httpkit"
	"github.com/hoist-dev/hoist/sync/spec"
)

// TestHTTPPathValues: values reach a per-row path as one segment each; "."
// and ".." are percent-encoded (raw they are dot segments: DELETE
// /contacts/.. addresses the collection), and a null or empty value rejects
// its row, naming the field, without a request.
func TestHTTPPathValues(t *testing.T) {
	t.Parallel()
	var mu stdsync.Mutex
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Method+" "+r.RequestURI)
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	tests := []struct {
		id, want, rejected string // want: the request line, or "" when rejected names a field
		nullID             bool
	}{
		{id: "..", want: "DELETE /v1/contacts/%2E%2E"},
		{id: ".", want: "DELETE /v1/contacts/%2E"},
		{id: "../admin", want: "DELETE /v1/contacts/..%2Fadmin"},
		{id: "a.b", want: "DELETE /v1/contacts/a.b"},
		{id: "x?y#z", want: "DELETE /v1/contacts/x%3Fy%23z"},
		{id: "", rejected: "field id is null or empty"},
		{nullID: true, rejected: "field id is null or empty"},
	}
	schema := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.BinaryTypes.String, Nullable: true}}, nil)
	b := array.NewRecordBuilder(memory.NewGoAllocator(), schema)
	defer b.Release()
	for _, tt := range tests {
		if tt.nullID {
			b.Field(0).AppendNull()
		} else {
			b.Field(0).(*array.StringBuilder).Append(tt.id)
		}
	}
	rec := b.NewRecordBatch()
	defer rec.Release()

	conn := &spec.Connection{Name: "paths", Type: httpkit.Type, Config: &httpkit.Config{BaseURL: srv.URL + "/v1"}}
	d, err := Open(context.Background(), conn, "")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	w, err := d.Open(context.Background(), Target{Sync: "s", Schema: schema, Dest: &spec.Dest{
		Mode: spec.ModeMirror,
		Config: &HTTPDest{
			Operations: map[string]*HTTPOperation{
				"upsert": {Path: "/contacts/batch", Batch: true},
				"delete": {Path: "/contacts/{{.Row.id}}"},
			},
		},
	}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := w.Write(context.Background(), Batch{Op: OpDelete, Record: rec})
	if err != nil {
		t.Fatal(err)
	}
	rejected := map[int]string{}
	for _, f := range res.Failed {
		rejected[f.Row] = f.Msg
	}
	sent := map[string]bool{}
	for _, g := range got {
		sent[g] = true
	}
	for i, tt := range tests {
		switch {
		case tt.rejected != "":
			if msg := rejected[i]; !strings.HasPrefix(msg, tt.rejected) {
				t.Errorf("row %d (id %q, null %v): rejected %q, want %q", i, tt.id, tt.nullID, msg, tt.rejected)
			}
		case !sent[tt.want]:
			t.Errorf("row %d (id %q): no request %q among %q", i, tt.id, tt.want, got)
		}
	}
	if len(got) != 5 {
		t.Errorf("%d requests %q, want 5 (none for the empty and null ids)", len(got), got)
	}
}
