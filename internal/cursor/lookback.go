package cursor

import (
	"fmt"
	"math/big"
	"strconv"
	"time"
)

// Back returns the cursor moved back by a lookback window, for extraction
// only: a transaction that took its cursor value early and committed after
// a run passed that value would otherwise never be read. d is the window for
// timestamp and date cursors (dates step back whole days, rounding up); n,
// its text, for numeric ones. The committed cursor never moves back.
func (c *Cursor) Back(d time.Duration, isDuration bool, n string) (*Cursor, error) {
	switch c.Kind {
	case Timestamp, Date:
		if !isDuration {
			return nil, fmt.Errorf("a %s cursor needs a duration as cursor_lookback (10m, 2h, 3d), not %q", c.Kind, n)
		}
		if c.Kind == Date {
			t, err := time.Parse(time.DateOnly, c.Value)
			if err != nil {
				return nil, fmt.Errorf("bad date cursor %q", c.Value)
			}
			days := int((d + 24*time.Hour - 1) / (24 * time.Hour))
			return &Cursor{Kind: c.Kind, Value: t.AddDate(0, 0, -days).Format(time.DateOnly)}, nil
		}
		t, err := time.Parse(time.RFC3339Nano, c.Value)
		if err != nil {
			return nil, fmt.Errorf("bad timestamp cursor %q", c.Value)
		}
		return &Cursor{Kind: c.Kind, Value: t.Add(-d).UTC().Format(time.RFC3339Nano)}, nil
	case Int:
		if isDuration {
			return nil, fmt.Errorf("an int cursor needs a number as cursor_lookback, not the duration %q", n)
		}
		v, err1 := strconv.ParseInt(c.Value, 10, 64)
		w, err2 := strconv.ParseInt(n, 10, 64)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("int cursor %q cannot step back by %q (a whole number is needed)", c.Value, n)
		}
		if v < 0 && w > v-minInt64 { // v - w would wrap
			w = v - minInt64
		}
		return &Cursor{Kind: c.Kind, Value: strconv.FormatInt(v-w, 10)}, nil
	case Float, Decimal:
		if isDuration {
			return nil, fmt.Errorf("a %s cursor needs a number as cursor_lookback, not the duration %q", c.Kind, n)
		}
		v, ok1 := new(big.Rat).SetString(c.Value)
		w, ok2 := new(big.Rat).SetString(n)
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("%s cursor %q cannot step back by %q", c.Kind, c.Value, n)
		}
		v.Sub(v, w)
		if c.Kind == Float {
			f, _ := v.Float64()
			return &Cursor{Kind: c.Kind, Value: strconv.FormatFloat(f, 'g', -1, 64)}, nil
		}
		return &Cursor{Kind: c.Kind, Value: v.FloatString(decimals(c.Value, n))}, nil
	}
	return nil, fmt.Errorf("a %s cursor cannot look back (cursor_lookback needs a number, date or timestamp cursor)", c.Kind)
}

const minInt64 = -1 << 63

// decimals is the larger count of fraction digits of two decimal strings.
func decimals(a, b string) int {
	digits := func(s string) int {
		for i := len(s) - 1; i >= 0; i-- {
			if s[i] == '.' {
				return len(s) - 1 - i
			}
		}
		return 0
	}
	return max(digits(a), digits(b))
}
