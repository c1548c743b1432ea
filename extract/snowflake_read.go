package extract

import (
	"context"
	"database/sql/driver"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	sf "github.com/snowflakedb/gosnowflake"
)

// Chunk download retries on top of the driver's own HTTP retries (which
// cover 5xx and dropped connections, but not e.g. a 403 from the stage or
// a body that fails to decode).
const (
	snowflakeFetchAttempts = 4
	snowflakeFetchBackoff  = 200 * time.Millisecond
)

// Read runs the query on its own session and returns once Snowflake has
// answered (so SQL errors surface here) with a reader over its chunks.
func (s *snowflakeSource) Read(ctx context.Context, req Request) (array.RecordReader, error) {
	sqlText, args, err := snowflakeQuery(&req)
	if err != nil {
		return nil, fmt.Errorf("sync %s: %w", req.Sync, err)
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("sync %s: snowflake session: %w", req.Sync, err)
	}
	rctx, cancel := context.WithCancel(ctx)
	r := &sfReader{
		out:    make(chan arrow.RecordBatch, 1),
		cancel: cancel,
		done:   make(chan struct{}),
	}
	r.refs.Store(1)
	ready := make(chan error, 1)
	go r.run(rctx, conn, &req, sqlText, args, s.concurrency, ready)
	if err := <-ready; err != nil {
		cancel()
		<-r.done
		return nil, fmt.Errorf("sync %s: snowflake query: %w", req.Sync, err)
	}
	return r, nil
}

// sfReader hands on the records of one query, in result order, as an
// array.RecordReader. A producer goroutine downloads chunks (at most
// `download_concurrency` in flight) and casts them; memory is bounded by
// the chunks in flight plus one record in the channel.
type sfReader struct {
	refs   atomic.Int64
	schema *arrow.Schema
	out    chan arrow.RecordBatch
	cur    arrow.RecordBatch
	err    error // set by run before out is closed
	cancel context.CancelFunc
	done   chan struct{}
}

var _ array.RecordReader = (*sfReader)(nil)

func (r *sfReader) Retain() { r.refs.Add(1) }

// Release stops the producer, drains and frees what it queued.
func (r *sfReader) Release() {
	if r.refs.Add(-1) != 0 {
		return
	}
	r.cancel()
	for rec := range r.out {
		rec.Release()
	}
	<-r.done
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
}

func (r *sfReader) Schema() *arrow.Schema { return r.schema }

func (r *sfReader) Next() bool {
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
	rec, ok := <-r.out
	if !ok {
		return false
	}
	r.cur = rec
	return true
}

func (r *sfReader) RecordBatch() arrow.RecordBatch { return r.cur }

// Record returns the current record.
//
// Deprecated: use RecordBatch.
func (r *sfReader) Record() arrow.RecordBatch { return r.cur }

// Err is valid once Next has returned false.
func (r *sfReader) Err() error { return r.err }

// run executes the query on one session and streams its batches. It sends
// exactly one value on ready: nil once the schema is known, or the error.
func (r *sfReader) run(ctx context.Context, conn interface {
	Raw(func(any) error) error
	Close() error
}, req *Request, sqlText string, args []driver.NamedValue, concurrency int, ready chan<- error) {
	defer close(r.done)
	defer close(r.out)
	signalled := false
	err := conn.Raw(func(dc any) error {
		qc, ok := dc.(driver.QueryerContext)
		if !ok {
			return errSnowflakeRows
		}
		mem := req.Allocator()
		qctx := sf.WithArrowBatches(ctx)
		qctx = sf.WithHigherPrecision(qctx)
		qctx = sf.WithArrowBatchesTimestampOption(qctx, sf.UseMicrosecondTimestamp)
		qctx = sf.WithArrowAllocator(qctx, mem)
		rows, err := qc.QueryContext(qctx, sqlText, args)
		if err != nil {
			return err
		}
		defer rows.Close()
		schema, cols, err := snowflakeSchema(rows)
		if err != nil {
			return err
		}
		sfRows, ok := rows.(sf.SnowflakeRows)
		if !ok {
			return errSnowflakeRows
		}
		batches, err := sfRows.GetArrowBatches()
		if err != nil {
			return err
		}
		r.schema = schema
		signalled = true
		ready <- nil
		req.Log().Debug("snowflake query started", "query_id", sfRows.GetQueryID(), "chunks", len(batches))
		p := &sfPump{ctx: ctx, mem: mem, schema: schema, cols: cols, rows: req.Rows(), log: req.Log(), out: r.out}
		return p.pump(batches, concurrency)
	})
	// Closing the *sql.Conn returns the session to the pool.
	_ = conn.Close()
	if !signalled {
		if err == nil {
			err = errSnowflakeRows
		}
		ready <- err
		return
	}
	r.err = err
}

