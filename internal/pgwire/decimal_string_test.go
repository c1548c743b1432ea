package pgwire

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/decimal128"
)

// TestDecimalString: the fast path writes exactly what decimal128's own
// ToString does, at every scale, for values around every edge of int64 and
// past it (where it hands over to ToString).
func TestDecimalString(t *testing.T) {
	vals := []decimal128.Num{
		decimal128.FromI64(0), decimal128.FromI64(1), decimal128.FromI64(-1), decimal128.FromI64(5),
		decimal128.FromI64(-5), decimal128.FromI64(12345), decimal128.FromI64(-12345),
		decimal128.FromI64(math.MaxInt64), decimal128.FromI64(math.MinInt64), decimal128.FromI64(math.MinInt64 + 1),
		decimal128.FromU64(math.MaxUint64), decimal128.New(1, 0), decimal128.New(-2, math.MaxUint64),
		decimal128.MaxDecimal128, decimal128.MaxDecimal128.Negate(),
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		vals = append(vals, decimal128.FromI64(r.Int64()>>r.IntN(63)), decimal128.FromI64(-(r.Int64() >> r.IntN(63))))
	}
	for _, v := range vals {
		for _, scale := range []int32{0, 1, 2, 4, 10, 18, 19, 20, 30, 38} {
			if got, want := decimalString(v, scale), v.ToString(scale); got != want {
				t.Fatalf("decimalString(%v, %d) = %q, want %q", v, scale, got, want)
			}
		}
	}
}

func BenchmarkDecimalString(b *testing.B) {
	v := decimal128.FromI64(-123456789)
	b.Run("ToString", func(b *testing.B) {
		for b.Loop() {
			_ = v.ToString(2)
		}
	})
	b.Run("decimalString", func(b *testing.B) {
		for b.Loop() {
			_ = decimalString(v, 2)
		}
	})
}
