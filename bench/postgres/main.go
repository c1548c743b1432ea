// Command pgbench drives hoist's postgres source and destination directly
// (extract → load, no diff or state), so their speed and memory can be
// measured apart from the CLI. bench/postgres/run.sh calls it.
//
//	go run -tags minicore_disabled ./bench/postgres -url $URL -table bench_src -object bench_dst -mode replace
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/hoist-dev/hoist/connector"
	"github.com/hoist-dev/hoist/extract"
	"github.com/hoist-dev/hoist/internal/cursor"
	"github.com/hoist-dev/hoist/internal/pgconn"
	"github.com/hoist-dev/hoist/load"
	"github.com/hoist-dev/hoist/sync/spec"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "pgbench:", err)
		os.Exit(1)
	}
}

func run() error {
	var (
		srcURL    = flag.String("url", os.Getenv("HOIST_BENCH_URL"), "source postgres URL")
		dstURL    = flag.String("dst-url", "", "destination postgres URL (default: -url)")
		table     = flag.String("table", "bench_src", "source table")
		object    = flag.String("object", "bench_dst", "destination table")
		mode      = flag.String("mode", spec.ModeReplace, "replace | upsert | append")
		key       = flag.String("key", "id", "primary key column")
		cursorCol = flag.String("cursor", "", "cursor column")
		after     = flag.String("after", "", "cursor value (RFC 3339 timestamp) to read after")
		batch     = flag.Int("batch", 10000, "rows per record and per destination batch")
		parallel  = flag.Int("concurrency", 4, "parallel writers (replace always uses 1)")
	)
	flag.Parse()
	if *dstURL == "" {
		*dstURL = *srcURL
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	start := time.Now()

	src, err := extract.Open(ctx, &spec.Connection{Name: "src", Type: pgconn.Type, Config: &pgconn.Config{URL: spec.Secret(*srcURL)}}, ".")
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := load.Open(ctx, &spec.Connection{Name: "dst", Type: pgconn.Type, Config: &pgconn.Config{URL: spec.Secret(*dstURL)}}, ".")
	if err != nil {
		return err
	}
	defer dst.Close()

	req := extract.Request{Sync: "bench", Source: &spec.Source{Cursor: *cursorCol, Config: &connector.SQLSource{Table: *table}}, BatchRows: *batch}
	if *after != "" {
		req.After = &cursor.Cursor{Kind: cursor.Timestamp, Value: *after}
	}
	rr, err := src.Read(ctx, req)
	if err != nil {
		return err
	}
	defer rr.Release()
	w, err := dst.Open(ctx, load.Target{Sync: "bench", Schema: rr.Schema(),
		Dest: &spec.Dest{Object: *object, Mode: *mode, PrimaryKey: []string{*key}}})
	if err != nil {
		return err
	}
	n := *parallel
	if c := w.Concurrency(); c > 0 {
		n = c
	}
	op := load.OpFor(*mode)

	// One reader, n writers: extraction overlaps loading as in a run.
	recs := make(chan load.Batch, n)
	g, gctx := errgroup.WithContext(ctx)
	var rows, rejected int64
	g.Go(func() error {
		defer close(recs)
		seq := 0
		for rr.Next() {
			rec := rr.RecordBatch()
			rec.Retain()
			rows += rec.NumRows()
			select {
			case recs <- load.Batch{Seq: seq, Op: op, Record: rec}:
			case <-gctx.Done():
				rec.Release()
				return gctx.Err()
			}
			seq++
		}
		return rr.Err()
	})
	rej := make([]int64, n)
	for i := 0; i < n; i++ {
		g.Go(func() error {
			for b := range recs {
				res, err := w.Write(gctx, b)
				b.Record.Release()
				if err != nil {
					return err
				}
				rej[i] += int64(len(res.Failed))
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		drain(recs)
		return errors.Join(err, w.Abort(context.Background()))
	}
	if err := w.Commit(ctx); err != nil {
		return err
	}
	for _, r := range rej {
		rejected += r
	}
	fmt.Printf("mode=%s rows=%d rejected=%d seconds=%.3f\n", *mode, rows, rejected, time.Since(start).Seconds())
	return nil
}

func drain(c <-chan load.Batch) {
	for b := range c {
		b.Record.Release()
	}
}
