package extract

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/hoist-dev/hoist/sync/spec"
)

// loopAPI answers GET /items with page(query) as {"data": [...], "next": …}
// and an optional Link header, counting requests.
func loopAPI(t *testing.T, page func(q map[string]string) (ids []int, next, link string)) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) > 1000 {
			http.Error(w, "test API: too many requests, the reader loops", http.StatusTeapot)
			return
		}
		q := map[string]string{"path": r.URL.Path}
		for k := range r.URL.Query() {
			q[k] = r.URL.Query().Get(k)
		}
		ids, next, link := page(q)
		recs := make([]map[string]any, len(ids))
		for i, id := range ids {
			recs[i] = map[string]any{"id": id}
		}
		if link != "" {
			w.Header().Set("Link", "<"+link+`>; rel="next"`)
		}
		body := map[string]any{"data": recs}
		if next != "" {
			body["next"] = next
		}
		_ = json.NewEncoder(w).Encode(body)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func span(from, n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = from + i
	}
	return out
}

// TestHTTPSourcePaginationLoops: an API that ignores the page parameter or
// walks a cycle fails the read after a few requests, naming what repeats,
// instead of paging on forever; max_pages caps an endless API.
func TestHTTPSourcePaginationLoops(t *testing.T) {
	t.Parallel()
	num := func(q map[string]string, k string) int { n, _ := strconv.Atoi(q[k]); return n }
	tests := []struct {
		name     string
		pg       *HTTPPagination
		page     func(q map[string]string) ([]int, string, string)
		wantErr  string
		wantReqs int64
	}{
		{"page parameter ignored", &HTTPPagination{Type: "page", SizeParam: "limit", PageSize: 3},
			func(map[string]string) ([]int, string, string) { return span(1, 3), "", "" },
			"the same 3 records as page 1: the API ignores the page parameter", 2},
		{"offset parameter ignored", &HTTPPagination{Type: "offset", Param: "skip"},
			func(map[string]string) ([]int, string, string) { return span(1, 3), "", "" },
			"the same 3 records as page 1: the API ignores the skip parameter", 2},
		{"page cycle A B A", &HTTPPagination{Type: "page"},
			func(q map[string]string) ([]int, string, string) { return span(1+3*((num(q, "page")+1)%2), 3), "", "" },
			"page 3: the same 3 records as page 1", 3},
		{"cursor cycle A B A", &HTTPPagination{Type: "cursor", NextPath: "next"},
			func(q map[string]string) ([]int, string, string) {
				switch q["cursor"] {
				case "":
					return span(1, 2), "A", ""
				case "A":
					return span(3, 2), "B", ""
				}
				return span(5, 2), "A", ""
			},
			"page 3: the next cursor (next) is the one page 1 gave: the API's pages form a cycle", 3},
		{"cursor cycle back to the first records", &HTTPPagination{Type: "cursor", NextPath: "next"},
			func(q map[string]string) ([]int, string, string) {
				if q["cursor"] == "B" {
					return span(3, 2), "C", ""
				}
				return span(1, 2), "B", "" // "" and "C" give page 1 again
			},
			"page 3: the same 2 records as page 1", 3},
		{"link cycle", &HTTPPagination{Type: "link"},
			func(q map[string]string) ([]int, string, string) {
				if q["path"] == "/items" {
					return span(1, 2), "", "/b"
				}
				if q["path"] == "/b" {
					return span(3, 2), "", "/c"
				}
				return span(5, 2), "", "/b"
			},
			"page 3: the Link rel=next URL is the one page 1 gave", 3},
		{"endless API stops at max_pages", &HTTPPagination{Type: "page", MaxPages: 7},
			func(q map[string]string) ([]int, string, string) { return span(num(q, "page")*10, 2), "", "" },
			"read 7 pages and the API still has a next one: more than pagination.max_pages 7", 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, reqs := loopAPI(t, tt.page)
			alloc := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer alloc.AssertSize(t, 0)
			src, err := Open(context.Background(), httpConn("loop", srv.URL, "x"), "")
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			rr, err := src.Read(context.Background(), Request{Sync: "s", Alloc: alloc, BatchRows: 1000,
				Source: &spec.Source{Config: &HTTPSource{Endpoint: "/items", RecordsPath: "data", Pagination: tt.pg}}})
			if err != nil {
				t.Fatal(err)
			}
			defer rr.Release()
			rows := 0
			for rr.Next() {
				rows += int(rr.RecordBatch().NumRows())
			}
			if err := rr.Err(); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("after %d rows: err = %v, want %q", rows, err, tt.wantErr)
			}
			if got := reqs.Load(); got != tt.wantReqs {
				t.Errorf("%d requests, want %d", got, tt.wantReqs)
			}
		})
	}
}

// TestHTTPSourceMaxPagesAllowsExact: a source of exactly max_pages pages
// reads whole; the cap is on pages that would follow.
func TestHTTPSourceMaxPagesAllowsExact(t *testing.T) {
	t.Parallel()
	srv, _ := loopAPI(t, func(q map[string]string) ([]int, string, string) {
		n, _ := strconv.Atoi(q["page"])
		if n > 4 {
			return nil, "", ""
		}
		return span(n*10, 2), "", ""
	})
	src, err := Open(context.Background(), httpConn("exact", srv.URL, "x"), "")
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	rr, err := src.Read(context.Background(), Request{Sync: "s", Alloc: memory.NewGoAllocator(),
		Source: &spec.Source{Config: &HTTPSource{Endpoint: "/items", RecordsPath: "data", Pagination: &HTTPPagination{Type: "page", MaxPages: 5}}}})
	if err != nil {
		t.Fatal(err)
	}
	ids, _ := httpReadAll(t, rr)
	if fmt.Sprint(ids) != "[10 11 20 21 30 31 40 41]" {
		t.Errorf("ids %v", ids)
	}
}
