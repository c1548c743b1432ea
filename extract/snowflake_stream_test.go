package extract

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/hoist-dev/hoist/connector"
	"github.com/hoist-dev/hoist/extract/snowflaketest"
	"github.com/hoist-dev/hoist/internal/cursor"
	"github.com/hoist-dev/hoist/sync/spec"
)

// chunkGets counts downloads per chunk index seen by the fake.
func chunkGets(fake *snowflaketest.Server) map[string]int {
	n := map[string]int{}
	for _, r := range fake.Requests() {
		if strings.HasPrefix(r.Path, "/chunks/") {
			n[r.Path[strings.LastIndex(r.Path, "/")+1:]]++
		}
	}
	return n
}

// TestIntegrationSnowflakeMillionRows streams a 1,000,000-row, 20-chunk
// result, checks every row arrives once and in order, and that live Arrow
// memory never exceeds what the chunks in flight need.
func TestIntegrationSnowflakeMillionRows(t *testing.T) {
	if testing.Short() {
		t.Skip("1M rows")
	}
	const rows, chunks, concurrency = 1_000_000, 20, 4
	fake := snowflaketest.New(snowflaketest.Options{ChunkRows: rows / chunks, Tables: []*snowflaketest.Table{snowflaketest.Customers(rows)}})
	t.Cleanup(fake.Close)
	conn := sfConn(fake)
	conn.Config.(*SnowflakeConfig).DownloadConcurrency = concurrency
	src := openSF(t, conn)

	checked := memory.NewCheckedAllocator(memory.NewGoAllocator())
	mem := &sfPeakAlloc{Allocator: checked}
	var heapPeak atomic.Uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() { // sample the Go heap while the read runs
		defer close(sampled)
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > heapPeak.Load() {
				heapPeak.Store(ms.HeapAlloc)
			}
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()

	rr, err := src.Read(context.Background(), Request{Sync: "big", Source: &spec.Source{Config: &connector.SQLSource{Table: "customers"}}, Alloc: mem})
	if err != nil {
		t.Fatal(err)
	}
	var n, bytesSeen int64
	var maxRecord int64
	for rr.Next() {
		rec := rr.RecordBatch()
		ids := rec.Column(0).(*array.Int64)
		emails := rec.Column(1).(*array.String)
		for i := 0; i < ids.Len(); i++ {
			n++
			if ids.Value(i) != n {
				t.Fatalf("row %d has id %d: out of order", n, ids.Value(i))
			}
		}
		if want := snowflaketest.CustomerAt(n).Email; emails.Value(emails.Len()-1) != want {
			t.Fatalf("row %d email %q, want %q", n, emails.Value(emails.Len()-1), want)
		}
		maxRecord = max(maxRecord, rec.NumRows())
		for _, c := range rec.Columns() {
			for _, b := range c.Data().Buffers() {
				if b != nil {
					bytesSeen += int64(b.Len())
				}
			}
		}
	}
	if err := rr.Err(); err != nil {
		t.Fatal(err)
	}
	rr.Release()
	close(stop)
	<-sampled
	checked.AssertSize(t, 0)

	if n != rows {
		t.Fatalf("read %d rows, want %d", n, rows)
	}
	if maxRecord > DefaultBatchRows {
		t.Errorf("a record has %d rows, more than the requested %d", maxRecord, DefaultBatchRows)
	}
	if got := len(chunkGets(fake)); got != chunks {
		t.Errorf("fake served %d chunks, want %d", got, chunks)
	}
	// Each chunk is ~1/20 of the data; it exists twice at most (driver
	// record and hoist's cast), plus the one record being consumed. The
	// whole result (bytesSeen counts shared buffers once per slice, so it
	// overstates; the data itself is ~80 MB) must never be resident.
	peak := mem.peak.Load()
	perChunk := bytesSeen / chunks
	bound := int64(concurrency+2) * 2 * perChunk
	t.Logf("rows=%d peak arrow=%.1f MB (bound %.1f MB, chunk≈%.1f MB) peak heap=%.1f MB",
		n, mb(peak), mb(bound), mb(perChunk), mb(int64(heapPeak.Load())))
	if peak > bound {
		t.Errorf("peak live arrow memory %.1f MB exceeds %d in-flight chunks (%.1f MB)", mb(peak), concurrency+2, mb(bound))
	}
	if peak > bytesSeen/3 {
		t.Errorf("peak live arrow memory %.1f MB is not bounded: the result is %.1f MB", mb(peak), mb(bytesSeen))
	}
}

func mb(n int64) float64 { return float64(n) / (1 << 20) }

// TestIntegrationSnowflakeChunkRetry: chunk downloads that fail are
// retried (by hoist for a 403, by the driver for a 503) and the result is
// complete; a chunk cut short mid-stream fails the read rather than
// returning fewer rows.
func TestIntegrationSnowflakeChunkRetry(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		failure  snowflaketest.Failure
		wantErr  string
		wantGets int
	}{
		{name: "403 retried by hoist", failure: snowflaketest.Failure{Status: 403}, wantGets: 2},
		{name: "503 retried by driver", failure: snowflaketest.Failure{Status: 503}, wantGets: 2},
		{name: "truncated body fails", failure: snowflaketest.Failure{}, wantErr: "download result batch 2: running download helper: decoding Arrow batch", wantGets: 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			const rows = 30_000
			fake := snowflaketest.New(snowflaketest.Options{
				InlineRows: 1000, ChunkRows: 10_000,
				FailChunkOnce: map[int]snowflaketest.Failure{1: tc.failure},
				Tables:        []*snowflaketest.Table{snowflaketest.Customers(rows)},
			})
			t.Cleanup(fake.Close)
			mem := sfCheckedAlloc(t)
			src := openSF(t, sfConn(fake))
			schema, recs, err := sfReadAll(t, src, Request{Source: &spec.Source{Config: &connector.SQLSource{Table: "customers"}}, Alloc: mem})
			defer sfRelease(recs)
			if got := chunkGets(fake)["1"]; got != tc.wantGets {
				t.Errorf("chunk 1 downloaded %d times, want %d", got, tc.wantGets)
			}
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			ids := sfColumnOf(t, schema, recs, "id")
			defer ids.Release()
			if ids.Len() != rows {
				t.Fatalf("got %d rows, want %d", ids.Len(), rows)
			}
			for i := 0; i < rows; i++ {
				if ids.(*array.Int64).Value(i) != int64(i+1) {
					t.Fatalf("row %d id %d", i, ids.(*array.Int64).Value(i))
				}
			}
		})
	}
}

