package load

import (
	"encoding/json"
	"fmt"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/hoist-dev/hoist/internal/sqlitedb"
)

// sqliteGetter returns row i of a column as a value to bind.
type sqliteGetter func(i int) (any, error)

// sqliteValueError is a value that cannot be stored (a uint64 past int64);
// like a constraint failure it rejects its row, not the batch.
type sqliteValueError struct{ err error }

func (e *sqliteValueError) Error() string { return e.err.Error() }
func (e *sqliteValueError) Unwrap() error { return e.err }

// sqliteTimeLayout is how Arrow time-of-day values are stored.
const sqliteTimeLayout = "15:04:05.000000"

// newSQLiteGetter picks the conversion for an Arrow column once per batch,
// so the per-value path is a direct typed read. The stored forms: integers
// and bools (0/1) as INTEGER, floats as REAL, timestamps as UTC text in
// sqlitedb.TimestampLayout, dates as YYYY-MM-DD, decimals as exact text,
// lists, structs and maps as JSON text, binary as BLOB.
func newSQLiteGetter(arr arrow.Array) (sqliteGetter, error) {
	g, err := sqliteTypedGetter(arr)
	if err != nil {
		return nil, err
	}
	if arr.NullN() == 0 {
		return g, nil
	}
	return func(i int) (any, error) {
		if arr.IsNull(i) {
			return nil, nil
		}
		return g(i)
	}, nil
}

func sqliteTypedGetter(arr arrow.Array) (sqliteGetter, error) {
	switch a := arr.(type) {
	case *array.Int8:
		return func(i int) (any, error) { return int64(a.Value(i)), nil }, nil
	case *array.Int16:
		return func(i int) (any, error) { return int64(a.Value(i)), nil }, nil
	case *array.Int32:
		return func(i int) (any, error) { return int64(a.Value(i)), nil }, nil
	case *array.Int64:
		return func(i int) (any, error) { return a.Value(i), nil }, nil
	case *array.Uint8:
		return func(i int) (any, error) { return int64(a.Value(i)), nil }, nil
	case *array.Uint16:
		return func(i int) (any, error) { return int64(a.Value(i)), nil }, nil
	case *array.Uint32:
		return func(i int) (any, error) { return int64(a.Value(i)), nil }, nil
	case *array.Uint64:
		return func(i int) (any, error) {
			v := a.Value(i)
			if v > math.MaxInt64 {
				return nil, &sqliteValueError{fmt.Errorf("%d does not fit SQLite's 64-bit signed INTEGER", v)}
			}
			return int64(v), nil
		}, nil
	case *array.Float16:
		return func(i int) (any, error) { return float64(a.Value(i).Float32()), nil }, nil
	case *array.Float32:
		return func(i int) (any, error) { return float64(a.Value(i)), nil }, nil
	case *array.Float64:
		return func(i int) (any, error) { return a.Value(i), nil }, nil
	case *array.Boolean:
		return func(i int) (any, error) {
			if a.Value(i) {
				return int64(1), nil
			}
			return int64(0), nil
		}, nil
	case *array.String:
		return func(i int) (any, error) { return a.Value(i), nil }, nil
	case *array.LargeString:
		return func(i int) (any, error) { return a.Value(i), nil }, nil
	case *array.StringView:
		return func(i int) (any, error) { return a.Value(i), nil }, nil
	case *array.Binary:
		return func(i int) (any, error) { return a.Value(i), nil }, nil
	case *array.LargeBinary:
		return func(i int) (any, error) { return a.Value(i), nil }, nil
	case *array.BinaryView:
		return func(i int) (any, error) { return a.Value(i), nil }, nil
	case *array.FixedSizeBinary:
		return func(i int) (any, error) { return a.Value(i), nil }, nil
	case *array.Date32:
		return func(i int) (any, error) { return a.Value(i).ToTime().Format(sqlitedb.DateLayout), nil }, nil
	case *array.Date64:
		return func(i int) (any, error) { return a.Value(i).ToTime().Format(sqlitedb.DateLayout), nil }, nil
	case *array.Timestamp:
		unit := a.DataType().(*arrow.TimestampType).Unit
		return func(i int) (any, error) { return sqlitedb.FormatTimestamp(a.Value(i).ToTime(unit)), nil }, nil
	case *array.Time32:
		unit := a.DataType().(*arrow.Time32Type).Unit
		return func(i int) (any, error) { return a.Value(i).ToTime(unit).Format(sqliteTimeLayout), nil }, nil
	case *array.Time64:
		unit := a.DataType().(*arrow.Time64Type).Unit
		return func(i int) (any, error) { return a.Value(i).ToTime(unit).Format(sqliteTimeLayout), nil }, nil
	case *array.Decimal128:
		scale := a.DataType().(*arrow.Decimal128Type).Scale
		return func(i int) (any, error) { return a.Value(i).ToString(scale), nil }, nil
	case *array.Decimal256:
		scale := a.DataType().(*arrow.Decimal256Type).Scale
		return func(i int) (any, error) { return a.Value(i).ToString(scale), nil }, nil
	case *array.Null:
		return func(int) (any, error) { return nil, nil }, nil
	case *array.Dictionary:
		values, err := sqliteTypedGetter(a.Dictionary())
		if err != nil {
			return nil, err
		}
		return func(i int) (any, error) { return values(a.GetValueIndex(i)) }, nil
	case *array.List, *array.LargeList, *array.FixedSizeList, *array.Struct, *array.Map:
		return func(i int) (any, error) {
			b, err := json.Marshal(arr.GetOneForMarshal(i))
			if err != nil {
				return nil, &sqliteValueError{fmt.Errorf("encode %s as JSON: %w", arr.DataType(), err)}
			}
			return string(b), nil
		}, nil
	}
	return nil, fmt.Errorf("arrow type %s cannot be written to sqlite", arr.DataType())
}
