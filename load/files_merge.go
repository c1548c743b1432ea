package load

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	stdsync "sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"

	"github.com/hoist-dev/hoist/internal/filefmt"
)

// fileMerge applies keyed operations to a file. A file cannot be updated in
// place, so Write only records each acknowledged row: its data goes to a spill
// file (Arrow IPC beside the object), its key and op into a map. finish then
// streams the current object, dropping rows whose key the run deleted or
// replaced, and appends the spill's surviving rows; the result is renamed over
// the object. Memory holds one key per row the run touched, never the rows
// themselves nor the object's content. The row order of untouched rows is
// kept; changed and new rows move to the end.
type fileMerge struct {
	mu      stdsync.Mutex
	obj     fileObject
	keyIdx  []int // primary key columns in the target schema
	spill   *os.File
	sw      *ipc.Writer
	spilled int64
	ops     map[string]mergeOp
	done    bool
	// notHeld is what finish found: the update rows whose key the object
	// did not hold, by batch (NotHeldReporter).
	notHeld map[int][]int
}

// mergeOp is the last op the run sent for a key.
type mergeOp struct {
	op      Op
	seq     int64 // the row's position in the spill; -1 for a delete
	existed bool  // set during finish: the key is in the current object
	// batch and row say where the op came from, so that an update of a key
	// the object lacks can be reported once the merge has found out.
	batch, row int
}

var (
	_ Writer          = (*fileMerge)(nil)
	_ NotHeldReporter = (*fileMerge)(nil)
)

func newFileMerge(o fileObject) (*fileMerge, error) {
	pk := o.target.Dest.PrimaryKey
	if len(pk) == 0 {
		return nil, fmt.Errorf("mode %s needs a primary_key", o.target.Dest.Mode)
	}
	idx, err := fileKeyIndices(o.target.Schema, pk)
	if err != nil {
		return nil, err
	}
	spill, err := os.CreateTemp(filepath.Dir(o.path), "."+o.name()+".ops-*.arrow")
	if err != nil {
		return nil, fmt.Errorf("create spill file: %w", err)
	}
	sw := ipc.NewWriter(spill, ipc.WithSchema(o.target.Schema), ipc.WithAllocator(filesAlloc(o.target)))
	return &fileMerge{obj: o, keyIdx: idx, spill: spill, sw: sw, ops: map[string]mergeOp{}}, nil
}

func fileKeyIndices(s *arrow.Schema, pk []string) ([]int, error) {
	out := make([]int, len(pk))
	for i, k := range pk {
		idx := s.FieldIndices(k)
		if len(idx) != 1 {
			return nil, fmt.Errorf("primary key field %q is not one column of the mapped rows", k)
		}
		out[i] = idx[0]
	}
	return out, nil
}

func (w *fileMerge) Concurrency() int { return 1 }

func (w *fileMerge) Write(ctx context.Context, b Batch) (Result, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	if w.done {
		return Result{}, fmt.Errorf("load batch %d into %s: writer already finished", b.Seq, w.obj.name())
	}
	rec := b.Record
	switch b.Op {
	case OpDelete:
		idx, err := fileKeyIndices(rec.Schema(), w.obj.target.Dest.PrimaryKey)
		if err != nil {
			return Result{}, fmt.Errorf("load batch %d into %s: %w", b.Seq, w.obj.name(), err)
		}
		for i := range int(rec.NumRows()) {
			w.ops[fileRowKey(rec, idx, i)] = mergeOp{op: OpDelete, seq: -1}
		}
	case OpInsert, OpUpsert, OpUpdate:
		c, err := filefmt.Conform(rec, w.obj.target.Schema)
		if err != nil {
			return Result{}, fmt.Errorf("load batch %d into %s: %w", b.Seq, w.obj.name(), err)
		}
		err = w.sw.Write(c)
		c.Release()
		if err != nil {
			return Result{}, fmt.Errorf("load batch %d into %s: spill: %w", b.Seq, w.obj.name(), err)
		}
		for i := range int(rec.NumRows()) {
			w.ops[fileRowKey(rec, w.keyIdx, i)] = mergeOp{op: b.Op, seq: w.spilled, batch: b.Seq, row: i}
			w.spilled++
		}
	default:
		return Result{}, fmt.Errorf("load batch %d into %s: mode %s cannot take %s batches", b.Seq, w.obj.name(), w.obj.target.Dest.Mode, b.Op)
	}
	return Result{}, nil
}

