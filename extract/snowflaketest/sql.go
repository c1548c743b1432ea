package snowflaketest

import (
	"context"
	"fmt"
	"math/big"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// The fake understands just the statements hoist sends: SELECT 1 (ping),
// SELECT * FROM <table>, and the cursor form
// SELECT * FROM (<query>) WHERE <col> > ? ORDER BY <col>.
const ident = `(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)`

var (
	reSelectOne   = regexp.MustCompile(`(?is)^\s*select\s+1\s*;?\s*$`)
	reSelectTable = regexp.MustCompile(`(?is)^\s*select\s+\*\s+from\s+(` + ident + `(?:\.` + ident + `)*)\s*;?\s*$`)
	reCursor      = regexp.MustCompile(`(?is)^\s*select\s+\*\s+from\s+\((.*)\)\s+where\s+(` + ident + `)\s*>\s*\?\s+order\s+by\s+(` + ident + `)\s*;?\s*$`)
	reLastIdent   = regexp.MustCompile(ident + `\s*$`)
)

// binding is one bound parameter of a query request.
type binding struct {
	Type  string `json:"type"`
	Value any    `json:"value"`
}

// result is what a statement returns; rows are produced lazily by slice.
type result struct {
	table string // set for a plain table scan (its chunks can be cached)
	cols  []Column
	rows  int
	slice func(mem memory.Allocator, off, n int) arrow.RecordBatch
}

// sqlError is a query failure answered with Snowflake's error code.
type sqlError struct {
	code, msg string
}

func (e *sqlError) Error() string { return e.code + ": " + e.msg }

// resolveIdent applies Snowflake's identifier rules: quoted names are taken
// as written, unquoted ones are upper-cased.
func resolveIdent(s string) string {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, `"`) {
		return strings.ReplaceAll(s[1:len(s)-1], `""`, `"`)
	}
	return strings.ToUpper(s)
}

func (s *Server) run(sqlText string, binds map[string]binding) (*result, error) {
	if reSelectOne.MatchString(sqlText) {
		return selectOne(), nil
	}
	if m := reSelectTable.FindStringSubmatch(sqlText); m != nil {
		name := resolveIdent(reLastIdent.FindString(m[1]))
		s.mu.Lock()
		t, ok := s.tables[name]
		s.mu.Unlock()
		if !ok {
			return nil, &sqlError{"002003", fmt.Sprintf("SQL compilation error:\nObject '%s' does not exist or not authorized.", name)}
		}
		return &result{table: name, cols: t.Columns, rows: t.Rows, slice: t.Slice}, nil
	}
	if m := reCursor.FindStringSubmatch(sqlText); m != nil {
		col, order := resolveIdent(m[2]), resolveIdent(m[3])
		if col != order {
			return nil, &sqlError{"001003", "fake snowflake: WHERE and ORDER BY columns differ"}
		}
		b, ok := binds["1"]
		if !ok {
			return nil, &sqlError{"002049", "SQL compilation error: Bind variable ? not set."}
		}
		inner, err := s.run(m[1], nil)
		if err != nil {
			return nil, err
		}
		return filterSorted(inner, col, b)
	}
	return nil, &sqlError{"001003", fmt.Sprintf("SQL compilation error: fake snowflake does not understand %q", sqlText)}
}

func selectOne() *result {
	return &result{
		cols: []Column{{Name: "1", Type: Fixed, Precision: 1}},
		rows: 1,
		slice: func(mem memory.Allocator, off, n int) arrow.RecordBatch {
			b := array.NewInt64Builder(mem)
			defer b.Release()
			b.Append(1)
			a := b.NewArray()
			defer a.Release()
			schema := arrow.NewSchema([]arrow.Field{{Name: "1", Type: arrow.PrimitiveTypes.Int64}}, nil)
			return array.NewRecordBatch(schema, []arrow.Array{a}, 1)
		},
	}
}

