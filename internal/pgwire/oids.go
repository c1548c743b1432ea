package pgwire

import "math"

// Type OIDs of the built-in types hoist reads and writes.
const (
	BoolOID        = 16
	ByteaOID       = 17
	NameOID        = 19
	Int8OID        = 20
	Int2OID        = 21
	Int4OID        = 23
	TextOID        = 25
	JSONOID        = 114
	JSONArrayOID   = 199
	Float4OID      = 700
	Float8OID      = 701
	BoolArrayOID   = 1000
	ByteaArrayOID  = 1001
	NameArrayOID   = 1003
	Int2ArrayOID   = 1005
	Int4ArrayOID   = 1007
	TextArrayOID   = 1009
	BPCharArrayOID = 1014
	VarcharArrOID  = 1015
	Int8ArrayOID   = 1016
	Float4ArrOID   = 1021
	Float8ArrOID   = 1022
	BPCharOID      = 1042
	VarcharOID     = 1043
	DateOID        = 1082
	TimestampOID   = 1114
	TimestampArOID = 1115
	DateArrayOID   = 1182
	TstzOID        = 1184
	TstzArrayOID   = 1185
	NumericArrOID  = 1231
	NumericOID     = 1700
	UUIDOID        = 2950
	UUIDArrayOID   = 2951
	JSONBOID       = 3802
	JSONBArrayOID  = 3807
)

// elemOf maps each supported one-dimensional array type to its element type.
var elemOf = map[uint32]uint32{
	BoolArrayOID: BoolOID, ByteaArrayOID: ByteaOID, NameArrayOID: NameOID, Int2ArrayOID: Int2OID,
	Int4ArrayOID: Int4OID, Int8ArrayOID: Int8OID, TextArrayOID: TextOID, BPCharArrayOID: BPCharOID,
	VarcharArrOID: VarcharOID, Float4ArrOID: Float4OID, Float8ArrOID: Float8OID, TimestampArOID: TimestampOID,
	DateArrayOID: DateOID, TstzArrayOID: TstzOID, NumericArrOID: NumericOID, UUIDArrayOID: UUIDOID,
	JSONArrayOID: JSONOID, JSONBArrayOID: JSONBOID,
}

// ElemOID returns the element type of a supported array type.
func ElemOID(arrayOID uint32) (uint32, bool) {
	e, ok := elemOf[arrayOID]
	return e, ok
}

// ArrayOID returns the array type of a supported element type.
func ArrayOID(elem uint32) (uint32, bool) {
	for a, e := range elemOf {
		if e == elem {
			return a, true
		}
	}
	return 0, false
}

// PostgreSQL counts time from 2000-01-01; Arrow from 1970-01-01.
const (
	pgEpochDays   = 10957
	pgEpochMicros = int64(pgEpochDays) * 86400 * 1e6
)

// ±infinity of timestamp and date on the wire. hoist maps them to the
// extreme Arrow values so they round-trip.
const (
	tsInf     = math.MaxInt64
	tsNegInf  = math.MinInt64
	dayInf    = math.MaxInt32
	dayNegInf = math.MinInt32
)
