package extract

import (
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
)

// MySQLTypeKey is the Arrow field metadata key naming the MySQL type a text
// column came from (json, and decimal(p,s) past decimal128's 38 digits,
// read as exact text), so that a destination's create_table can give it
// back its type.
const MySQLTypeKey = "hoist.mysql_type"

// mysqlArrowField is the Arrow field a result column is read as, exactly:
//
//	TINYINT … BIGINT        int8 … int64 (MEDIUMINT int32); UNSIGNED uint8 … uint64
//	TINYINT(1)              bool, when tinyint1_as_bool asks; else int8
//	BIT(n)                  uint64
//	YEAR                    int16
//	DECIMAL(p,s)            decimal128(p,s); p > 38: exact text
//	FLOAT, DOUBLE           float32, float64
//	DATE                    date32
//	DATETIME, TIMESTAMP     timestamp(µs, UTC) (the session is in UTC)
//	TIME                    time64(µs); a value outside 00:00:00–23:59:59.999999 fails
//	CHAR … TEXT, ENUM, SET, JSON   utf8
//	BINARY, VARBINARY, BLOB binary
//
// detail is the column's full type from the catalog ("" when unknown). Any
// other type fails, naming the column and the type.
func mysqlArrowField(ct *sql.ColumnType, detail string, tinyBool bool) (mysqlColumn, error) {
	name, typ := ct.Name(), ct.DatabaseTypeName()
	col := mysqlColumn{field: arrow.Field{Name: name, Nullable: true}, bit: typ == "BIT"}
	f := &col.field
	switch typ {
	case "TINYINT":
		if tinyBool && isTinyInt1(detail) {
			f.Type = arrow.FixedWidthTypes.Boolean
		} else {
			f.Type = arrow.PrimitiveTypes.Int8
		}
	case "SMALLINT":
		f.Type = arrow.PrimitiveTypes.Int16
	case "MEDIUMINT", "INT":
		f.Type = arrow.PrimitiveTypes.Int32
	case "BIGINT":
		f.Type = arrow.PrimitiveTypes.Int64
	case "UNSIGNED TINYINT":
		f.Type = arrow.PrimitiveTypes.Uint8
	case "UNSIGNED SMALLINT":
		f.Type = arrow.PrimitiveTypes.Uint16
	case "UNSIGNED MEDIUMINT", "UNSIGNED INT":
		f.Type = arrow.PrimitiveTypes.Uint32
	case "UNSIGNED BIGINT", "BIT":
		f.Type = arrow.PrimitiveTypes.Uint64
	case "YEAR":
		f.Type = arrow.PrimitiveTypes.Int16
	case "FLOAT":
		f.Type = arrow.PrimitiveTypes.Float32
	case "DOUBLE":
		f.Type = arrow.PrimitiveTypes.Float64
	case "DECIMAL":
		p, s, ok := ct.DecimalSize()
		if !ok || p < 1 || s < 0 || s > p {
			return col, fmt.Errorf("column %q: DECIMAL without a precision", name)
		}
		// The driver counts the sign in the precision it reports, also for
		// an UNSIGNED column, which has none: the catalog says.
		if dp, ds, ok := decimalDetail(detail); ok && ds == s && dp >= p {
			p = dp
		} else {
			col.guessed = true
		}
		if p > decimal128.MaxPrecision {
			f.Type = arrow.BinaryTypes.String
			f.Metadata = arrow.NewMetadata([]string{MySQLTypeKey}, []string{fmt.Sprintf("decimal(%d,%d)", p, s)})
			break
		}
		f.Type = &arrow.Decimal128Type{Precision: int32(p), Scale: int32(s)}
	case "DATE":
		f.Type = arrow.FixedWidthTypes.Date32
	case "DATETIME", "TIMESTAMP":
		f.Type = &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
	case "TIME":
		f.Type = arrow.FixedWidthTypes.Time64us
	case "CHAR", "VARCHAR", "TINYTEXT", "TEXT", "MEDIUMTEXT", "LONGTEXT", "ENUM", "SET":
		f.Type = arrow.BinaryTypes.String
	case "JSON":
		f.Type = arrow.BinaryTypes.String
		f.Metadata = arrow.NewMetadata([]string{MySQLTypeKey}, []string{"json"})
	case "BINARY", "VARBINARY", "TINYBLOB", "BLOB", "MEDIUMBLOB", "LONGBLOB":
		f.Type = arrow.BinaryTypes.Binary
	case "NULL":
		// a bare NULL in the select list: a column of no values
		f.Type = arrow.BinaryTypes.String
	default:
		if typ == "" {
			typ = "of an unknown kind"
		}
		return col, fmt.Errorf("column %q has type %s, which hoist cannot read (cast it in the query, e.g. CAST(%s AS CHAR))",
			name, typ, "`"+strings.ReplaceAll(name, "`", "``")+"`")
	}
	return col, nil
}

