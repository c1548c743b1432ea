package load

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/hoist-dev/hoist/connector"
	"github.com/hoist-dev/hoist/internal/httpkit"
	"github.com/hoist-dev/hoist/internal/sqlitedb"
	"github.com/hoist-dev/hoist/sync/spec"
)

// Checker tests that a destination connection is usable without changing
// anything (validate --connect). A notice is something the user should know
// that is not an error, such as a file run will create.
type Checker func(ctx context.Context, conn *spec.Connection, dir string) (notice string, err error)

var checkers = map[string]Checker{
	sqlitedb.Type: checkSQLite,
	httpkit.Type:  checkHTTP,
}

// SyncChecker tests, without changing anything, that one sync's destination
// block fits the destination (an API's object and fields exist): validate
// --connect, for types that can describe themselves.
type SyncChecker func(ctx context.Context, conn *spec.Connection, dir string, s *spec.Sync) error

var syncCheckers = map[string]SyncChecker{}

// CheckSync tests s's destination block against its connection, where the
// connection's type can tell (nil otherwise).
func CheckSync(ctx context.Context, conn *spec.Connection, dir string, s *spec.Sync) error {
	c, ok := syncCheckers[conn.Type]
	if !ok {
		return nil
	}
	return c(ctx, conn, dir, s)
}

// Check tests the destination for conn: with its type's Checker when it has
// one, else by opening and closing it (which must then have no side effect).
func Check(ctx context.Context, conn *spec.Connection, dir string) (string, error) {
	c, ok := checkers[conn.Type]
	if !ok {
		d, err := Open(ctx, conn, dir)
		if err != nil {
			return "", err
		}
		return "", d.Close()
	}
	notice, err := c(ctx, conn, dir)
	if err != nil {
		return "", fmt.Errorf("destination %s: %w", conn.Name, err)
	}
	return notice, nil
}

// checkSQLite opens an existing database read-only; opening it for writing,
// as run does, would create the file, and validate writes nothing.
func checkSQLite(ctx context.Context, conn *spec.Connection, dir string) (string, error) {
	cfg, err := connector.As[*sqlitedb.Config](conn.Config)
	if err != nil {
		return "", err
	}
	path := sqlitedb.Resolve(cfg.Path, dir)
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return fmt.Sprintf("sqlite database %s does not exist yet; run will create it", path), nil
	}
	db, err := sqlitedb.OpenRead(ctx, path)
	if err != nil {
		return "", err
	}
	return "", db.Close()
}

func checkHTTP(ctx context.Context, conn *spec.Connection, _ string) (string, error) {
	cfg, err := connector.As[*httpkit.Config](conn.Config)
	if err != nil {
		return "", err
	}
	c, err := httpkit.NewClient(conn.Name, cfg)
	if err != nil {
		return "", err
	}
	defer c.Close()
	return "", c.Probe(ctx)
}