// fileRowKey encodes row i's key columns as one map key. Each value is length-
// prefixed so ("a:b","c") and ("a","b:c") differ; NULL has its own marker.
func fileRowKey(rec arrow.RecordBatch, idx []int, i int) string {
	var sb strings.Builder
	for _, c := range idx {
		col := rec.Column(c)
		if col.IsNull(i) {
			sb.WriteString("~;")
			continue
		}
		v := col.ValueStr(i)
		sb.WriteString(strconv.Itoa(len(v)))
		sb.WriteByte(':')
		sb.WriteString(v)
	}
	return sb.String()
}

// Commit and Abort both merge: every batch written so far was acknowledged
// and counts as delivered, so the file must hold it even when the run failed
// later. Abort runs even when ctx is already cancelled (Ctrl-C).
func (w *fileMerge) Commit(ctx context.Context) error { return w.finish(ctx) }
func (w *fileMerge) Abort(ctx context.Context) error {
	return w.finish(context.WithoutCancel(ctx))
}

// NotHeld returns the update rows whose key the object did not hold, known
// once Commit or Abort merged; nil before or after a failed merge.
func (w *fileMerge) NotHeld() map[int][]int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.notHeld
}

func (w *fileMerge) finish(ctx context.Context) (err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return nil
	}
	w.done = true
	defer func() {
		w.spill.Close()
		if rerr := os.Remove(w.spill.Name()); rerr != nil && err == nil {
			err = fmt.Errorf("remove spill file: %w", rerr)
		}
	}()
	if err := w.sw.Close(); err != nil {
		return fmt.Errorf("commit %s: close spill: %w", w.obj.name(), err)
	}
	if len(w.ops) == 0 {
		return nil // nothing changed: leave the object as it is
	}
	inputs, err := w.inputs()
	if err != nil {
		return fmt.Errorf("commit %s: %w", w.obj.name(), err)
	}
	tmp, err := newAtomicFile(w.obj.path)
	if err != nil {
		return fmt.Errorf("commit %s: %w", w.obj.name(), err)
	}
	if err := w.merge(ctx, tmp, inputs); err != nil {
		tmp.discard()
		return fmt.Errorf("commit %s: %w", w.obj.name(), err)
	}
	if err := tmp.commit(false); err != nil {
		return fmt.Errorf("commit %s: %w", w.obj.name(), err)
	}
	w.notHeld = map[int][]int{}
	for _, op := range w.ops {
		if op.op == OpUpdate && !op.existed {
			w.notHeld[op.batch] = append(w.notHeld[op.batch], op.row)
		}
	}
	var parts []string
	for _, p := range inputs {
		if p != w.obj.path {
			parts = append(parts, p)
		}
	}
	return removeFileParts(parts)
}