// sfPump downloads and casts batches in order.
type sfPump struct {
	ctx    context.Context
	mem    memory.Allocator
	schema *arrow.Schema
	cols   []sfColumn
	rows   int
	log    *slog.Logger
	out    chan<- arrow.RecordBatch
}

// fetched is one chunk download in flight.
type fetched struct {
	recs []arrow.RecordBatch
	err  error
	done chan struct{}
}

// pump keeps up to n downloads in flight and emits chunks strictly in
// order: a sliding window whose head is the chunk being handed on. A slot
// frees only when its chunk has been cast and queued, so memory stays
// bounded by n chunks however slow the consumer is.
func (p *sfPump) pump(batches []*sf.ArrowBatch, n int) (err error) {
	fctx, cancel := context.WithCancel(p.ctx)
	var window []*fetched
	defer func() {
		// Stop downloads still in flight and free what they got.
		cancel()
		for _, f := range window {
			<-f.done
			releaseAll(f.recs)
		}
	}()
	next := 0
	for i := range batches {
		for next < len(batches) && len(window) < n {
			window = append(window, p.start(fctx, batches[next], next))
			next++
		}
		f := window[0]
		select {
		case <-f.done:
		case <-p.ctx.Done():
			return p.ctx.Err()
		}
		window = window[1:]
		if f.err != nil {
			return f.err
		}
		if err := p.emit(i, f.recs); err != nil {
			return err
		}
	}
	return nil
}

func (p *sfPump) start(ctx context.Context, b *sf.ArrowBatch, idx int) *fetched {
	f := &fetched{done: make(chan struct{})}
	go func() {
		defer close(f.done)
		f.recs, f.err = p.fetch(ctx, b, idx)
	}()
	return f
}

// fetch downloads one chunk, retrying with backoff.
func (p *sfPump) fetch(ctx context.Context, b *sf.ArrowBatch, idx int) ([]arrow.RecordBatch, error) {
	wait := snowflakeFetchBackoff
	for attempt := 1; ; attempt++ {
		recs, err := b.WithContext(ctx).Fetch()
		if err == nil {
			if recs == nil {
				return nil, nil
			}
			return *recs, nil
		}
		partial := !fetchRetryable(err)
		if partial {
			releasePartial(b) // also when cancelled mid-decode
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if partial {
			return nil, fmt.Errorf("download result batch %d: %w", idx, err)
		}
		if attempt == snowflakeFetchAttempts {
			return nil, fmt.Errorf("download result batch %d (gave up after %d attempts): %w", idx, attempt, err)
		}
		p.log.Warn("snowflake chunk download failed, retrying", "chunk", idx, "attempt", attempt, "error", err)
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		wait *= 2
	}
}

// fetchRetryable reports whether a failed Fetch can be repeated. When the
// chunk downloaded but failed to decode part way, gosnowflake v1.19.1 keeps
// the records decoded so far and a second Fetch returns them as if the
// chunk were complete, so that case must fail the read instead.
func fetchRetryable(err error) bool {
	return !strings.Contains(err.Error(), "decoding Arrow batch")
}

// releasePartial frees the records the driver kept from a chunk that failed
// to decode part way: the next Fetch hands back that cached, partial slice
// without downloading again (see fetchRetryable).
func releasePartial(b *sf.ArrowBatch) {
	if recs, err := b.Fetch(); err == nil && recs != nil {
		releaseAll(*recs)
	}
}

// emit casts a chunk's records, slices them to the requested batch size
// and queues them. It releases every record it was given.
func (p *sfPump) emit(idx int, recs []arrow.RecordBatch) error {
	defer releaseAll(recs)
	for _, rec := range recs {
		cast, err := castSnowflake(p.ctx, p.mem, p.schema, p.cols, rec)
		if err != nil {
			return fmt.Errorf("result batch %d: %w", idx, err)
		}
		err = p.send(cast)
		cast.Release()
		if err != nil {
			return err
		}
	}
	return nil
}

// send queues rec in slices of at most p.rows rows (slices share buffers).
func (p *sfPump) send(rec arrow.RecordBatch) error {
	total := rec.NumRows()
	for off := int64(0); off < total; off += int64(p.rows) {
		part := rec.NewSlice(off, min(off+int64(p.rows), total))
		select {
		case p.out <- part:
		case <-p.ctx.Done():
			part.Release()
			return p.ctx.Err()
		}
	}
	return nil
}

func releaseAll(recs []arrow.RecordBatch) {
	for _, r := range recs {
		r.Release()
	}
}
