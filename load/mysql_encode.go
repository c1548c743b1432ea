package load

import (
	"bufio"
	"errors"
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// LOAD DATA's text format, as myLoadSQL declares it: fields end at a tab,
// lines at a newline, a backslash escapes, \N is NULL. Values are written
// in the form MySQL parses back exactly: decimals with all their digits,
// floats in the shortest form that reads back to the same bits, times with
// microseconds, in UTC.

// myAppend appends the text of row i of the array it was made for.
type myAppend func(dst []byte, i int) ([]byte, error)

// myEncoder binds an array of one Arrow type to its myAppend.
type myEncoder func(arr arrow.Array) myAppend

// myEncoderFor returns the encoder of an Arrow type, or an error for a type
// that has no text form MySQL reads.
func myEncoderFor(dt arrow.DataType) (myEncoder, error) {
	if ext, ok := dt.(arrow.ExtensionType); ok {
		inner, err := myEncoderFor(ext.StorageType())
		if err != nil {
			return nil, err
		}
		return func(arr arrow.Array) myAppend { return inner(arr.(array.ExtensionArray).Storage()) }, nil
	}
	switch t := dt.(type) {
	case *arrow.Decimal128Type:
		return func(arr arrow.Array) myAppend {
			a := arr.(*array.Decimal128)
			return func(dst []byte, i int) ([]byte, error) { return append(dst, a.Value(i).ToString(t.Scale)...), nil }
		}, nil
	case *arrow.Decimal256Type:
		return func(arr arrow.Array) myAppend {
			a := arr.(*array.Decimal256)
			return func(dst []byte, i int) ([]byte, error) { return append(dst, a.Value(i).ToString(t.Scale)...), nil }
		}, nil
	case *arrow.TimestampType:
		mul, div := myUnitToMicros(t.Unit)
		return func(arr arrow.Array) myAppend {
			a := arr.(*array.Timestamp)
			return func(dst []byte, i int) ([]byte, error) {
				v := int64(a.Value(i))
				if mul > 1 && (v > math.MaxInt64/mul || v < math.MinInt64/mul) {
					return nil, errors.New("timestamp out of range")
				}
				return myAppendDateTime(dst, myFloorDiv(v*mul, div))
			}
		}, nil
	case *arrow.Time32Type:
		mul := int64(1e6)
		if t.Unit == arrow.Millisecond {
			mul = 1e3
		}
		return func(arr arrow.Array) myAppend {
			a := arr.(*array.Time32)
			return func(dst []byte, i int) ([]byte, error) { return myAppendClock(dst, int64(a.Value(i))*mul) }
		}, nil
	case *arrow.Time64Type:
		div := int64(1)
		if t.Unit == arrow.Nanosecond {
			div = 1e3
		}
		return func(arr arrow.Array) myAppend {
			a := arr.(*array.Time64)
			return func(dst []byte, i int) ([]byte, error) { return myAppendClock(dst, myFloorDiv(int64(a.Value(i)), div)) }
		}, nil
	}
	switch dt.ID() {
	case arrow.NULL:
		return func(arrow.Array) myAppend {
			return func(dst []byte, _ int) ([]byte, error) { return append(dst, `\N`...), nil }
		}, nil
	case arrow.BOOL:
		return func(arr arrow.Array) myAppend {
			a := arr.(*array.Boolean)
			return func(dst []byte, i int) ([]byte, error) {
				if a.Value(i) {
					return append(dst, '1'), nil
				}
				return append(dst, '0'), nil
			}
		}, nil
	case arrow.INT8:
		return myInts(func(a *array.Int8, i int) int64 { return int64(a.Value(i)) }), nil
	case arrow.INT16:
		return myInts(func(a *array.Int16, i int) int64 { return int64(a.Value(i)) }), nil
	case arrow.INT32:
		return myInts(func(a *array.Int32, i int) int64 { return int64(a.Value(i)) }), nil
	case arrow.INT64:
		return myInts(func(a *array.Int64, i int) int64 { return a.Value(i) }), nil
	case arrow.UINT8:
		return myUints(func(a *array.Uint8, i int) uint64 { return uint64(a.Value(i)) }), nil
	case arrow.UINT16:
		return myUints(func(a *array.Uint16, i int) uint64 { return uint64(a.Value(i)) }), nil
	case arrow.UINT32:
		return myUints(func(a *array.Uint32, i int) uint64 { return uint64(a.Value(i)) }), nil
	case arrow.UINT64:
		return myUints(func(a *array.Uint64, i int) uint64 { return a.Value(i) }), nil
	case arrow.FLOAT32:
		// the float32's exact value as a double: the server's double to
		// FLOAT conversion gives back the same bits
		return myFloats(func(a *array.Float32, i int) float64 { return float64(a.Value(i)) }), nil
	case arrow.FLOAT64:
		return myFloats(func(a *array.Float64, i int) float64 { return a.Value(i) }), nil
	case arrow.STRING:
		return myTexts(func(a *array.String, i int) string { return a.Value(i) }), nil
	case arrow.LARGE_STRING:
		return myTexts(func(a *array.LargeString, i int) string { return a.Value(i) }), nil
	case arrow.STRING_VIEW:
		return myTexts(func(a *array.StringView, i int) string { return a.Value(i) }), nil
	case arrow.BINARY:
		return myBytes(func(a *array.Binary, i int) []byte { return a.Value(i) }), nil
	case arrow.LARGE_BINARY:
		return myBytes(func(a *array.LargeBinary, i int) []byte { return a.Value(i) }), nil
	case arrow.BINARY_VIEW:
		return myBytes(func(a *array.BinaryView, i int) []byte { return a.Value(i) }), nil
	case arrow.FIXED_SIZE_BINARY:
		return myBytes(func(a *array.FixedSizeBinary, i int) []byte { return a.Value(i) }), nil
	case arrow.DATE32:
		return func(arr arrow.Array) myAppend {
			a := arr.(*array.Date32)
			return func(dst []byte, i int) ([]byte, error) { return myAppendDate(dst, int64(a.Value(i))) }
		}, nil
	case arrow.DATE64:
		return func(arr arrow.Array) myAppend {
			a := arr.(*array.Date64)
			return func(dst []byte, i int) ([]byte, error) {
				return myAppendDate(dst, myFloorDiv(int64(a.Value(i)), 86400000))
			}
		}, nil
	}
	return nil, fmt.Errorf("no mysql text form for arrow %s", dt)
}

func myInts[A arrow.Array](get func(A, int) int64) myEncoder {
	return func(arr arrow.Array) myAppend {
		a := arr.(A)
		return func(dst []byte, i int) ([]byte, error) { return strconv.AppendInt(dst, get(a, i), 10), nil }
	}
}

func myUints[A arrow.Array](get func(A, int) uint64) myEncoder {
	return func(arr arrow.Array) myAppend {
		a := arr.(A)
		return func(dst []byte, i int) ([]byte, error) { return strconv.AppendUint(dst, get(a, i), 10), nil }
	}
}

func myFloats[A arrow.Array](get func(A, int) float64) myEncoder {
	return func(arr arrow.Array) myAppend {
		a := arr.(A)
		return func(dst []byte, i int) ([]byte, error) {
			v := get(a, i)
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("%v cannot be stored in MySQL (no NaN or infinity)", v)
			}
			return strconv.AppendFloat(dst, v, 'g', -1, 64), nil
		}
	}
}

