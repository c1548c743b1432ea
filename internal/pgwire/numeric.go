// Package pgwire encodes and decodes PostgreSQL's binary wire format for the
// types hoist moves, so the postgres source and destination convert between
// wire bytes and Arrow buffers without boxing each value in an interface.
package pgwire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow/decimal128"
)

// Sign words of the binary numeric format.
const (
	numPos    = 0x0000
	numNeg    = 0x4000
	numNaN    = 0xC000
	numPInf   = 0xD000
	numNInf   = 0xF000
	nbase     = 10000
	maxDigits = 64 // more base-10000 digits than any decimal128 can hold
)

// numeric is a parsed binary numeric: value = Σ digits[i]·10000^(weight-i).
type numeric struct {
	digits  []uint16
	weight  int16
	sign    uint16
	dscale  int16
	special string // "NaN", "Infinity", "-Infinity" or ""
}

func parseNumeric(b []byte, scratch []uint16) (numeric, error) {
	if len(b) < 8 {
		return numeric{}, errors.New("numeric: short value")
	}
	n := numeric{
		weight: int16(binary.BigEndian.Uint16(b[2:])),
		sign:   binary.BigEndian.Uint16(b[4:]),
		dscale: int16(binary.BigEndian.Uint16(b[6:])),
	}
	nd := int(binary.BigEndian.Uint16(b))
	switch n.sign {
	case numNaN:
		n.special = "NaN"
		return n, nil
	case numPInf:
		n.special = "Infinity"
		return n, nil
	case numNInf:
		n.special = "-Infinity"
		return n, nil
	case numPos, numNeg:
	default:
		return numeric{}, fmt.Errorf("numeric: bad sign 0x%04x", n.sign)
	}
	if len(b) != 8+2*nd {
		return numeric{}, errors.New("numeric: length does not match digit count")
	}
	n.digits = scratch[:0]
	for i := 0; i < nd; i++ {
		n.digits = append(n.digits, binary.BigEndian.Uint16(b[8+2*i:]))
	}
	return n, nil
}

// NumericString renders a binary numeric exactly, with its display scale
// (as PostgreSQL's own output function would), or NaN / Infinity / -Infinity.
func NumericString(b []byte) (string, error) {
	var scratch [16]uint16
	n, err := parseNumeric(b, scratch[:])
	if err != nil {
		return "", err
	}
	if n.special != "" {
		return n.special, nil
	}
	var sb strings.Builder
	if n.sign == numNeg {
		sb.WriteByte('-')
	}
	// Integer part: groups with weight >= 0.
	if n.weight < 0 || len(n.digits) == 0 {
		sb.WriteByte('0')
	} else {
		for w := 0; w <= int(n.weight); w++ {
			d := uint16(0)
			if w < len(n.digits) {
				d = n.digits[w]
			}
			if w == 0 {
				sb.WriteString(strconv.Itoa(int(d)))
			} else {
				fmt.Fprintf(&sb, "%04d", d)
			}
		}
	}
	if n.dscale > 0 {
		sb.WriteByte('.')
		var frac strings.Builder
		// Fraction groups have weight -1, -2, …: index i = weight - w.
		for w := -1; frac.Len() < int(n.dscale); w-- {
			i := int(n.weight) - w
			d := uint16(0)
			if i >= 0 && i < len(n.digits) {
				d = n.digits[i]
			}
			fmt.Fprintf(&frac, "%04d", d)
		}
		sb.WriteString(frac.String()[:n.dscale])
	}
	return sb.String(), nil
}

// NumericDecimal128 converts a binary numeric to a decimal128 with the given
// scale. NaN and infinities cannot be represented and are errors, as is a
// value with more fractional digits than scale (never the case for a column
// declared numeric(p,s), whose values the server already rounded to s).
func NumericDecimal128(b []byte, scale int32) (decimal128.Num, error) {
	var scratch [16]uint16
	n, err := parseNumeric(b, scratch[:])
	if err != nil {
		return decimal128.Num{}, err
	}
	if n.special != "" {
		return decimal128.Num{}, fmt.Errorf("numeric %s does not fit a decimal", n.special)
	}
	if len(n.digits) == 0 {
		return decimal128.Num{}, nil
	}
	// acc holds the digits as one integer; its decimal exponent is
	// 4·(weight-(len-1)), i.e. acc·10^exp is the value.
	exp := 4 * (int32(n.weight) - int32(len(n.digits)-1))
	shift := exp + scale
	var out decimal128.Num
	if len(n.digits) <= 4 {
		var acc int64
		for _, d := range n.digits {
			acc = acc*nbase + int64(d)
		}
		// Drop trailing zeros the group padding added before scaling down.
		for shift < 0 && acc%10 == 0 && acc != 0 {
			acc /= 10
			shift++
		}
		if shift < 0 {
			return decimal128.Num{}, fmt.Errorf("numeric has more than %d fractional digits", scale)
		}
		if shift > 38 {
			return decimal128.Num{}, errors.New("numeric out of decimal128 range")
		}
		out = decimal128.FromI64(acc)
		if shift > 0 {
			out = out.IncreaseScaleBy(shift)
		}
	} else {
		acc := new(big.Int)
		base := big.NewInt(nbase)
		for _, d := range n.digits {
			acc.Mul(acc, base).Add(acc, big.NewInt(int64(d)))
		}
		ten := big.NewInt(10)
		if shift >= 0 {
			acc.Mul(acc, new(big.Int).Exp(ten, big.NewInt(int64(shift)), nil))
		} else {
			q, r := new(big.Int).QuoRem(acc, new(big.Int).Exp(ten, big.NewInt(int64(-shift)), nil), new(big.Int))
			if r.Sign() != 0 {
				return decimal128.Num{}, fmt.Errorf("numeric has more than %d fractional digits", scale)
			}
			acc = q
		}
		if acc.BitLen() > 127 {
			return decimal128.Num{}, errors.New("numeric out of decimal128 range")
		}
		out = decimal128.FromBigInt(acc)
	}
	if n.sign == numNeg {
		out = out.Negate()
	}
	return out, nil
}

