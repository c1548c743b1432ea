package load_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/hoist-dev/hoist/extract"
	"github.com/hoist-dev/hoist/internal/filefmt"
	"github.com/hoist-dev/hoist/load"
	"github.com/hoist-dev/hoist/sync/spec"
)

var filesFormats = []string{"parquet", "csv", "jsonl"}

var filesSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "email", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "properties.full_name", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "updated_at", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true},
}, nil)

var filesKeySchema = arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}}, nil)

func filesChecked(t *testing.T) *memory.CheckedAllocator {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	t.Cleanup(func() { mem.AssertSize(t, 0) })
	return mem
}

// filesRow is one customer; version changes the name and timestamp, so an
// updated row is told apart from the original.
type filesRow struct {
	id      int64
	version int
}

func (r filesRow) cells() []string {
	ts := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC).Add(time.Duration(r.id)*time.Hour + time.Duration(r.version)*time.Minute)
	return []string{
		itoa(r.id),
		"user" + itoa(r.id) + "@example.com",
		`Name, "` + itoa(r.id) + `" v` + itoa(int64(r.version)),
		ts.Format(time.RFC3339Nano),
	}
}

func itoa(i int64) string { return strconv.FormatInt(i, 10) }

func filesRecord(mem memory.Allocator, rows ...filesRow) arrow.RecordBatch {
	b := array.NewRecordBuilder(mem, filesSchema)
	defer b.Release()
	for _, r := range rows {
		c := r.cells()
		b.Field(0).(*array.Int64Builder).Append(r.id)
		b.Field(1).(*array.StringBuilder).Append(c[1])
		b.Field(2).(*array.StringBuilder).Append(c[2])
		ts, _ := time.Parse(time.RFC3339Nano, c[3])
		v, _ := arrow.TimestampFromTime(ts, arrow.Microsecond)
		b.Field(3).(*array.TimestampBuilder).Append(v)
	}
	return b.NewRecordBatch()
}

func filesKeys(mem memory.Allocator, ids ...int64) arrow.RecordBatch {
	b := array.NewRecordBuilder(mem, filesKeySchema)
	defer b.Release()
	b.Field(0).(*array.Int64Builder).AppendValues(ids, nil)
	return b.NewRecordBatch()
}

type filesBatch struct {
	op   load.Op
	rows []filesRow // for OpDelete only the ids count
}

// filesRun opens the files destination on dir and writes batches in one run,
// then commits (or aborts), as the pipeline does.
func filesRun(t *testing.T, mem memory.Allocator, dir, object, format, mode string, abort bool, batches ...filesBatch) error {
	t.Helper()
	ctx := context.Background()
	conn := &spec.Connection{Name: "out", Type: filefmt.Type, Config: &filefmt.Config{Path: "out", Format: format}}
	d, err := load.Open(ctx, conn, dir)
	if err != nil {
		return err
	}
	defer d.Close()
	dest := &spec.Dest{Connection: "out", Object: object, Mode: mode}
	if spec.KeyNeeded(mode) {
		dest.PrimaryKey = []string{"id"}
	}
	w, err := d.Open(ctx, load.Target{Sync: "test", Dest: dest, Schema: filesSchema, Alloc: mem})
	if err != nil {
		return err
	}
	if w.Concurrency() != 1 {
		t.Errorf("Concurrency = %d, want 1", w.Concurrency())
	}
	for i, b := range batches {
		var rec arrow.RecordBatch
		if b.op == load.OpDelete {
			ids := make([]int64, len(b.rows))
			for j, r := range b.rows {
				ids[j] = r.id
			}
			rec = filesKeys(mem, ids...)
		} else {
			rec = filesRecord(mem, b.rows...)
		}
		res, err := w.Write(ctx, load.Batch{Seq: i, Op: b.op, Record: rec})
		rec.Release()
		if err != nil {
			w.Abort(ctx)
			return err
		}
		if len(res.Failed) > 0 {
			t.Fatalf("batch %d: %d rows rejected", i, len(res.Failed))
		}
	}
	if abort {
		return w.Abort(ctx)
	}
	return w.Commit(ctx)
}

