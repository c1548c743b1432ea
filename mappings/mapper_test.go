package mappings

import (
	"context"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/hoist-dev/hoist/sync/spec"
)

func source(t *testing.T, mem memory.Allocator) arrow.RecordBatch {
	t.Helper()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "amount", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "tags", Type: arrow.ListOf(arrow.BinaryTypes.String), Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	b.Field(0).(*array.Int64Builder).AppendValues([]int64{1, 2}, nil)
	b.Field(1).(*array.StringBuilder).AppendValues([]string{"12.50", ""}, []bool{true, false})
	lb := b.Field(2).(*array.ListBuilder)
	lb.Append(true)
	lb.ValueBuilder().(*array.StringBuilder).AppendValues([]string{"a", "b"}, nil)
	lb.AppendNull()
	return b.NewRecordBatch()
}

func str(s string) *string { return &s }

func TestMapper(t *testing.T) {
	tests := []struct {
		name    string
		maps    []*spec.Mapping
		want    string // the mapped record as JSON rows
		wantErr string
	}{
		{name: "identity", want: `[{"amount":"12.50","id":1,"tags":["a","b"]},{"amount":null,"id":2,"tags":null}]`},
		{
			name: "rename, nest name, constant",
			maps: []*spec.Mapping{{From: "id", To: "external_id"}, {Value: str("warehouse"), To: "properties.source"}},
			want: `[{"external_id":1,"properties.source":"warehouse"},{"external_id":2,"properties.source":"warehouse"}]`,
		},
		{
			name: "casts: decimal, string, json",
			maps: []*spec.Mapping{{From: "amount", To: "amount", Type: "decimal(12,2)"}, {From: "id", To: "id", Type: "string"}, {From: "tags", To: "tags", Type: "json"}},
			want: `[{"amount":"12.5","id":"1","tags":"[\"a\",\"b\"]"},{"amount":null,"id":"2","tags":null}]`,
		},
		{
			name:    "text that is not a decimal",
			maps:    []*spec.Mapping{{Value: str("twelve"), To: "n", Type: "decimal(5,2)"}},
			wantErr: `mappings[0] (value → n): cast "twelve" to decimal(5, 2) (row 0 of the batch)`,
		},
		{
			name:    "missing column",
			maps:    []*spec.Mapping{{From: "email", To: "email"}},
			wantErr: `mappings[0] (email → email): source has no column "email" (columns: id, amount, tags)`,
		},
		{
			name:    "value that does not cast names the row",
			maps:    []*spec.Mapping{{From: "id", To: "id"}, {Value: str("n/a"), To: "n", Type: "int64"}},
			wantErr: `mappings[1] (value → n): cast utf8 to int64`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			rec := source(t, mem)
			defer rec.Release()
			m, err := New(tc.maps, rec.Schema(), mem)
			if err == nil {
				var out arrow.RecordBatch
				out, err = m.Map(context.Background(), rec)
				if err == nil {
					defer out.Release()
					data, jerr := out.MarshalJSON()
					if jerr != nil {
						t.Fatal(jerr)
					}
					if got := strings.ReplaceAll(strings.TrimSpace(string(data)), "\n", ""); got != tc.want {
						t.Fatalf("got  %s\nwant %s", got, tc.want)
					}
					if !out.Schema().Equal(m.Schema()) {
						t.Fatalf("record schema %s differs from Schema() %s", out.Schema(), m.Schema())
					}
				}
			}
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				if strings.Contains(tc.name, "names the row") && !strings.Contains(err.Error(), `row 0 of the batch: "n/a"`) {
					t.Fatalf("error does not name the row: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestCastType(t *testing.T) {
	for in, want := range map[string]string{
		"string": "utf8", "int64": "int64", "float64": "float64", "bool": "bool",
		"timestamp": "timestamp[us, tz=UTC]", "date": "date32", "decimal(38,9)": "decimal(38, 9)",
	} {
		got, err := CastType(in)
		if err != nil || got.String() != want {
			t.Errorf("CastType(%q) = %v, %v; want %s", in, got, err, want)
		}
	}
	if _, err := CastType("float32"); err == nil {
		t.Error("float32 accepted")
	}
}
