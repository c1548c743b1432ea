package filefmt

import (
	"context"
	"strings"
	"testing"
)

// readAll opens and drains a file, returning the first error either step gave.
func readAll(t *testing.T, path, format string, opts ReadOptions) (int, error) {
	t.Helper()
	rr, err := Open(context.Background(), path, format, opts)
	if err != nil {
		return 0, err
	}
	defer rr.Release()
	rows, err := drain(t, rr)
	return len(rows), err
}

func TestCSVErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, content string
		inferRows     int
		want          string
	}{
		{"ragged row", "id,email,name\n1,a@x.io,Ann\n2,b@x.io\n", 0,
			"customers.csv: row 2 (line 3): expected 3 fields, got 2"},
		{"ragged row after a quoted newline", "id,name\n1,\"two\nlines\"\n2,b,extra\n", 0,
			"customers.csv: row 2 (line 4): expected 2 fields, got 3"},
		{"ragged row past inference", "id,name\n1,a\n2,b\n3,c\n4\n", 2,
			"customers.csv: row 4 (line 5): expected 2 fields, got 1"},
		{"non-UTF-8 value", "id,name\n1,ok\n2,caf\xe9\n", 0,
			"customers.csv: row 2 (line 3): column name: invalid UTF-8"},
		{"non-UTF-8 past inference", "id,name\n1,a\n2,b\n3,\xff\xfe\n", 1,
			"customers.csv: row 3 (line 4): column name: invalid UTF-8"},
		{"non-UTF-8 header", "id,n\xe4me\n1,a\n", 0,
			"customers.csv: header (line 1): invalid UTF-8 in column 2"},
		{"value past inference does not fit", "id,name\n1,a\n2,b\nthree,c\n", 2,
			`customers.csv: row 3 (line 4): column id: cannot parse "three" as int64`},
		{"bare quote", "id,name\n1,a\"b\n", 0,
			`customers.csv: row 1 (line 2): bare " in non-quoted-field`},
		{"empty file", "", 0, "customers.csv: empty file"},
		{"duplicate column", "id,id\n1,2\n", 0, `customers.csv: header: column "id" appears twice`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			mem := checked(t)
			path := writeFile(t, t.TempDir(), "customers.csv", tt.content)
			_, err := readAll(t, path, CSV, ReadOptions{Alloc: mem, InferRows: tt.inferRows, Name: "customers.csv"})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestJSONLErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, content string
		inferRows     int
		want          string
	}{
		{"bad json", "{\"id\":1}\n\n{\"id\":2,}\n", 0, "events.jsonl: line 3: bad json"},
		{"non-UTF-8", "{\"id\":1}\n{\"id\":2,\"n\":\"caf\xe9\"}\n", 0, "events.jsonl: line 2: invalid UTF-8"},
		{"not an object", "{\"id\":1}\n[1,2]\n", 0, `events.jsonl: line 2: want a json object, got "["`},
		{"two values on a line", "{\"id\":1} {\"id\":2}\n", 0, "events.jsonl: line 1: bad json: more than one value"},
		{"new key past inference", "{\"id\":1}\n{\"id\":2}\n{\"id\":3,\"extra\":true}\n", 2,
			`events.jsonl: line 3: field "extra" is not in the schema (inferred from the first 2 lines)`},
		{"value past inference does not fit", "{\"id\":1}\n{\"id\":\"x\"}\n", 1,
			`events.jsonl: line 2: field id: cannot parse "x" as int64`},
		// A record cut short (a file copied while still being written) must
		// fail, not read as the end of the file: the decoder says io.EOF.
		{"truncated last record", "{\"id\":1}\n{\"id\":2,\"name\":\"x", 0, "events.jsonl: line 2: truncated record"},
		{"truncated after a comma", "{\"id\":1}\n{\"id\":2,", 0, "events.jsonl: line 2: truncated record"},
		{"truncated before a value", "{\"id\":1}\n{\"id\":", 0, "events.jsonl: line 2: truncated record"},
		{"truncated open brace", "{\"id\":1}\n{", 0, "events.jsonl: line 2: truncated record"},
		{"truncated nested", "{\"id\":1}\n{\"a\":{\"b\":1", 0, "events.jsonl: line 2: truncated record"},
		{"truncated past inference", "{\"id\":1}\n{\"id\":2}\n{\"id\":3", 1, "events.jsonl: line 3: truncated record"},
		{"truncated mid-file", "{\"id\":1}\n{\"id\":2\n{\"id\":3}\n", 0, "events.jsonl: line 2: truncated record"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			mem := checked(t)
			path := writeFile(t, t.TempDir(), "events.jsonl", tt.content)
			_, err := readAll(t, path, JSONL, ReadOptions{Alloc: mem, InferRows: tt.inferRows, Name: "events.jsonl"})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

// TestFailedBatchNotEmitted checks a parse error does not hand out the rows
// before it in the same batch: a destination must never get half a batch of
// a file that turned out to be broken.
func TestFailedBatchNotEmitted(t *testing.T) {
	t.Parallel()
	mem := checked(t)
	path := writeFile(t, t.TempDir(), "c.csv", "id,name\n1,a\n2,b\n3\n")
	rr, err := Open(context.Background(), path, CSV, ReadOptions{Alloc: mem, Rows: 100})
	if err == nil {
		defer rr.Release()
		if rr.Next() {
			t.Fatalf("Next = true with %d rows, want false for a batch holding a ragged row", rr.RecordBatch().NumRows())
		}
		err = rr.Err()
	}
	if err == nil || !strings.Contains(err.Error(), "row 3") {
		t.Fatalf("err = %v, want the ragged row 3", err)
	}
}
