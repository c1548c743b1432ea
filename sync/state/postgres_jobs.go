package state

import (
	"context"
	"fmt"
	stdsync "sync"

	"github.com/hoist-dev/hoist/internal/pgconn"
)

var _ JobStore = (*pgStore)(nil)

// jobTables remembers the stores whose jobs table exists: it is made on
// first use, beside the schema the store's open creates.
var jobTables stdsync.Map // *pgStore → struct{}

func (s *pgStore) jobsTable(ctx context.Context) error {
	if _, ok := jobTables.Load(s); ok {
		return nil
	}
	err := pgconn.Retry(ctx, pgconn.DefaultRetry, func(ctx context.Context) error {
		_, err := s.pool.Exec(ctx, "CREATE TABLE IF NOT EXISTS "+s.q+`jobs (sync text NOT NULL, id text NOT NULL, data bytea NOT NULL,
			PRIMARY KEY (sync, id))`)
		return err
	})
	if err != nil {
		return fmt.Errorf("jobs table in %s: %w", s.url, err)
	}
	jobTables.Store(s, struct{}{})
	return nil
}

// PutJob implements JobStore.
func (s *pgStore) PutJob(ctx context.Context, sync, id string, data []byte) error {
	if err := s.jobsTable(ctx); err != nil {
		return err
	}
	return pgconn.Retry(ctx, pgconn.DefaultRetry, func(ctx context.Context) error {
		_, err := s.pool.Exec(ctx, "INSERT INTO "+s.q+`jobs (sync, id, data) VALUES ($1, $2, $3)
			ON CONFLICT (sync, id) DO UPDATE SET data = EXCLUDED.data`, sync, id, data)
		return err
	})
}

// Jobs implements JobStore.
func (s *pgStore) Jobs(ctx context.Context, sync string) (map[string][]byte, error) {
	if err := s.jobsTable(ctx); err != nil {
		return nil, err
	}
	out := map[string][]byte{}
	err := pgconn.Retry(ctx, pgconn.DefaultRetry, func(ctx context.Context) error {
		clear(out)
		rows, err := s.pool.Query(ctx, "SELECT id, data FROM "+s.q+"jobs WHERE sync = $1", sync)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			var data []byte
			if err := rows.Scan(&id, &data); err != nil {
				return err
			}
			out[id] = data
		}
		return rows.Err()
	})
	return out, err
}

// DeleteJobs implements JobStore.
func (s *pgStore) DeleteJobs(ctx context.Context, sync string, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	if err := s.jobsTable(ctx); err != nil {
		return err
	}
	return pgconn.Retry(ctx, pgconn.DefaultRetry, func(ctx context.Context) error {
		_, err := s.pool.Exec(ctx, "DELETE FROM "+s.q+"jobs WHERE sync = $1 AND id = ANY($2)", sync, ids)
		return err
	})
}
