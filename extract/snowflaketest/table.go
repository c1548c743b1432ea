// Package snowflaketest is a fake Snowflake server for tests and demos. It
// speaks the HTTP protocol that gosnowflake v1.19.1 uses (login, query
// request with an inline Arrow rowset and remote gzipped chunks, session
// close, telemetry), so the real driver can be tested end to end without an
// account. Tests define tables as Arrow records plus Snowflake column types;
// the fake encodes them the way Snowflake does on the wire (integers in the
// narrowest width per chunk, timestamps as scaled int64 or structs).
package snowflaketest

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Snowflake's internal type names, as the rowtype of a query result carries
// them. The driver decodes columns by these names, not by Arrow metadata.
const (
	Fixed        = "fixed"
	Real         = "real"
	Text         = "text"
	Boolean      = "boolean"
	Date         = "date"
	Time         = "time"
	TimestampNTZ = "timestamp_ntz"
	TimestampLTZ = "timestamp_ltz"
	TimestampTZ  = "timestamp_tz"
	Variant      = "variant"
	Object       = "object"
	Array        = "array"
	Binary       = "binary"
)

// Column is one column of a fake table.
//
// The table's records hold each column in a logical Arrow type, which the
// fake turns into Snowflake's wire form per chunk:
//
//	fixed            int64 (scale 0) or decimal128 with the column's scale
//	real             float64
//	text, variant, object, array   string (variant/object/array as JSON text)
//	boolean          bool
//	date             date32
//	time             time64 (any unit)
//	timestamp_*      timestamp (any unit): NTZ as wall clock in UTC, LTZ/TZ as instants
//	binary           binary
type Column struct {
	Name string
	Type string
	// Precision and Scale of a fixed column; Scale is also the fractional
	// second digits (0–9) of time and timestamp columns.
	Precision, Scale int
	Nullable         bool
	// TZOffsetMinutes is the zone offset sent with every timestamp_tz value.
	TZOffsetMinutes int
}

// Table is a named result the fake can serve. Slice is called lazily per
// chunk, so a generated table of millions of rows costs no memory up front.
type Table struct {
	Name    string
	Columns []Column
	Rows    int
	// Slice returns rows [off, off+n) in logical form; the caller releases it.
	Slice func(mem memory.Allocator, off, n int) arrow.RecordBatch
}

// NewTable builds a table from records whose fields follow cols (one field
// per column, logical types as documented on Column).
func NewTable(name string, cols []Column, recs ...arrow.RecordBatch) (*Table, error) {
	fields := make([]arrow.Field, len(cols))
	for i, c := range cols {
		if len(recs) == 0 {
			return nil, fmt.Errorf("table %s: no records", name)
		}
		f := recs[0].Schema().Field(i)
		fields[i] = arrow.Field{Name: c.Name, Type: f.Type, Nullable: true}
	}
	schema := arrow.NewSchema(fields, nil)
	cat, err := concatRecords(schema, recs)
	if err != nil {
		return nil, fmt.Errorf("table %s: %w", name, err)
	}
	return &Table{
		Name:    name,
		Columns: cols,
		Rows:    int(cat.NumRows()),
		Slice: func(_ memory.Allocator, off, n int) arrow.RecordBatch {
			return cat.NewSlice(int64(off), int64(off+n))
		},
	}, nil
}

// concatRecords joins records column by column into one record. The
// result lives on the Go heap so tables need no Release.
func concatRecords(schema *arrow.Schema, recs []arrow.RecordBatch) (arrow.RecordBatch, error) {
	mem := memory.NewGoAllocator()
	cols := make([]arrow.Array, schema.NumFields())
	var rows int64
	for _, r := range recs {
		if int(r.NumCols()) != schema.NumFields() {
			return nil, fmt.Errorf("record has %d columns, want %d", r.NumCols(), schema.NumFields())
		}
		rows += r.NumRows()
	}
	for i := range cols {
		parts := make([]arrow.Array, len(recs))
		for j, r := range recs {
			parts[j] = r.Column(i)
		}
		c, err := array.Concatenate(parts, mem)
		if err != nil {
			return nil, fmt.Errorf("column %s: %w", schema.Field(i).Name, err)
		}
		cols[i] = c
	}
	return array.NewRecordBatch(schema, cols, rows), nil
}
