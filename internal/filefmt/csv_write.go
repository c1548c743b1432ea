package filefmt

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	arrowcsv "github.com/apache/arrow-go/v18/arrow/csv"
)

// csvEncoder writes through arrow/csv's Writer with a header, NULL as an
// empty cell (what the reader reads as NULL), timestamps as RFC 3339 in UTC
// (so they read back as timestamps) and nested values as JSON text.
type csvEncoder struct {
	w      io.Writer
	schema *arrow.Schema
	buf    bytes.Buffer
	cw     *arrowcsv.Writer
	header bool
	wrote  bool
}

func newCSVEncoder(w io.Writer, schema *arrow.Schema, opts WriteOptions) (*csvEncoder, error) {
	e := &csvEncoder{w: w, schema: schema, header: !opts.NoHeader}
	e.cw = arrowcsv.NewWriter(&e.buf, schema,
		arrowcsv.WithHeader(e.header),
		arrowcsv.WithNullWriter(""),
		arrowcsv.WithCustomTypeConverter(csvConvert))
	return e, nil
}

func csvConvert(typ arrow.DataType, col arrow.Array) ([]string, bool) {
	switch typ.ID() {
	case arrow.TIMESTAMP:
		arr := col.(*array.Timestamp)
		unit := typ.(*arrow.TimestampType).Unit
		out := make([]string, arr.Len())
		for i := range out {
			if arr.IsValid(i) {
				out[i] = arr.Value(i).ToTime(unit).UTC().Format(time.RFC3339Nano)
			}
		}
		return out, true
	case arrow.STRUCT, arrow.LIST, arrow.LARGE_LIST, arrow.FIXED_SIZE_LIST, arrow.MAP, arrow.STRING_VIEW,
		arrow.DENSE_UNION, arrow.SPARSE_UNION, arrow.DICTIONARY, arrow.INTERVAL_MONTH_DAY_NANO,
		arrow.INTERVAL_DAY_TIME, arrow.INTERVAL_MONTHS, arrow.DURATION, arrow.TIME32, arrow.TIME64, arrow.LIST_VIEW, arrow.LARGE_LIST_VIEW:
		out := make([]string, col.Len())
		for i := range out {
			if col.IsValid(i) {
				out[i] = jsonText(col, i)
			}
		}
		return out, true
	}
	return nil, false
}

// jsonText renders one value as arrow's JSON form; plain strings come out
// bare rather than quoted.
func jsonText(col arrow.Array, i int) string {
	v := col.GetOneForMarshal(i)
	if s, ok := v.(string); ok {
		return s
	}
	b, err := json.Marshal(v)
	if err != nil {
		return col.ValueStr(i)
	}
	return string(b)
}

func (e *csvEncoder) Write(rec arrow.RecordBatch) error {
	rec, err := Conform(rec, e.schema)
	if err != nil {
		return err
	}
	defer rec.Release()
	e.buf.Reset()
	if err := e.cw.Write(rec); err != nil {
		return fmt.Errorf("encode csv: %w", err)
	}
	e.wrote = true
	if _, err := e.w.Write(e.buf.Bytes()); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	return nil
}

// Close writes the header of a file that got no rows, so it still says what
// its columns are.
func (e *csvEncoder) Close() error {
	if e.wrote || !e.header {
		return nil
	}
	e.buf.Reset()
	cw := csv.NewWriter(&e.buf)
	cw.Write(fieldNames(e.schema))
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("encode csv header: %w", err)
	}
	if _, err := e.w.Write(e.buf.Bytes()); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	return nil
}
