package filefmt

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// The CSV reader is encoding/csv plus Arrow builders rather than arrow/csv's
// Reader: arrow/csv infers types from the first row only, emits a record with
// NULLs where a value failed to parse, and names neither the row nor the line
// of a ragged or non-UTF-8 row. Here inference looks at the first InferRows
// rows, and every error names the file, the data row (1-based, header
// excluded), its line and the column.

type csvRow struct {
	fields []string
	line   int
}

type csvRows struct {
	name    string
	f       *os.File
	r       *csv.Reader
	names   []string
	row     int // data rows consumed so far
	pending []csvRow
}

func openCSV(ctx context.Context, path string, opts ReadOptions) (array.RecordReader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	src, schema, err := newCSVRows(f, opts)
	if err != nil {
		f.Close()
		return nil, err
	}
	return newBatchReader(ctx, schema, src, opts), nil
}

func newCSVRows(f *os.File, opts ReadOptions) (*csvRows, *arrow.Schema, error) {
	br := bufio.NewReaderSize(f, 1<<16)
	if bom, _ := br.Peek(3); bytes.Equal(bom, []byte{0xEF, 0xBB, 0xBF}) {
		br.Discard(3) // Excel's UTF-8 byte order mark is not part of the first column's name
	}
	s := &csvRows{name: opts.Name, f: f, r: csv.NewReader(br)}
	s.r.FieldsPerRecord = -1 // check widths here, to report "expected N fields, got M"
	header, err := s.r.Read()
	if errors.Is(err, io.EOF) {
		return nil, nil, fmt.Errorf("%s: %w (a csv file needs a header row)", s.name, errEmpty)
	}
	if err != nil {
		return nil, nil, s.parseErr(err)
	}
	for i, h := range header {
		if !utf8.ValidString(h) {
			return nil, nil, fmt.Errorf("%s: header (line 1): invalid UTF-8 in column %d (the file must be UTF-8)", s.name, i+1)
		}
		if h == "" {
			h = fmt.Sprintf("column_%d", i+1)
		}
		if slices.Contains(s.names, h) {
			return nil, nil, fmt.Errorf("%s: header: column %q appears twice", s.name, h)
		}
		s.names = append(s.names, h)
	}
	if opts.Schema != nil {
		if want := fieldNames(opts.Schema); !slices.Equal(s.names, want) {
			return nil, nil, errSchema(s.name, opts.SchemaFrom, s.names, want)
		}
		for _, fl := range opts.Schema.Fields() {
			if !textReadable(fl.Type) {
				return nil, nil, fmt.Errorf("%s: column %s: csv cannot hold %s values", s.name, fl.Name, fl.Type)
			}
		}
		return s, opts.Schema, nil
	}
	schema, err := s.infer(opts.inferRows())
	if err != nil {
		return nil, nil, err
	}
	return s, schema, nil
}

// infer reads up to n rows ahead, keeping them for next, and guesses each
// column's type from them.
func (s *csvRows) infer(n int) (*arrow.Schema, error) {
	guesses := make([]textGuess, len(s.names))
	for i := range guesses {
		guesses[i] = newTextGuess()
	}
	for len(s.pending) < n {
		row, err := s.read(len(s.pending) + 1)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		for i, v := range row.fields {
			guesses[i].add(v)
		}
		s.pending = append(s.pending, row)
	}
	fields := make([]arrow.Field, len(s.names))
	for i, n := range s.names {
		fields[i] = arrow.Field{Name: n, Type: guesses[i].typ(), Nullable: true}
		if len(s.pending) == 0 {
			// A header-only file says nothing of its columns' types: text is
			// a placeholder, which create_table must not make a table of.
			fields[i].Metadata = arrow.NewMetadata([]string{UntypedKey}, []string{s.name + " has no data rows"})
		}
	}
	return arrow.NewSchema(fields, nil), nil
}

// UntypedKey is the Arrow field metadata key a reader sets on a column whose
// type it could not infer (a header-only CSV file); the value says why.
// Destinations refuse to create a column from it rather than guess text.
const UntypedKey = "hoist.untyped"

// Untyped returns why f's type is only a placeholder, or "".
func Untyped(f arrow.Field) string {
	if i := f.Metadata.FindKey(UntypedKey); i >= 0 {
		return f.Metadata.Values()[i]
	}
	return ""
}

// read reads and checks the next record; rowNum is its data row number.
func (s *csvRows) read(rowNum int) (csvRow, error) {
	fields, err := s.r.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return csvRow{}, err
		}
		return csvRow{}, s.parseErr(err)
	}
	line, _ := s.r.FieldPos(0)
	if len(fields) != len(s.names) {
		return csvRow{}, fmt.Errorf("%s: row %d (line %d): expected %d fields, got %d", s.name, rowNum, line, len(s.names), len(fields))
	}
	for i, v := range fields {
		if !utf8.ValidString(v) {
			return csvRow{}, fmt.Errorf("%s: row %d (line %d): column %s: invalid UTF-8 (the file must be UTF-8)", s.name, rowNum, line, s.names[i])
		}
	}
	return csvRow{fields: fields, line: line}, nil
}

func (s *csvRows) parseErr(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: row %d (line %d): %w", s.name, s.row+len(s.pending)+1, pe.StartLine, pe.Err)
	}
	return fmt.Errorf("read %s: %w", s.name, err)
}

func (s *csvRows) next(bld *array.RecordBuilder) (bool, error) {
	var row csvRow
	if len(s.pending) > 0 {
		row = s.pending[0]
		s.pending[0] = csvRow{}
		s.pending = s.pending[1:]
	} else {
		var err error
		if row, err = s.read(s.row + 1); err != nil {
			if errors.Is(err, io.EOF) {
				return false, nil
			}
			return false, err
		}
	}
	s.row++
	for i, v := range row.fields {
		if err := appendText(bld.Field(i), v); err != nil {
			return false, fmt.Errorf("%s: row %d (line %d): column %s: %w", s.name, s.row, row.line, s.names[i], err)
		}
	}
	return true, nil
}

func (s *csvRows) close() error { return s.f.Close() }
