package load

import (
	"context"
	"fmt"
	stdsync "sync"

	"github.com/hoist-dev/hoist/internal/filefmt"
)

// fileReplace writes a whole new file into a temp file and renames it into
// place. For mode replace the new file replaces the object at Commit, and
// Abort leaves the old one untouched. For a Parquet append it is a new part
// file: Abort keeps it too, since its batches were acknowledged and so count
// as delivered.
type fileReplace struct {
	mu      stdsync.Mutex
	obj     fileObject
	replace bool
	tmp     *atomicFile
	enc     filefmt.Encoder
	rows    int64
	done    bool
}

var _ Writer = (*fileReplace)(nil)

func newFileReplace(o fileObject, final string, replace bool) (*fileReplace, error) {
	tmp, err := newAtomicFile(final)
	if err != nil {
		return nil, err
	}
	enc, err := filefmt.NewEncoder(tmp, o.format, o.target.Schema, filefmt.WriteOptions{Compression: o.compression, Alloc: o.target.Alloc})
	if err != nil {
		tmp.discard()
		return nil, err
	}
	return &fileReplace{obj: o, replace: replace, tmp: tmp, enc: enc}, nil
}

func (w *fileReplace) Concurrency() int { return 1 }

func (w *fileReplace) Write(ctx context.Context, b Batch) (Result, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	if b.Op != OpAppend {
		return Result{}, fmt.Errorf("load batch %d into %s: mode %s takes append batches, got %s", b.Seq, w.obj.name(), w.obj.target.Dest.Mode, b.Op)
	}
	if err := w.enc.Write(b.Record); err != nil {
		return Result{}, fmt.Errorf("load batch %d into %s: %w", b.Seq, w.obj.name(), err)
	}
	w.rows += b.Record.NumRows()
	return Result{}, nil
}

func (w *fileReplace) Commit(ctx context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.finish()
}

func (w *fileReplace) Abort(ctx context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.replace {
		if w.done {
			return nil
		}
		w.done = true
		w.enc.Close() // frees the encoder's buffered row group; the file is dropped anyway
		return w.tmp.discard()
	}
	return w.finish()
}

func (w *fileReplace) finish() error {
	if w.done {
		return nil
	}
	w.done = true
	if !w.replace && w.rows == 0 {
		w.enc.Close()
		return w.tmp.discard() // an append run with nothing new leaves no empty part
	}
	if err := w.enc.Close(); err != nil {
		w.tmp.discard()
		return fmt.Errorf("commit %s: %w", w.obj.name(), err)
	}
	var parts []string
	if w.replace && w.obj.format == filefmt.Parquet {
		var err error
		if parts, err = filePartsOf(w.obj.path); err != nil {
			w.tmp.discard()
			return fmt.Errorf("commit %s: %w", w.obj.name(), err)
		}
	}
	if err := w.tmp.commit(!w.replace); err != nil {
		return fmt.Errorf("commit %s: %w", w.obj.name(), err)
	}
	w.obj.target.Log().Debug("wrote file", "file", w.tmp.final, "rows", w.rows)
	// The object now holds the whole table: parts left by earlier append
	// runs would add stale rows to a glob read.
	return removeFileParts(parts)
}

// BatchLimits implements BatchSizer: a file takes any batch; large ones make large row groups.
func (w *fileReplace) BatchLimits() BatchLimits { return databaseBatch }
