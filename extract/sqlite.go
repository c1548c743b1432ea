package extract

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/hoist-dev/hoist/connector"
	"github.com/hoist-dev/hoist/internal/cursor"
	"github.com/hoist-dev/hoist/internal/sqlitedb"
	"github.com/hoist-dev/hoist/sync/spec"
)

func init() {
	Register(sqlitedb.Type, newSQLSource, openSQLite)
	// database/sql opens connections as Reads need them, without a cap.
	MarkShareable(sqlitedb.Type)
}

// sqliteIdle is how many idle connections a source keeps: syncs sharing it
// (run --parallel) would otherwise reopen the file, and parse its schema
// again, past database/sql's default of 2.
const sqliteIdle = 16

// sqliteSource reads an embedded SQLite database file.
type sqliteSource struct {
	path string
	db   *sql.DB
}

var _ Source = (*sqliteSource)(nil)

func openSQLite(ctx context.Context, conn *spec.Connection, dir string) (Source, error) {
	cfg, err := connector.As[*sqlitedb.Config](conn.Config)
	if err != nil {
		return nil, err
	}
	path := sqlitedb.Resolve(cfg.Path, dir)
	db, err := sqlitedb.OpenRead(ctx, path)
	if err != nil {
		return nil, err
	}
	db.SetMaxIdleConns(sqliteIdle)
	return &sqliteSource{path: path, db: db}, nil
}

func (s *sqliteSource) Close() error { return s.db.Close() }

// Read runs the sync's query (or reads its table) and streams the rows into
// Arrow records of req.Rows() rows.
func (s *sqliteSource) Read(ctx context.Context, req Request) (array.RecordReader, error) {
	query, args, err := sqliteQuery(req)
	if err != nil {
		return nil, fmt.Errorf("sqlite %s: %w", s.path, err)
	}
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite %s: query: %w", s.path, err)
	}
	r, err := newSQLiteReader(ctx, rows, req)
	if err != nil {
		rows.Close()
		return nil, fmt.Errorf("sqlite %s: %w", s.path, err)
	}
	return r, nil
}

// sqliteQuery builds the SQL text and its bound parameters.
func sqliteQuery(req Request) (string, []any, error) {
	src := req.Source
	sq, err := sqlSource(req)
	if err != nil {
		return "", nil, err
	}
	var query string
	switch {
	case strings.TrimSpace(sq.Query) != "":
		// A trailing ';' would end the subquery the cursor filter wraps it in.
		query = strings.TrimRight(strings.TrimSpace(sq.Query), "; \t\r\n")
	case sq.Table != "":
		t, err := sqlitedb.ParseTable(sq.Table)
		if err != nil {
			return "", nil, err
		}
		query = "SELECT * FROM " + t.SQL()
	default:
		return "", nil, fmt.Errorf("source needs query or table")
	}
	if req.After == nil || src.Cursor == "" {
		return query, nil, nil
	}
	col := `q.` + sqlitedb.Quote(src.Cursor)
	pred, arg, err := sqliteCursorPredicate(col, req.After)
	if err != nil {
		return "", nil, fmt.Errorf("cursor %s: %w", src.Cursor, err)
	}
	order := col
	if req.After.Kind == cursor.String {
		order += " COLLATE BINARY"
	}
	return fmt.Sprintf("SELECT * FROM (%s) AS q WHERE %s ORDER BY %s", query, pred, order), []any{arg}, nil
}

// sqliteCursorPredicate returns the WHERE condition selecting rows past the cursor
// and its bound parameter. It may select more rows than needed (the pipeline
// filters again) but must never drop a row past the cursor, since a row the
// query skips is lost for good. Hence:
//   - text compares with BINARY collation, the byte order the pipeline uses,
//     even when the column is declared NOCASE;
//   - dates and timestamps are normalised with SQLite's own date functions,
//     because SQLite tables hold them in many text forms ("…T…Z", "… …",
//     offsets, 3 or 6 fractional digits) whose text order is not time
//     order; timestamps compare at millisecond precision with >=, and any
//     value those functions cannot read (numbers, odd text) is kept.
func sqliteCursorPredicate(col string, c *cursor.Cursor) (string, any, error) {
	p, err := c.Param()
	if err != nil {
		return "", nil, err
	}
	switch c.Kind {
	case cursor.Timestamp:
		t := p.(time.Time).UTC().Truncate(time.Millisecond)
		return fmt.Sprintf("%[1]s IS NOT NULL AND (typeof(%[1]s) <> 'text' OR coalesce(strftime('%%Y-%%m-%%d %%H:%%M:%%f', %[1]s) >= ?, 1))", col),
			t.Format("2006-01-02 15:04:05.000"), nil
	case cursor.Date:
		return fmt.Sprintf("%[1]s IS NOT NULL AND (typeof(%[1]s) <> 'text' OR coalesce(date(%[1]s) > ?, 1))", col),
			p.(time.Time).Format(sqlitedb.DateLayout), nil
	case cursor.String:
		return col + " > ? COLLATE BINARY", p, nil
	}
	return col + " > ?", p, nil
}