// filterSorted keeps rows whose col is greater than the bound value and
// sorts them by col, materialising the (small, test-sized) result.
func filterSorted(in *result, col string, b binding) (*result, error) {
	ci := -1
	for i, c := range in.cols {
		if c.Name == col {
			ci = i
		}
	}
	if ci < 0 {
		return nil, &sqlError{"000904", fmt.Sprintf("SQL compilation error: error line 1 at position 0\ninvalid identifier '%s'", col)}
	}
	mem := memory.NewGoAllocator()
	ctx := compute.WithAllocator(context.Background(), mem)
	var kept []arrow.RecordBatch
	const step = 65536
	for off := 0; off < in.rows; off += step {
		rec := in.slice(mem, off, min(step, in.rows-off))
		arr := rec.Column(ci)
		bound, err := bindKey(arr.DataType(), b)
		if err != nil {
			return nil, &sqlError{"100038", err.Error()}
		}
		mask := array.NewBooleanBuilder(mem)
		for i := 0; i < arr.Len(); i++ {
			k, ok := keyOf(arr, i)
			mask.Append(ok && compareKeys(k, bound) > 0)
		}
		m := mask.NewArray()
		out, err := compute.FilterRecordBatch(ctx, rec, m, compute.DefaultFilterOptions())
		if err != nil {
			return nil, err
		}
		kept = append(kept, out)
	}
	if len(kept) == 0 {
		return &result{cols: in.cols, slice: in.slice}, nil
	}
	all, err := concatRecords(kept[0].Schema(), kept)
	if err != nil {
		return nil, err
	}
	arr := all.Column(ci)
	idx := make([]int64, all.NumRows())
	for i := range idx {
		idx[i] = int64(i)
	}
	sort.SliceStable(idx, func(x, y int) bool {
		kx, _ := keyOf(arr, int(idx[x]))
		ky, _ := keyOf(arr, int(idx[y]))
		return compareKeys(kx, ky) < 0
	})
	ib := array.NewInt64Builder(mem)
	ib.AppendValues(idx, nil)
	indices := ib.NewArray()
	cols := make([]arrow.Array, all.NumCols())
	for i := range cols {
		if cols[i], err = compute.TakeArray(ctx, all.Column(i), indices); err != nil {
			return nil, err
		}
	}
	sorted := array.NewRecordBatch(all.Schema(), cols, all.NumRows())
	return &result{
		cols: in.cols,
		rows: int(sorted.NumRows()),
		slice: func(_ memory.Allocator, off, n int) arrow.RecordBatch {
			return sorted.NewSlice(int64(off), int64(off+n))
		},
	}, nil
}

// key is a comparable value: numbers, times (as nanoseconds) and dates as
// exact rationals, text as strings.
type key struct {
	rat   *big.Rat
	str   string
	isStr bool
}

func compareKeys(a, b key) int {
	if a.isStr || b.isStr {
		return strings.Compare(a.str, b.str)
	}
	return a.rat.Cmp(b.rat)
}

func ratNanos(sec, ns int64) *big.Rat {
	r := new(big.Int).Mul(big.NewInt(sec), big.NewInt(time1e9))
	return new(big.Rat).SetInt(r.Add(r, big.NewInt(ns)))
}

// keyOf returns row i of a as a key; ok is false for NULL.
func keyOf(a arrow.Array, i int) (key, bool) {
	if a.IsNull(i) {
		return key{}, false
	}
	switch a := a.(type) {
	case *array.Int64:
		return key{rat: new(big.Rat).SetInt64(a.Value(i))}, true
	case *array.Float64:
		r, _ := new(big.Rat).SetString(fmt.Sprint(a.Value(i)))
		return key{rat: r}, true
	case *array.Decimal128:
		scale := a.DataType().(*arrow.Decimal128Type).Scale
		den := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil)
		return key{rat: new(big.Rat).SetFrac(a.Value(i).BigInt(), den)}, true
	case *array.String:
		return key{str: a.Value(i), isStr: true}, true
	case *array.Date32:
		return key{rat: ratNanos(int64(a.Value(i))*86400, 0)}, true
	case *array.Timestamp, *array.Time64:
		sec, ns, _ := nanosOf(a, i)
		return key{rat: ratNanos(sec, ns)}, true
	}
	return key{str: a.ValueStr(i), isStr: true}, true
}

// bindKey reads a bound parameter as a key comparable with a column of type t.
// The driver binds time.Time as TIMESTAMP_* nanoseconds since the epoch
// ("<ns> <offset>" for TZ), numbers as FIXED/REAL and strings as TEXT.
func bindKey(t arrow.DataType, b binding) (key, error) {
	v := fmt.Sprint(b.Value)
	if t.ID() == arrow.STRING {
		return key{str: v, isStr: true}, nil
	}
	typ := strings.ToUpper(b.Type)
	switch {
	case strings.HasPrefix(typ, "TIMESTAMP"):
		ns, ok := new(big.Int).SetString(strings.Fields(v)[0], 10)
		if !ok {
			return key{}, fmt.Errorf("bad timestamp binding %q", v)
		}
		return key{rat: new(big.Rat).SetInt(ns)}, nil
	case typ == "DATE":
		ms, ok := new(big.Int).SetString(v, 10)
		if !ok {
			return key{}, fmt.Errorf("bad date binding %q", v)
		}
		return key{rat: new(big.Rat).SetInt(ms.Mul(ms, big.NewInt(1e6)))}, nil
	case typ == "TEXT" && (t.ID() == arrow.TIMESTAMP || t.ID() == arrow.DATE32):
		ts, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			if ts, err = time.Parse(time.DateOnly, v); err != nil {
				return key{}, fmt.Errorf("bad timestamp text %q", v)
			}
		}
		return key{rat: ratNanos(ts.Unix(), int64(ts.Nanosecond()))}, nil
	}
	r, ok := new(big.Rat).SetString(v)
	if !ok {
		return key{}, fmt.Errorf("numeric value '%s' is not recognized", v)
	}
	return key{rat: r}, nil
}
