package main

import (
	"strconv"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// batchRows is how many rows one generated record holds: the size a source
// hands the pipeline (extract.DefaultBatchRows).
const batchRows = 8192

// The extract the diff phase sees differs from the snapshot in three ways,
// chosen so every count is known in advance:
//   - changeEvery: 1% of rows change (score and updated_at move);
//   - replaceEvery: 0.1% of rows get a new id past the snapshot's range, so
//     their old id is a remove and the new one an add. The extract still has
//     exactly -rows rows.
const (
	changeEvery   = 100
	changeAt      = 7
	replaceEvery  = 1000
	replaceAt     = 500
	shuffleStride = 1_000_003 // prime: walks 0..n-1 in a scrambled order
)

var (
	countries = []string{"US", "GB", "DE", "FR", "NL", "SE", "ES", "IT", "CA", "AU", "JP", "BR"}
	firsts    = []string{"Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Ken", "Margaret", "Linus", "Radia"}
	lasts     = []string{"Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Thompson", "Hamilton", "Torvalds", "Perlman"}
	tiers     = []string{"bronze", "silver", "gold", "platinum"}
	epoch     = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
)

// schema mirrors the PostgreSQL bench table: ten columns, bigint key.
var schema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "email", Type: arrow.BinaryTypes.String},
	{Name: "name", Type: arrow.BinaryTypes.String},
	{Name: "country", Type: arrow.BinaryTypes.String},
	{Name: "score", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
	{Name: "balance", Type: &arrow.Decimal128Type{Precision: 12, Scale: 2}, Nullable: true},
	{Name: "active", Type: arrow.FixedWidthTypes.Boolean},
	{Name: "updated_at", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}},
	{Name: "attrs", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "note", Type: arrow.BinaryTypes.String, Nullable: true},
}, nil)

// expected are the diff counts the extract must produce against the snapshot.
type expected struct{ adds, changes, removes int64 }

func expect(n int) expected {
	var e expected
	for i := 0; i < n; i++ {
		switch {
		case i%replaceEvery == replaceAt:
			e.adds++
			e.removes++
		case i%changeEvery == changeAt:
			e.changes++
		}
	}
	return e
}

// rowGen builds records of the snapshot's rows (edited=false, key order) or
// of the edited extract (edited=true, scrambled order so the sort has work).
type rowGen struct {
	n      int
	edited bool
	stride int
	next   int
	b      *array.RecordBuilder
	buf    []byte
}

func newRowGen(mem memory.Allocator, n int, edited bool) *rowGen {
	g := &rowGen{n: n, edited: edited, stride: 1, b: array.NewRecordBuilder(mem, schema)}
	if edited {
		g.stride = coprime(n, shuffleStride)
	}
	return g
}

// coprime returns the first stride >= s sharing no factor with n, so that
// j*stride mod n visits every index once.
func coprime(n, s int) int {
	gcd := func(a, b int) int {
		for b != 0 {
			a, b = b, a%b
		}
		return a
	}
	for n > 1 && gcd(n, s) != 1 {
		s++
	}
	return s
}

// Next returns the next record (nil at the end); the caller releases it.
func (g *rowGen) Next() arrow.Record {
	if g.next >= g.n {
		return nil
	}
	end := min(g.next+batchRows, g.n)
	for j := g.next; j < end; j++ {
		g.appendRow(int(int64(j) * int64(g.stride) % int64(g.n)))
	}
	g.next = end
	return g.b.NewRecordBatch()
}

func (g *rowGen) Release() { g.b.Release() }

// appendRow appends row i. Strings are built in one scratch buffer and
// appended as bytes so generation adds little garbage to the measured heap.
func (g *rowGen) appendRow(i int) {
	id := int64(i + 1)
	score := int32(i * 31 % 1000)
	updated := epoch.Add(time.Duration(i) * time.Second)
	if g.edited {
		switch {
		case i%replaceEvery == replaceAt:
			id = int64(g.n + 1 + i/replaceEvery)
		case i%changeEvery == changeAt:
			score++
			updated = updated.Add(24 * time.Hour)
		}
	}
	f := g.b.Fields()
	f[0].(*array.Int64Builder).Append(id)

	s := f[1].(*array.StringBuilder)
	g.buf = append(strconv.AppendInt(append(g.buf[:0], "user"...), id, 10), "@example.com"...)
	s.BinaryBuilder.Append(g.buf)

	s = f[2].(*array.StringBuilder)
	g.buf = append(append(append(g.buf[:0], firsts[i%len(firsts)]...), ' '), lasts[i/len(firsts)%len(lasts)]...)
	s.BinaryBuilder.Append(g.buf)

	f[3].(*array.StringBuilder).Append(countries[i%len(countries)])
	f[4].(*array.Int32Builder).Append(score)
	f[5].(*array.Decimal128Builder).Append(decimal128.FromI64(int64(i) * 7919 % 100_000_000))
	f[6].(*array.BooleanBuilder).Append(i%5 != 0)
	f[7].(*array.TimestampBuilder).Append(arrow.Timestamp(updated.UnixMicro()))

	s = f[8].(*array.StringBuilder)
	g.buf = append(g.buf[:0], `{"tier":"`...)
	g.buf = append(g.buf, tiers[i%len(tiers)]...)
	g.buf = append(g.buf, `","visits":`...)
	g.buf = strconv.AppendInt(g.buf, int64(i%977), 10)
	g.buf = append(g.buf, '}')
	s.BinaryBuilder.Append(g.buf)

	// ~50 characters of free text, different per row
	s = f[9].(*array.StringBuilder)
	g.buf = append(g.buf[:0], "customer since 2024, prefers email; account #"...)
	g.buf = strconv.AppendInt(g.buf, int64(i)*2654435761%1_000_000, 10)
	s.BinaryBuilder.Append(g.buf)
}