// mysqlColumn is one result column: its Arrow field and, for BIT, that
// its values come as big-endian bytes rather than numbers.
type mysqlColumn struct {
	field arrow.Field
	bit   bool
	// guessed: a DECIMAL whose type the catalog did not confirm; if it is
	// UNSIGNED, its precision is one short
	guessed bool
}

func isTinyInt1(detail string) bool {
	return strings.HasPrefix(strings.ToLower(strings.TrimSpace(detail)), "tinyint(1)") &&
		!strings.Contains(strings.ToLower(detail), "unsigned")
}

// decimalDetail reads "decimal(p,s)" (maybe followed by " unsigned").
func decimalDetail(detail string) (p, s int64, ok bool) {
	d := strings.ToLower(strings.TrimSpace(detail))
	if n, _ := fmt.Sscanf(d, "decimal(%d,%d)", &p, &s); n == 2 {
		return p, s, true
	}
	return 0, 0, false
}

// mysqlScanner decodes one column's driver values straight into its Arrow
// builder: rows.Scan hands it each value, a []byte pointing into the
// driver's buffer or an int64, uint64, float32 or float64.
type mysqlScanner struct {
	col string
	fn  func(src any) error
}

func (s *mysqlScanner) Scan(src any) error {
	if err := s.fn(src); err != nil {
		return &mysqlValueError{col: s.col, err: err}
	}
	return nil
}

// mysqlValueError is a value of column col that could not be decoded.
type mysqlValueError struct {
	col string
	err error
}

func (e *mysqlValueError) Error() string { return fmt.Sprintf("column %q: %v", e.col, e.err) }
func (e *mysqlValueError) Unwrap() error { return e.err }