// TestIntegrationSnowflakeCursorPushdown: with a cursor the query is
// wrapped in WHERE "COL" > ? ORDER BY "COL" and the last cursor is bound as
// a parameter, never spliced into the SQL text.
func TestIntegrationSnowflakeCursorPushdown(t *testing.T) {
	t.Parallel()
	fake := snowflaketest.New(snowflaketest.Options{ChunkRows: 3, Tables: []*snowflaketest.Table{snowflaketest.Customers(10)}})
	t.Cleanup(fake.Close)
	src := openSF(t, sfConn(fake))
	after7 := snowflaketest.CustomerAt(7).UpdatedAt
	cases := []struct {
		name     string
		source   spec.Source
		after    *cursor.Cursor
		wantIDs  []int64
		wantSQL  string
		wantBind map[string]any
	}{
		{
			name:     "timestamp cursor",
			source:   spec.Source{Cursor: "updated_at", Config: &connector.SQLSource{Query: "select * from customers;"}},
			after:    &cursor.Cursor{Kind: cursor.Timestamp, Value: after7.Format(time.RFC3339Nano)},
			wantIDs:  []int64{8, 9, 10},
			wantSQL:  `SELECT * FROM (select * from customers) WHERE "UPDATED_AT" > ? ORDER BY "UPDATED_AT"`,
			wantBind: map[string]any{"type": "TIMESTAMP_NTZ", "value": fmt.Sprint(after7.UnixNano())},
		},
		{
			name:     "int cursor",
			source:   spec.Source{Cursor: "ID", Config: &connector.SQLSource{Table: "CUSTOMERS"}},
			after:    &cursor.Cursor{Kind: cursor.Int, Value: "4"},
			wantIDs:  []int64{5, 6, 7, 8, 9, 10},
			wantSQL:  `SELECT * FROM (SELECT * FROM CUSTOMERS) WHERE "ID" > ? ORDER BY "ID"`,
			wantBind: map[string]any{"type": "FIXED", "value": "4"},
		},
		{
			name:     "cursor past the end: empty result, schema kept",
			source:   spec.Source{Cursor: "id", Config: &connector.SQLSource{Table: "customers"}},
			after:    &cursor.Cursor{Kind: cursor.Int, Value: "10"},
			wantIDs:  []int64{},
			wantSQL:  `SELECT * FROM (SELECT * FROM customers) WHERE "ID" > ? ORDER BY "ID"`,
			wantBind: map[string]any{"type": "FIXED", "value": "10"},
		},
		{
			name:    "no cursor yet",
			source:  spec.Source{Cursor: "id", Config: &connector.SQLSource{Table: "customers"}},
			wantIDs: []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10},
			wantSQL: `SELECT * FROM customers`,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			mem := sfCheckedAlloc(t)
			before := len(fake.Requests())
			schema, recs, err := sfReadAll(t, src, Request{Source: &tc.source, After: tc.after, Alloc: mem})
			defer sfRelease(recs)
			if err != nil {
				t.Fatal(err)
			}
			if f, ok := schema.FieldsByName("id"); !ok || f[0].Type.ID() != arrow.INT64 {
				t.Fatalf("schema %v has no int64 id", schema)
			}
			got := []int64{}
			for _, r := range recs {
				got = append(got, r.Column(0).(*array.Int64).Int64Values()...)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.wantIDs) {
				t.Errorf("ids %v, want %v", got, tc.wantIDs)
			}
			var q struct {
				SQLText  string                    `json:"sqlText"`
				Bindings map[string]map[string]any `json:"bindings"`
			}
			for _, r := range fake.Requests()[before:] {
				if r.Path == "/queries/v1/query-request" {
					if err := json.Unmarshal(r.Body, &q); err != nil {
						t.Fatal(err)
					}
				}
			}
			if q.SQLText != tc.wantSQL {
				t.Errorf("sql %q, want %q", q.SQLText, tc.wantSQL)
			}
			if tc.wantBind == nil {
				if len(q.Bindings) != 0 {
					t.Errorf("bindings %v, want none", q.Bindings)
				}
				return
			}
			if fmt.Sprint(q.Bindings["1"]) != fmt.Sprint(tc.wantBind) {
				t.Errorf("binding 1 = %v, want %v", q.Bindings["1"], tc.wantBind)
			}
		})
	}
}

