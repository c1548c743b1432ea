package sync

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/hoist-dev/hoist/extract"
	"github.com/hoist-dev/hoist/internal/cursor"
	"github.com/hoist-dev/hoist/internal/shard"
	"github.com/hoist-dev/hoist/mappings"
	"github.com/hoist-dev/hoist/sync/spec"
)

// Stage 1 of a run (see run.go): extract. The source is read past the
// committed cursor and every record is mapped; the cursor column rides along
// with it so the commit stage can keep the cursor behind every row the
// destination did not acknowledge.

// extract reads the state the run starts from and opens the source past its
// cursor, the way plan does too (openSync). A target change that
// --full-refresh forgives forgets the old state here, before anything is
// sent, so that what this run commits is all the new target's.
func (u *syncRun) extract(ctx context.Context) error {
	r, s := u.r, u.s
	st, err := r.Store.Get(ctx, u.name)
	if err != nil {
		return fmt.Errorf("read state: %w", err)
	}
	u.st = st
	u.rep.CursorBefore = st.Cursor.String()
	o, err := r.openSync(ctx, s, st)
	if err != nil {
		return err
	}
	for _, warn := range o.warnings {
		r.log().Warn(warn, "sync", s.Name)
	}
	if o.x == nil {
		return nil
	}
	u.x, u.id, u.layout = o.x, o.id, o.layout
	u.reread = len(o.chg.reread) > 0 && !o.chg.refused
	if u.x.noSnapshot {
		r.log().Info("state identity changed; --full-refresh forgets the old state", "sync", s.Name)
		if err := r.Store.Reset(ctx, u.name); err != nil {
			return fmt.Errorf("forget the old target's state: %w", err)
		}
		if u.st, err = r.Store.Get(ctx, u.name); err != nil {
			return fmt.Errorf("read state: %w", err)
		}
	}
	if u.x.wh != nil {
		// a state with nothing recorded sends every row, as a client
		// diff would: the warehouse snapshot starts empty too
		if err := u.x.wh.prepare(ctx, u.st.Identity == nil); err != nil {
			return err
		}
	}
	return nil
}

// extraction is the open source side of a sync: reader, mapper, cursor.
type extraction struct {
	src     extract.Source
	rdr     array.RecordReader
	mapper  *mappings.Mapper
	curIdx  int // cursor column in the source schema, -1 without a cursor
	after   *cursor.Cursor
	keyIdx  []int // primary key fields in the mapped schema
	cursors *cursorTracker
	read    int64
	alloc   memory.Allocator
	// noSnapshot diffs against an empty snapshot: the recorded one belongs
	// to another target (see checkIdentity).
	noSnapshot bool
	// shard keeps a sharded run's rows (shard.go); nil when not sharded.
	shard *extract.ShardFilter
	// wh is the warehouse diff (diff: warehouse, warehouse.go): rdr is its
	// query, and srcSchema the source's columns of it.
	wh        *warehouse
	srcSchema *arrow.Schema
	// inspect, when set, sees every mapped record (plan's value checks).
	inspect func(arrow.RecordBatch)
}

func (x *extraction) close() {
	if x.rdr != nil {
		x.rdr.Release()
	}
	if x.src != nil {
		x.src.Close()
	}
	if x.wh != nil {
		x.wh.close()
	}
}

// mappedSchema is the schema loaders receive.
func (x *extraction) mappedSchema() *arrow.Schema { return x.mapper.Schema() }

// keySchema is the schema of delete batches: the primary key fields.
func (x *extraction) keySchema() *arrow.Schema {
	fs := make([]arrow.Field, len(x.keyIdx))
	for i, k := range x.keyIdx {
		fs[i] = x.mappedSchema().Field(k)
	}
	return arrow.NewSchema(fs, nil)
}

// errNothingNew is openExtraction's answer when an incremental source has
// nothing to read and not even columns (an http source inferring them from
// records that are not there): the run succeeds with no rows.
var errNothingNew = errors.New("the source returned no rows and no columns")

func (r *Runner) openExtraction(ctx context.Context, s *spec.Sync, after *cursor.Cursor) (*extraction, error) {
	conn := r.File.Connections[s.Source.Connection]
	src, err := extract.Open(ctx, conn, r.File.Dir)
	if err != nil {
		return nil, err
	}
	x := &extraction{src: src, curIdx: -1, after: after, cursors: newCursorTracker(), alloc: r.alloc(), shard: r.shardFilter(s)}
	req := extract.Request{
		Sync: s.Name, Source: &s.Source, After: after, Alloc: r.alloc(),
		Logger: r.log().With("sync", s.Name), Shard: x.shard,
	}
	if s.WarehouseDiff() {
		return r.openWarehouseExtraction(ctx, s, x, req)
	}
	x.rdr, err = src.Read(ctx, req)
	if err != nil {
		src.Close()
		return nil, fmt.Errorf("read %s: %w", s.Source.Connection, err)
	}
	in := x.rdr.Schema()
	if in.NumFields() == 0 && s.Source.Cursor != "" {
		// An http source with no records and no declared columns since the
		// cursor: a quiet incremental run, not a misconfigured cursor.
		x.close()
		return nil, errNothingNew
	}
	if s.Source.Cursor != "" {
		idx := in.FieldIndices(s.Source.Cursor)
		if len(idx) == 0 {
			x.close()
			return nil, r.File.Problem(s.Field()+".source.cursor", "cursor column %q is not in the source's columns", s.Source.Cursor)
		}
		x.curIdx = idx[0]
		if _, err := cursor.KindOf(in.Field(x.curIdx).Type); err != nil {
			x.close()
			return nil, r.File.Problem(s.Field()+".source.cursor", "%v", err)
		}
	}
	if err := r.mapExtraction(s, x, in); err != nil {
		x.close()
		return nil, err
	}
	return x, nil
}

