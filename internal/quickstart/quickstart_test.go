package quickstart

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/hoist-dev/hoist/internal/filefmt"
)

var committed = filepath.Join("..", "..", "testdata", "quickstart", "customers.parquet")

// TestCommittedFileMatchesGenerator regenerates the quickstart file and
// checks the committed one is byte-identical: nobody hand-edited it, and the
// generator is deterministic. After a deliberate change to the generator or
// the Parquet writer settings, run `go run ./testdata/quickstart/gen`.
func TestCommittedFileMatchesGenerator(t *testing.T) {
	t.Parallel()
	want, err := os.ReadFile(committed)
	if err != nil {
		t.Fatal(err)
	}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	var got bytes.Buffer
	if err := Write(&got, Rows, 8192, mem); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Fatalf("generated %s (%d bytes) differs from committed %s (%d bytes): run `go run ./testdata/quickstart/gen`",
			sum(got.Bytes()), got.Len(), sum(want), len(want))
	}
	if len(want) > 5<<20 {
		t.Errorf("committed file is %d bytes, keep it under 5 MB", len(want))
	}
}

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:8])
}

// TestCommittedFileContent reads the committed file as hoist does and checks
// its shape and that values look like a real export.
func TestCommittedFileContent(t *testing.T) {
	t.Parallel()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rr, err := filefmt.Open(context.Background(), committed, filefmt.Parquet, filefmt.ReadOptions{Alloc: mem})
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Release()
	if !filefmt.SameColumns(rr.Schema(), Schema) {
		t.Fatalf("schema = %s", rr.Schema())
	}
	plans := map[string]int{}
	var rows, lastID int64
	for rr.Next() {
		rec := rr.RecordBatch()
		ids := rec.Column(0).(*array.Int64)
		emails := rec.Column(1).(*array.String)
		plan := rec.Column(4).(*array.String)
		ltv := rec.Column(5).(*array.Decimal128)
		signup := rec.Column(7).(*array.Date32)
		updated := rec.Column(8).(*array.Timestamp)
		for i := range int(rec.NumRows()) {
			if ids.Value(i) != lastID+1 {
				t.Fatalf("id %d follows %d", ids.Value(i), lastID)
			}
			lastID = ids.Value(i)
			if e := emails.Value(i); strings.Count(e, "@") != 1 || e != strings.ToLower(e) {
				t.Fatalf("email %q", e)
			}
			plans[plan.Value(i)]++
			if plan.Value(i) == "free" && ltv.Value(i).Sign() != 0 {
				t.Fatalf("free customer %d has lifetime value %s", lastID, ltv.Value(i).ToString(2))
			}
			if updated.Value(i).ToTime(arrow.Microsecond).Before(signup.Value(i).ToTime()) {
				t.Fatalf("customer %d updated before signing up", lastID)
			}
		}
		rows += rec.NumRows()
	}
	if err := rr.Err(); err != nil {
		t.Fatal(err)
	}
	if rows != Rows {
		t.Fatalf("%d rows, want %d", rows, Rows)
	}
	if len(plans) != 4 || plans["free"] < plans["starter"] || plans["starter"] < plans["enterprise"] {
		t.Fatalf("plan mix %v does not look like a SaaS customer base", plans)
	}
}