// TestIntegrationSnowflakeCancel: cancelling the context stops the read
// (reported through Err), and every buffer is released.
func TestIntegrationSnowflakeCancel(t *testing.T) {
	t.Parallel()
	fake := snowflaketest.New(snowflaketest.Options{ChunkRows: 5000, ChunkLatency: 20 * time.Millisecond, Tables: []*snowflaketest.Table{snowflaketest.Customers(100_000)}})
	t.Cleanup(fake.Close)
	mem := sfCheckedAlloc(t)
	src := openSF(t, sfConn(fake))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rr, err := src.Read(ctx, Request{Source: &spec.Source{Config: &connector.SQLSource{Table: "customers"}}, Alloc: mem})
	if err != nil {
		t.Fatal(err)
	}
	var n int
	for rr.Next() {
		if n++; n == 3 {
			cancel()
		}
	}
	if !errors.Is(rr.Err(), context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", rr.Err())
	}
	rr.Release()
	// Releasing early without draining must also free everything.
	rr2, err := src.Read(context.Background(), Request{Source: &spec.Source{Config: &connector.SQLSource{Table: "customers"}}, Alloc: mem})
	if err != nil {
		t.Fatal(err)
	}
	if !rr2.Next() {
		t.Fatal(rr2.Err())
	}
	rr2.Release()
}

// TestIntegrationSnowflakeDownloadConcurrency: download_concurrency bounds
// the chunk downloads in flight, and records keep result order even when
// later chunks arrive first.
func TestIntegrationSnowflakeDownloadConcurrency(t *testing.T) {
	t.Parallel()
	const chunks, chunkRows = 8, 500
	for _, conc := range []int{1, 2, 4} {
		t.Run(fmt.Sprint(conc), func(t *testing.T) {
			t.Parallel()
			fake := snowflaketest.New(snowflaketest.Options{
				ChunkRows: chunkRows,
				// Later chunks answer sooner, so they finish first.
				ChunkLatencyFor: func(idx int) time.Duration { return time.Duration(chunks-idx) * 15 * time.Millisecond },
				Tables:          []*snowflaketest.Table{snowflaketest.Customers(chunks * chunkRows)},
			})
			t.Cleanup(fake.Close)
			conn := sfConn(fake)
			conn.Config.(*SnowflakeConfig).DownloadConcurrency = conc
			mem := sfCheckedAlloc(t)
			src := openSF(t, conn)
			schema, recs, err := sfReadAll(t, src, Request{Source: &spec.Source{Config: &connector.SQLSource{Table: "customers"}}, Alloc: mem})
			defer sfRelease(recs)
			if err != nil {
				t.Fatal(err)
			}
			ids := sfColumnOf(t, schema, recs, "id")
			defer ids.Release()
			for i := 0; i < chunks*chunkRows; i++ {
				if got := ids.(*array.Int64).Value(i); got != int64(i+1) {
					t.Fatalf("row %d has id %d: out of order", i, got)
				}
			}
			if got := fake.PeakChunkDownloads(); got != conc {
				t.Errorf("peak chunk downloads in flight = %d, want %d", got, conc)
			}
		})
	}
}
