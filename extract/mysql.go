package extract

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/hoist-dev/hoist/connector"
	"github.com/hoist-dev/hoist/internal/cursor"
	"github.com/hoist-dev/hoist/internal/mysqlconn"
	"github.com/hoist-dev/hoist/internal/shard"
	"github.com/hoist-dev/hoist/sync/spec"
)

func init() {
	Register(mysqlconn.Type, func() connector.SourceConfig { return &MySQLSource{} }, openMySQL)
}

// MySQLSource is a mysql source's keys: query or table, and how to read
// TINYINT(1).
type MySQLSource struct {
	connector.SQLSource `yaml:",inline"`
	// TinyInt1AsBool reads TINYINT(1) columns (MySQL's BOOLEAN) as bool
	// rather than int8; a value other than 0 or 1 then fails the read.
	TinyInt1AsBool bool `yaml:"tinyint1_as_bool" doc:"read TINYINT(1) (BOOLEAN) columns as bool instead of int8"`
}

// MySQLSourceConfig is what one read of a mysql source is asked for.
type MySQLSourceConfig struct {
	Query  string `yaml:"query"`
	Table  string `yaml:"table"`
	Cursor string `yaml:"cursor"`
	// TinyInt1AsBool reads TINYINT(1) columns (MySQL's BOOLEAN) as bool
	// rather than int8; a value other than 0 or 1 then fails the read.
	TinyInt1AsBool bool `yaml:"tinyint1_as_bool"`
}

// mysqlSourceOf reads the sync's source keys: the one place the mysql
// source reads spec.Source.
func mysqlSourceOf(req Request) (MySQLSourceConfig, error) {
	if req.Source == nil {
		return MySQLSourceConfig{}, fmt.Errorf("sync %s: no source block", req.Sync)
	}
	c, err := connector.As[*MySQLSource](req.Source.Config)
	if err != nil {
		return MySQLSourceConfig{}, err
	}
	return MySQLSourceConfig{Query: c.Query, Table: c.Table, Cursor: req.Source.Cursor, TinyInt1AsBool: c.TinyInt1AsBool}, nil
}

// mysqlConnOf reads the connection's keys: the one place the mysql source
// reads spec.Connection.
func mysqlConnOf(conn *spec.Connection) (*mysqlconn.Config, error) {
	return connector.As[*mysqlconn.Config](conn.Config)
}

// mysqlSource reads a query or table of a MySQL or MariaDB database.
//
// Every read is one server-side prepared statement on a connection of its
// own: the binary protocol carries FLOAT and DOUBLE values exactly (the text
// protocol prints FLOAT with 6 digits) and binds the cursor as a real
// parameter. go-sql-driver reads one row at a time from the socket, so
// client memory is one Arrow batch however large the result, and the server
// waits on TCP back-pressure.
type mysqlSource struct {
	db   *sql.DB
	name string
}

var _ Source = (*mysqlSource)(nil)

func openMySQL(ctx context.Context, conn *spec.Connection, _ string) (Source, error) {
	cfg, err := mysqlConnOf(conn)
	if err != nil {
		return nil, err
	}
	db, err := cfg.Connect(ctx, mysqlconn.Options{TextTimes: true, Stream: true})
	if err != nil {
		return nil, err
	}
	return &mysqlSource{db: db, name: conn.Name}, nil
}

// NewMySQLSource wraps an existing pool (tests, the benchmark driver); it
// needs two connections when a read looks up column details.
func NewMySQLSource(db *sql.DB) Source {
	return &mysqlSource{db: db, name: "mysql"}
}

func (s *mysqlSource) Close() error { return s.db.Close() }

func (s *mysqlSource) Read(ctx context.Context, req Request) (array.RecordReader, error) {
	cfg, err := mysqlSourceOf(req)
	if err != nil {
		return nil, err
	}
	return s.read(ctx, req, cfg)
}

