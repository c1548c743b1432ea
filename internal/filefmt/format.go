// Package filefmt reads and writes the file formats of hoist's files
// connection (Parquet, CSV, JSON Lines) as Arrow record batches.
//
// Readers stream: Parquet through pqarrow's record reader, CSV and JSONL a
// bounded number of rows at a time. CSV and JSONL have no schema of their own,
// so the reader infers one from the first rows (see infer.go) or takes the one
// it is given. Writers take record batches and produce files that the readers
// read back with the same column names and, for Parquet, the same types.
package filefmt

import (
	"fmt"
	"path/filepath"
	"strings"
)

// Formats.
const (
	Parquet = "parquet"
	CSV     = "csv"
	JSONL   = "jsonl"
)

// DefaultInferRows is how many rows (CSV) or lines (JSONL) schema inference
// looks at before the first record is built.
const DefaultInferRows = 1000

// Ext returns the file extension (with the dot) of a format.
func Ext(format string) string {
	return "." + format
}

// FromExt returns the format named by a file's extension, or "" when the
// extension is not one of ours. ".ndjson" and ".json" read as JSON Lines.
func FromExt(path string) string {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".parquet", ".pq":
		return Parquet
	case ".csv":
		return CSV
	case ".jsonl", ".ndjson", ".json":
		return JSONL
	}
	return ""
}

// Check returns an error for a format hoist does not know.
func Check(format string) error {
	switch format {
	case Parquet, CSV, JSONL:
		return nil
	case "":
		return fmt.Errorf("no file format given (want parquet, csv or jsonl)")
	}
	return fmt.Errorf("unknown file format %q (want parquet, csv or jsonl)", format)
}
