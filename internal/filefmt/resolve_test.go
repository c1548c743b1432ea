package filefmt

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestResolve(t *testing.T) {
	t.Parallel()
	spec := t.TempDir()
	for _, f := range []string{"data/b.csv", "data/a.csv", "data/c.jsonl", "data/.a.csv.tmp-1", "data/.hidden.csv",
		"data/sub/d.csv", "data/2024/x.csv", "data/2025/y.csv", "single.csv"} {
		writeFile(t, spec, f, "id\n1\n")
	}
	abs := func(ps ...string) []string {
		for i, p := range ps {
			ps[i] = filepath.Join(spec, p)
		}
		return ps
	}
	tests := []struct {
		name, conn, src, format string
		want                    []string
		wantErr                 string
	}{
		{name: "folder: every file of the format, sorted, hidden skipped", conn: "data", format: CSV,
			want: abs("data/a.csv", "data/b.csv")},
		{name: "folder of another format", conn: "data", format: JSONL, want: abs("data/c.jsonl")},
		{name: "single file", conn: "single.csv", format: CSV, want: abs("single.csv")},
		{name: "glob in the connection", conn: "data/*.csv", format: CSV, want: abs("data/a.csv", "data/b.csv")},
		{name: "source path under a folder connection", conn: "data", src: "sub/d.csv", format: CSV,
			want: abs("data/sub/d.csv")},
		{name: "source glob under a folder connection", conn: "data", src: "20*/*.csv", format: CSV,
			want: abs("data/2024/x.csv", "data/2025/y.csv")},
		{name: "source path against the spec dir when the connection is a file", conn: "single.csv",
			src: "data/a.csv", format: CSV, want: abs("data/a.csv")},
		{name: "absolute source path", conn: "data", src: filepath.Join(spec, "single.csv"), format: CSV,
			want: abs("single.csv")},
		{name: "no match", conn: "data", src: "*.parquet", format: Parquet, wantErr: "no files match"},
		{name: "empty folder for the format", conn: "data", format: Parquet, wantErr: "holds no parquet files"},
		{name: "missing file", conn: "nope.csv", format: CSV, wantErr: "nope.csv"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Resolve(spec, tt.conn, tt.src, tt.format)
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

func TestOpenAll(t *testing.T) {
	t.Parallel()
	t.Run("csv files read as one stream with the first file's types", func(t *testing.T) {
		t.Parallel()
		mem := checked(t)
		dir := t.TempDir()
		a := writeFile(t, dir, "a.csv", "id,name\n1,x\n2,y\n")
		b := writeFile(t, dir, "b.csv", "id,name\n3,\n")
		rr, err := OpenAll(context.Background(), []string{a, b}, CSV, ReadOptions{Alloc: mem}, filepath.Base)
		if err != nil {
			t.Fatal(err)
		}
		defer rr.Release()
		rows, err := drain(t, rr)
		if err != nil {
			t.Fatal(err)
		}
		want := [][]string{{"1", "x"}, {"2", "y"}, {"3", "<null>"}}
		if !slices.EqualFunc(rows, want, slices.Equal) {
			t.Fatalf("rows = %v, want %v", rows, want)
		}
	})
	tests := []struct {
		name, format string
		files        func(t *testing.T, dir string) []string
		want         string
	}{
		{"csv headers differ", CSV, func(t *testing.T, dir string) []string {
			return []string{writeFile(t, dir, "a.csv", "id,name\n1,x\n"), writeFile(t, dir, "b.csv", "id,email\n2,y\n")}
		}, "b.csv: columns [id email] differ from a.csv's [id name]"},
		{"csv value of another type in a later file", CSV, func(t *testing.T, dir string) []string {
			return []string{writeFile(t, dir, "a.csv", "id\n1\n"), writeFile(t, dir, "b.csv", "id\n2\nx3\n")}
		}, `b.csv: row 2 (line 3): column id: cannot parse "x3" as int64`},
		{"parquet schemas differ", Parquet, func(t *testing.T, dir string) []string {
			mem := checked(t)
			rec := sampleRecord(mem, 0, 3)
			defer rec.Release()
			a := filepath.Join(dir, "a.parquet")
			encodeFile(t, a, Parquet, sampleSchema, rec)
			narrow := rec.Schema().Fields()[:2]
			sch := newSchema(narrow)
			sub := newRecord(sch, rec, 2)
			defer sub.Release()
			b := filepath.Join(dir, "b.parquet")
			encodeFile(t, b, Parquet, sch, sub)
			return []string{a, b}
		}, "b.parquet: schema (id int64, email utf8) differs from a.parquet's (id int64, email utf8, properties.full_name utf8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			mem := checked(t)
			files := tt.files(t, t.TempDir())
			rr, err := OpenAll(context.Background(), files, tt.format, ReadOptions{Alloc: mem}, filepath.Base)
			if err == nil {
				_, err = drain(t, rr)
				rr.Release()
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}
