package extract

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/hoist-dev/hoist/internal/cursor"
	"github.com/hoist-dev/hoist/internal/httpkit"
	"github.com/hoist-dev/hoist/load/crmtest"
	"github.com/hoist-dev/hoist/sync/spec"
)

const httpSrcToken = "src_secret_0a1b2c3d4e5f"

var httpEpoch = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

// httpSeed stores n contacts; contact i was updated i minutes after httpEpoch.
func httpSeed(srv *crmtest.Server, n int) {
	for i := 1; i <= n; i++ {
		srv.Put(map[string]any{
			"id": i, "email": fmt.Sprintf("u%d@x.io", i), "score": float64(i) + 0.5, "active": i%2 == 0,
			"updated_at": httpEpoch.Add(time.Duration(i) * time.Minute).Format(time.RFC3339),
			"properties": map[string]any{"plan": []string{"free", "pro"}[i%2]},
		})
	}
}

func httpConn(name, url, token string) *spec.Connection {
	retries := 8
	return &spec.Connection{
		Name: name,
		Type: httpkit.Type,
		Config: &httpkit.Config{
			BaseURL:    url,
			MaxRetries: &retries,
			Headers:    map[string]spec.Secret{"Authorization": spec.Secret("Bearer " + token)},
			RateLimit:  &httpkit.RateLimit{RequestsPerSecond: 2000, Burst: 100},
			Timeout:    spec.Duration(5 * time.Second),
		},
	}
}

// httpReadAll drains a reader into ids (column "id") and the record sizes.
func httpReadAll(t *testing.T, rr array.RecordReader) (ids []int64, sizes []int) {
	t.Helper()
	defer rr.Release()
	for rr.Next() {
		rec := rr.RecordBatch()
		sizes = append(sizes, int(rec.NumRows()))
		col := rec.Column(rec.Schema().FieldIndices("id")[0]).(*array.Int64)
		for i := 0; i < col.Len(); i++ {
			ids = append(ids, col.Value(i))
		}
	}
	if err := rr.Err(); err != nil {
		t.Fatalf("reader: %v", err)
	}
	return ids, sizes
}

func intp(n int) *int { return &n }

// TestHTTPSourcePagination reads 237 records in pages of 50 in every
// pagination style, through 10% injected 5xx, into records of 100 rows.
func TestHTTPSourcePagination(t *testing.T) {
	t.Parallel()
	cols := []*HTTPColumn{{Name: "id", Type: "int64"}, {Name: "email", Type: "string"}, {Name: "properties.plan", Type: "string"}, {Name: "updated_at", Type: "timestamp"}}
	tests := []struct {
		name     string
		endpoint string
		records  string
		pg       *HTTPPagination
		wantReqs int64 // pages requested, 5xx retries aside
	}{
		{"page", "/contacts", "data", &HTTPPagination{Type: "page", SizeParam: "per_page", PageSize: 50}, 5},
		{"page with explicit param and start_at", "/contacts?sort=id", "data", &HTTPPagination{Type: "page", Param: "page", SizeParam: "per_page", PageSize: 50, StartAt: intp(1)}, 5},
		{"offset", "/contacts", "data", &HTTPPagination{Type: "offset", SizeParam: "limit", PageSize: 50}, 5},
		{"cursor", "/contacts", "data", &HTTPPagination{Type: "cursor", SizeParam: "limit", PageSize: 50, NextPath: "meta.next_cursor"}, 5},
		{"link", "/contacts?limit=50", "data", &HTTPPagination{Type: "link"}, 5},
		{"page size unknown ends on an empty page", "/contacts?per_page=50", "data", &HTTPPagination{Type: "page"}, 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := crmtest.New(crmtest.Config{Seed: 3, Token: httpSrcToken, ErrorRate: 0.10})
			defer srv.Close()
			httpSeed(srv, 237)
			alloc := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer alloc.AssertSize(t, 0)
			src, err := Open(context.Background(), httpConn("src-"+tt.name, srv.URL, httpSrcToken), "")
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			rr, err := src.Read(context.Background(), Request{Sync: "s", Alloc: alloc, BatchRows: 100,
				Source: &spec.Source{Config: &HTTPSource{Endpoint: tt.endpoint, RecordsPath: tt.records, Pagination: tt.pg, Columns: cols}}})
			if err != nil {
				t.Fatal(err)
			}
			ids, sizes := httpReadAll(t, rr)
			if len(ids) != 237 {
				t.Fatalf("read %d records, want 237", len(ids))
			}
			for i, id := range ids {
				if id != int64(i+1) {
					t.Fatalf("record %d has id %d: pages overlap or skip", i, id)
				}
			}
			if fmt.Sprint(sizes) != "[100 100 37]" {
				t.Errorf("record sizes %v, want [100 100 37]", sizes)
			}
			st := srv.Stats()
			if pages := st.Requests - st.Injected5xx; pages != tt.wantReqs {
				t.Errorf("%d page requests, want %d", pages, tt.wantReqs)
			}
		})
	}
}

