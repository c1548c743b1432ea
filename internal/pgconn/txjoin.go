package pgconn

import (
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/hoist-dev/hoist/internal/txjoin"
)

// JoinTarget names the database cfg reaches (host, port, database), so that
// a destination and a state store can tell whether they may share a
// transaction (txjoin).
func JoinTarget(cfg *pgx.ConnConfig) txjoin.Target {
	return txjoin.NewTarget("postgres", cfg.Host, cfg.Port, cfg.Database)
}

// JoinTx hands tx, opened in target, to another party.
func JoinTx(target txjoin.Target, tx pgx.Tx) txjoin.Tx { return txjoin.NewTx(target, tx) }

// JoinedTx unwraps a transaction another party opened, once it is sure the
// transaction runs in want's database.
func JoinedTx(tx txjoin.Tx, want txjoin.Target) (pgx.Tx, error) {
	if !tx.Target().Equal(want) {
		return nil, fmt.Errorf("the transaction to join runs in another database")
	}
	ptx, ok := tx.Raw().(pgx.Tx)
	if !ok || ptx == nil {
		return nil, fmt.Errorf("the transaction to join is not a postgres transaction (%T)", tx.Raw())
	}
	return ptx, nil
}
