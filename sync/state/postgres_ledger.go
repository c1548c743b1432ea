package state

import (
	"context"
	"fmt"

	"github.com/hoist-dev/hoist/internal/pgconn"
)

var _ Ledger = (*pgStore)(nil)

// Spend implements Ledger with one statement: the row is locked by the
// upsert, so runners on many hosts count exactly.
func (s *pgStore) Spend(ctx context.Context, name, day string, n int64) (int64, error) {
	var used int64
	err := pgconn.Retry(ctx, pgconn.DefaultRetry, func(ctx context.Context) error {
		return s.pool.QueryRow(ctx, "INSERT INTO "+s.q+`budgets AS b (name, day, used) VALUES ($1, $2, GREATEST($3::bigint, 0))
			ON CONFLICT (name) DO UPDATE SET day = EXCLUDED.day,
				used = CASE WHEN b.day = EXCLUDED.day THEN GREATEST(b.used + $3::bigint, 0) ELSE GREATEST($3::bigint, 0) END
			RETURNING used`, name, day, n).Scan(&used)
	})
	if err != nil {
		return 0, fmt.Errorf("request count %s in %s: %w", name, s.url, err)
	}
	return used, nil
}
