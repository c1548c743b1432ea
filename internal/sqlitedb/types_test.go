package sqlitedb

import (
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
)

func TestKindOfDecl(t *testing.T) {
	t.Parallel()
	tests := []struct {
		decl string
		want Kind
	}{
		{"INTEGER", KindInt}, {"int", KindInt}, {"BIGINT UNSIGNED", KindInt}, {"TINYINT(1)", KindInt},
		{"REAL", KindFloat}, {"DOUBLE PRECISION", KindFloat}, {"float", KindFloat},
		{"TEXT", KindString}, {"VARCHAR(255)", KindString}, {"NVARCHAR", KindString}, {"CLOB", KindString},
		{"NUMERIC", KindString}, {"DECIMAL(10,2)", KindString}, {"numeric(5)", KindString},
		{"BLOB", KindBinary}, {"BOOLEAN", KindBool}, {"bool", KindBool},
		{"DATE", KindDate}, {"DATETIME", KindTimestamp}, {"TIMESTAMP", KindTimestamp}, {"timestamp with time zone", KindTimestamp},
		// "MONEY" has NUMERIC affinity in SQLite and says nothing more: infer.
		{"", KindInfer}, {"MONEY", KindInfer},
	}
	for _, tt := range tests {
		if got := KindOfDecl(tt.decl); got != tt.want {
			t.Errorf("KindOfDecl(%q) = %d, want %d", tt.decl, got, tt.want)
		}
	}
}

func TestParseTime(t *testing.T) {
	t.Parallel()
	base := time.Date(2024, 3, 1, 10, 20, 30, 0, time.UTC)
	tests := []struct {
		in   any
		want time.Time
	}{
		{"2024-03-01 10:20:30", base},
		{"2024-03-01T10:20:30Z", base},
		{"2024-03-01T10:20:30.123456Z", base.Add(123456 * time.Microsecond)},
		{"2024-03-01 12:20:30+02:00", base},
		{"2024-03-01T10:20", base.Add(-30 * time.Second)},
		{"2024-03-01", time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)},
		{[]byte("2024-03-01 10:20:30"), base},
		{base.Unix(), base},
		{2460371.0, time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)}, // julian day
		{base.In(time.FixedZone("x", 3600)), base},
	}
	for _, tt := range tests {
		got, err := ParseTime(tt.in)
		if err != nil || !got.Equal(tt.want) || got.Location() != time.UTC {
			t.Errorf("ParseTime(%v) = %v, %v; want %v UTC", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []any{"yesterday", "2024-13-01", true} {
		if _, err := ParseTime(bad); err == nil {
			t.Errorf("ParseTime(%v) succeeded", bad)
		}
	}
}

// The stored text must sort like the times it holds: cursor filters compare
// it as text.
func TestTimestampTextSorts(t *testing.T) {
	t.Parallel()
	base := time.Date(2024, 3, 1, 10, 20, 30, 0, time.UTC)
	prev := FormatTimestamp(base)
	for _, d := range []time.Duration{time.Microsecond, 500 * time.Millisecond, time.Second, time.Hour} {
		next := FormatTimestamp(base.Add(d))
		if next <= prev {
			t.Errorf("%s sorts before %s", next, prev)
		}
		prev = next
	}
}

func TestDeclForReadsBack(t *testing.T) {
	t.Parallel()
	tests := []struct {
		typ  arrow.DataType
		want Kind
	}{
		{arrow.PrimitiveTypes.Int32, KindInt}, {arrow.PrimitiveTypes.Float32, KindFloat},
		{arrow.FixedWidthTypes.Boolean, KindBool}, {arrow.BinaryTypes.String, KindString},
		{arrow.BinaryTypes.Binary, KindBinary}, {arrow.FixedWidthTypes.Date32, KindDate},
		{&arrow.TimestampType{Unit: arrow.Nanosecond}, KindTimestamp},
		{&arrow.Decimal128Type{Precision: 10, Scale: 2}, KindString},
		{arrow.ListOf(arrow.PrimitiveTypes.Int64), KindString},
		{&arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int8, ValueType: arrow.BinaryTypes.String}, KindString},
	}
	for _, tt := range tests {
		decl, err := DeclFor(tt.typ)
		if err != nil {
			t.Fatalf("DeclFor(%s): %v", tt.typ, err)
		}
		if got := KindOfDecl(decl); got != tt.want {
			t.Errorf("%s → %s reads back as %d, want %d", tt.typ, decl, got, tt.want)
		}
	}
	if _, err := DeclFor(arrow.FixedWidthTypes.MonthInterval); err == nil {
		t.Error("DeclFor(month_interval) succeeded")
	}
}

func TestParseTable(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"t": `"t"`, "main.t": `"main"."t"`, `we"ird`: `"we""ird"`, "a.b.c": `"a"."b.c"`} {
		tb, err := ParseTable(in)
		if err != nil || tb.SQL() != want || tb.String() != in {
			t.Errorf("ParseTable(%q) = %s (%s), %v; want %s", in, tb.SQL(), tb, err, want)
		}
	}
	for _, bad := range []string{"", ".t", "s."} {
		if _, err := ParseTable(bad); err == nil {
			t.Errorf("ParseTable(%q) succeeded", bad)
		}
	}
}
