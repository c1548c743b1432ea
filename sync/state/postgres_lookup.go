package state

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hoist-dev/hoist/internal/pgconn"
)

var _ LookupStore = (*pgStore)(nil)

// Lookup implements LookupStore. An incremental run extracts only the rows
// past its cursor, so it reads just those keys of the snapshot (an index
// probe per key) instead of streaming the whole table through the diff. All
// of a Lookup's Gets run in one REPEATABLE READ, READ ONLY transaction on
// one pooled connection, so together they see one consistent view of the
// snapshot, as one Snapshot statement does; the transaction takes only
// ACCESS SHARE locks, which a concurrent Commit's row writes do not wait on.
// The view is pinned when Lookup returns, not at the first Get. The
// connection stays out of the pool until Close.
func (s *pgStore) Lookup(ctx context.Context, sync string) (Lookup, error) {
	var (
		conn *pgxpool.Conn
		tx   pgx.Tx
	)
	err := pgconn.Retry(ctx, pgconn.DefaultRetry, func(ctx context.Context) error {
		var err error
		if conn, err = s.pool.Acquire(ctx); err != nil {
			return err
		}
		tx, err = conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
		if err == nil {
			// A REPEATABLE READ transaction takes its snapshot at its
			// first statement, not at BEGIN: take it now, so that a
			// commit between Lookup and the first Get stays unseen.
			if _, err = tx.Exec(ctx, "SELECT 1"); err != nil {
				pgconn.Rollback(tx)
			}
		}
		if err != nil {
			conn.Release()
			conn, tx = nil, nil
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("look up snapshot of sync %s in %s: %w", sync, s.url, err)
	}
	return &pgLookup{
		conn: conn,
		tx:   tx,
		sync: sync,
		sql:  "SELECT key, row, rid FROM " + s.q + "snapshot WHERE sync = $1 AND key = ANY($2) ORDER BY key",
	}, nil
}

// pgLookup is one open view of a sync's snapshot. It is not safe for
// concurrent use, as its connection is not.
type pgLookup struct {
	conn *pgxpool.Conn // nil once closed
	tx   pgx.Tx
	sync string
	sql  string
}

var errLookupClosed = errors.New("lookup closed")

// Get implements Lookup with one round trip: the keys go as one bytea[]
// parameter, and the entries come back in binary, handed to fn in the
// driver's own buffers (valid until fn returns, as Lookup documents). The
// statement is not retried: a new connection could not rejoin the view.
func (l *pgLookup) Get(ctx context.Context, keys [][]byte, fn func(Entry) error) error {
	if l.conn == nil {
		return fmt.Errorf("look up snapshot of sync %s: %w", l.sync, errLookupClosed)
	}
	if len(keys) == 0 {
		return nil
	}
	rows, err := l.tx.Query(ctx, l.sql, pgx.QueryResultFormats{pgx.BinaryFormatCode}, l.sync, nonNilKeys(keys))
	if err != nil {
		return fmt.Errorf("look up snapshot of sync %s: %w", l.sync, err)
	}
	defer rows.Close()
	for rows.Next() {
		v := rows.RawValues()
		if err := fn(Entry{Key: v[0], Row: v[1], ID: v[2]}); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("look up snapshot of sync %s: %w", l.sync, err)
	}
	return nil
}

// nonNilKeys returns keys with any nil key made empty: pgx sends a nil
// []byte as NULL, which matches nothing, while a nil key is the empty key
// (bytes.Compare holds them equal). keys is copied only if it has one.
func nonNilKeys(keys [][]byte) [][]byte {
	for i, k := range keys {
		if k == nil {
			out := make([][]byte, len(keys))
			copy(out, keys)
			for j := i; j < len(out); j++ {
				if out[j] == nil {
					out[j] = []byte{}
				}
			}
			return out
		}
	}
	return keys
}

// Close implements Lookup: it ends the transaction (on a context of its
// own, so a cancelled run still ends it) and gives the connection back;
// one the rollback left unusable the pool discards. Later calls do nothing.
func (l *pgLookup) Close() error {
	if l.conn == nil {
		return nil
	}
	pgconn.Rollback(l.tx)
	l.conn.Release()
	l.conn, l.tx = nil, nil
	return nil
}