// newMySQLScanner returns the scanner appending column c's values to b, a
// builder of its field's type.
func newMySQLScanner(c mysqlColumn, b array.Builder) (*mysqlScanner, error) {
	f := c.field
	nullable := func(app func(src any) error) *mysqlScanner {
		return &mysqlScanner{col: f.Name, fn: func(src any) error {
			if src == nil {
				b.AppendNull()
				return nil
			}
			return app(src)
		}}
	}
	switch bb := b.(type) {
	case *array.BooleanBuilder:
		return nullable(func(src any) error {
			v, err := myInt(src)
			if err != nil {
				return err
			}
			if v != 0 && v != 1 {
				return fmt.Errorf("value %d is not a boolean (0 or 1); read it as a number without tinyint1_as_bool", v)
			}
			bb.Append(v == 1)
			return nil
		}), nil
	case *array.Int8Builder:
		return nullable(intAppender(bb.Append, math.MinInt8, math.MaxInt8)), nil
	case *array.Int16Builder:
		return nullable(intAppender(bb.Append, math.MinInt16, math.MaxInt16)), nil
	case *array.Int32Builder:
		return nullable(intAppender(bb.Append, math.MinInt32, math.MaxInt32)), nil
	case *array.Int64Builder:
		return nullable(intAppender(bb.Append, math.MinInt64, math.MaxInt64)), nil
	case *array.Uint8Builder:
		return nullable(uintAppender(bb.Append, math.MaxUint8)), nil
	case *array.Uint16Builder:
		return nullable(uintAppender(bb.Append, math.MaxUint16)), nil
	case *array.Uint32Builder:
		return nullable(uintAppender(bb.Append, math.MaxUint32)), nil
	case *array.Uint64Builder:
		return nullable(func(src any) error {
			if bits, ok := src.([]byte); ok && c.bit {
				v, err := bitValue(bits)
				if err != nil {
					return err
				}
				bb.Append(v)
				return nil
			}
			v, err := myUint(src)
			if err != nil {
				return err
			}
			bb.Append(v)
			return nil
		}), nil
	case *array.Float32Builder:
		return nullable(func(src any) error {
			switch v := src.(type) {
			case float32:
				bb.Append(v)
			case []byte:
				x, err := strconv.ParseFloat(string(v), 32)
				if err != nil {
					return err
				}
				bb.Append(float32(x))
			default:
				return unexpected(src)
			}
			return nil
		}), nil
	case *array.Float64Builder:
		return nullable(func(src any) error {
			switch v := src.(type) {
			case float64:
				bb.Append(v)
			case float32:
				bb.Append(float64(v))
			case []byte:
				x, err := strconv.ParseFloat(string(v), 64)
				if err != nil {
					return err
				}
				bb.Append(x)
			default:
				return unexpected(src)
			}
			return nil
		}), nil
	case *array.Decimal128Builder:
		dt := f.Type.(*arrow.Decimal128Type)
		return nullable(func(src any) error {
			v, ok := src.([]byte)
			if !ok {
				return unexpected(src)
			}
			n, err := parseDecimal128(v, dt.Precision, dt.Scale)
			if err != nil && c.guessed {
				return fmt.Errorf("%w (the column type could not be looked up, and the driver reports an UNSIGNED DECIMAL one digit short: CAST it in the query, e.g. CAST(col AS DECIMAL(%d,%d)))", err, dt.Precision+1, dt.Scale)
			}
			if err != nil {
				return err
			}
			bb.Append(n)
			return nil
		}), nil
	case *array.StringBuilder:
		return nullable(func(src any) error {
			switch v := src.(type) {
			case []byte:
				bb.BinaryBuilder.Append(v)
			case string:
				bb.Append(v)
			default:
				return unexpected(src)
			}
			return nil
		}), nil
	case *array.BinaryBuilder:
		return nullable(func(src any) error {
			v, ok := src.([]byte)
			if !ok {
				return unexpected(src)
			}
			bb.Append(v)
			return nil
		}), nil
	case *array.Date32Builder:
		return nullable(func(src any) error {
			days, err := asDate(src)
			if err != nil {
				return err
			}
			bb.Append(arrow.Date32(days))
			return nil
		}), nil
	case *array.TimestampBuilder:
		return nullable(func(src any) error {
			us, err := asTimestamp(src)
			if err != nil {
				return err
			}
			bb.Append(arrow.Timestamp(us))
			return nil
		}), nil
	case *array.Time64Builder:
		return nullable(func(src any) error {
			v, ok := src.([]byte)
			if !ok {
				return unexpected(src)
			}
			us, err := parseTimeOfDay(v)
			if err != nil {
				return err
			}
			bb.Append(arrow.Time64(us))
			return nil
		}), nil
	}
	return nil, fmt.Errorf("no decoder for arrow %s", f.Type)
}

func unexpected(src any) error { return fmt.Errorf("unexpected driver value of type %T", src) }

func intAppender[T int8 | int16 | int32 | int64](app func(T), lo, hi int64) func(any) error {
	return func(src any) error {
		v, err := myInt(src)
		if err != nil {
			return err
		}
		if v < lo || v > hi {
			return fmt.Errorf("value %d out of range", v)
		}
		app(T(v))
		return nil
	}
}

func uintAppender[T uint8 | uint16 | uint32](app func(T), hi uint64) func(any) error {
	return func(src any) error {
		v, err := myUint(src)
		if err != nil {
			return err
		}
		if v > hi {
			return fmt.Errorf("value %d out of range", v)
		}
		app(T(v))
		return nil
	}
}