// mapExtraction builds the mapper for the source's columns in and finds
// the primary key among the mapped ones.
func (r *Runner) mapExtraction(s *spec.Sync, x *extraction, in *arrow.Schema) error {
	var err error
	x.mapper, err = mappings.New(s.Mappings, in, r.alloc())
	if err != nil {
		return r.File.Problem(s.Field()+".mappings", "%v", err)
	}
	for i, k := range s.Destination.PrimaryKey {
		idx := x.mappedSchema().FieldIndices(k)
		if len(idx) == 0 {
			return r.File.Problem(fmt.Sprintf("%s.destination.primary_key[%d]", s.Field(), i), "primary key %q is not a column of the mapped rows", k)
		}
		x.keyIdx = append(x.keyIdx, idx[0])
	}
	return nil
}

// openWarehouseExtraction opens a diff: warehouse sync: its diff query is
// described, not run (warehouseDiff runs it), and the key's types checked:
// the snapshot is keyed by the key's text in SQL, which must be hoist's.
func (r *Runner) openWarehouseExtraction(ctx context.Context, s *spec.Sync, x *extraction, req extract.Request) (*extraction, error) {
	var err error
	x.shard = nil // the query keeps the shard's rows itself
	if x.wh, err = r.openWarehouse(ctx, s, x.src); err != nil {
		x.close()
		return nil, err
	}
	if x.rdr, err = x.wh.read(ctx, req, true); err != nil {
		x.close()
		return nil, fmt.Errorf("read %s: %w", s.Source.Connection, err)
	}
	all := x.rdr.Schema()
	if all.NumFields() < whExtra {
		x.close()
		return nil, fmt.Errorf("diff: warehouse: the query returned %d columns", all.NumFields())
	}
	x.srcSchema = arrow.NewSchema(all.Fields()[:all.NumFields()-whExtra], nil)
	if err := r.mapExtraction(s, x, x.srcSchema); err != nil {
		x.close()
		return nil, err
	}
	for i, k := range x.keyIdx {
		if t := x.mappedSchema().Field(k).Type; !shard.Pushable(t) {
			x.close()
			return nil, r.File.Problem(fmt.Sprintf("%s.destination.primary_key[%d]", s.Field(), i),
				"diff: warehouse needs integer or text key columns (their text is the same in PostgreSQL and hoist); %s is %s", x.mappedSchema().Field(k).Name, t)
		}
	}
	return x, nil
}

// next returns the next mapped record past the cursor, with the aligned
// cursor column (nil without a cursor). The caller releases both. io.EOF ends.
func (x *extraction) next(ctx context.Context) (arrow.Record, arrow.Array, error) {
	for {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		if !x.rdr.Next() {
			if err := x.rdr.Err(); err != nil {
				return nil, nil, fmt.Errorf("extract: %w", err)
			}
			return nil, nil, io.EOF
		}
		rec := x.rdr.Record()
		rec.Retain()
		if x.curIdx >= 0 && x.after != nil {
			filtered, err := x.filter(ctx, rec)
			rec.Release()
			if err != nil {
				return nil, nil, err
			}
			rec = filtered
		}
		if rec.NumRows() == 0 {
			rec.Release()
			continue
		}
		var cur arrow.Array
		if x.curIdx >= 0 {
			cur = rec.Column(x.curIdx)
			cur.Retain()
		}
		mapped, err := x.mapper.Map(ctx, rec)
		rec.Release()
		if err != nil {
			if cur != nil {
				cur.Release()
			}
			return nil, nil, fmt.Errorf("map rows %d-%d: %w", x.read, x.read+rec.NumRows()-1, err)
		}
		if x.shard != nil {
			// the key is a mapped field: the shard is known once mapped
			kept, kcur, err := x.keepShard(ctx, mapped, cur)
			mapped.Release()
			if cur != nil {
				cur.Release()
			}
			if err != nil {
				return nil, nil, err
			}
			mapped, cur = kept, kcur
			if mapped.NumRows() == 0 {
				mapped.Release()
				if cur != nil {
					cur.Release()
				}
				continue
			}
		}
		if cur != nil {
			x.cursors.read(cur)
		}
		x.read += mapped.NumRows()
		if x.inspect != nil {
			x.inspect(mapped)
		}
		return mapped, cur, nil
	}
}

// filter keeps rows whose cursor is past x.after. Sources push the filter
// down where they can; this makes it hold for every source.
func (x *extraction) filter(ctx context.Context, rec arrow.Record) (arrow.Record, error) {
	col := rec.Column(x.curIdx)
	after, err := afterFn(col, x.after)
	if err != nil {
		return nil, err
	}
	keep := 0
	for i := 0; i < col.Len(); i++ {
		if after(i) {
			keep++
		}
	}
	if keep == col.Len() {
		rec.Retain()
		return rec, nil
	}
	b := array.NewBooleanBuilder(x.alloc)
	defer b.Release()
	for i := 0; i < col.Len(); i++ {
		b.Append(after(i))
	}
	mask := b.NewBooleanArray()
	defer mask.Release()
	out, err := compute.FilterRecordBatch(ctx, rec, mask, compute.DefaultFilterOptions())
	if err != nil {
		return nil, fmt.Errorf("filter by cursor: %w", err)
	}
	return out, nil
}