// filesRead reads the destination folder back through the files source and
// returns its rows as cells sorted by id (text formats infer the types back;
// the cells compare the same).
func filesRead(t *testing.T, mem memory.Allocator, dir, srcPath, format string) [][]string {
	t.Helper()
	ctx := context.Background()
	src, err := extract.Open(ctx, &spec.Connection{Name: "in", Type: filefmt.Type, Config: &filefmt.Config{Path: "out", Format: format}}, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	rr, err := src.Read(ctx, extract.Request{Sync: "test", Source: &spec.Source{Connection: "in", Config: &extract.FilesSource{Path: srcPath}}, BatchRows: 3, Alloc: mem})
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Release()
	if got := fieldNames(rr.Schema()); !slices.Equal(got, fieldNames(filesSchema)) {
		t.Fatalf("columns read back = %v, want %v", got, fieldNames(filesSchema))
	}
	var rows [][]string
	for rr.Next() {
		rec := rr.RecordBatch()
		for i := range int(rec.NumRows()) {
			row := make([]string, rec.NumCols())
			for c := range int(rec.NumCols()) {
				row[c] = filesCell(rec.Column(c), i)
			}
			rows = append(rows, row)
		}
	}
	if err := rr.Err(); err != nil {
		t.Fatal(err)
	}
	sort.SliceStable(rows, func(i, j int) bool {
		return len(rows[i][0]) < len(rows[j][0]) || len(rows[i][0]) == len(rows[j][0]) && rows[i][0] < rows[j][0]
	})
	return rows
}

func filesCell(arr arrow.Array, i int) string {
	if arr.IsNull(i) {
		return "<null>"
	}
	if ts, ok := arr.(*array.Timestamp); ok {
		return ts.Value(i).ToTime(ts.DataType().(*arrow.TimestampType).Unit).UTC().Format(time.RFC3339Nano)
	}
	return arr.ValueStr(i)
}

func fieldNames(s *arrow.Schema) []string {
	var out []string
	for _, f := range s.Fields() {
		out = append(out, f.Name)
	}
	return out
}

func want(rows ...filesRow) [][]string {
	out := make([][]string, len(rows))
	for i, r := range rows {
		out[i] = r.cells()
	}
	return out
}

func assertRows(t *testing.T, got, want [][]string) {
	t.Helper()
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Fatalf("rows:\n got  %q\n want %q", got, want)
	}
}

func TestFilesRoundTrip(t *testing.T) {
	t.Parallel()
	for _, format := range filesFormats {
		t.Run(format, func(t *testing.T) {
			t.Parallel()
			mem := filesChecked(t)
			dir := t.TempDir()
			rows := []filesRow{{1, 0}, {2, 0}, {3, 0}, {4, 0}, {5, 0}}
			if err := filesRun(t, mem, dir, "customers", format, spec.ModeReplace, false,
				filesBatch{load.OpAppend, rows[:2]}, filesBatch{load.OpAppend, rows[2:]}); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(filepath.Join(dir, "out", "customers."+format)); err != nil {
				t.Fatalf("object not written with its extension: %v", err)
			}
			assertRows(t, filesRead(t, mem, dir, "customers."+format, format), want(rows...))
		})
	}
}