func myInt(src any) (int64, error) {
	switch v := src.(type) {
	case int64:
		return v, nil
	case uint64:
		if v > math.MaxInt64 {
			return 0, fmt.Errorf("value %d out of range", v)
		}
		return int64(v), nil
	case []byte:
		return strconv.ParseInt(string(v), 10, 64)
	}
	return 0, unexpected(src)
}

func myUint(src any) (uint64, error) {
	switch v := src.(type) {
	case int64:
		if v < 0 {
			return 0, fmt.Errorf("value %d out of range", v)
		}
		return uint64(v), nil
	case uint64:
		return v, nil
	case []byte:
		// the driver hands a BIGINT UNSIGNED past math.MaxInt64 over as text
		return strconv.ParseUint(string(v), 10, 64)
	}
	return 0, unexpected(src)
}

func bitValue(b []byte) (uint64, error) {
	if len(b) > 8 {
		return 0, fmt.Errorf("BIT value of %d bytes", len(b))
	}
	var v uint64
	for _, c := range b {
		v = v<<8 | uint64(c)
	}
	return v, nil
}

// parseDecimal128 reads MySQL's DECIMAL text ("-123.4500") digit by digit
// into an exact decimal128 of the given precision and scale; it never goes
// through a float.
func parseDecimal128(b []byte, prec, scale int32) (decimal128.Num, error) {
	bad := func() (decimal128.Num, error) {
		return decimal128.Num{}, fmt.Errorf("%q is not a decimal(%d,%d)", b, prec, scale)
	}
	i, neg := 0, false
	if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
		neg, i = b[0] == '-', 1
	}
	if i == len(b) {
		return bad()
	}
	var n decimal128.Num
	var chunk uint64
	chunkDigits, sig, frac := 0, 0, -1
	for ; i < len(b); i++ {
		c := b[i]
		if c == '.' {
			if frac >= 0 {
				return bad()
			}
			frac = 0
			continue
		}
		if c < '0' || c > '9' {
			return bad()
		}
		if frac >= 0 {
			frac++
			if frac > int(scale) {
				if c != '0' {
					return bad() // more fraction digits than the scale: would round
				}
				continue
			}
		}
		if sig == 0 && c == '0' {
			continue // leading zero
		}
		sig++
		if sig > decimal128.MaxPrecision {
			return bad()
		}
		chunk = chunk*10 + uint64(c-'0')
		if chunkDigits++; chunkDigits == 18 {
			n = n.Mul(decimal128.GetScaleMultiplier(18)).Add(decimal128.FromU64(chunk))
			chunk, chunkDigits = 0, 0
		}
	}
	n = n.Mul(decimal128.GetScaleMultiplier(chunkDigits)).Add(decimal128.FromU64(chunk))
	frac = max(frac, 0)
	if frac > int(scale) {
		frac = int(scale)
	}
	if frac < int(scale) {
		if sig+int(scale)-frac > decimal128.MaxPrecision {
			return bad()
		}
		n = n.Mul(decimal128.GetScaleMultiplier(int(scale) - frac))
	}
	if !n.FitsInPrecision(prec) {
		return bad()
	}
	if neg {
		n = n.Negate()
	}
	return n, nil
}

var errZeroDate = errors.New("zero date 0000-00-00 cannot be read (NULLIF(col, '0000-00-00') in the query reads it as NULL)")

// asDate reads "YYYY-MM-DD" (or a time.Time, from a pool that parses
// times) as days since 1970-01-01.
func asDate(src any) (int64, error) {
	switch v := src.(type) {
	case []byte:
		if len(v) < 10 {
			return 0, fmt.Errorf("bad date %q", v)
		}
		return civilDays(v[:10])
	case time.Time:
		return floorDiv(v.Unix(), 86400), nil
	}
	return 0, unexpected(src)
}

