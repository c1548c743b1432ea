package extract

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/hoist-dev/hoist/connector"
	"github.com/hoist-dev/hoist/internal/httpkit"
	"github.com/hoist-dev/hoist/sync/spec"
)

// The http source reads a paginated JSON API: GET endpoint (relative to the
// connection's base_url) with the source's params, the records array at
// records_path (dotted; empty when the body is the array), page after page
// as pagination says (see pager), through the connection's shared rate
// limiter and the same retry rules as the http destination.
//
// Columns are the declared columns (dotted names reach into nested objects)
// or, without them, the top-level fields of the first page with inferred
// types (a later page with other fields fails the read: see lateFields); an
// API with no records and no declared columns yields an empty schema, which
// an incremental run takes as nothing new. With cursor_param, an incremental run sends the last committed
// cursor value as that query parameter; the pipeline filters again, so an
// API that ignores it only costs transfer.

func init() {
	Register(httpkit.Type, func() connector.SourceConfig { return &HTTPSource{} }, openHTTP)
}

type httpSource struct {
	name   string
	client *httpkit.Client
}

var _ Source = (*httpSource)(nil)

func openHTTP(_ context.Context, conn *spec.Connection, _ string) (Source, error) {
	cfg, err := connector.As[*httpkit.Config](conn.Config)
	if err != nil {
		return nil, err
	}
	c, err := httpkit.NewClient(conn.Name, cfg)
	if err != nil {
		return nil, err
	}
	return &httpSource{name: conn.Name, client: c}, nil
}

func (s *httpSource) Close() error {
	s.client.Close()
	return nil
}

func (s *httpSource) Read(ctx context.Context, req Request) (array.RecordReader, error) {
	if req.Source == nil {
		return nil, fmt.Errorf("http source %s: no source block", s.name)
	}
	src, err := connector.As[*HTTPSource](req.Source.Config)
	if err != nil {
		return nil, fmt.Errorf("http source %s: %w", s.name, err)
	}
	client := s.client.WithLogger(req.Log())
	p, err := newPager(client, src, req.After)
	if err != nil {
		return nil, fmt.Errorf("http source %s: %w", s.name, err)
	}
	r := &httpReader{ctx: ctx, pager: p, req: req}
	r.refs.Store(1)
	// The first page comes now: it may be needed to infer the schema, and a
	// wrong endpoint or token should fail Read, not the first Next.
	if err := r.fetch(); err != nil {
		return nil, fmt.Errorf("http source %s: %w", s.name, err)
	}
	defer func() { r.first = nil }()
	if r.cols, err = declaredColumns(src.Columns); err != nil {
		return nil, fmt.Errorf("http source %s: %w", s.name, err)
	}
	if r.cols == nil {
		r.cols = inferColumns(r.first)
		r.inferred = map[string]bool{}
		for _, c := range r.cols {
			r.inferred[c.name] = true
		}
		if len(r.cols) == 0 {
			req.Log().Warn("http source returned no records and declares no columns; the schema is empty")
		}
	}
	fields := make([]arrow.Field, len(r.cols))
	for i, c := range r.cols {
		fields[i] = arrow.Field{Name: c.name, Type: c.typ.arrow(), Nullable: true}
	}
	r.schema = arrow.NewSchema(fields, nil)
	return r, nil
}

// httpReader turns pages into records of req.Rows() rows, fetching the next
// page only when the current one is used up: memory holds one page and one
// record.
type httpReader struct {
	refs   atomic.Int64
	ctx    context.Context
	req    Request
	pager  *pager
	schema *arrow.Schema
	cols   []column

	// inferred holds the column names taken from the first page when none
	// are declared: a later record with another field fails the read rather
	// than losing that field silently.
	inferred map[string]bool

	first   []json.RawMessage
	page    []map[string]any
	pos     int
	pageNum int
	cur     arrow.RecordBatch
	err     error
}

var _ array.RecordReader = (*httpReader)(nil)

func (r *httpReader) Retain() { r.refs.Add(1) }

func (r *httpReader) Release() {
	if r.refs.Add(-1) == 0 && r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
}

func (r *httpReader) Schema() *arrow.Schema { return r.schema }

func (r *httpReader) RecordBatch() arrow.RecordBatch { return r.cur }

// Record is the deprecated name of RecordBatch.
func (r *httpReader) Record() arrow.RecordBatch { return r.cur }

func (r *httpReader) Err() error { return r.err }

func (r *httpReader) fetch() error {
	raw, err := r.pager.next(r.ctx)
	r.pageNum++
	if err != nil {
		return fmt.Errorf("page %d: %w", r.pageNum, err)
	}
	if r.pageNum == 1 {
		r.first = raw // for schema inference, which needs the fields' order
	}
	r.page, r.pos = make([]map[string]any, len(raw)), 0
	for i, rec := range raw {
		if r.page[i], err = decodeRecord(rec); err != nil {
			return fmt.Errorf("page %d record %d: %w", r.pageNum, i, err)
		}
	}
	if r.pageNum > 1 && r.inferred != nil {
		if err := r.lateFields(); err != nil {
			return fmt.Errorf("page %d %w", r.pageNum, err)
		}
	}
	return nil
}

// lateFields fails a page whose records have fields the first page's did
// not: the schema was fixed by then, and dropping them would lose data.
func (r *httpReader) lateFields() error {
	var late []string
	at := -1
	for i, rec := range r.page {
		for k := range rec {
			if !r.inferred[k] && !slices.Contains(late, k) {
				late = append(late, k)
				if at < 0 {
					at = i
				}
			}
		}
	}
	if len(late) == 0 {
		return nil
	}
	sort.Strings(late)
	return fmt.Errorf("record %d has field(s) %s that no record of the first page has, and the columns were inferred from the first page; declare the source's columns (source.columns) to read them",
		at, strings.Join(late, ", "))
}

func (r *httpReader) Next() bool {
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
	if r.err != nil {
		return false
	}
	if err := r.ctx.Err(); err != nil {
		r.err = err
		return false
	}
	b := array.NewRecordBuilder(r.req.Allocator(), r.schema)
	defer b.Release()
	rows := 0
	for rows < r.req.Rows() {
		if r.pos == len(r.page) {
			if r.pager.done {
				break
			}
			if err := r.fetch(); err != nil {
				r.err = fmt.Errorf("http source %w", err)
				return false
			}
			continue
		}
		rec := r.page[r.pos]
		for i, c := range r.cols {
			if err := c.append(b.Field(i), lookup(rec, c.path)); err != nil {
				r.err = fmt.Errorf("http source page %d record %d: field %s: %w", r.pageNum, r.pos, c.name, err)
				return false
			}
		}
		r.page[r.pos] = nil // let the page's decoded records go as we use them
		r.pos++
		rows++
	}
	if rows == 0 {
		return false
	}
	r.cur = b.NewRecordBatch()
	return true
}

// lookup walks a dotted path through a decoded record.
func lookup(rec map[string]any, path []string) any {
	var cur any = rec
	for _, p := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		if cur, ok = m[p]; !ok {
			return nil
		}
	}
	return cur
}