// TestFilesJSONLNesting checks dotted names nest into JSON objects on disk.
func TestFilesJSONLNesting(t *testing.T) {
	t.Parallel()
	mem := filesChecked(t)
	dir := t.TempDir()
	if err := filesRun(t, mem, dir, "c.jsonl", "", spec.ModeReplace, false, filesBatch{load.OpAppend, []filesRow{{7, 0}}}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "out", "c.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	wantLine := `{"id":7,"email":"user7@example.com","properties":{"full_name":"Name, \"7\" v0"},"updated_at":"2026-03-01T19:00:00Z"}` + "\n"
	if string(b) != wantLine {
		t.Fatalf("file =\n%s\nwant\n%s", b, wantLine)
	}
}

// TestFilesReplaceAbort checks replace is atomic: a failed run leaves the old
// file as it was and no temp file behind.
func TestFilesReplaceAbort(t *testing.T) {
	t.Parallel()
	for _, format := range filesFormats {
		t.Run(format, func(t *testing.T) {
			t.Parallel()
			mem := filesChecked(t)
			dir := t.TempDir()
			old := []filesRow{{1, 0}, {2, 0}}
			if err := filesRun(t, mem, dir, "c", format, spec.ModeReplace, false, filesBatch{load.OpAppend, old}); err != nil {
				t.Fatal(err)
			}
			before, _ := os.ReadFile(filepath.Join(dir, "out", "c."+format))
			if err := filesRun(t, mem, dir, "c", format, spec.ModeReplace, true, filesBatch{load.OpAppend, []filesRow{{9, 1}}}); err != nil {
				t.Fatal(err)
			}
			after, _ := os.ReadFile(filepath.Join(dir, "out", "c."+format))
			if string(before) != string(after) {
				t.Fatal("aborted replace changed the file")
			}
			entries, _ := os.ReadDir(filepath.Join(dir, "out"))
			if len(entries) != 1 {
				t.Fatalf("folder holds %d entries, want only the object (temp file left behind?)", len(entries))
			}
			assertRows(t, filesRead(t, mem, dir, "", format), want(old...))
			// A committed replace does replace.
			if err := filesRun(t, mem, dir, "c", format, spec.ModeReplace, false, filesBatch{load.OpAppend, []filesRow{{9, 1}}}); err != nil {
				t.Fatal(err)
			}
			assertRows(t, filesRead(t, mem, dir, "", format), want(filesRow{9, 1}))
		})
	}
}

// TestFilesKeyedMerge runs keyed modes over an existing file: the file ends up
// holding exactly the table the ops describe.
func TestFilesKeyedMerge(t *testing.T) {
	t.Parallel()
	base := []filesRow{{1, 0}, {2, 0}, {3, 0}, {4, 0}}
	tests := []struct {
		name    string
		mode    string
		abort   bool
		batches []filesBatch
		want    []filesRow
	}{
		{"upsert and delete", spec.ModeMirror, false, []filesBatch{
			{load.OpUpsert, []filesRow{{2, 1}, {5, 1}}},
			{load.OpDelete, []filesRow{{3, 0}, {42, 0}}}, // 42 does not exist: a no-op
			{load.OpUpsert, []filesRow{{6, 1}}},
		}, []filesRow{{1, 0}, {2, 1}, {4, 0}, {5, 1}, {6, 1}}},
		{"insert leaves existing keys alone", spec.ModeInsert, false, []filesBatch{
			{load.OpInsert, []filesRow{{1, 9}, {7, 1}}},
		}, []filesRow{{1, 0}, {2, 0}, {3, 0}, {4, 0}, {7, 1}}},
		{"update skips missing keys", spec.ModeUpdate, false, []filesBatch{
			{load.OpUpdate, []filesRow{{4, 2}, {8, 2}}},
		}, []filesRow{{1, 0}, {2, 0}, {3, 0}, {4, 2}}},
		{"the last op for a key wins", spec.ModeMirror, false, []filesBatch{
			{load.OpUpsert, []filesRow{{2, 1}}},
			{load.OpDelete, []filesRow{{2, 0}}},
			{load.OpUpsert, []filesRow{{3, 5}}},
			{load.OpUpsert, []filesRow{{3, 6}}},
		}, []filesRow{{1, 0}, {3, 6}, {4, 0}}},
		{"abort keeps acknowledged batches", spec.ModeUpsert, true, []filesBatch{
			{load.OpUpsert, []filesRow{{1, 3}, {9, 3}}},
		}, []filesRow{{1, 3}, {2, 0}, {3, 0}, {4, 0}, {9, 3}}},
	}
	for _, format := range filesFormats {
		for _, tt := range tests {
			t.Run(format+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				mem := filesChecked(t)
				dir := t.TempDir()
				// The first keyed run creates the file from nothing.
				if err := filesRun(t, mem, dir, "c", format, spec.ModeUpsert, false, filesBatch{load.OpUpsert, base}); err != nil {
					t.Fatal(err)
				}
				if err := filesRun(t, mem, dir, "c", format, tt.mode, tt.abort, tt.batches...); err != nil {
					t.Fatal(err)
				}
				assertRows(t, filesRead(t, mem, dir, "", format), want(tt.want...))
				entries, _ := os.ReadDir(filepath.Join(dir, "out"))
				if len(entries) != 1 {
					t.Fatalf("folder holds %d entries, want only the object (spill or temp left behind?)", len(entries))
				}
			})
		}
	}
}

func TestFilesAppend(t *testing.T) {
	t.Parallel()
	for _, format := range filesFormats {
		t.Run(format, func(t *testing.T) {
			t.Parallel()
			mem := filesChecked(t)
			dir := t.TempDir()
			run1, run2 := []filesRow{{1, 0}, {2, 0}}, []filesRow{{3, 0}}
			if err := filesRun(t, mem, dir, "events", format, spec.ModeAppend, false, filesBatch{load.OpAppend, run1}); err != nil {
				t.Fatal(err)
			}
			// A failed run still keeps what it acknowledged.
			if err := filesRun(t, mem, dir, "events", format, spec.ModeAppend, true, filesBatch{load.OpAppend, run2}); err != nil {
				t.Fatal(err)
			}
			// A run with nothing new adds nothing (no empty Parquet part).
			if err := filesRun(t, mem, dir, "events", format, spec.ModeAppend, false); err != nil {
				t.Fatal(err)
			}
			entries, _ := os.ReadDir(filepath.Join(dir, "out"))
			wantFiles := 1
			if format == "parquet" {
				wantFiles = 2 // the object and one part file
			}
			if len(entries) != wantFiles {
				t.Fatalf("folder holds %d files, want %d", len(entries), wantFiles)
			}
			assertRows(t, filesRead(t, mem, dir, "events*."+format, format), want(append(run1, run2...)...))
			if format == "csv" {
				b, _ := os.ReadFile(filepath.Join(dir, "out", "events.csv"))
				if n := strings.Count(string(b), "id,email"); n != 1 {
					t.Fatalf("csv has %d header rows, want 1:\n%s", n, b)
				}
			}
			// Replace rewrites the object whole and drops the parts.
			if err := filesRun(t, mem, dir, "events", format, spec.ModeReplace, false, filesBatch{load.OpAppend, run2}); err != nil {
				t.Fatal(err)
			}
			assertRows(t, filesRead(t, mem, dir, "events*."+format, format), want(run2...))
		})
	}
}

func TestFilesObjectPath(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, object, connFormat, destFormat string
		wantFile, wantErr                    string
	}{
		{name: "extension added from the connection's format", object: "c", connFormat: "csv", wantFile: "c.csv"},
		{name: "format from the extension", object: "c.jsonl", wantFile: "c.jsonl"},
		{name: "destination format wins", object: "c", connFormat: "csv", destFormat: "parquet", wantFile: "c.parquet"},
		{name: "subfolder", object: "exports/c.csv", wantFile: "exports/c.csv"},
		{name: "extension of another format", object: "c.csv", connFormat: "parquet", wantErr: "has a csv extension but the format is parquet"},
		{name: "no format", object: "c", wantErr: "no file format"},
		{name: "escaping the folder", object: "../c.csv", wantErr: "inside the connection's folder"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			mem := filesChecked(t)
			dir := t.TempDir()
			ctx := context.Background()
			d, err := load.Open(ctx, &spec.Connection{Name: "out", Type: filefmt.Type, Config: &filefmt.Config{Path: "out", Format: tt.connFormat}}, dir)
			if err != nil {
				t.Fatal(err)
			}
			w, err := d.Open(ctx, load.Target{Sync: "s", Schema: filesSchema, Alloc: mem,
				Dest: &spec.Dest{Object: tt.object, Mode: spec.ModeReplace, Config: &filefmt.Dest{Format: tt.destFormat}}})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Commit(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(filepath.Join(dir, "out", tt.wantFile)); err != nil {
				t.Fatalf("want %s written: %v", tt.wantFile, err)
			}
		})
	}
}
