package load

import (
	"context"
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/hoist-dev/hoist/load/crmtest"
	"github.com/hoist-dev/hoist/sync/spec"
)

// TestHTTPUpdateNotHeld (issue 10, item 7): a per-row update answered 404
// is a row not held, not a delivered one; a rejected row stays rejected; a
// batched update cannot tell which rows found their key, so a 2xx delivers
// them all (as documented).
func TestHTTPUpdateNotHeld(t *testing.T) {
	t.Parallel()
	rows := httpContacts(10, 0)
	bad := rows[2]
	bad.email = "not-an-email" // held, and rejected by the fake (400)
	tests := []struct {
		name    string
		op      *HTTPOperation
		send    []httpContact
		notHeld []int
		failed  []int
	}{
		{"per row, some keys absent", &HTTPOperation{Method: "PATCH", Path: "/contacts/{{.Row.id}}"},
			[]httpContact{rows[8], rows[1], rows[6], rows[0]}, []int{0, 2}, nil},
		{"per row, every key held", &HTTPOperation{Method: "PATCH", Path: "/contacts/{{.Row.id}}"},
			[]httpContact{rows[2], rows[0]}, nil, nil},
		{"per row, a rejected row beside absent ones", &HTTPOperation{Method: "PATCH", Path: "/contacts/{{.Row.id}}"},
			[]httpContact{rows[5], bad, rows[1], rows[9]}, []int{0, 3}, []int{1}},
		{"batched: cannot know, all delivered", &HTTPOperation{Method: "POST", Path: "/contacts/batch", Batch: true},
			[]httpContact{rows[8], rows[1]}, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := crmtest.New(crmtest.Config{Token: httpTestToken})
			defer srv.Close()
			for _, c := range rows[:3] {
				srv.Put(c.stored())
			}
			alloc := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer alloc.AssertSize(t, 0)
			d, err := Open(context.Background(), httpCRMConn(t, srv, 5000, 100), "")
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			w, err := d.Open(context.Background(), Target{Sync: "s", Schema: httpContactSchema,
				Dest: &spec.Dest{Mode: spec.ModeUpdate, PrimaryKey: []string{"id"}, Config: &HTTPDest{Operations: map[string]*HTTPOperation{"update": tt.op}}}})
			if err != nil {
				t.Fatal(err)
			}
			rec := httpBuildRecord(alloc, tt.send)
			defer rec.Release()
			res, err := w.Write(context.Background(), Batch{Op: OpUpdate, Record: rec})
			if err != nil {
				t.Fatal(err)
			}
			var failed []int
			for _, f := range res.Failed {
				failed = append(failed, f.Row)
			}
			if !slices.Equal(failed, tt.failed) {
				t.Errorf("failed rows %v (%+v), want %v", failed, res.Failed, tt.failed)
			}
			if !slices.Equal(res.NotHeld, tt.notHeld) {
				t.Errorf("not held %v, want %v", res.NotHeld, tt.notHeld)
			}
		})
	}
}
