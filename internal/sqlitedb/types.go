package sqlitedb

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
)

// Kind is the Arrow type a result column is read into.
type Kind uint8

const (
	// KindInfer: no declared type (an expression) or one SQLite gives NUMERIC
	// affinity without saying more; the first non-NULL value decides.
	KindInfer Kind = iota
	KindInt
	KindFloat
	KindString
	KindBinary
	KindBool
	KindDate
	KindTimestamp
)

// TimestampType is the Arrow type timestamps are read as.
var TimestampType = &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}

// Arrow returns the Arrow type of k (string for KindInfer, the fallback of a
// column that held only NULLs).
func (k Kind) Arrow() arrow.DataType {
	switch k {
	case KindInt:
		return arrow.PrimitiveTypes.Int64
	case KindFloat:
		return arrow.PrimitiveTypes.Float64
	case KindBinary:
		return arrow.BinaryTypes.Binary
	case KindBool:
		return arrow.FixedWidthTypes.Boolean
	case KindDate:
		return arrow.FixedWidthTypes.Date32
	case KindTimestamp:
		return TimestampType
	}
	return arrow.BinaryTypes.String
}

// KindOfDecl maps a declared column type to a Kind. Names hoist knows
// (BOOLEAN, DATE, DATETIME, TIMESTAMP, NUMERIC, DECIMAL) come first, then
// SQLite's own affinity rules (https://sqlite.org/datatype3.html#affname):
// INT → integer, CHAR/CLOB/TEXT → text, BLOB → blob, REAL/FLOA/DOUB → real.
// NUMERIC and DECIMAL read as strings so no digit is lost to a float.
func KindOfDecl(decl string) Kind {
	d := strings.ToUpper(strings.TrimSpace(decl))
	if i := strings.IndexByte(d, '('); i >= 0 {
		d = strings.TrimSpace(d[:i])
	}
	switch {
	case d == "":
		return KindInfer
	case d == "BOOLEAN" || d == "BOOL":
		return KindBool
	case d == "DATE":
		return KindDate
	case strings.HasPrefix(d, "DATETIME") || strings.HasPrefix(d, "TIMESTAMP"):
		return KindTimestamp
	case strings.HasPrefix(d, "NUMERIC") || strings.HasPrefix(d, "DECIMAL"):
		return KindString
	case strings.Contains(d, "INT"):
		return KindInt
	case strings.Contains(d, "CHAR") || strings.Contains(d, "CLOB") || strings.Contains(d, "TEXT"):
		return KindString
	case strings.Contains(d, "BLOB"):
		return KindBinary
	case strings.Contains(d, "REAL") || strings.Contains(d, "FLOA") || strings.Contains(d, "DOUB"):
		return KindFloat
	}
	return KindInfer
}

// KindOfValue infers a Kind from a value the driver returned.
func KindOfValue(v any) Kind {
	switch v.(type) {
	case int64:
		return KindInt
	case float64:
		return KindFloat
	case []byte:
		return KindBinary
	case time.Time:
		return KindTimestamp
	case bool:
		return KindBool
	}
	return KindString
}

// DeclFor returns the column type create_table declares for an Arrow type,
// chosen so that hoist's SQLite source reads the column back as the same
// type. Decimals, lists and structs are TEXT, not NUMERIC/JSON: those names
// carry NUMERIC affinity, which would turn "12.50" into the REAL 12.5.
func DeclFor(t arrow.DataType) (string, error) {
	switch t.ID() {
	case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64, arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64:
		return "INTEGER", nil
	case arrow.FLOAT16, arrow.FLOAT32, arrow.FLOAT64:
		return "REAL", nil
	case arrow.BOOL:
		return "BOOLEAN", nil
	case arrow.STRING, arrow.LARGE_STRING, arrow.STRING_VIEW, arrow.DECIMAL128, arrow.DECIMAL256,
		arrow.LIST, arrow.LARGE_LIST, arrow.FIXED_SIZE_LIST, arrow.STRUCT, arrow.MAP, arrow.TIME32, arrow.TIME64, arrow.NULL:
		return "TEXT", nil
	case arrow.BINARY, arrow.LARGE_BINARY, arrow.BINARY_VIEW, arrow.FIXED_SIZE_BINARY:
		return "BLOB", nil
	case arrow.DATE32, arrow.DATE64:
		return "DATE", nil
	case arrow.TIMESTAMP:
		return "DATETIME", nil
	case arrow.DICTIONARY:
		return DeclFor(t.(*arrow.DictionaryType).ValueType)
	}
	return "", fmt.Errorf("arrow type %s has no sqlite column type", t)
}

// TimestampLayout is how hoist stores timestamps in SQLite: UTC, 'T'
// separator, always six fractional digits and a 'Z'. The fixed width matters:
// with trimmed fractions ("…:05Z" and "…:05.5Z") text order would disagree
// with time order, and cursor comparisons on the text column would skip rows.
const TimestampLayout = "2006-01-02T15:04:05.000000Z"

// DateLayout is how hoist stores dates.
const DateLayout = time.DateOnly

// FormatTimestamp formats t as stored text.
func FormatTimestamp(t time.Time) string { return t.UTC().Format(TimestampLayout) }

// textLayouts are the time texts SQLite's own date functions accept
// (https://sqlite.org/lang_datefunc.html#time_values), with 'T' or a space,
// with or without fraction, zone or seconds. Fractions of any length parse
// through the .999999999 element.
var textLayouts = []string{
	"2006-01-02T15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04Z07:00",
	"2006-01-02 15:04Z07:00",
	"2006-01-02T15:04",
	"2006-01-02 15:04",
	"2006-01-02",
}

// ParseTime reads a stored date or timestamp. Text in any of SQLite's time
// formats is read as UTC unless it names an offset; an INTEGER is Unix
// seconds (what unixepoch() returns) and a REAL a Julian day number (what
// julianday() returns), SQLite's own conventions.
func ParseTime(v any) (time.Time, error) {
	switch x := v.(type) {
	case time.Time:
		return x.UTC(), nil
	case int64:
		return time.Unix(x, 0).UTC(), nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return time.Time{}, fmt.Errorf("%v is not a julian day", x)
		}
		// Julian day 2440587.5 is the Unix epoch.
		us := math.Round((x - 2440587.5) * 86400e6)
		return time.UnixMicro(int64(us)).UTC(), nil
	case string:
		return parseTimeText(x)
	case []byte:
		return parseTimeText(string(x))
	}
	return time.Time{}, fmt.Errorf("%T is not a time", v)
}

func parseTimeText(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, l := range textLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a date or timestamp SQLite understands (want e.g. 2006-01-02 15:04:05)", s)
}

// FormatNumber renders a stored REAL as exact-as-stored text for a string
// column (NUMERIC/DECIMAL read as strings): the shortest form that reads back
// as the same float, without an exponent for ordinary magnitudes.
func FormatNumber(f float64) string {
	if a := math.Abs(f); a != 0 && (a < 1e-6 || a >= 1e21) {
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}