// TestHTTPSourceIncremental sends the committed cursor as cursor_param: the
// API returns only the newer records.
func TestHTTPSourceIncremental(t *testing.T) {
	t.Parallel()
	srv := crmtest.New(crmtest.Config{Token: httpSrcToken})
	defer srv.Close()
	httpSeed(srv, 120)
	alloc := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer alloc.AssertSize(t, 0)
	src, err := Open(context.Background(), httpConn("src-incr", srv.URL, httpSrcToken), "")
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	after := &cursor.Cursor{Kind: cursor.Timestamp, Value: httpEpoch.Add(100 * time.Minute).Format(time.RFC3339Nano)}
	rr, err := src.Read(context.Background(), Request{Alloc: alloc, After: after, Source: &spec.Source{
		Cursor: "updated_at",
		Config: &HTTPSource{
			Endpoint:    "/contacts",
			RecordsPath: "data",
			CursorParam: "updated_since",
			Params:      map[string]string{"sort": "updated_at"},
			Pagination:  &HTTPPagination{Type: "cursor", SizeParam: "limit", PageSize: 7, NextPath: "meta.next_cursor"},
		},
	}})
	if err != nil {
		t.Fatal(err)
	}
	ids, _ := httpReadAll(t, rr)
	if len(ids) != 20 || ids[0] != 101 || ids[19] != 120 {
		t.Errorf("incremental read ids %v, want 101..120", ids)
	}
}

// TestHTTPSourceInfersTypes: without declared columns, the first page
// decides names (in document order) and types.
func TestHTTPSourceInfersTypes(t *testing.T) {
	t.Parallel()
	srv := crmtest.New(crmtest.Config{})
	defer srv.Close()
	httpSeed(srv, 3)
	alloc := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer alloc.AssertSize(t, 0)
	src, err := Open(context.Background(), httpConn("src-infer", srv.URL, "x"), "")
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	rr, err := src.Read(context.Background(), Request{Alloc: alloc, Source: &spec.Source{Config: &HTTPSource{Endpoint: "/contacts", RecordsPath: "data"}}})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]arrow.DataType{
		"id": arrow.PrimitiveTypes.Int64, "email": arrow.BinaryTypes.String, "score": arrow.PrimitiveTypes.Float64,
		"active": arrow.FixedWidthTypes.Boolean, "updated_at": &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"},
		"properties": arrow.BinaryTypes.String,
	}
	for _, f := range rr.Schema().Fields() {
		if w, ok := want[f.Name]; !ok || !arrow.TypeEqual(w, f.Type) {
			t.Errorf("field %s: %s, want %v", f.Name, f.Type, w)
		}
		delete(want, f.Name)
	}
	if len(want) > 0 {
		t.Errorf("fields missing: %v", want)
	}
	if !rr.Next() {
		t.Fatalf("no record: %v", rr.Err())
	}
	rec := rr.RecordBatch()
	props := rec.Column(rec.Schema().FieldIndices("properties")[0]).(*array.String).Value(0)
	if props != `{"plan":"pro"}` {
		t.Errorf("json column = %s", props)
	}
	rr.Release()
}

// TestHTTPSourceErrorsCarryNoSecret: a refused token fails Read with the
// status, and neither the error nor an echoed header leaks the token.
func TestHTTPSourceErrorsCarryNoSecret(t *testing.T) {
	t.Parallel()
	srv := crmtest.New(crmtest.Config{Token: "right-token-123", EchoAuth: true})
	defer srv.Close()
	src, err := Open(context.Background(), httpConn("src-auth", srv.URL, httpSrcToken), "")
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	_, err = src.Read(context.Background(), Request{Source: &spec.Source{Config: &HTTPSource{Endpoint: "/contacts", RecordsPath: "data"}}})
	if err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("err = %v, want a 401", err)
	}
	if strings.Contains(err.Error(), httpSrcToken) || !strings.Contains(err.Error(), "****") {
		t.Errorf("error leaks the token or shows no scrubbed echo: %v", err)
	}
}

// TestHTTPSourceStopsOnCancel: a cancelled ctx ends the reader with ctx.Err.
func TestHTTPSourceStopsOnCancel(t *testing.T) {
	t.Parallel()
	srv := crmtest.New(crmtest.Config{})
	defer srv.Close()
	httpSeed(srv, 100)
	alloc := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer alloc.AssertSize(t, 0)
	src, _ := Open(context.Background(), httpConn("src-cancel", srv.URL, "x"), "")
	defer src.Close()
	ctx, cancel := context.WithCancel(context.Background())
	rr, err := src.Read(ctx, Request{Alloc: alloc, BatchRows: 10, Source: &spec.Source{
		Config: &HTTPSource{
			Endpoint:    "/contacts",
			RecordsPath: "data",
			Pagination:  &HTTPPagination{Type: "page", SizeParam: "per_page", PageSize: 10},
		},
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Release()
	if !rr.Next() {
		t.Fatal(rr.Err())
	}
	cancel()
	if rr.Next() || rr.Err() != context.Canceled {
		t.Errorf("after cancel: Err = %v, want context.Canceled", rr.Err())
	}
}
