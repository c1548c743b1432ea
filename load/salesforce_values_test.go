package load

import (
	"encoding/csv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// TestSFText: values as Salesforce takes them, per Arrow type and field type.
func TestSFText(t *testing.T) {
	mem := memory.NewGoAllocator()
	day := arrow.Date32FromTime(time.Date(2026, 3, 9, 0, 0, 0, 0, time.UTC))
	ts, _ := arrow.TimestampFromTime(time.Date(2026, 3, 9, 13, 4, 5, 6_000_000, time.FixedZone("x", 3600)), arrow.Microsecond)
	build := func(dt arrow.DataType, fill func(array.Builder)) arrow.Array {
		b := array.NewBuilder(mem, dt)
		defer b.Release()
		fill(b)
		return b.NewArray()
	}
	pick := &sfField{Name: "StageName", Type: "picklist", RestrictedPicklist: true, PicklistValues: []sfPick{{"Open", true}, {"Old", false}}}
	for _, tc := range []struct {
		name string
		arr  arrow.Array
		f    *sfField
		want string
		null bool
		err  string
	}{
		{"bool", build(arrow.FixedWidthTypes.Boolean, func(b array.Builder) { b.(*array.BooleanBuilder).Append(true) }), nil, "true", false, ""},
		{"date", build(arrow.FixedWidthTypes.Date32, func(b array.Builder) { b.(*array.Date32Builder).Append(day) }), nil, "2026-03-09", false, ""},
		{"date into datetime", build(arrow.FixedWidthTypes.Date32, func(b array.Builder) { b.(*array.Date32Builder).Append(day) }), &sfField{Type: "datetime"}, "2026-03-09T00:00:00.000Z", false, ""},
		{"timestamp", build(&arrow.TimestampType{Unit: arrow.Microsecond}, func(b array.Builder) { b.(*array.TimestampBuilder).Append(ts) }), nil, "2026-03-09T12:04:05.006Z", false, ""},
		{"timestamp into date", build(&arrow.TimestampType{Unit: arrow.Microsecond}, func(b array.Builder) { b.(*array.TimestampBuilder).Append(ts) }), &sfField{Type: "date"}, "2026-03-09", false, ""},
		{"float", build(arrow.PrimitiveTypes.Float64, func(b array.Builder) { b.(*array.Float64Builder).Append(1234.5) }), nil, "1234.5", false, ""},
		{"empty string is null", build(arrow.BinaryTypes.String, func(b array.Builder) { b.(*array.StringBuilder).Append("") }), nil, "", true, ""},
		{"null", build(arrow.BinaryTypes.String, func(b array.Builder) { b.AppendNull() }), nil, "", true, ""},
		{"picklist value", build(arrow.BinaryTypes.String, func(b array.Builder) { b.(*array.StringBuilder).Append("Open") }), pick, "Open", false, ""},
		{"inactive picklist value", build(arrow.BinaryTypes.String, func(b array.Builder) { b.(*array.StringBuilder).Append("Old") }), pick, "", false, "restricted picklist without the value \"Old\" (values: Open)"},
		{"too long", build(arrow.BinaryTypes.String, func(b array.Builder) { b.(*array.StringBuilder).Append("ééé") }), &sfField{Name: "N", Type: "string", Length: 2}, "", false, "at most 2 characters, not 3"},
		{"list", build(arrow.ListOf(arrow.BinaryTypes.String), func(b array.Builder) {
			lb := b.(*array.ListBuilder)
			lb.Append(true)
			lb.ValueBuilder().(*array.StringBuilder).AppendValues([]string{"EMEA", "APAC"}, nil)
		}), nil, "EMEA;APAC", false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer tc.arr.Release()
			v, null, err := sfText(tc.arr, 0, tc.f)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || v != tc.want || null != tc.null {
				t.Errorf("%q null=%v err=%v, want %q null=%v", v, null, err, tc.want, tc.null)
			}
		})
	}
}

func TestSplitSFError(t *testing.T) {
	for in, want := range map[string][2]string{
		"INVALID_EMAIL_ADDRESS:Contact_Email__c: invalid email address: x:Contact_Email__c --": {"INVALID_EMAIL_ADDRESS", "Contact_Email__c: invalid email address: x"},
		"UNABLE_TO_LOCK_ROW:unable to obtain exclusive access to this record:--":               {"UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record"},
		"no code": {"UNKNOWN_EXCEPTION", "no code"},
	} {
		code, msg := splitSFError(in)
		if code != want[0] || msg != want[1] {
			t.Errorf("%q: %q %q, want %q %q", in, code, msg, want[0], want[1])
		}
	}
}

// FuzzAppendCSV: a field appendCSV writes reads back as itself.
func FuzzAppendCSV(f *testing.F) {
	for _, s := range []string{"", "a", "a,b", `say "hi"`, "two\nlines", " lead", "trail ", "\r\n", "#N/A"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if strings.ContainsRune(s, '\r') || !utf8Valid(s) {
			return // encoding/csv turns \r\n into \n inside quotes: Salesforce reads it as written
		}
		line := appendCSV(nil, s)
		line = append(line, ",x\n"...)
		rec, err := csv.NewReader(strings.NewReader(string(line))).Read()
		if err != nil || len(rec) != 2 || rec[0] != s {
			t.Fatalf("%q → %q → %q (%v)", s, line, rec, err)
		}
	})
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }
