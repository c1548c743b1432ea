package extract

import (
	"context"
	"fmt"
	"slices"

	"github.com/apache/arrow-go/v18/arrow/array"

	jpg "github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/hoist-dev/hoist/internal/pgconn"
)

// pgShardTypes are the key column types whose ::text is what
// shard.AppendKeyText writes for the Arrow value the reader makes of them
// (integers in decimal, strings as they are). char(n) is left out: its text
// drops the padding the value keeps.
var pgShardTypes = []uint32{pgtype.Int2OID, pgtype.Int4OID, pgtype.Int8OID, pgtype.TextOID, pgtype.VarcharOID}

// canPushShard describes the source query (no rows are read) and reports
// whether every key column is one of pgShardTypes, so that the shard's
// predicate can go into the query.
func (s *postgresSource) canPushShard(ctx context.Context, req *Request) (bool, error) {
	base, _, err := postgresSQL(&Request{Sync: req.Sync, Source: req.Source})
	if err != nil {
		return false, err
	}
	var ok bool
	err = pgconn.Retry(ctx, pgconn.DefaultRetry, func(ctx context.Context) error {
		conn, err := s.pool.Acquire(ctx)
		if err != nil {
			return err
		}
		defer conn.Release()
		sd, err := conn.Conn().PgConn().Prepare(ctx, "", base, nil)
		if err != nil {
			return err
		}
		ok = true
		for _, c := range req.Shard.Columns {
			i := slices.IndexFunc(sd.Fields, func(f jpg.FieldDescription) bool { return f.Name == c })
			if i < 0 || !slices.Contains(pgShardTypes, sd.Fields[i].DataTypeOID) {
				ok = false
			}
		}
		return nil
	})
	if ok {
		req.Log().Debug("shard filter pushed into the query", "shard", req.Shard.Spec.String())
	} else if err == nil {
		req.Log().Info("the key's column types have no matching text in SQL: rows are read whole and kept by shard after reading", "shard", req.Shard.Spec.String())
	}
	return ok, err
}

var _ SQLReader = (*postgresSource)(nil)

// ReadSQL implements SQLReader: sql runs in a read-only transaction, its
// rows streamed in binary format like a sync's query.
func (s *postgresSource) ReadSQL(ctx context.Context, req Request, q SQLQuery) (array.RecordReader, error) {
	var r *pgReader
	err := pgconn.Retry(ctx, pgconn.DefaultRetry, func(ctx context.Context) error {
		var err error
		r, err = s.start(ctx, &req, q.SQL, q.Args, q.Before...)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("sync %s: query %s: %w", req.Sync, s.name, err)
	}
	return r, nil
}
