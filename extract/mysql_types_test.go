package extract

import (
	"context"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/hoist-dev/hoist/internal/mysqltest"
)

func TestParseDecimal128(t *testing.T) {
	cases := []struct {
		in         string
		prec, sc   int32
		want, fail string
	}{
		{in: "123.45", prec: 5, sc: 2, want: "123.45"},
		{in: "-0.01", prec: 3, sc: 2, want: "-0.01"},
		{in: "7", prec: 3, sc: 2, want: "7.00"},
		{in: "1.5", prec: 4, sc: 3, want: "1.500"},
		{in: "99999999999999999999999999999999999999", prec: 38, sc: 0, want: "99999999999999999999999999999999999999"},
		{in: "-1234567890123456789012345678.0123456789", prec: 38, sc: 10, want: "-1234567890123456789012345678.0123456789"},
		{in: "0000012.30", prec: 4, sc: 2, want: "12.30"},
		{in: "1.250", prec: 4, sc: 2, want: "1.25"},
		{in: "1.255", prec: 4, sc: 2, fail: "is not a decimal(4,2)"},
		{in: "123.45", prec: 4, sc: 2, fail: "is not a decimal(4,2)"},
		{in: "1e5", prec: 10, sc: 0, fail: "is not a decimal"},
		{in: "1.2.3", prec: 10, sc: 2, fail: "is not a decimal"},
		{in: "-", prec: 10, sc: 2, fail: "is not a decimal"},
		{in: "", prec: 10, sc: 2, fail: "is not a decimal"},
	}
	for _, tc := range cases {
		n, err := parseDecimal128([]byte(tc.in), tc.prec, tc.sc)
		if tc.fail != "" {
			if err == nil || !strings.Contains(err.Error(), tc.fail) {
				t.Errorf("%q: %v, want error %q", tc.in, err, tc.fail)
			}
			continue
		}
		if err != nil || n.ToString(tc.sc) != tc.want {
			t.Errorf("%q as decimal(%d,%d) = %s (%v), want %s", tc.in, tc.prec, tc.sc, n.ToString(tc.sc), err, tc.want)
		}
	}
}

func TestParseTimes(t *testing.T) {
	for in, want := range map[string]int64{
		"1970-01-01 00:00:00":        0,
		"1969-12-31 23:59:59.999999": -1,
		"2000-02-29 12:00:00.5":      951825600500000,
		"0001-01-01 00:00:00":        -62135596800000000,
	} {
		if got, err := asTimestamp([]byte(in)); err != nil || got != want {
			t.Errorf("timestamp %q = %d (%v), want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"2023-02-29 00:00:00", "2024-13-01 00:00:00", "2024-01-01 24:00:00", "2024-01-01T00:00:00", "0000-00-00 00:00:00"} {
		if _, err := asTimestamp([]byte(in)); err == nil {
			t.Errorf("timestamp %q accepted", in)
		}
	}
	for in, want := range map[string]int64{"00:00:00": 0, "23:59:59.999999": 86399999999, "01:02:03.4": 3723400000} {
		if got, err := parseTimeOfDay([]byte(in)); err != nil || got != want {
			t.Errorf("time %q = %d (%v), want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"-00:00:01", "24:00:00", "838:59:59", "1:2:3"} {
		if _, err := parseTimeOfDay([]byte(in)); err == nil {
			t.Errorf("time %q accepted", in)
		}
	}
}

// TestIntegrationMySQLTinyInt1AsBool: tinyint1_as_bool reads TINYINT(1) as
// bool, from a table and from a query, and leaves other TINYINTs alone; a
// value other than 0 or 1 fails, naming the column.
func TestIntegrationMySQLTinyInt1AsBool(t *testing.T) {
	db := mysqltest.New(t)
	db.Exec(t, "CREATE TABLE flags (id INT PRIMARY KEY, ok BOOLEAN, t1 TINYINT(1), t4 TINYINT(4), u1 TINYINT(1) UNSIGNED)",
		"INSERT INTO flags VALUES (1, TRUE, 0, 7, 1), (2, FALSE, 1, -1, 0), (3, NULL, NULL, NULL, NULL)")
	src := NewMySQLSource(db.DB).(*mysqlSource)
	ctx := context.Background()
	for _, cfg := range []MySQLSourceConfig{
		{Table: "flags", TinyInt1AsBool: true},
		{Query: "SELECT * FROM flags ORDER BY id", TinyInt1AsBool: true},
	} {
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		rr, err := src.read(ctx, Request{Sync: "b", Alloc: mem}, cfg)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, f := range rr.Schema().Fields() {
			got = append(got, f.Name+":"+f.Type.String())
		}
		if s := strings.Join(got, " "); s != "id:int32 ok:bool t1:bool t4:int8 u1:uint8" {
			t.Errorf("%+v: schema %s", cfg, s)
		}
		var vals []string
		for rr.Next() {
			rec := rr.RecordBatch()
			for i := 0; i < int(rec.NumRows()); i++ {
				vals = append(vals, rec.Column(1).ValueStr(i)+"/"+rec.Column(2).ValueStr(i))
			}
		}
		if err := rr.Err(); err != nil {
			t.Fatal(err)
		}
		rr.Release()
		if s := strings.Join(vals, " "); s != "true/false false/true (null)/(null)" {
			t.Errorf("%+v: values %s", cfg, s)
		}
		mem.AssertSize(t, 0)
	}
	// without the knob, TINYINT(1) stays a number
	rr, err := src.read(ctx, Request{Sync: "b"}, MySQLSourceConfig{Table: "flags"})
	if err != nil {
		t.Fatal(err)
	}
	if typ := rr.Schema().Field(1).Type.String(); typ != "int8" {
		t.Errorf("without tinyint1_as_bool: ok is %s", typ)
	}
	rr.Release()

	db.Exec(t, "INSERT INTO flags VALUES (4, 2, 0, 0, 0)")
	rr, err = src.read(ctx, Request{Sync: "b"}, MySQLSourceConfig{Table: "flags", TinyInt1AsBool: true})
	if err == nil {
		for rr.Next() {
		}
		err = rr.Err()
		rr.Release()
	}
	if err == nil || !strings.Contains(err.Error(), `column "ok": value 2 is not a boolean`) {
		t.Errorf("value 2 as bool: %v", err)
	}
}
