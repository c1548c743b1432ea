package extract

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/hoist-dev/hoist/connector"
	"github.com/hoist-dev/hoist/internal/filefmt"
	"github.com/hoist-dev/hoist/internal/pgconn"
	"github.com/hoist-dev/hoist/internal/sqlitedb"
	"github.com/hoist-dev/hoist/sync/spec"
)

// ObjectRequest asks a source to read back what a destination on the same
// connection wrote (hoist plan/run --refresh).
type ObjectRequest struct {
	Request
	// Dest is the sync's destination block: object, format.
	Dest *spec.Dest
	// Schema is the mapped schema the destination writes. The reader returns
	// at least its columns (more are allowed), in the types the source reads
	// them as; the caller casts them to Schema's types.
	Schema *arrow.Schema
}

// ObjectReader is a source that can read a destination object back. An
// object that does not exist yet reads as empty: the destination holds no
// rows.
type ObjectReader interface {
	ReadObject(ctx context.Context, req ObjectRequest) (array.RecordReader, error)
}

var (
	_ ObjectReader = (*postgresSource)(nil)
	_ ObjectReader = (*sqliteSource)(nil)
	_ ObjectReader = (*filesSource)(nil)
)

// emptyReader is an object that does not exist.
func emptyReader(s *arrow.Schema) (array.RecordReader, error) {
	return array.NewRecordReader(s, nil)
}

// ReadObject selects the mapped columns of the destination table.
func (s *postgresSource) ReadObject(ctx context.Context, req ObjectRequest) (array.RecordReader, error) {
	table := pgconn.Ident(req.Dest.Object)
	var exists bool
	if err := s.pool.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", table).Scan(&exists); err != nil {
		return nil, fmt.Errorf("sync %s: look up table %s: %w", req.Sync, req.Dest.Object, err)
	}
	if !exists {
		return emptyReader(req.Schema)
	}
	cols := make([]string, req.Schema.NumFields())
	for i, f := range req.Schema.Fields() {
		cols[i] = pgconn.Col(f.Name)
	}
	req.Source = &spec.Source{Config: &connector.SQLSource{Query: "SELECT " + strings.Join(cols, ", ") + " FROM " + table}}
	return s.Read(ctx, req.Request)
}

// ReadObject selects the mapped columns of the destination table.
func (s *sqliteSource) ReadObject(ctx context.Context, req ObjectRequest) (array.RecordReader, error) {
	t, err := sqlitedb.ParseTable(req.Dest.Object)
	if err != nil {
		return nil, fmt.Errorf("sqlite %s: object: %w", s.path, err)
	}
	master := "sqlite_master"
	if t.Schema != "" {
		master = sqlitedb.Quote(t.Schema) + ".sqlite_master"
	}
	var n int
	q := "SELECT count(*) FROM " + master + " WHERE type IN ('table', 'view') AND name = ?"
	if err := s.db.QueryRowContext(ctx, q, t.Name).Scan(&n); err != nil {
		return nil, fmt.Errorf("sqlite %s: look up table %s: %w", s.path, t, err)
	}
	if n == 0 {
		return emptyReader(req.Schema)
	}
	cols := make([]string, req.Schema.NumFields())
	for i, f := range req.Schema.Fields() {
		cols[i] = sqlitedb.Quote(f.Name)
	}
	req.Source = &spec.Source{Config: &connector.SQLSource{Query: "SELECT " + strings.Join(cols, ", ") + " FROM " + t.SQL()}}
	return s.Read(ctx, req.Request)
}

// ReadObject reads the file the files destination writes for the object.
// CSV and JSON Lines are read with the mapped schema, as the destination's
// own merge reads them back, so text parses into the types it was written from.
func (s *filesSource) ReadObject(ctx context.Context, req ObjectRequest) (array.RecordReader, error) {
	dir := s.conn.Path
	if !filepath.IsAbs(dir) && s.dir != "" {
		dir = filepath.Join(s.dir, dir)
	}
	d, _ := req.Dest.Config.(*filefmt.Dest)
	format := d.FormatOf(s.conn)
	path, format, err := filefmt.ObjectPath(filepath.Clean(dir), req.Dest.Object, format)
	if err != nil {
		return nil, fmt.Errorf("files destination %s: %w", s.name, err)
	}
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return emptyReader(req.Schema)
	}
	opts := filefmt.ReadOptions{Rows: req.Rows(), Alloc: req.Allocator(), Name: s.displayName(path)}
	if format != filefmt.Parquet {
		opts.Schema = req.Schema
	}
	rr, err := filefmt.Open(ctx, path, format, opts)
	if err != nil {
		return nil, fmt.Errorf("files destination %s: %w", s.name, err)
	}
	return rr, nil
}
