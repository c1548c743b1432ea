package sync

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/hoist-dev/hoist/extract"
	"github.com/hoist-dev/hoist/load"
	"github.com/hoist-dev/hoist/mappings"
	"github.com/hoist-dev/hoist/sync/diff"
	"github.com/hoist-dev/hoist/sync/spec"
	"github.com/hoist-dev/hoist/sync/state"
)

// Progress receives delivered row counts of one sync (a terminal progress bar).
type Progress interface {
	// Total says how many rows will be sent, once known (after the diff).
	Total(rows int64)
	Add(rows int)
	Finish()
}

// Options tune a Runner.
type Options struct {
	FullRefresh bool
	// Refresh diffs against the destination's content instead of the
	// snapshot (see refresh.go).
	Refresh         bool
	Concurrency     int // overrides every sync's concurrency when > 0
	AllowMassDelete bool
	LockTimeout     time.Duration
	// Limit is the number of plan samples per operation (default 10).
	Limit  int
	Logger *slog.Logger
	// Progress, when set, makes a progress reporter per sync.
	Progress func(sync string) Progress
	Alloc    memory.Allocator
	// TempDir holds spills (default os.TempDir()).
	TempDir string
	// SortMemory bounds the bytes of rows the diff holds before spilling.
	SortMemory int
}

// Runner runs the syncs of one spec file against one state store.
type Runner struct {
	File  *spec.File
	Store state.Store
	Opt   Options
}

