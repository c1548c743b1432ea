package pgwire

import (
	"testing"
)

func TestNumericRoundTrip(t *testing.T) {
	cases := []struct {
		in, want string // want: NumericString of the encoding ("" = in)
	}{
		{"0", ""}, {"0.000", ""}, {"-0", "0"}, {"1", ""}, {"-1", ""}, {"10000", ""}, {"123456789", ""},
		{"0.0001", ""}, {"-0.00000001", ""}, {"12345.6789", ""}, {"1.50", ""}, {"007.10", "7.10"},
		{"99999999999999999999999999999999999999", ""},
		{"123456789012345678901234567890.123456789012345678901", ""},
		{"NaN", ""}, {"Infinity", ""}, {"-Infinity", ""}, {".5", "0.5"},
	}
	for _, tc := range cases {
		b, err := AppendNumeric(nil, tc.in)
		if err != nil {
			t.Fatalf("%s: %v", tc.in, err)
		}
		got, err := NumericString(b)
		want := tc.want
		if want == "" {
			want = tc.in
		}
		if err != nil || got != want {
			t.Errorf("%s: got %q, %v; want %q", tc.in, got, err, want)
		}
	}
	for _, bad := range []string{"", "1e5", "1.2.3", "abc", "-"} {
		if _, err := AppendNumeric(nil, bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestNumericDecimal128(t *testing.T) {
	cases := []struct {
		in    string
		scale int32
		want  string
		err   bool
	}{
		{"12.5", 2, "12.50", false},
		{"-0.01", 2, "-0.01", false},
		{"1234567890123456789012345678.0123456789", 10, "1234567890123456789012345678.0123456789", false},
		{"99999999999999999999999999999999999999", 0, "99999999999999999999999999999999999999", false},
		{"100000000", 0, "100000000", false},
		{"0.125", 2, "", true}, // more fractional digits than the scale
		{"NaN", 2, "", true},
	}
	for _, tc := range cases {
		b, err := AppendNumeric(nil, tc.in)
		if err != nil {
			t.Fatal(err)
		}
		n, err := NumericDecimal128(b, tc.scale)
		if tc.err {
			if err == nil {
				t.Errorf("%s: want an error, got %s", tc.in, n.ToString(tc.scale))
			}
			continue
		}
		if err != nil || n.ToString(tc.scale) != tc.want {
			t.Errorf("%s: got %s, %v; want %s", tc.in, n.ToString(tc.scale), err, tc.want)
		}
	}
}

func TestTypmodPrecision(t *testing.T) {
	p, s, ok := TypmodPrecision((12<<16 | 2) + 4)
	if !ok || p != 12 || s != 2 {
		t.Errorf("got %d,%d,%v", p, s, ok)
	}
	if _, _, ok := TypmodPrecision(-1); ok {
		t.Error("unconstrained numeric reported a precision")
	}
}
