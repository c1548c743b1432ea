package load

import (
	"context"
	"fmt"
)

var _ FirstLoader = (*pgWriter)(nil)

// FirstLoad implements FirstLoader: an empty table with a unique index on
// the key takes the first load by COPY straight into the table. The index
// turns a duplicate key in the source into a rejected row, as the staged
// upsert would have refused it.
func (w *pgWriter) FirstLoad(ctx context.Context) (bool, error) {
	if len(w.key) == 0 {
		return false, nil
	}
	var rows bool
	if err := w.pool.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM "+w.ident+")").Scan(&rows); err != nil {
		return false, fmt.Errorf("is %s empty: %w", w.table, err)
	}
	if rows {
		return false, nil
	}
	unique, err := hasUniqueKey(ctx, w.pool, w.table, w.key)
	if err != nil {
		return false, fmt.Errorf("unique key of %s: %w", w.table, err)
	}
	return unique, nil
}
