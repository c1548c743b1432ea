package cursor

import (
	"strings"
	"testing"
	"time"
)

func TestCursorBack(t *testing.T) {
	tests := []struct {
		kind, value string
		d           time.Duration
		isDur       bool
		n           string
		want, err   string
	}{
		{kind: Timestamp, value: "2026-05-01T11:00:00Z", d: 10 * time.Minute, isDur: true, n: "10m", want: "2026-05-01T10:50:00Z"},
		{kind: Timestamp, value: "2026-05-01T00:00:00.5Z", d: time.Second, isDur: true, n: "1s", want: "2026-04-30T23:59:59.5Z"},
		{kind: Date, value: "2026-03-01", d: time.Hour, isDur: true, n: "1h", want: "2026-02-28"},
		{kind: Date, value: "2026-03-01", d: 48 * time.Hour, isDur: true, n: "2d", want: "2026-02-27"},
		{kind: Int, value: "100", n: "5", want: "95"},
		{kind: Int, value: "-9223372036854775800", n: "100", want: "-9223372036854775808"},
		{kind: Decimal, value: "10.25", n: "0.5", want: "9.75"},
		{kind: Decimal, value: "10", n: "0.125", want: "9.875"},
		{kind: Float, value: "1.5", n: "0.25", want: "1.25"},
		{kind: Int, value: "100", n: "1.5", err: "whole number"},
		{kind: Int, value: "100", d: time.Minute, isDur: true, n: "1m", err: "needs a number"},
		{kind: Timestamp, value: "2026-05-01T11:00:00Z", n: "5", err: "needs a duration"},
		{kind: String, value: "abc", n: "5", err: "cannot look back"},
	}
	for _, tc := range tests {
		t.Run(tc.kind+"/"+tc.value+"-"+tc.n, func(t *testing.T) {
			c := &Cursor{Kind: tc.kind, Value: tc.value}
			got, err := c.Back(tc.d, tc.isDur, tc.n)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || got.Value != tc.want || got.Kind != tc.kind {
				t.Fatalf("got %+v, %v; want %s", got, err, tc.want)
			}
			if cmp, _ := got.Compare(c); cmp > 0 {
				t.Fatalf("moved forward")
			}
		})
	}
}
