package sync

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	stdsync "sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
)

// rejectFile appends rejected rows as JSON lines; safe for concurrent use.
// The file grows across runs (users tail it): every line names its run and
// when it was rejected, so the rows of one run can be told apart.
type rejectFile struct {
	path  string
	runID string
	mu    stdsync.Mutex
	f     *os.File
	w     *bufio.Writer
	n     int64
}

type rejectLine struct {
	RunID  string         `json:"run_id"`
	Time   string         `json:"time"` // RFC 3339, UTC
	Sync   string         `json:"sync"`
	Key    map[string]any `json:"key"`
	Row    map[string]any `json:"row"`
	Error  string         `json:"error"`
	Status int            `json:"status,omitempty"`
	Body   string         `json:"body,omitempty"`
}

func (r *rejectFile) write(line rejectLine) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.f == nil {
		if err := os.MkdirAll(filepath.Dir(r.path), 0o755); err != nil {
			return fmt.Errorf("rejected-rows file %s: %w", r.path, err)
		}
		f, err := os.OpenFile(r.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return fmt.Errorf("rejected-rows file %s: %w", r.path, err)
		}
		r.f, r.w = f, bufio.NewWriter(f)
	}
	line.RunID = r.runID
	line.Time = time.Now().UTC().Format(time.RFC3339Nano)
	data, err := json.Marshal(line)
	if err != nil {
		return fmt.Errorf("encode rejected row: %w", err)
	}
	r.w.Write(data)
	r.n++
	_, err = r.w.Write([]byte{'\n'})
	return err
}

func (r *rejectFile) close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.f == nil {
		return nil
	}
	err := r.w.Flush()
	if err2 := r.f.Sync(); err == nil {
		err = err2
	}
	if err2 := r.f.Close(); err == nil {
		err = err2
	}
	r.f = nil
	return err
}

// rowMap renders row i of rec as field → JSON-ready value.
func rowMap(rec arrow.Record, i int, only []int) map[string]any {
	m := map[string]any{}
	cols := only
	if cols == nil {
		cols = make([]int, rec.NumCols())
		for c := range cols {
			cols[c] = c
		}
	}
	for _, c := range cols {
		m[rec.ColumnName(c)] = rec.Column(c).GetOneForMarshal(i)
	}
	return m
}

// keyOf renders the key fields of row i (empty without a primary key).
func keyOf(rec arrow.Record, i int, keyIdx []int) map[string]any {
	if len(keyIdx) == 0 {
		return map[string]any{}
	}
	return rowMap(rec, i, keyIdx)
}
