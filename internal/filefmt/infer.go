package filefmt

import (
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
)

// Types inference picks for text values (CSV cells, JSON strings). Timestamps
// are only inferred when every value carries a zone (RFC 3339 with Z or an
// offset): a zone-less "2024-01-02 10:00" could be any zone, so it stays text.
var (
	tsType   = &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
	tsNsType = &arrow.TimestampType{Unit: arrow.Nanosecond, TimeZone: "UTC"}
)

// textGuess narrows a column's type as values are seen. Each flag says the
// type is still possible; the first still possible in the order int64,
// float64, bool, date, timestamp wins, and text is the fallback. Numbers
// with more digits than a float64 keeps infer decimal128 (or text past 38
// digits) instead of float64, so no digit is lost.
type textGuess struct {
	seen                           bool
	isInt, isFloat, isBool, isDate bool
	isTime, nanos                  bool
	num                            numGuess // whether a float column needs decimal128
}

func newTextGuess() textGuess {
	return textGuess{isInt: true, isFloat: true, isBool: true, isDate: true, isTime: true}
}

func (g *textGuess) add(s string) {
	if s == "" {
		return // empty reads as NULL, whatever the type
	}
	g.seen = true
	if g.isInt {
		_, err := strconv.ParseInt(s, 10, 64)
		g.isInt = err == nil
	}
	if g.isFloat {
		_, err := strconv.ParseFloat(s, 64)
		// "NaN" and "Inf" parse as floats but are far likelier to be words.
		g.isFloat = err == nil && !strings.ContainsAny(s, "nNiI")
		if g.isFloat {
			g.num.add(s)
		}
	}
	if g.isBool {
		g.isBool = strings.EqualFold(s, "true") || strings.EqualFold(s, "false")
	}
	if g.isDate {
		_, err := time.Parse(time.DateOnly, s)
		g.isDate = err == nil
	}
	if g.isTime {
		t, err := parseTimestamp(s)
		g.isTime = err == nil
		if err == nil && t.Nanosecond()%1000 != 0 {
			g.nanos = true
		}
	}
}

func (g *textGuess) typ() arrow.DataType {
	switch {
	case !g.seen:
		return arrow.BinaryTypes.String
	case g.isInt:
		return arrow.PrimitiveTypes.Int64
	case g.isFloat:
		if dt := g.num.decimal(); dt != nil {
			return dt // more digits than a float64 keeps
		}
		return arrow.PrimitiveTypes.Float64
	case g.isBool:
		return arrow.FixedWidthTypes.Boolean
	case g.isDate:
		return arrow.FixedWidthTypes.Date32
	case g.isTime && g.nanos:
		return tsNsType
	case g.isTime:
		return tsType
	}
	return arrow.BinaryTypes.String
}

// timestampLayouts are the zone-carrying layouts read as timestamps.
var timestampLayouts = []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999Z07:00"}

func parseTimestamp(s string) (time.Time, error) {
	var err error
	for _, l := range timestampLayouts {
		var t time.Time
		if t, err = time.Parse(l, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, err
}

// parseTimestampLoose also takes zone-less values (as UTC) and dates, for
// columns whose type is already known to be a timestamp.
func parseTimestampLoose(s string) (time.Time, error) {
	if t, err := parseTimestamp(s); err == nil {
		return t, nil
	}
	for _, l := range []string{"2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999", time.DateOnly} {
		if t, err := time.Parse(l, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, strconv.ErrSyntax
}