func (s *mysqlSource) read(ctx context.Context, req Request, cfg MySQLSourceConfig) (array.RecordReader, error) {
	if req.pushableShard() {
		ok, err := s.canPushShard(ctx, &req, cfg)
		if err != nil {
			return nil, fmt.Errorf("sync %s: query %s: %w", req.Sync, s.name, err)
		}
		req.Shard.Pushed = ok
	}
	base, query, args, err := mysqlSQL(&req, cfg)
	if err != nil {
		return nil, err
	}
	var r *mysqlReader
	// Retry only the start: once rows have been handed out, a lost
	// connection fails the read (the pipeline has not committed them).
	err = mysqlconn.Retry(ctx, mysqlconn.DefaultRetry, func(ctx context.Context) error {
		var err error
		r, err = s.start(ctx, &req, cfg, base, query, args)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("sync %s: query %s: %w", req.Sync, s.name, err)
	}
	return r, nil
}

// mysqlSQL builds the statement for req and its bound arguments; base is
// the query without the cursor's filter and order.
func mysqlSQL(req *Request, cfg MySQLSourceConfig) (base, query string, args []any, err error) {
	switch {
	case strings.TrimSpace(cfg.Query) != "":
		base = strings.TrimRight(strings.TrimSpace(cfg.Query), "; \n\t")
	case cfg.Table != "":
		base = "SELECT * FROM " + mysqlconn.Ident(cfg.Table)
	default:
		return "", "", nil, fmt.Errorf("sync %s: mysql source needs query or table", req.Sync)
	}
	var where []string
	if req.Shard != nil && req.Shard.Pushed {
		cols := make([]string, len(req.Shard.Columns))
		for i, c := range req.Shard.Columns {
			cols[i] = "_hoist." + mysqlconn.Col(c)
		}
		where = append(where, shard.MySQL(cols, req.Shard.Spec))
	}
	order := ""
	if cfg.Cursor != "" {
		// Ordered even without a cursor value, so a run that stops early
		// has delivered a prefix.
		col := mysqlconn.Col(cfg.Cursor)
		order = " ORDER BY " + col
		if req.After != nil {
			p, err := req.After.Param()
			if err != nil {
				return "", "", nil, fmt.Errorf("sync %s: cursor %s: %w", req.Sync, cfg.Cursor, err)
			}
			where = append(where, col+" > "+cursorPlaceholder(req.After))
			args = append(args, p)
		}
	}
	if len(where) == 0 && order == "" {
		return base, base, nil, nil
	}
	// The newline before ")" ends a trailing -- comment of the query.
	query = "SELECT * FROM (\n" + base + "\n) AS _hoist"
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	return base, query + order, args, nil
}

// cursorPlaceholder is the bound parameter of the cursor filter. A decimal
// cursor is bound as text, which MySQL compares with a DECIMAL column as a
// double (MariaDB as a decimal): cast to a DECIMAL wide enough for the
// value, the comparison is exact on both.
func cursorPlaceholder(c *cursor.Cursor) string {
	if c.Kind != cursor.Decimal {
		return "?"
	}
	v := strings.TrimLeft(c.Value, "+-")
	intPart, frac, _ := strings.Cut(v, ".")
	s := min(len(frac), 30)
	p := min(max(len(intPart), 1)+s, 65)
	return fmt.Sprintf("CAST(? AS DECIMAL(%d,%d))", p, s)
}

func (s *mysqlSource) start(ctx context.Context, req *Request, cfg MySQLSourceConfig, base, query string, args []any) (*mysqlReader, error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	// The read's own context: cancelling it is how a reader that stops
	// early drops the connection instead of draining the rest of the
	// result (go-sql-driver reads every remaining row on Close).
	qctx, cancel := context.WithCancel(ctx)
	fail := func(err error) (*mysqlReader, error) {
		cancel()
		conn.Close()
		return nil, err
	}
	stmt, err := conn.PrepareContext(qctx, query)
	if err != nil {
		return fail(err)
	}
	rows, err := stmt.QueryContext(qctx, args...)
	if err != nil {
		stmt.Close()
		return fail(err)
	}
	cts, err := rows.ColumnTypes()
	if err != nil {
		rows.Close()
		stmt.Close()
		return fail(err)
	}
	var details []string
	if needDetails(cts, cfg) {
		details, err = s.columnDetails(ctx, cfg, base)
		if err != nil && cfg.TinyInt1AsBool {
			rows.Close()
			stmt.Close()
			return fail(fmt.Errorf("tinyint1_as_bool: look up column types: %w", err))
		}
		if len(details) != len(cts) {
			details = nil
		}
	}
	r, err := newMySQLReader(qctx, cancel, req, conn, stmt, rows, cts, details, cfg.TinyInt1AsBool)
	if err != nil {
		rows.Close()
		stmt.Close()
		return fail(err)
	}
	return r, nil
}

// needDetails reports whether the result's metadata leaves a type open:
// the driver shows no display width (TINYINT(1)) and no UNSIGNED for a
// DECIMAL, whose precision it then reports one short.
func needDetails(cts []*sql.ColumnType, cfg MySQLSourceConfig) bool {
	for _, ct := range cts {
		switch ct.DatabaseTypeName() {
		case "DECIMAL":
			return true
		case "TINYINT":
			if cfg.TinyInt1AsBool {
				return true
			}
		}
	}
	return false
}

// columnDetails returns each result column's full type (COLUMN_TYPE, such
// as "tinyint(1)" or "decimal(10,2) unsigned"): from the catalog for a
// table, else from an empty temporary table made from the query. It runs
// on a connection of its own, beside the streaming read.
func (s *mysqlSource) columnDetails(ctx context.Context, cfg MySQLSourceConfig, base string) ([]string, error) {
	if strings.TrimSpace(cfg.Query) == "" {
		db, table := mysqlconn.Table(cfg.Table)
		schema := sql.NullString{String: db, Valid: db != ""}
		rows, err := s.db.QueryContext(ctx, `SELECT COLUMN_TYPE FROM information_schema.COLUMNS
			WHERE TABLE_SCHEMA = COALESCE(?, DATABASE()) AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`, schema, table)
		if err != nil {
			return nil, err
		}
		return scanStrings(rows, 1)
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	probe := mysqlconn.Col("hoist_probe_" + hex.EncodeToString(rnd[:]))
	if _, err := conn.ExecContext(ctx, "CREATE TEMPORARY TABLE "+probe+" AS SELECT * FROM (\n"+base+"\n) AS _hoist LIMIT 0"); err != nil {
		return nil, err
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "DROP TEMPORARY TABLE IF EXISTS "+probe)
	rows, err := conn.QueryContext(ctx, "SHOW COLUMNS FROM "+probe)
	if err != nil {
		return nil, err
	}
	return scanStrings(rows, 2)
}

// scanStrings collects column n (1-based) of every row as text.
func scanStrings(rows *sql.Rows, n int) ([]string, error) {
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	var out []string
	dest := make([]any, len(cols))
	for i := range dest {
		dest[i] = new(sql.RawBytes)
	}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		out = append(out, string(*dest[n-1].(*sql.RawBytes)))
	}
	return out, rows.Err()
}