func myTexts[A arrow.Array](get func(A, int) string) myEncoder {
	return func(arr arrow.Array) myAppend {
		a := arr.(A)
		return func(dst []byte, i int) ([]byte, error) {
			s := get(a, i)
			if !utf8.ValidString(s) {
				return nil, errors.New("text is not valid UTF-8")
			}
			return myEscape(dst, s), nil
		}
	}
}

func myBytes[A arrow.Array](get func(A, int) []byte) myEncoder {
	return func(arr arrow.Array) myAppend {
		a := arr.(A)
		return func(dst []byte, i int) ([]byte, error) { return myEscape(dst, get(a, i)), nil }
	}
}

// myEscapes maps the bytes LOAD DATA needs escaped to the letter after the
// backslash (0: written as is).
var myEscapes = [256]byte{'\\': '\\', '\t': 't', '\n': 'n', '\r': 'r', 0: '0'}

// myEscape appends v, escaping what would end a field or a line, the
// escape character itself, and NUL and CR (which some readers mangle).
func myEscape[T ~string | ~[]byte](dst []byte, v T) []byte {
	start := 0
	for i := 0; i < len(v); i++ {
		c := v[i]
		if e := myEscapes[c]; e != 0 {
			dst = append(dst, v[start:i]...)
			dst = append(dst, '\\', e)
			start = i + 1
		}
	}
	return append(dst, v[start:]...)
}

func myUnitToMicros(u arrow.TimeUnit) (mul, div int64) {
	switch u {
	case arrow.Second:
		return 1e6, 1
	case arrow.Millisecond:
		return 1e3, 1
	case arrow.Nanosecond:
		return 1, 1e3 // MySQL keeps microseconds: floor, as the postgres destination does
	}
	return 1, 1
}

func myFloorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// myAppendDate writes days since 1970-01-01 as YYYY-MM-DD, within the
// years MySQL's DATE and DATETIME hold.
func myAppendDate(dst []byte, days int64) ([]byte, error) {
	y, m, d := myCivil(days)
	if y < 1 || y > 9999 {
		return nil, fmt.Errorf("date in year %d is outside MySQL's 0001-9999", y)
	}
	dst = myPad(dst, y, 4)
	dst = append(dst, '-')
	dst = myPad(dst, m, 2)
	dst = append(dst, '-')
	return myPad(dst, d, 2), nil
}

// myAppendDateTime writes microseconds since the epoch as
// YYYY-MM-DD HH:MM:SS.ffffff (UTC).
func myAppendDateTime(dst []byte, us int64) ([]byte, error) {
	days := myFloorDiv(us, 86400e6)
	dst, err := myAppendDate(dst, days)
	if err != nil {
		return nil, err
	}
	dst = append(dst, ' ')
	return myAppendClock(dst, us-days*86400e6)
}

// myAppendClock writes microseconds since midnight as HH:MM:SS.ffffff.
func myAppendClock(dst []byte, us int64) ([]byte, error) {
	if us < 0 || us >= 86400e6 {
		return nil, fmt.Errorf("time of day %dµs is outside 00:00:00-23:59:59.999999", us)
	}
	s := us / 1e6
	dst = myPad(dst, s/3600, 2)
	dst = append(dst, ':')
	dst = myPad(dst, s/60%60, 2)
	dst = append(dst, ':')
	dst = myPad(dst, s%60, 2)
	dst = append(dst, '.')
	return myPad(dst, us%1e6, 6), nil
}

func myPad(dst []byte, v int64, width int) []byte {
	var buf [20]byte
	b := strconv.AppendInt(buf[:0], v, 10)
	for n := len(b); n < width; n++ {
		dst = append(dst, '0')
	}
	return append(dst, b...)
}

// myCivil is Howard Hinnant's civil_from_days: the proleptic Gregorian date
// of days since 1970-01-01.
func myCivil(days int64) (y, m, d int64) {
	z := days + 719468
	era := myFloorDiv(z, 146097)
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y = yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d = doy - (153*mp+2)/5 + 1
	m = mp + 3
	if m > 12 {
		m -= 12
	}
	if m <= 2 {
		y++
	}
	return y, m, d
}

// myRowWriter writes rows of a record as LOAD DATA lines: the mapped
// columns, then, with ord, the row's index in the record (the staging
// table's row number). A row whose value has no MySQL form is left out and
// reported.
type myRowWriter struct {
	apps []myAppend
	cols []arrow.Array
	name []string
	ord  bool
	line []byte
}

func newMyRowWriter(rec arrow.RecordBatch, encs []myEncoder, ord bool) *myRowWriter {
	n := int(rec.NumCols())
	rw := &myRowWriter{apps: make([]myAppend, n), cols: make([]arrow.Array, n), name: make([]string, n), ord: ord}
	for c := 0; c < n; c++ {
		rw.cols[c] = rec.Column(c)
		rw.apps[c] = encs[c](rw.cols[c])
		rw.name[c] = rec.ColumnName(c)
	}
	return rw
}

// writeAll writes every row of the record to w; sent lists the rows
// written, in order (line k of the stream is row sent[k-1]).
func (rw *myRowWriter) writeAll(w *bufio.Writer, nrows int) (sent []int, bad []RowError, err error) {
	sent = make([]int, 0, nrows)
	for i := 0; i < nrows; i++ {
		line, err := rw.row(rw.line[:0], i)
		if err != nil {
			bad = append(bad, RowError{Row: i, Msg: err.Error()})
			continue
		}
		rw.line = line
		if _, err := w.Write(line); err != nil {
			return nil, nil, err
		}
		sent = append(sent, i)
	}
	return sent, bad, w.Flush()
}

func (rw *myRowWriter) row(dst []byte, i int) ([]byte, error) {
	for c, col := range rw.cols {
		if c > 0 {
			dst = append(dst, '\t')
		}
		if col.IsNull(i) {
			dst = append(dst, `\N`...)
		} else {
			var err error
			if dst, err = rw.apps[c](dst, i); err != nil {
				return dst, fmt.Errorf("column %q: %w", rw.name[c], err)
			}
		}
	}
	if rw.ord {
		dst = append(dst, '\t')
		dst = strconv.AppendInt(dst, int64(i), 10)
	}
	return append(dst, '\n'), nil
}