// inputs lists the files holding the object's current rows: the object and,
// for Parquet, part files left by append runs.
func (w *fileMerge) inputs() ([]string, error) {
	var out []string
	if _, err := os.Stat(w.obj.path); err == nil {
		out = append(out, w.obj.path)
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	if w.obj.format == filefmt.Parquet {
		parts, err := filePartsOf(w.obj.path)
		if err != nil {
			return nil, err
		}
		out = append(out, parts...)
	}
	return out, nil
}

func (w *fileMerge) merge(ctx context.Context, tmp *atomicFile, inputs []string) error {
	t := w.obj.target
	enc, err := filefmt.NewEncoder(tmp, w.obj.format, t.Schema, filefmt.WriteOptions{Compression: w.obj.compression, Alloc: t.Alloc})
	if err != nil {
		return err
	}
	for _, in := range inputs {
		if err := w.copyExisting(ctx, enc, in); err != nil {
			return err
		}
	}
	if err := w.applySpill(ctx, enc); err != nil {
		return err
	}
	return enc.Close()
}

// copyExisting writes the rows of one current file that the run left alone
// (and those an insert must not overwrite), in runs of consecutive rows.
func (w *fileMerge) copyExisting(ctx context.Context, enc filefmt.Encoder, path string) error {
	t := w.obj.target
	opts := filefmt.ReadOptions{Alloc: filesAlloc(t), Name: filepath.Base(path)}
	if w.obj.format != filefmt.Parquet {
		opts.Schema = t.Schema // text formats: read back with the types they were written from
	}
	rr, err := filefmt.Open(ctx, path, w.obj.format, opts)
	if err != nil {
		return fmt.Errorf("read current rows: %w", err)
	}
	defer rr.Release()
	if !filefmt.SameColumns(rr.Schema(), t.Schema) {
		return fmt.Errorf("%s has other columns or types than the sync writes (use mode replace to rewrite it)", filepath.Base(path))
	}
	for rr.Next() {
		rec := rr.RecordBatch()
		keep := func(i int) bool {
			k := fileRowKey(rec, w.keyIdx, i)
			op, ok := w.ops[k]
			if !ok {
				return true
			}
			op.existed = true
			w.ops[k] = op
			return op.op == OpInsert // insert leaves existing keys alone
		}
		if err := writeKeptRuns(enc, rec, keep); err != nil {
			return err
		}
	}
	if err := rr.Err(); err != nil {
		return fmt.Errorf("read current rows: %w", err)
	}
	return nil
}

// applySpill writes the run's rows that survive: the last op of each key,
// upserts always, updates only over an existing key, inserts only new keys.
func (w *fileMerge) applySpill(ctx context.Context, enc filefmt.Encoder) error {
	f, err := os.Open(w.spill.Name())
	if err != nil {
		return fmt.Errorf("read spill: %w", err)
	}
	defer f.Close()
	rr, err := ipc.NewReader(f, ipc.WithAllocator(filesAlloc(w.obj.target)))
	if err != nil {
		return fmt.Errorf("read spill: %w", err)
	}
	defer rr.Release()
	var seq int64
	for rr.Next() {
		if err := ctx.Err(); err != nil {
			return err
		}
		rec := rr.RecordBatch()
		base := seq
		keep := func(i int) bool {
			op := w.ops[fileRowKey(rec, w.keyIdx, i)]
			if op.seq != base+int64(i) {
				return false // a later op for the same key wins
			}
			switch op.op {
			case OpUpsert:
				return true
			case OpUpdate:
				return op.existed
			case OpInsert:
				return !op.existed
			}
			return false
		}
		if err := writeKeptRuns(enc, rec, keep); err != nil {
			return err
		}
		seq += rec.NumRows()
	}
	if err := rr.Err(); err != nil {
		return fmt.Errorf("read spill: %w", err)
	}
	return nil
}

// writeKeptRuns writes the rows of rec for which keep is true, as zero-copy
// slices of consecutive kept rows.
func writeKeptRuns(enc filefmt.Encoder, rec arrow.RecordBatch, keep func(int) bool) error {
	n := int(rec.NumRows())
	start := -1
	flush := func(end int) error {
		if start < 0 {
			return nil
		}
		var s arrow.RecordBatch = rec
		if start != 0 || end != n {
			s = rec.NewSlice(int64(start), int64(end))
			defer s.Release()
		}
		start = -1
		return enc.Write(s)
	}
	for i := range n {
		if keep(i) {
			if start < 0 {
				start = i
			}
			continue
		}
		if err := flush(i); err != nil {
			return err
		}
	}
	return flush(n)
}

// BatchLimits implements BatchSizer: a file takes any batch; large ones make large row groups.
func (w *fileMerge) BatchLimits() BatchLimits { return databaseBatch }
