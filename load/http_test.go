package load

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	stdsync "sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/hoist-dev/hoist/internal/httpkit"
	"github.com/hoist-dev/hoist/load/crmtest"
	"github.com/hoist-dev/hoist/sync/spec"
)

const httpTestToken = "tok_live_9f8e7d6c5b4a3921"

// httpContactSchema is a mapped schema as the pipeline hands it over: dotted
// names are nested by the http destination.
var httpContactSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "email", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "properties.full_name", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "properties.plan", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "score", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
}, nil)

type httpContact struct {
	id    int64
	email string
	name  string
	plan  string
	score float64
}

func httpContacts(n int, invalidEvery int) []httpContact {
	out := make([]httpContact, n)
	for i := range out {
		email := fmt.Sprintf("user%d@example.com", i)
		if invalidEvery > 0 && i%invalidEvery == invalidEvery-1 {
			email = fmt.Sprintf("user%d-at-example", i) // rejected by the fake
		}
		out[i] = httpContact{id: int64(i + 1), email: email, name: fmt.Sprintf("User <%d>", i), plan: []string{"free", "pro", "team"}[i%3], score: float64(i) / 4}
	}
	return out
}

func (c httpContact) valid() bool { return strings.Contains(c.email, "@") }

// stored is what the fake should hold for c.
func (c httpContact) stored() map[string]any {
	return map[string]any{"id": json.Number(strconv.FormatInt(c.id, 10)), "email": c.email,
		"properties": map[string]any{"full_name": c.name, "plan": c.plan},
		"score":      json.Number(strconv.FormatFloat(c.score, 'g', -1, 64))}
}

func httpBuildRecord(alloc memory.Allocator, rows []httpContact) arrow.RecordBatch {
	b := array.NewRecordBuilder(alloc, httpContactSchema)
	defer b.Release()
	for _, c := range rows {
		b.Field(0).(*array.Int64Builder).Append(c.id)
		b.Field(1).(*array.StringBuilder).Append(c.email)
		b.Field(2).(*array.StringBuilder).Append(c.name)
		b.Field(3).(*array.StringBuilder).Append(c.plan)
		b.Field(4).(*array.Float64Builder).Append(c.score)
	}
	return b.NewRecordBatch()
}

func httpCRMConn(t *testing.T, srv *crmtest.Server, rps float64, burst int) *spec.Connection {
	retries := 8
	return &spec.Connection{
		Name: "crm-" + t.Name(),
		Type: httpkit.Type,
		Config: &httpkit.Config{
			BaseURL:    srv.URL,
			Headers:    map[string]spec.Secret{"Authorization": spec.Secret("Bearer " + httpTestToken)},
			RateLimit:  &httpkit.RateLimit{RequestsPerSecond: rps, Burst: burst},
			Timeout:    spec.Duration(300 * time.Millisecond),
			MaxRetries: &retries,
		},
	}
}

var httpBatchUpsert = map[string]*HTTPOperation{
	"upsert": {Method: "POST", Path: "/contacts/batch", Batch: true},
}

// httpSyncLog is a concurrency-safe log buffer.
type httpSyncLog struct {
	mu  stdsync.Mutex
	buf bytes.Buffer
}

func (l *httpSyncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *httpSyncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// httpWriteAll sends rows in batches from `callers` goroutines, as the pipeline
// does, and returns the ids the writer rejected.
func httpWriteAll(t *testing.T, w Writer, alloc memory.Allocator, rows []httpContact, batch, callers int, op Op) (map[int64]RowError, error) {
	t.Helper()
	type job struct {
		seq  int
		rows []httpContact
	}
	jobs := make(chan job)
	var mu stdsync.Mutex
	failed := map[int64]RowError{}
	var firstErr error
	var wg stdsync.WaitGroup
	for g := 0; g < callers; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				rec := httpBuildRecord(alloc, j.rows)
				res, err := w.Write(context.Background(), Batch{Seq: j.seq, Op: op, Record: rec})
				rec.Release()
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				for _, f := range res.Failed {
					failed[j.rows[f.Row].id] = f
				}
				mu.Unlock()
			}
		}()
	}
	for seq, i := 0, 0; i < len(rows); seq, i = seq+1, i+batch {
		jobs <- job{seq, rows[i:min(i+batch, len(rows))]}
	}
	close(jobs)
	wg.Wait()
	return failed, firstErr
}

