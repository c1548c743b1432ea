package filefmt

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// OpenAll reads files one after another as one stream of records. The first
// file fixes the schema: CSV and JSONL files after it are read with its
// columns and types (a value that does not fit is an error naming its file
// and row), and a Parquet file with other columns or types is an error naming
// both files. name turns a path into how errors name it (nil: the path).
func OpenAll(ctx context.Context, paths []string, format string, opts ReadOptions, name func(string) string) (array.RecordReader, error) {
	if len(paths) == 0 {
		return nil, fmt.Errorf("no files to read")
	}
	if name == nil {
		name = func(p string) string { return p }
	}
	o := opts
	o.Name = name(paths[0])
	first, err := Open(ctx, paths[0], format, o)
	if err != nil {
		return nil, err
	}
	m := &multiReader{ctx: ctx, paths: paths, format: format, opts: opts, name: name,
		cur: first, schema: first.Schema(), firstName: o.Name}
	m.refs.Add(1)
	return m, nil
}

type multiReader struct {
	refs      atomic.Int64
	ctx       context.Context
	paths     []string
	i         int
	format    string
	opts      ReadOptions
	name      func(string) string
	firstName string
	schema    *arrow.Schema
	cur       array.RecordReader
	rec       arrow.RecordBatch
	err       error
}

func (m *multiReader) Retain()                        { m.refs.Add(1) }
func (m *multiReader) Schema() *arrow.Schema          { return m.schema }
func (m *multiReader) RecordBatch() arrow.RecordBatch { return m.rec }
func (m *multiReader) Record() arrow.RecordBatch      { return m.rec }
func (m *multiReader) Err() error                     { return m.err }

func (m *multiReader) Release() {
	if m.refs.Add(-1) == 0 && m.cur != nil {
		m.cur.Release()
		m.cur = nil
	}
}

func (m *multiReader) Next() bool {
	m.rec = nil
	for m.err == nil && m.cur != nil {
		if m.cur.Next() {
			m.rec = m.cur.RecordBatch()
			return true
		}
		if err := m.cur.Err(); err != nil {
			m.err = err
			return false
		}
		m.cur.Release()
		m.cur = nil
		m.i++
		if m.i == len(m.paths) {
			return false
		}
		m.err = m.openNext()
	}
	return false
}

func (m *multiReader) openNext() error {
	o := m.opts
	o.Name = m.name(m.paths[m.i])
	if m.format != Parquet {
		o.Schema, o.SchemaFrom = m.schema, m.firstName
	}
	r, err := Open(m.ctx, m.paths[m.i], m.format, o)
	if err != nil {
		return err
	}
	if !SameColumns(r.Schema(), m.schema) {
		r.Release()
		return fmt.Errorf("%s: schema %s differs from %s's %s (every file of one source needs the same columns and types)",
			o.Name, describeSchema(r.Schema()), m.firstName, describeSchema(m.schema))
	}
	m.cur = r
	return nil
}

// SameColumns reports whether two schemas have the same column names and
// types in the same order, ignoring metadata (pqarrow adds field ids).
func SameColumns(a, b *arrow.Schema) bool {
	if a.NumFields() != b.NumFields() {
		return false
	}
	for i := range a.NumFields() {
		fa, fb := a.Field(i), b.Field(i)
		if fa.Name != fb.Name || !arrow.TypeEqual(fa.Type, fb.Type) {
			return false
		}
	}
	return true
}

func describeSchema(s *arrow.Schema) string {
	out := "("
	for i, f := range s.Fields() {
		if i > 0 {
			out += ", "
		}
		out += f.Name + " " + f.Type.String()
	}
	return out + ")"
}
