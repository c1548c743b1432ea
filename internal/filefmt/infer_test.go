package filefmt

import (
	"context"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
)

func TestCSVInference(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		values []string
		want   arrow.DataType
	}{
		{"ints", []string{"1", "-2", "", "300"}, arrow.PrimitiveTypes.Int64},
		{"ints and floats", []string{"1", "2.5", "1e3"}, arrow.PrimitiveTypes.Float64},
		{"bools", []string{"true", "FALSE", "True"}, arrow.FixedWidthTypes.Boolean},
		{"0/1 stay ints", []string{"0", "1"}, arrow.PrimitiveTypes.Int64},
		{"dates", []string{"2024-01-31", "1999-12-01"}, arrow.FixedWidthTypes.Date32},
		{"zoned timestamps", []string{"2024-01-31T10:00:00Z", "2024-02-01 09:30:00.5+02:00"}, tsType},
		{"nanosecond timestamps", []string{"2024-01-31T10:00:00.123456789Z"}, tsNsType},
		{"zone-less timestamps stay text", []string{"2024-01-31 10:00:00"}, arrow.BinaryTypes.String},
		{"dates and timestamps mixed", []string{"2024-01-31", "2024-01-31T10:00:00Z"}, arrow.BinaryTypes.String},
		{"NaN is a word", []string{"NaN", "1.5"}, arrow.BinaryTypes.String},
		{"all empty", []string{"", ""}, arrow.BinaryTypes.String},
		{"leading zeros kept as int", []string{"007"}, arrow.PrimitiveTypes.Int64},
		{"text", []string{"1", "x"}, arrow.BinaryTypes.String},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			content := "v\n"
			for _, v := range tt.values {
				if v == "" {
					content += "\"\"\n" // a lone empty field needs quotes to be a row
					continue
				}
				content += "\"" + v + "\"\n"
			}
			mem := checked(t)
			path := writeFile(t, t.TempDir(), "x.csv", content)
			rr, err := Open(context.Background(), path, CSV, ReadOptions{Alloc: mem})
			if err != nil {
				t.Fatal(err)
			}
			defer rr.Release()
			if got := rr.Schema().Field(0).Type; !arrow.TypeEqual(got, tt.want) {
				t.Fatalf("type = %s, want %s", got, tt.want)
			}
			n, err := drain(t, rr)
			if err != nil {
				t.Fatal(err)
			}
			if len(n) != len(tt.values) {
				t.Fatalf("read %d rows, want %d", len(n), len(tt.values))
			}
		})
	}
}

func TestJSONLInference(t *testing.T) {
	t.Parallel()
	content := `{"id":1,"price":2,"tags":["a","b"],"ok":true,"when":"2024-01-31T10:00:00Z","zip":"01234","props":{"plan":"pro","seats":{"max":3}}}
{"id":2,"price":2.5,"tags":[],"ok":false,"when":null,"zip":"99999","props":{"plan":"free"},"mixed":1}
{"id":3,"price":null,"ok":null,"when":"2024-02-01T00:00:00+01:00","zip":"","mixed":"x"}
`
	want := []struct {
		name string
		typ  arrow.DataType
	}{
		{"id", arrow.PrimitiveTypes.Int64},
		{"price", arrow.PrimitiveTypes.Float64},
		{"tags", arrow.BinaryTypes.String},
		{"ok", arrow.FixedWidthTypes.Boolean},
		{"when", tsType},
		{"zip", arrow.BinaryTypes.String}, // quoted digits stay text
		{"props.plan", arrow.BinaryTypes.String},
		{"props.seats.max", arrow.PrimitiveTypes.Int64},
		{"mixed", arrow.BinaryTypes.String},
	}
	mem := checked(t)
	path := writeFile(t, t.TempDir(), "x.jsonl", content)
	rr, err := Open(context.Background(), path, JSONL, ReadOptions{Alloc: mem})
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Release()
	s := rr.Schema()
	if s.NumFields() != len(want) {
		t.Fatalf("schema %s, want %d columns", describeSchema(s), len(want))
	}
	for i, w := range want {
		if f := s.Field(i); f.Name != w.name || !arrow.TypeEqual(f.Type, w.typ) {
			t.Errorf("column %d = %s %s, want %s %s", i, f.Name, f.Type, w.name, w.typ)
		}
	}
	rows, err := drain(t, rr)
	if err != nil {
		t.Fatal(err)
	}
	if got := rows[0][2]; got != `["a","b"]` {
		t.Errorf("tags = %s, want the array's JSON text", got)
	}
	if got := rows[1][8]; got != "1" {
		t.Errorf("mixed = %s, want 1 as text", got)
	}
	if got := rows[2][5]; got != "" {
		t.Errorf("zip = %q, want the empty string kept (not NULL)", got)
	}
	if got := rows[2][4]; got != "2024-01-31T23:00:00Z" {
		t.Errorf("when = %s, want it in UTC", got)
	}
}