func (r *Runner) log() *slog.Logger {
	if r.Opt.Logger != nil {
		return r.Opt.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func (r *Runner) alloc() memory.Allocator {
	if r.Opt.Alloc != nil {
		return r.Opt.Alloc
	}
	return memory.DefaultAllocator
}

// extraction is the open source side of a sync: reader, mapper, cursor.
type extraction struct {
	src     extract.Source
	rdr     array.RecordReader
	mapper  *mappings.Mapper
	curIdx  int // cursor column in the source schema, -1 without a cursor
	after   *extract.Cursor
	keyIdx  []int // primary key fields in the mapped schema
	cursors *cursorTracker
	read    int64
	alloc   memory.Allocator
	// noSnapshot diffs against an empty snapshot: the recorded one belongs
	// to another target (see checkIdentity).
	noSnapshot bool
}

func (x *extraction) close() {
	if x.rdr != nil {
		x.rdr.Release()
	}
	if x.src != nil {
		x.src.Close()
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

func (r *Runner) openExtraction(ctx context.Context, s *spec.Sync, after *extract.Cursor) (*extraction, error) {
	conn := r.File.Connections[s.Source.Connection]
	src, err := extract.Open(ctx, conn, r.File.Dir)
	if err != nil {
		return nil, err
	}
	x := &extraction{src: src, curIdx: -1, after: after, cursors: newCursorTracker(), alloc: r.alloc()}
	x.rdr, err = src.Read(ctx, extract.Request{
		Sync: s.Name, Source: &s.Source, After: after, Alloc: r.alloc(),
		Logger: r.log().With("sync", s.Name),
	})
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
		if _, err := extract.CursorKind(in.Field(x.curIdx).Type); err != nil {
			x.close()
			return nil, r.File.Problem(s.Field()+".source.cursor", "%v", err)
		}
	}
	x.mapper, err = mappings.New(s.Mappings, in, r.alloc())
	if err != nil {
		x.close()
		return nil, r.File.Problem(s.Field()+".mappings", "%v", err)
	}
	for i, k := range s.Destination.PrimaryKey {
		idx := x.mappedSchema().FieldIndices(k)
		if len(idx) == 0 {
			x.close()
			return nil, r.File.Problem(fmt.Sprintf("%s.destination.primary_key[%d]", s.Field(), i), "primary key %q is not a column of the mapped rows", k)
		}
		x.keyIdx = append(x.keyIdx, idx[0])
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
			x.cursors.read(cur)
		}
		mapped, err := x.mapper.Map(ctx, rec)
		rec.Release()
		if err != nil {
			if cur != nil {
				cur.Release()
			}
			return nil, nil, fmt.Errorf("map rows %d-%d: %w", x.read, x.read+rec.NumRows()-1, err)
		}
		x.read += mapped.NumRows()
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

// diffResult is the outcome of classifying a keyed sync's rows.
type diffResult struct {
	added, changed, removed, unchanged int64
	nullKeys                           []rejectLine
	nullKeyCursors                     []*extract.Cursor
	// destRows and destNullKeys count the destination's keys and NULL-key
	// rows (--refresh).
	destRows, destNullKeys int64
}

// runDiff extracts everything, sorts it by key with bounded memory and
// merges it against the snapshot, calling fn per classified key.
func (r *Runner) runDiff(ctx context.Context, s *spec.Sync, x *extraction, tmp string, fn func(diff.Event) error) (*diffResult, error) {
	res := &diffResult{}
	sorter := diff.NewSorter(tmp, r.Opt.SortMemory)
	keyCols := make([]arrow.Array, len(x.keyIdx))
	var keyBuf, rowBuf, auxBuf []byte
	for {
		rec, cur, err := x.next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		enc := diff.NewRowEncoder(rec)
		for k, idx := range x.keyIdx {
			keyCols[k] = rec.Column(idx)
		}
		for i := 0; i < int(rec.NumRows()); i++ {
			keyBuf, err = diff.AppendKey(keyBuf[:0], keyCols, i)
			if err != nil {
				res.nullKeys = append(res.nullKeys, rejectLine{Sync: s.Name, Key: keyOf(rec, i, x.keyIdx), Row: rowMap(rec, i, nil), Error: "primary key is NULL"})
				if cur != nil {
					res.nullKeyCursors = append(res.nullKeyCursors, cursorOf(cur, i))
				}
				continue
			}
			rowBuf = enc.Append(rowBuf[:0], i)
			auxBuf = auxBuf[:0]
			if cur != nil {
				auxBuf = diff.AppendValue(auxBuf, cur, i)
			}
			if err := sorter.Add(keyBuf, rowBuf, auxBuf); err != nil {
				rec.Release()
				cur.Release()
				return nil, err
			}
		}
		rec.Release()
		if cur != nil {
			cur.Release()
		}
	}
	it, err := sorter.Iter()
	if err != nil {
		return nil, err
	}
	defer it.Close()
	// --refresh compares with the whole source, so keys only the
	// destination holds are removes even with a cursor.
	opt := diff.MergeOptions{Removes: x.curIdx < 0 || r.Opt.Refresh, LastWins: s.OnDuplicate == "last"}
	count := func(e diff.Event) error {
		switch e.Kind {
		case diff.Add:
			res.added++
		case diff.Change:
			res.changed++
		case diff.Remove:
			res.removed++
		case diff.Unchanged:
			res.unchanged++
		}
		return fn(e)
	}
	if x.noSnapshot {
		err = diff.Merge(it, &state.SliceIterator{}, opt, count)
	} else if r.Opt.Refresh {
		var view *destView
		if view, err = r.readDestination(ctx, s, x, tmp); err != nil {
			return nil, err
		}
		err = diff.Merge(it, view, opt, count)
		view.Close()
		res.destRows, res.destNullKeys = view.rows, view.nullKeys
	} else if ls, ok := r.Store.(state.LookupStore); ok && x.curIdx >= 0 && x.after != nil {
		// An incremental run can only add or change what it extracted, so
		// it reads just those keys of the snapshot.
		var look state.Lookup
		if look, err = ls.Lookup(ctx, s.Name); err != nil {
			return nil, fmt.Errorf("read snapshot: %w", err)
		}
		err = diff.MergeLookup(ctx, it, look, opt, count)
		look.Close()
	} else {
		var snap state.Iterator
		if snap, err = r.Store.Snapshot(ctx, s.Name); err != nil {
			return nil, fmt.Errorf("read snapshot: %w", err)
		}
		err = diff.Merge(it, snap, opt, count)
		snap.Close()
	}
	if err != nil {
		var dup *diff.DuplicateKeyError
		if errors.As(err, &dup) {
			return nil, r.File.Problem(s.Field()+".destination.primary_key", "%v", err)
		}
		return nil, err
	}
	return res, nil
}

// massDelete returns an error when a mode whose deletes are bounded would
// remove more than the sync allows.
func massDelete(mode Mode, s *spec.Sync, removed, snapshotRows int64) error {
	if !mode.BoundedDeletes || removed == 0 || snapshotRows == 0 {
		return nil
	}
	frac := float64(removed) / float64(snapshotRows)
	if frac <= *s.MaxDeleteFraction {
		return nil
	}
	return fmt.Errorf("refusing to delete %d of %d rows (%.0f%% > max_delete_fraction %.0f%%): an empty or broken source would wipe the destination; pass --allow-mass-delete if this is intended",
		removed, snapshotRows, frac*100, *s.MaxDeleteFraction*100)
}

func (r *Runner) tempDir() (string, error) {
	dir, err := os.MkdirTemp(r.Opt.TempDir, "hoist-*")
	if err != nil {
		return "", fmt.Errorf("create temp folder: %w", err)
	}
	return dir, nil
}

func (r *Runner) rejectPath(s *spec.Sync) string {
	p := s.OnReject.File
	if p == "" {
		p = filepath.Join("rejected", s.Name+".jsonl")
	}
	if !filepath.IsAbs(p) {
		p = filepath.Join(r.File.Dir, p)
	}
	return p
}

func (r *Runner) openDestination(ctx context.Context, s *spec.Sync, x *extraction) (load.Destination, load.Writer, error) {
	conn := r.File.Connections[s.Destination.Connection]
	dst, err := load.Open(ctx, conn, r.File.Dir)
	if err != nil {
		return nil, nil, err
	}
	w, err := dst.Open(ctx, load.Target{
		Sync: s.Name, Dest: &s.Destination, Schema: x.mappedSchema(), Alloc: r.alloc(),
		Logger: r.log().With("sync", s.Name),
	})
	if err != nil {
		dst.Close()
		return nil, nil, fmt.Errorf("open %s: %w", s.Destination.Connection, err)
	}
	return dst, w, nil
}
