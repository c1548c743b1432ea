package extract

import (
	"context"
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hoist-dev/hoist/connector"
	"github.com/hoist-dev/hoist/internal/pgconn"
	"github.com/hoist-dev/hoist/internal/shard"
	"github.com/hoist-dev/hoist/sync/spec"
)

func init() { Register(pgconn.Type, newSQLSource, openPostgres) }

// postgresSource reads a query or table over one pooled connection per Read.
//
// Rows stream through the extended protocol's unnamed portal inside a
// read-only transaction: pgx reads one DataRow at a time from the socket, so
// client memory is one Arrow batch however large the table, and the server
// waits on TCP back-pressure. Results are requested in binary format and
// decoded straight into Arrow builders (internal/pgwire), with no per-value
// interface boxing. Unlike COPY TO STDOUT this path binds the cursor as a
// real parameter ($1); bench/postgres measures it against psql's COPY.
type postgresSource struct {
	pool *pgxpool.Pool
	name string
}

var _ Source = (*postgresSource)(nil)

func openPostgres(ctx context.Context, conn *spec.Connection, _ string) (Source, error) {
	cfg, err := connector.As[*pgconn.Config](conn.Config)
	if err != nil {
		return nil, err
	}
	pool, err := pgconn.Connect(ctx, cfg.URL.Reveal(), cfg.Options())
	if err != nil {
		return nil, err
	}
	return &postgresSource{pool: pool, name: conn.Name}, nil
}

// NewPostgresSource wraps an existing pool (tests, the benchmark driver).
func NewPostgresSource(pool *pgxpool.Pool) Source {
	return &postgresSource{pool: pool, name: "postgres"}
}

func (s *postgresSource) Close() error {
	s.pool.Close()
	return nil
}

// postgresSQL builds the statement for req, and its bound arguments.
func postgresSQL(req *Request) (string, []any, error) {
	src := req.Source
	sq, err := sqlSource(*req)
	if err != nil {
		return "", nil, err
	}
	var base string
	switch {
	case strings.TrimSpace(sq.Query) != "":
		base = strings.TrimRight(strings.TrimSpace(sq.Query), "; \n\t")
	case sq.Table != "":
		base = "SELECT * FROM " + pgconn.Ident(sq.Table)
	default:
		return "", nil, fmt.Errorf("sync %s: postgres source needs query or table", req.Sync)
	}
	var where []string
	if req.Shard != nil && req.Shard.Pushed {
		cols := make([]string, len(req.Shard.Columns))
		for i, c := range req.Shard.Columns {
			cols[i] = "q." + pgconn.Col(c)
		}
		where = append(where, shard.Postgres(cols, req.Shard.Spec))
	}
	var args []any
	order := ""
	if src.Cursor != "" {
		col := pgconn.Col(src.Cursor)
		// Ordered even without a cursor value, so a run that stops early
		// has delivered a prefix.
		order = " ORDER BY " + col
		if req.After != nil {
			p, err := req.After.Param()
			if err != nil {
				return "", nil, fmt.Errorf("sync %s: cursor %s: %w", req.Sync, src.Cursor, err)
			}
			where = append(where, col+" > $1")
			args = append(args, p)
		}
	}
	if len(where) == 0 && order == "" {
		return base, nil, nil
	}
	q := "SELECT * FROM (\n" + base + "\n) q"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	return q + order, args, nil
}

func (s *postgresSource) Read(ctx context.Context, req Request) (array.RecordReader, error) {
	if req.pushableShard() {
		ok, err := s.canPushShard(ctx, &req)
		if err != nil {
			return nil, fmt.Errorf("sync %s: query %s: %w", req.Sync, s.name, err)
		}
		req.Shard.Pushed = ok
	}
	sql, args, err := postgresSQL(&req)
	if err != nil {
		return nil, err
	}
	var r *pgReader
	// Retry only the start: once rows have been handed out, a lost
	// connection fails the read (the pipeline has not committed them).
	err = pgconn.Retry(ctx, pgconn.DefaultRetry, func(ctx context.Context) error {
		var err error
		r, err = s.start(ctx, &req, sql, args)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("sync %s: query %s: %w", req.Sync, s.name, err)
	}
	return r, nil
}

func (s *postgresSource) start(ctx context.Context, req *Request, sql string, args []any, before ...string) (*pgReader, error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
	if err != nil {
		conn.Release()
		return nil, err
	}
	for _, b := range before {
		if _, err := tx.Exec(ctx, b); err != nil {
			pgconn.Rollback(tx)
			conn.Release()
			return nil, err
		}
	}
	qargs := append([]any{pgx.QueryResultFormats{pgx.BinaryFormatCode}}, args...)
	rows, err := tx.Query(ctx, sql, qargs...)
	if err != nil {
		pgconn.Rollback(tx)
		conn.Release()
		return nil, err
	}
	r, err := newPGReader(ctx, req, conn, tx, rows)
	if err != nil {
		rows.Close()
		pgconn.Rollback(tx)
		conn.Release()
		return nil, err
	}
	return r, nil
}
