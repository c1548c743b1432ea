package extract_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/hoist-dev/hoist/extract"
	"github.com/hoist-dev/hoist/internal/filefmt"
	"github.com/hoist-dev/hoist/sync/spec"
)

func filesWrite(t *testing.T, dir, name, content string) {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// filesReadAll reads a files source and returns the first column's values
// as text, or the error Read or the reader gave.
func filesReadAll(t *testing.T, conn *spec.Connection, src *spec.Source, dir string) ([]string, error) {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ctx := context.Background()
	s, err := extract.Open(ctx, conn, dir)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	rr, err := s.Read(ctx, extract.Request{Sync: "t", Source: src, BatchRows: 2, Alloc: mem})
	if err != nil {
		return nil, err
	}
	defer rr.Release()
	var out []string
	for rr.Next() {
		col := rr.RecordBatch().Column(0)
		for i := range col.Len() {
			out = append(out, col.ValueStr(i))
		}
	}
	return out, rr.Err()
}

func TestFilesSource(t *testing.T) {
	t.Parallel()
	if !slices.Contains(extract.Types(), filefmt.Type) {
		t.Fatalf("files is not a registered source type: %v", extract.Types())
	}
	dir := t.TempDir()
	filesWrite(t, dir, "exports/2024.csv", "id,name\n1,a\n2,b\n3,c\n")
	filesWrite(t, dir, "exports/2025.csv", "id,name\n4,d\n")
	filesWrite(t, dir, "exports/events.jsonl", "{\"id\":10}\n{\"id\":11}\n")
	filesWrite(t, dir, "exports/bad.csv", "id,name\n1,a\n2\n")
	tests := []struct {
		name    string
		conn    spec.Connection
		src     spec.Source
		want    []string
		wantErr string
	}{
		{name: "folder of csv files read in name order as one stream",
			conn: spec.Connection{Config: &filefmt.Config{Path: "exports", Format: "csv"}}, src: spec.Source{Config: &extract.FilesSource{Path: "20*.csv"}},
			want: []string{"1", "2", "3", "4"}},
		{name: "source format overrides the connection's",
			conn: spec.Connection{Config: &filefmt.Config{Path: "exports", Format: "csv"}}, src: spec.Source{Config: &extract.FilesSource{Path: "events.jsonl", Format: "jsonl"}},
			want: []string{"10", "11"}},
		{name: "errors name the file as the spec does and the row",
			conn: spec.Connection{Config: &filefmt.Config{Path: "exports", Format: "csv"}}, src: spec.Source{Config: &extract.FilesSource{Path: "bad.csv"}},
			wantErr: filepath.Join("exports", "bad.csv") + ": row 2 (line 3): expected 2 fields, got 1"},
		{name: "no format",
			conn: spec.Connection{Config: &filefmt.Config{Path: "exports"}}, wantErr: "no file format"},
		{name: "nothing matches",
			conn: spec.Connection{Config: &filefmt.Config{Path: "exports", Format: "parquet"}}, wantErr: "holds no parquet files"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			conn := tt.conn
			conn.Name, conn.Type = "files", filefmt.Type
			src := tt.src
			src.Connection = "files"
			got, err := filesReadAll(t, &conn, &src, dir)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// TestFilesSourceQuickstart reads the committed quickstart export through the
// source, as `hoist run` on the quickstart does.
func TestFilesSourceQuickstart(t *testing.T) {
	t.Parallel()
	conn := &spec.Connection{Name: "warehouse", Type: filefmt.Type, Config: &filefmt.Config{Path: filepath.Join("..", "testdata", "quickstart", "customers.parquet"), Format: "parquet"}}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ctx := context.Background()
	s, err := extract.Open(ctx, conn, ".")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rr, err := s.Read(ctx, extract.Request{Sync: "q", Source: &spec.Source{Connection: "warehouse"}, Alloc: mem})
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Release()
	rows := 0
	for rr.Next() {
		if n := int(rr.RecordBatch().NumRows()); n > extract.DefaultBatchRows {
			t.Fatalf("record of %d rows, want at most %d", n, extract.DefaultBatchRows)
		}
		rows += int(rr.RecordBatch().NumRows())
	}
	if err := rr.Err(); err != nil {
		t.Fatal(err)
	}
	if rows != 100_000 {
		t.Fatalf("read %d rows, want 100000", rows)
	}
}

// TestFilesFixtures keeps testdata/files meaningful: the good fixtures read,
// the broken ones fail with messages naming file and row or line (the CLI's
// bad-input tests rely on them).
func TestFilesFixtures(t *testing.T) {
	t.Parallel()
	dir := filepath.Join("..", "testdata")
	tests := []struct {
		file, format, wantErr string
		wantRows              int
	}{
		{file: "customers.csv", format: "csv", wantRows: 3},
		{file: "customers.jsonl", format: "jsonl", wantRows: 2},
		{file: "ragged.csv", format: "csv", wantErr: filepath.Join("files", "ragged.csv") + ": row 3 (line 4): expected 5 fields, got 4"},
		{file: "latin1.csv", format: "csv", wantErr: filepath.Join("files", "latin1.csv") + ": row 2 (line 3): column name: invalid UTF-8"},
		{file: "bad.jsonl", format: "jsonl", wantErr: filepath.Join("files", "bad.jsonl") + ": line 2: bad json"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			conn := &spec.Connection{Name: "f", Type: filefmt.Type, Config: &filefmt.Config{Path: "files", Format: tt.format}}
			got, err := filesReadAll(t, conn, &spec.Source{Connection: "f", Config: &extract.FilesSource{Path: tt.file}}, dir)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tt.wantRows {
				t.Fatalf("read %d rows, want %d", len(got), tt.wantRows)
			}
		})
	}
}
