package load

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"slices"
	stdsync "sync"

	"github.com/hoist-dev/hoist/internal/filefmt"
)

// fileAppend appends CSV or JSONL batches to the object in place. Each batch
// goes to the file in one write; if that fails the file is truncated back to
// its size before the batch, so a failed batch leaves no partial rows behind
// for the retry to duplicate.
type fileAppend struct {
	mu   stdsync.Mutex
	obj  fileObject
	f    *os.File
	size int64
	enc  filefmt.Encoder
	cw   *fileCountWriter
	done bool
}

var _ Writer = (*fileAppend)(nil)

type fileCountWriter struct {
	w io.Writer
	n int64
}

func (c *fileCountWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func newFileAppend(o fileObject) (*fileAppend, error) {
	f, err := os.OpenFile(o.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if st.Size() > 0 && o.format == filefmt.CSV {
		if err := checkCSVHeader(o); err != nil {
			f.Close()
			return nil, err
		}
	}
	cw := &fileCountWriter{w: f, n: st.Size()}
	enc, err := filefmt.NewEncoder(cw, o.format, o.target.Schema, filefmt.WriteOptions{NoHeader: st.Size() > 0, Compression: o.compression, Alloc: o.target.Alloc})
	if err != nil {
		f.Close()
		return nil, err
	}
	return &fileAppend{obj: o, f: f, size: st.Size(), enc: enc, cw: cw}, nil
}

// checkCSVHeader refuses to append rows under a header naming other columns.
func checkCSVHeader(o fileObject) error {
	f, err := os.Open(o.path)
	if err != nil {
		return err
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	header, err := r.Read()
	if err != nil {
		return fmt.Errorf("read header of %s: %w", o.name(), err)
	}
	want := make([]string, 0, o.target.Schema.NumFields())
	for _, fl := range o.target.Schema.Fields() {
		want = append(want, fl.Name)
	}
	if len(header) > 0 {
		header[0] = trimUTF8BOM(header[0])
	}
	if !slices.Equal(header, want) {
		return fmt.Errorf("%s has columns %v, the sync writes %v (use mode replace to rewrite it)", o.name(), header, want)
	}
	return nil
}

func trimUTF8BOM(s string) string {
	if len(s) >= 3 && s[:3] == "\xEF\xBB\xBF" {
		return s[3:]
	}
	return s
}

func (w *fileAppend) Concurrency() int { return 1 }

func (w *fileAppend) Write(ctx context.Context, b Batch) (Result, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	if b.Op != OpAppend {
		return Result{}, fmt.Errorf("load batch %d into %s: mode append takes append batches, got %s", b.Seq, w.obj.name(), b.Op)
	}
	if err := w.enc.Write(b.Record); err != nil {
		if terr := w.f.Truncate(w.size); terr != nil {
			err = fmt.Errorf("%w (and truncating the partial batch failed: %v)", err, terr)
		}
		w.cw.n = w.size
		return Result{}, fmt.Errorf("load batch %d into %s: %w", b.Seq, w.obj.name(), err)
	}
	w.size = w.cw.n
	return Result{}, nil
}

// Commit and Abort both keep what was appended: every batch written was
// acknowledged and counts as delivered.
func (w *fileAppend) Commit(ctx context.Context) error { return w.finish() }
func (w *fileAppend) Abort(ctx context.Context) error  { return w.finish() }

func (w *fileAppend) finish() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return nil
	}
	w.done = true
	err := w.enc.Close()
	if err == nil {
		err = w.f.Sync()
	}
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("commit %s: %w", w.obj.name(), err)
	}
	return nil
}

// BatchLimits implements BatchSizer: a file takes any batch; large ones make large row groups.
func (w *fileAppend) BatchLimits() BatchLimits { return databaseBatch }
