// Package sqlitedb holds what hoist's SQLite source and destination share:
// opening a database file with the right pragmas, quoting identifiers, the
// text formats dates and timestamps are stored in, and the mapping between
// SQLite declared types and Arrow types.
//
// It uses modernc.org/sqlite, a pure Go SQLite, so the hoist binary still
// cross-compiles with CGO_ENABLED=0.
package sqlitedb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	sqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// DriverName is the database/sql driver modernc.org/sqlite registers.
const DriverName = "sqlite"

// BusyTimeoutMS is how long a statement waits for another writer's lock
// before failing with SQLITE_BUSY.
const BusyTimeoutMS = 10000

// Resolve returns path made absolute against dir (the spec's folder) unless
// it is absolute already.
func Resolve(path, dir string) string {
	if filepath.IsAbs(path) || dir == "" {
		return filepath.Clean(path)
	}
	return filepath.Join(dir, path)
}

// OpenRead opens an existing database for reading. It refuses a missing file
// rather than letting SQLite create an empty one, which would turn a typo in
// path into a puzzling "no such table".
func OpenRead(ctx context.Context, path string) (*sql.DB, error) {
	if _, err := os.Stat(path); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("sqlite database %s does not exist", path)
		}
		return nil, fmt.Errorf("sqlite database %s: %w", path, err)
	}
	// query_only guards against a query that writes; journal_mode is left
	// alone because changing it is itself a write.
	return open(ctx, path, fmt.Sprintf("_pragma=busy_timeout(%d)&_pragma=query_only(1)", BusyTimeoutMS))
}

// OpenWrite opens a database for writing, creating the file and its folder
// when missing. WAL lets readers keep seeing committed content while a
// replace transaction is open; synchronous=NORMAL is durable across process
// crashes in WAL mode and much faster than FULL; txlock=immediate takes the
// write lock at BEGIN so two writers queue on busy_timeout instead of
// failing on a lock upgrade.
func OpenWrite(ctx context.Context, path string) (*sql.DB, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("create folder for sqlite database %s: %w", path, err)
	}
	return open(ctx, path, fmt.Sprintf("_pragma=busy_timeout(%d)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=temp_store(MEMORY)&_pragma=cache_size(-8192)&_txlock=immediate", BusyTimeoutMS))
}

func open(ctx context.Context, path, params string) (*sql.DB, error) {
	// The driver cuts a plain file name at its first '?', so a path holding
	// one would silently open another file.
	if strings.Contains(path, "?") {
		return nil, fmt.Errorf("sqlite path %s must not contain '?'", path)
	}
	db, err := sql.Open(DriverName, path+"?"+params)
	if err != nil {
		return nil, fmt.Errorf("open sqlite database %s: %w", path, err)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open sqlite database %s: %w", path, err)
	}
	return db, nil
}

// IsRowError reports whether err is SQLite rejecting the values of one row
// (NOT NULL, CHECK, UNIQUE, FOREIGN KEY, a STRICT column's type, a value too
// big) rather than the database failing: the statement was rolled back on its
// own and the transaction is still usable.
func IsRowError(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	switch se.Code() & 0xff {
	case sqlite3.SQLITE_CONSTRAINT, sqlite3.SQLITE_MISMATCH, sqlite3.SQLITE_TOOBIG:
		return true
	}
	return false
}