// AppendNumeric appends the binary numeric for a decimal string such as
// "-123.4500", "1e-3" is not accepted: digits, one optional point, optional
// sign; or NaN, Infinity, -Infinity.
func AppendNumeric(dst []byte, s string) ([]byte, error) {
	switch s {
	case "NaN", "nan":
		return append(dst, 0, 0, 0, 0, 0xC0, 0, 0, 0), nil
	case "Infinity", "+Infinity", "inf", "+inf":
		return append(dst, 0, 0, 0, 0, 0xD0, 0, 0, 0), nil
	case "-Infinity", "-inf":
		return append(dst, 0, 0, 0, 0, 0xF0, 0, 0, 0), nil
	}
	sign := uint16(numPos)
	if s != "" && (s[0] == '-' || s[0] == '+') {
		if s[0] == '-' {
			sign = numNeg
		}
		s = s[1:]
	}
	intPart, frac, _ := strings.Cut(s, ".")
	if intPart == "" && frac == "" {
		return nil, fmt.Errorf("invalid numeric %q", s)
	}
	for _, part := range []string{intPart, frac} {
		for i := 0; i < len(part); i++ {
			if part[i] < '0' || part[i] > '9' {
				return nil, fmt.Errorf("invalid numeric %q", s)
			}
		}
	}
	intPart = strings.TrimLeft(intPart, "0")
	dscale := len(frac)
	// Pad the integer part on the left and the fraction on the right to
	// whole base-10000 groups.
	if r := len(intPart) % 4; r != 0 {
		intPart = strings.Repeat("0", 4-r) + intPart
	}
	if r := len(frac) % 4; r != 0 {
		frac += strings.Repeat("0", 4-r)
	}
	all := intPart + frac
	var digits [maxDigits * 2]uint16
	nd := 0
	for i := 0; i < len(all); i += 4 {
		if nd == len(digits) {
			return nil, fmt.Errorf("numeric %q too long", s)
		}
		v, _ := strconv.Atoi(all[i : i+4])
		digits[nd] = uint16(v)
		nd++
	}
	weight := len(intPart)/4 - 1
	ds := digits[:nd]
	for len(ds) > 0 && ds[0] == 0 { // leading zero groups
		ds = ds[1:]
		weight--
	}
	for len(ds) > 0 && ds[len(ds)-1] == 0 { // trailing zero groups
		ds = ds[:len(ds)-1]
	}
	if len(ds) == 0 {
		weight, sign = 0, numPos
	}
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(ds)))
	dst = binary.BigEndian.AppendUint16(dst, uint16(int16(weight)))
	dst = binary.BigEndian.AppendUint16(dst, sign)
	dst = binary.BigEndian.AppendUint16(dst, uint16(dscale))
	for _, d := range ds {
		dst = binary.BigEndian.AppendUint16(dst, d)
	}
	return dst, nil
}

// TypmodPrecision returns precision and scale of a numeric column's type
// modifier; ok is false for an unconstrained numeric.
func TypmodPrecision(typmod int32) (prec, scale int32, ok bool) {
	if typmod < 4 {
		return 0, 0, false
	}
	m := typmod - 4
	return (m >> 16) & 0xffff, int32(int16(m & 0xffff)), true
}

// decimalString is decimal128.Num.ToString(scale) without math/big for the
// values that fit an int64 (all but the widest of decimal(38,s)), which is
// most of what a COPY of a numeric column encodes.
func decimalString(v decimal128.Num, scale int32) string {
	hi, lo := v.HighBits(), v.LowBits()
	if scale < 0 || scale > 30 || !(hi == 0 && lo < 1<<63 || hi == -1 && lo >= 1<<63) {
		return v.ToString(scale)
	}
	n := int64(lo)
	var buf [64]byte
	var dbuf [20]byte
	b := buf[:0]
	if n < 0 {
		b = append(b, '-')
	}
	// the magnitude as a uint64: -MinInt64 does not fit an int64
	mag := uint64(n)
	if n < 0 {
		mag = -mag
	}
	digits := strconv.AppendUint(dbuf[:0], mag, 10)
	if scale == 0 {
		return string(append(b, digits...))
	}
	if pad := int(scale) + 1 - len(digits); pad > 0 {
		b = append(b, '0', '.')
		for ; pad > 1; pad-- {
			b = append(b, '0')
		}
		return string(append(b, digits...))
	}
	point := len(digits) - int(scale)
	b = append(b, digits[:point]...)
	b = append(b, '.')
	return string(append(b, digits[point:]...))
}