func httpOpenWriter(t *testing.T, conn *spec.Connection, dest *spec.Dest, logs *httpSyncLog) Writer {
	t.Helper()
	d, err := Open(context.Background(), conn, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	tg := Target{Sync: "contacts_to_crm", Dest: dest, Schema: httpContactSchema}
	if logs != nil {
		tg.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	w, err := d.(*httpDest).Open(context.Background(), tg)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func httpAssertRecords(t *testing.T, srv *crmtest.Server, want []httpContact) {
	t.Helper()
	got := srv.Records()
	n := 0
	for _, c := range want {
		if !c.valid() {
			if _, ok := got[strconv.FormatInt(c.id, 10)]; ok {
				t.Errorf("invalid httpContact %d was stored", c.id)
			}
			continue
		}
		n++
		g, ok := got[strconv.FormatInt(c.id, 10)]
		if !ok {
			t.Errorf("contact %d missing", c.id)
			continue
		}
		gj, _ := json.Marshal(g)
		wj, _ := json.Marshal(c.stored())
		if !bytes.Equal(gj, wj) {
			t.Errorf("contact %d = %s, want %s", c.id, gj, wj)
		}
	}
	if len(got) != n {
		t.Errorf("fake holds %d records, want %d", len(got), n)
	}
}

func httpAssertFailedAreInvalid(t *testing.T, rows []httpContact, failed map[int64]RowError) {
	t.Helper()
	for _, c := range rows {
		f, isFailed := failed[c.id]
		if isFailed == c.valid() {
			t.Errorf("contact %d (email %q): failed=%v", c.id, c.email, isFailed)
		}
		if isFailed && (f.Status != http.StatusBadRequest && f.Status != http.StatusMultiStatus || !strings.Contains(f.Msg, "invalid email")) {
			t.Errorf("contact %d: rejection %+v, want 400/207 invalid email", c.id, f)
		}
	}
}

// TestHTTPWriterUnderFaults is the acceptance test: 10% 5xx, 5%
// timeouts (the write applied, the answer never sent), bursts of 429, a
// connection reset per 1,000 requests, invalid rows; 8 concurrent callers.
// The fake must end with exactly the valid rows and the writer must reject
// exactly the invalid ones, with the echoed token scrubbed everywhere.
func TestHTTPWriterUnderFaults(t *testing.T) {
	t.Parallel()
	srv := crmtest.New(crmtest.Config{
		Seed: 7, Token: httpTestToken, EchoAuth: true,
		ErrorRate: 0.10, TimeoutRate: 0.05, Throttle429Every: 150, Throttle429Len: 4, ResetEvery: 1000,
		SlowRate: 0.02, SlowDelay: 20 * time.Millisecond,
	})
	defer srv.Close()
	alloc := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer alloc.AssertSize(t, 0)
	logs := &httpSyncLog{}
	w := httpOpenWriter(t, httpCRMConn(t, srv, 5000, 100), &spec.Dest{Mode: spec.ModeUpsert, PrimaryKey: []string{"id"}, Config: &HTTPDest{Operations: httpBatchUpsert}}, logs)

	rows := httpContacts(9000, 97)
	failed, err := httpWriteAll(t, w, alloc, rows, 10, 8, OpUpsert)
	if err != nil {
		t.Fatalf("Write: %v", err)
	}
	httpAssertRecords(t, srv, rows)
	httpAssertFailedAreInvalid(t, rows, failed)

	st := srv.Stats()
	t.Logf("fake stats: %+v", st)
	if st.Requests < 1000 || st.Resets < 1 || st.Timeouts == 0 || st.Injected5xx == 0 || st.Injected429 == 0 {
		t.Errorf("faults not exercised: %+v", st)
	}
	// The fake echoes the Authorization header in every 400: it must be
	// scrubbed from rejected rows and never reach the logs.
	echoed := false
	for id, f := range failed {
		if strings.Contains(f.Body+f.Msg, httpTestToken) {
			t.Fatalf("contact %d: token in rejected row: %+v", id, f)
		}
		echoed = echoed || strings.Contains(f.Body, `"authorization":"****"`)
	}
	if !echoed {
		t.Error("no rejected row body shows the scrubbed echo; the secret check proves nothing")
	}
	if l := logs.String(); strings.Contains(l, httpTestToken) || !strings.Contains(l, "http retry") {
		t.Errorf("logs hold the token or no retries: %.300s", l)
	}
}

// TestHTTPWriterRowErrorsFromBody reads per-row errors from a 207 body at
// errors_path: no splitting, one request per batch.
func TestHTTPWriterRowErrorsFromBody(t *testing.T) {
	t.Parallel()
	srv := crmtest.New(crmtest.Config{Token: httpTestToken, RowErrors: true})
	defer srv.Close()
	alloc := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer alloc.AssertSize(t, 0)
	ops := map[string]*HTTPOperation{"upsert": {Path: "/contacts/batch", Batch: true, ErrorsPath: "errors"}}
	w := httpOpenWriter(t, httpCRMConn(t, srv, 5000, 100), &spec.Dest{Mode: spec.ModeUpsert, PrimaryKey: []string{"id"}, Config: &HTTPDest{Operations: ops}}, nil)
	rows := httpContacts(500, 7)
	failed, err := httpWriteAll(t, w, alloc, rows, 50, 4, OpUpsert)
	if err != nil {
		t.Fatal(err)
	}
	httpAssertRecords(t, srv, rows)
	httpAssertFailedAreInvalid(t, rows, failed)
	if st := srv.Stats(); st.Requests != 10 {
		t.Errorf("%d requests for 10 batches, want 10 (no splitting)", st.Requests)
	}
}

// TestHTTPWriterSharedRateLimit runs two syncs' writers on one connection at
// once: together they must stay within the connection's limit plus burst
// in every second, as the fake counts it, and need no 429 to get there.
func TestHTTPWriterSharedRateLimit(t *testing.T) {
	t.Parallel()
	const rps, burst = 40, 5
	srv := crmtest.New(crmtest.Config{Token: httpTestToken, RateLimit: rps, Burst: burst})
	defer srv.Close()
	alloc := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer alloc.AssertSize(t, 0)
	conn := httpCRMConn(t, srv, rps, burst)
	perRow := map[string]*HTTPOperation{"upsert": {Path: "/contacts/{{.Row.id}}"}}
	rows := httpContacts(100, 0)
	start := time.Now()
	var wg stdsync.WaitGroup
	errs := make([]error, 2)
	for i := range 2 {
		w := httpOpenWriter(t, conn, &spec.Dest{Mode: spec.ModeUpsert, PrimaryKey: []string{"id"}, Config: &HTTPDest{Operations: perRow}}, nil)
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = httpWriteAll(t, w, alloc, rows[i*50:(i+1)*50], 10, 4, OpUpsert)
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	httpAssertRecords(t, srv, rows)
	st := srv.Stats()
	t.Logf("100 requests in %v, max %d per second, %d refused", elapsed, st.MaxPerSecond, st.RateLimited)
	if st.MaxPerSecond > rps+burst {
		t.Errorf("fake saw %d requests in one second, limit %d + burst %d", st.MaxPerSecond, rps, burst)
	}
	if min := time.Duration(float64(100-burst) / rps * float64(time.Second)); elapsed < min*9/10 {
		t.Errorf("100 requests took %v, a shared %d/s limiter needs about %v", elapsed, rps, min)
	}
}

// TestHTTPWriterPerRowOps covers per-row upsert with a path template
// (escaped ids), insert falling back to upsert, and per-row deletes where
// 404 counts as done.
func TestHTTPWriterPerRowOps(t *testing.T) {
	t.Parallel()
	srv := crmtest.New(crmtest.Config{Token: httpTestToken, KeyField: "external_id"})
	defer srv.Close()
	alloc := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer alloc.AssertSize(t, 0)
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "external_id", Type: arrow.BinaryTypes.String},
		{Name: "properties.full_name", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
	ops := map[string]*HTTPOperation{
		"upsert": {Path: "/contacts/{{.Row.external_id}}"},
		"delete": {Path: "/contacts/{{.Row.external_id}}"},
	}
	d, err := Open(context.Background(), httpCRMConn(t, srv, 5000, 100), "")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	w, err := d.Open(context.Background(), Target{Sync: "s", Dest: &spec.Dest{Mode: spec.ModeMirror, PrimaryKey: []string{"external_id"}, Config: &HTTPDest{Operations: ops}}, Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	build := func(s *arrow.Schema, cols ...[]string) arrow.RecordBatch {
		b := array.NewRecordBuilder(alloc, s)
		defer b.Release()
		for i := range cols[0] {
			for c := range cols {
				b.Field(c).(*array.StringBuilder).Append(cols[c][i])
			}
		}
		return b.NewRecordBatch()
	}
	ids := []string{"a/b", "c d", "e?f", "plain"}
	rec := build(schema, ids, []string{"Ann", "Bo", "Cy", "Di"})
	defer rec.Release()
	for _, op := range []Op{OpUpsert, OpInsert} {
		if res, err := w.Write(context.Background(), Batch{Op: op, Record: rec}); err != nil || len(res.Failed) > 0 {
			t.Fatalf("%s: %v %+v", op, err, res)
		}
	}
	got := srv.Records()
	for _, id := range ids {
		if r := got[id]; r == nil || r["properties"].(map[string]any)["full_name"] == nil {
			t.Errorf("record %q = %v, want it stored with nested properties", id, r)
		}
	}
	keySchema := arrow.NewSchema(schema.Fields()[:1], nil)
	del := build(keySchema, []string{"a/b", "missing"})
	defer del.Release()
	if res, err := w.Write(context.Background(), Batch{Op: OpDelete, Record: del}); err != nil || len(res.Failed) > 0 {
		t.Fatalf("delete: %v %+v", err, res)
	}
	if got := srv.Records(); len(got) != 3 || got["a/b"] != nil {
		t.Errorf("after delete: %v", got)
	}
	if _, err := w.Write(context.Background(), Batch{Op: OpUpdate, Record: rec}); err == nil {
		t.Error("update with no update operation succeeded")
	}
}

// TestHTTPWriterAuthFailure: a 401 fails the batch whole (no splitting into
// per-row rejections) and the error carries no secret.
func TestHTTPWriterAuthFailure(t *testing.T) {
	t.Parallel()
	srv := crmtest.New(crmtest.Config{Token: "another-token", EchoAuth: true})
	defer srv.Close()
	alloc := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer alloc.AssertSize(t, 0)
	w := httpOpenWriter(t, httpCRMConn(t, srv, 5000, 100), &spec.Dest{Mode: spec.ModeUpsert, PrimaryKey: []string{"id"}, Config: &HTTPDest{Operations: httpBatchUpsert}}, nil)
	_, err := httpWriteAll(t, w, alloc, httpContacts(20, 0), 20, 1, OpUpsert)
	if err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("err = %v, want a 401 batch failure", err)
	}
	if strings.Contains(err.Error(), httpTestToken) || !strings.Contains(err.Error(), "****") {
		t.Errorf("error leaks the token or shows no scrubbed echo: %v", err)
	}
	if st := srv.Stats(); st.Requests != 1 {
		t.Errorf("%d requests, want 1 (a 401 is neither retried nor split)", st.Requests)
	}
}

// TestIdempotencyKey: retries of one batch carry the same key, other
// batches another one.
func TestIdempotencyKey(t *testing.T) {
	t.Parallel()
	var mu stdsync.Mutex
	keys := map[string]int{}
	var calls int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		calls++
		keys[r.Header.Get("Idempotency-Key")]++
		if calls%2 == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	alloc := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer alloc.AssertSize(t, 0)
	conn := &spec.Connection{Name: "idem", Type: httpkit.Type, Config: &httpkit.Config{BaseURL: srv.URL}}
	w := httpOpenWriter(t, conn, &spec.Dest{Mode: spec.ModeUpsert, PrimaryKey: []string{"id"}, Config: &HTTPDest{Operations: httpBatchUpsert}}, nil)
	w.(*httpWriter).client = w.(*httpWriter).client.WithClock(&httpFakeClock{})
	if _, err := httpWriteAll(t, w, alloc, httpContacts(30, 0), 10, 1, OpUpsert); err != nil {
		t.Fatal(err)
	}
	if len(keys) != 3 {
		t.Fatalf("keys %v: want 3 distinct keys for 3 batches", keys)
	}
	for k, n := range keys {
		if len(k) != 32 || n != 2 {
			t.Errorf("key %q sent %d times, want a 32-hex key sent twice (attempt + retry)", k, n)
		}
	}
}

func TestRecordRowsNesting(t *testing.T) {
	t.Parallel()
	alloc := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer alloc.AssertSize(t, 0)
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "a.b.c", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "a.d", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
		{Name: "at", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true},
		{Name: "day", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
		{Name: "amount", Type: &arrow.Decimal128Type{Precision: 10, Scale: 2}, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(alloc, schema)
	defer b.Release()
	at := time.Date(2026, 11, 22, 9, 0, 0, 123456000, time.UTC)
	b.Field(0).(*array.Int64Builder).Append(1 << 60)
	b.Field(1).(*array.StringBuilder).Append("<x>&")
	b.Field(2).(*array.BooleanBuilder).AppendNull()
	b.Field(3).(*array.TimestampBuilder).Append(arrow.Timestamp(at.UnixMicro()))
	b.Field(4).(*array.Date32Builder).Append(arrow.Date32FromTime(at))
	b.Field(5).(*array.Decimal128Builder).Append(httpDecimal(12345))
	rec := b.NewRecordBatch()
	defer rec.Release()
	rows, err := recordRows(rec)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := marshalJSON(rows)
	want := `[{"a":{"b":{"c":"<x>&"},"d":null},"amount":123.45,"at":"2026-11-22T09:00:00.123456Z","day":"2026-11-22","id":1152921504606846976}]`
	if string(got) != want {
		t.Errorf("rows = %s\nwant   %s", got, want)
	}

	bad := arrow.NewSchema([]arrow.Field{{Name: "a", Type: arrow.BinaryTypes.String}, {Name: "a.b", Type: arrow.BinaryTypes.String}}, nil)
	bb := array.NewRecordBuilder(alloc, bad)
	defer bb.Release()
	bb.Field(0).(*array.StringBuilder).Append("x")
	bb.Field(1).(*array.StringBuilder).Append("y")
	brec := bb.NewRecordBatch()
	defer brec.Release()
	if _, err := recordRows(brec); err == nil || !strings.Contains(err.Error(), "both a value and an object") {
		t.Errorf("conflicting names: err = %v", err)
	}
}
