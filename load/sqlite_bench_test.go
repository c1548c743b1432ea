package load

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/hoist-dev/hoist/internal/sqlitedb"
	"github.com/hoist-dev/hoist/sync/spec"
)

// BenchmarkSQLiteUpsert upserts 100k rows of a typical customer row (5
// columns) into a table already holding half of the keys, so half the rows
// insert and half update. batch is the sync's batch_size.
//
//	go test -tags minicore_disabled -run '^$' -bench SQLiteUpsert -benchtime 3x ./load/
func BenchmarkSQLiteUpsert(b *testing.B) {
	const rows = 100_000
	for _, batch := range []int{500, 5000} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			sch := arrow.NewSchema([]arrow.Field{
				{Name: "id", Type: arrow.PrimitiveTypes.Int64},
				{Name: "email", Type: arrow.BinaryTypes.String, Nullable: true},
				{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
				{Name: "score", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
				{Name: "updated_at", Type: sqlitedb.TimestampType, Nullable: true},
			}, nil)
			recs := benchRecords(sch, rows, batch)
			defer func() {
				for _, r := range recs {
					r.Release()
				}
			}()
			ctx := context.Background()
			var cpu float64
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				conn, dir, _ := sqliteTestDB(b,
					`CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT, name TEXT, score REAL, updated_at DATETIME)`,
					fmt.Sprintf(`WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i+2 FROM n WHERE i < %d)
						INSERT INTO customers SELECT i, 'old', 'old', 0, '2000-01-01T00:00:00.000000Z' FROM n`, rows-2))
				_, w := sqliteOpenWriter(b, conn, dir, spec.Dest{Object: "customers", Mode: spec.ModeUpsert, PrimaryKey: []string{"id"}}, sch)
				b.StartTimer()
				cpu0 := sqliteCPUTime()
				for seq, rec := range recs {
					if _, err := w.Write(ctx, Batch{Seq: seq, Op: OpUpsert, Record: rec}); err != nil {
						b.Fatal(err)
					}
				}
				if err := w.Commit(ctx); err != nil {
					b.Fatal(err)
				}
				cpu += sqliteCPUTime() - cpu0
			}
			b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
			if cpu > 0 {
				b.ReportMetric(float64(rows*b.N)/cpu, "rows/cpu-s")
			}
		})
	}
}

func benchRecords(sch *arrow.Schema, rows, batch int) []arrow.RecordBatch {
	bld := array.NewRecordBuilder(memory.DefaultAllocator, sch)
	defer bld.Release()
	ts := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var out []arrow.RecordBatch
	for i := 0; i < rows; i++ {
		bld.Field(0).(*array.Int64Builder).Append(int64(i))
		bld.Field(1).(*array.StringBuilder).Append(fmt.Sprintf("user%d@example.com", i))
		bld.Field(2).(*array.StringBuilder).Append(fmt.Sprintf("User Number %d", i))
		bld.Field(3).(*array.Float64Builder).Append(float64(i) / 7)
		bld.Field(4).(*array.TimestampBuilder).Append(arrow.Timestamp(ts.Add(time.Duration(i) * time.Second).UnixMicro()))
		if (i+1)%batch == 0 || i == rows-1 {
			out = append(out, bld.NewRecordBatch())
		}
	}
	return out
}
