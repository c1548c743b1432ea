package filefmt

import (
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
)

// float64Digits is how many significant decimal digits survive a trip
// through a float64: a value with more (a 38-digit amount, a 20-digit id)
// would silently change if read as one.
const float64Digits = 15

// numGuess watches the numbers of a column that is otherwise float64 and
// says whether they need an exact decimal instead: some value has more
// significant digits than a float64 keeps, and every value is plain decimal
// notation ("-123.4500", not "1e5") that decimal128 holds exactly.
type numGuess struct {
	plain     bool  // every value seen so far is plain notation
	seen      bool  // some value was seen
	long      bool  // some value has more than float64Digits digits
	intDigits int32 // most digits before the point
	scale     int32 // most digits after the point
}

func (g *numGuess) add(s string) {
	if !g.seen {
		g.seen, g.plain = true, true
	}
	if !g.plain {
		return
	}
	intDigits, scale, sig, ok := plainDecimal(s)
	if !ok {
		g.plain = false
		return
	}
	g.intDigits = max(g.intDigits, intDigits)
	g.scale = max(g.scale, scale)
	if sig > float64Digits {
		g.long = true
	}
}

// decimal returns the decimal128 type that holds every value exactly, or
// string when they need more than decimal128's 38 digits (text keeps them
// exact), or nil when float64 loses nothing.
func (g *numGuess) decimal() arrow.DataType {
	if !g.seen || !g.plain || !g.long {
		return nil
	}
	p := max(g.intDigits+g.scale, 1)
	if p > 38 {
		return arrow.BinaryTypes.String
	}
	return &arrow.Decimal128Type{Precision: p, Scale: g.scale}
}

// plainDecimal parses [+-]digits[.digits]: the digits before the point
// (leading zeros dropped), after it, and the significant digits (leading and
// trailing zeros dropped: 1200 and 0.0012 need two).
func plainDecimal(s string) (intDigits, scale, sig int32, ok bool) {
	s = strings.TrimPrefix(strings.TrimPrefix(s, "-"), "+")
	intPart, frac, _ := strings.Cut(s, ".")
	if intPart == "" && frac == "" || !allDigits(intPart) || !allDigits(frac) {
		return 0, 0, 0, false
	}
	digits := strings.Trim(intPart+frac, "0")
	return int32(len(strings.TrimLeft(intPart, "0"))), int32(len(frac)), int32(len(digits)), true
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