// asTimestamp reads "YYYY-MM-DD HH:MM:SS[.ffffff]" (or a time.Time) as
// microseconds since the epoch.
func asTimestamp(src any) (int64, error) {
	switch v := src.(type) {
	case []byte:
		if len(v) < 19 || v[10] != ' ' {
			if len(v) == 10 { // a DATE in a DATETIME context
				d, err := civilDays(v)
				return d * 86400e6, err
			}
			return 0, fmt.Errorf("bad datetime %q", v)
		}
		d, err := civilDays(v[:10])
		if err != nil {
			return 0, err
		}
		us, err := parseClock(v[11:], false)
		if err != nil {
			return 0, fmt.Errorf("bad datetime %q", v)
		}
		return d*86400e6 + us, nil
	case time.Time:
		return v.UnixMicro(), nil
	}
	return 0, unexpected(src)
}

// parseTimeOfDay reads a TIME value, "[-]HHH:MM:SS[.ffffff]", which must
// be a time of day for Arrow's time64.
func parseTimeOfDay(v []byte) (int64, error) {
	if len(v) > 0 && v[0] == '-' {
		return 0, fmt.Errorf("TIME %s is negative: time64 holds a time of day (read it as text: CAST(col AS CHAR))", v)
	}
	us, err := parseClock(v, true)
	if err != nil {
		return 0, err
	}
	if us >= 86400e6 {
		return 0, fmt.Errorf("TIME %s is past 24:00:00: time64 holds a time of day (read it as text: CAST(col AS CHAR))", v)
	}
	return us, nil
}

// parseClock reads "HH:MM:SS[.f…]" as microseconds; wideHours allows the
// hours of a TIME (up to 838).
func parseClock(v []byte, wideHours bool) (int64, error) {
	bad := fmt.Errorf("bad time %q", v)
	colon := 0
	for colon < len(v) && v[colon] != ':' {
		colon++
	}
	if colon == 0 || colon > 3 || (!wideHours && colon != 2) || len(v) < colon+6 || v[colon+3] != ':' {
		return 0, bad
	}
	h, ok1 := digits(v[:colon])
	m, ok2 := digits(v[colon+1 : colon+3])
	s, ok3 := digits(v[colon+4 : colon+6])
	if !ok1 || !ok2 || !ok3 || m > 59 || s > 59 || (!wideHours && h > 23) {
		return 0, bad
	}
	us := ((h*60+m)*60 + s) * 1e6
	rest := v[colon+6:]
	if len(rest) > 0 {
		if rest[0] != '.' || len(rest) > 7 || len(rest) < 2 {
			return 0, bad
		}
		f, ok := digits(rest[1:])
		if !ok {
			return 0, bad
		}
		for i := len(rest) - 1; i < 6; i++ {
			f *= 10
		}
		us += f
	}
	return us, nil
}

func digits(b []byte) (int64, bool) {
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, len(b) > 0
}

// civilDays reads "YYYY-MM-DD" as days since 1970-01-01, refusing zero
// dates and impossible ones.
func civilDays(v []byte) (int64, error) {
	if len(v) != 10 || v[4] != '-' || v[7] != '-' {
		return 0, fmt.Errorf("bad date %q", v)
	}
	y, ok1 := digits(v[:4])
	m, ok2 := digits(v[5:7])
	d, ok3 := digits(v[8:10])
	if !ok1 || !ok2 || !ok3 {
		return 0, fmt.Errorf("bad date %q", v)
	}
	if y == 0 && m == 0 && d == 0 {
		return 0, errZeroDate
	}
	if m < 1 || m > 12 || d < 1 || d > int64(daysIn(y, m)) {
		return 0, fmt.Errorf("date %s does not exist (a zero month or day, or ALLOW_INVALID_DATES)", v)
	}
	return daysFromCivil(y, m, d), nil
}

func daysIn(y, m int64) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil is Howard Hinnant's days_from_civil: days since 1970-01-01
// of a proleptic Gregorian date.
func daysFromCivil(y, m, d int64) int64 {
	if m <= 2 {
		y--
	}
	era := floorDiv(y, 400)
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}
