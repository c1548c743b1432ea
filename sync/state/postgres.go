package state

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hoist-dev/hoist/internal/cursor"
	"github.com/hoist-dev/hoist/internal/pgconn"
	"github.com/hoist-dev/hoist/internal/txjoin"
)

func init() { Register("postgres", openPostgres) }

// DefaultPostgresSchema holds hoist's state tables unless the state URL says
// otherwise with ?hoist_schema=NAME.
const DefaultPostgresSchema = "hoist"

// pgStore keeps state in a schema of its own, so many runners on many hosts
// share cursors, snapshots and history, and exclude each other per sync with
// session advisory locks.
type pgStore struct {
	pool   *pgxpool.Pool
	cfg    *pgxpool.Config
	schema string // as given
	q      string // quoted schema, with a trailing dot
	url    string // redacted, for messages
	locks  heldLocks
}

var _ Store = (*pgStore)(nil)

func openPostgres(ctx context.Context, rawURL, _ string) (Store, error) {
	clean, schema, err := pgconn.StripParam(rawURL, "hoist_schema")
	if err != nil {
		return nil, err
	}
	if schema == "" {
		schema = DefaultPostgresSchema
	}
	return OpenPostgres(ctx, clean, schema)
}

// OpenPostgres opens (and creates, if needed) the state schema at url.
func OpenPostgres(ctx context.Context, url, schema string) (Store, error) {
	cfg, err := pgconn.PoolConfig(url, pgconn.Options{AppName: "hoist state", MaxConns: 4})
	if err != nil {
		return nil, err
	}
	pool, err := pgconn.Connect(ctx, url, pgconn.Options{AppName: "hoist state", MaxConns: 4})
	if err != nil {
		return nil, err
	}
	s := &pgStore{pool: pool, cfg: cfg, schema: schema, q: pgx.Identifier{schema}.Sanitize() + ".", url: pgconn.Redact(url)}
	if err := pgconn.Retry(ctx, pgconn.DefaultRetry, s.migrate); err != nil {
		pool.Close()
		return nil, fmt.Errorf("create state schema %s: %w", schema, err)
	}
	return s, nil
}

// ddlLockKey serialises schema creation: CREATE … IF NOT EXISTS alone still
// races (two creators can both pass the check and one fails on the catalog's
// unique index).
const ddlLockKey = 0x686f697374646c // "hoistdl"

func (s *pgStore) migrate(ctx context.Context) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", int64(ddlLockKey)); err != nil {
			return err
		}
		for _, ddl := range []string{
			"CREATE SCHEMA IF NOT EXISTS " + pgx.Identifier{s.schema}.Sanitize(),
			"CREATE TABLE IF NOT EXISTS " + s.q + `cursors (sync text PRIMARY KEY, kind text NOT NULL,
				value text NOT NULL, updated_at timestamptz NOT NULL DEFAULT now())`,
			// bytea sorts by memcmp then length: exactly bytes.Compare,
			// the order the diff merges snapshots in.
			"CREATE TABLE IF NOT EXISTS " + s.q + `snapshot (sync text NOT NULL, key bytea NOT NULL,
				row bytea NOT NULL, PRIMARY KEY (sync, key))`,
			"CREATE TABLE IF NOT EXISTS " + s.q + `runs (id bigserial PRIMARY KEY, sync text NOT NULL,
				started_at timestamptz NOT NULL, run jsonb NOT NULL)`,
			"CREATE INDEX IF NOT EXISTS runs_sync_id ON " + s.q + "runs (sync, id)",
			"CREATE TABLE IF NOT EXISTS " + s.q + `locks (sync text PRIMARY KEY, host text NOT NULL,
				pid integer NOT NULL, backend_pid integer NOT NULL, started_at timestamptz NOT NULL)`,
			"CREATE TABLE IF NOT EXISTS " + s.q + `identities (sync text PRIMARY KEY, identity jsonb NOT NULL)`,
			// Fencing tokens (see checkLockHeld).
			"CREATE SEQUENCE IF NOT EXISTS " + s.q + "lock_tokens",
			// Daily request counts (Ledger).
			"CREATE TABLE IF NOT EXISTS " + s.q + `budgets (name text PRIMARY KEY, day text NOT NULL, used bigint NOT NULL)`,
		} {
			if _, err := tx.Exec(ctx, ddl); err != nil {
				return err
			}
		}
		return s.addColumns(ctx, tx)
	})
}

// addColumns adds the columns a store made by an earlier hoist lacks. Each
// is looked up first: ALTER TABLE takes an exclusive lock even when IF NOT
// EXISTS makes it a no-op, and would wait for every commit in flight.
func (s *pgStore) addColumns(ctx context.Context, tx pgx.Tx) error {
	for _, c := range []struct{ table, column, def string }{
		{"locks", "token", "bigint NOT NULL DEFAULT 0"},
		// the destination's record ID of a row (Entry.ID); NULL: unknown
		{"snapshot", "rid", "bytea"},
	} {
		var found bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM information_schema.columns
			WHERE table_schema = $1 AND table_name = $2 AND column_name = $3)`, s.schema, c.table, c.column).Scan(&found); err != nil {
			return err
		}
		if found {
			continue
		}
		if _, err := tx.Exec(ctx, "ALTER TABLE "+s.q+c.table+" ADD COLUMN IF NOT EXISTS "+c.column+" "+c.def); err != nil {
			return err
		}
	}
	return nil
}

func (s *pgStore) Close() error {
	s.pool.Close()
	return nil
}

func (s *pgStore) Get(ctx context.Context, sync string) (*SyncState, error) {
	st := &SyncState{Sync: sync}
	err := pgconn.Retry(ctx, pgconn.DefaultRetry, func(ctx context.Context) error {
		st.Cursor, st.LastRun, st.Identity = nil, nil, nil
		var kind, value *string
		var run, identity []byte
		err := s.pool.QueryRow(ctx, `SELECT c.kind, c.value,
				(SELECT count(*) FROM `+s.q+`snapshot WHERE sync = $1),
				(SELECT run FROM `+s.q+`runs WHERE sync = $1 ORDER BY id DESC LIMIT 1),
				(SELECT identity FROM `+s.q+`identities WHERE sync = $1)
			FROM (SELECT 1) one LEFT JOIN `+s.q+`cursors c ON c.sync = $1`, sync).Scan(&kind, &value, &st.SnapshotRows, &run, &identity)
		if err != nil {
			return err
		}
		if kind != nil {
			st.Cursor = &cursor.Cursor{Kind: *kind, Value: *value}
		}
		if identity != nil {
			st.Identity = new(Identity)
			if err := json.Unmarshal(identity, st.Identity); err != nil {
				return fmt.Errorf("identity: %w", err)
			}
		}
		if run != nil {
			st.LastRun = new(Run)
			return json.Unmarshal(run, st.LastRun)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read state of sync %s from %s: %w", sync, s.url, err)
	}
	return st, nil
}

func (s *pgStore) History(ctx context.Context, sync string, n int) ([]Run, error) {
	var out []Run
	err := pgconn.Retry(ctx, pgconn.DefaultRetry, func(ctx context.Context) error {
		rows, err := s.pool.Query(ctx, "SELECT run FROM "+s.q+"runs WHERE sync = $1 ORDER BY id DESC LIMIT $2", sync, n)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Run, error) {
			var raw []byte
			var run Run
			if err := r.Scan(&raw); err != nil {
				return run, err
			}
			return run, json.Unmarshal(raw, &run)
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("read history of sync %s from %s: %w", sync, s.url, err)
	}
	return out, nil
}

func (s *pgStore) Reset(ctx context.Context, sync string) error {
	err := pgconn.Retry(ctx, pgconn.DefaultRetry, func(ctx context.Context) error {
		return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			// fenced like a commit: a runner that lost its lock must not
			// forget the state of the runner that holds it now
			if err := s.checkLockHeld(ctx, tx, sync); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, "DELETE FROM "+s.q+"snapshot WHERE sync = $1", sync); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, "DELETE FROM "+s.q+"identities WHERE sync = $1", sync); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, "DELETE FROM "+s.q+"cursors WHERE sync = $1", sync)
			return err
		})
	})
	if err != nil {
		return fmt.Errorf("reset state of sync %s in %s: %w", sync, s.url, err)
	}
	return nil
}

// Snapshot streams the sync's entries in key order straight off the
// primary key index; one statement sees one consistent snapshot, and it
// takes only the ACCESS SHARE lock a commit's row writes do not conflict with.
func (s *pgStore) Snapshot(ctx context.Context, sync string) (Iterator, error) {
	var rows pgx.Rows
	err := pgconn.Retry(ctx, pgconn.DefaultRetry, func(ctx context.Context) error {
		var err error
		rows, err = s.pool.Query(ctx, "SELECT key, row, rid FROM "+s.q+"snapshot WHERE sync = $1 ORDER BY key",
			pgx.QueryResultFormats{pgx.BinaryFormatCode}, sync)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("read snapshot of sync %s from %s: %w", sync, s.url, err)
	}
	return &pgIter{rows: rows, sync: sync}, nil
}

// pgIter hands out the driver's buffers: valid until the next Next, as
// Iterator documents.
type pgIter struct {
	rows pgx.Rows
	sync string
	e    Entry
	err  error
}

func (it *pgIter) Next() bool {
	if !it.rows.Next() {
		return false
	}
	v := it.rows.RawValues()
	it.e = Entry{Key: v[0], Row: v[1], ID: v[2]}
	return true
}

func (it *pgIter) Entry() Entry { return it.e }

func (it *pgIter) Err() error {
	if err := it.rows.Err(); err != nil {
		return fmt.Errorf("read snapshot of sync %s: %w", it.sync, err)
	}
	return nil
}

func (it *pgIter) Close() error {
	it.rows.Close()
	return it.Err()
}

// Commit moves snapshot, cursor and history in one transaction. The delta
// streams through COPY into a temporary table, then two statements apply it,
// so memory stays flat however many keys changed. It is not retried: the
// delta iterator can be read only once (the run fails and its rows are sent
// again next time, which every keyed mode tolerates).
func (s *pgStore) Commit(ctx context.Context, sync string, c *Commit) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error { return s.commitIn(ctx, tx, sync, c) })
	if err != nil {
		return fmt.Errorf("sync %s in %s: %w", sync, s.url, err) // the caller says "commit state"
	}
	return nil
}

var _ TxJoiner = (*pgStore)(nil)

// Joins implements TxJoiner: a destination in the store's own database
// (same host, port and database name).
func (s *pgStore) Joins(target txjoin.Target) bool {
	return target.Equal(pgconn.JoinTarget(s.cfg.ConnConfig))
}

// CommitTx implements TxJoiner.
func (s *pgStore) CommitTx(ctx context.Context, tx txjoin.Tx, sync string, c *Commit) error {
	ptx, err := pgconn.JoinedTx(tx, pgconn.JoinTarget(s.cfg.ConnConfig))
	if err == nil {
		err = s.commitIn(ctx, ptx, sync, c)
	}
	if err != nil {
		return fmt.Errorf("sync %s in %s: %w", sync, s.url, err) // the caller says "commit state"
	}
	return nil
}

// commitIn applies delta, cursor and run record inside tx, if this run
// still holds the sync's lock.
func (s *pgStore) commitIn(ctx context.Context, tx pgx.Tx, sync string, c *Commit) error {
	if err := s.checkLockHeld(ctx, tx, sync); err != nil {
		return err
	}
	if c.Delta != nil {
		if err := s.applyDelta(ctx, tx, sync, c.Delta); err != nil {
			return err
		}
	}
	if c.Cursor != nil {
		if _, err := tx.Exec(ctx, "INSERT INTO "+s.q+`cursors (sync, kind, value) VALUES ($1, $2, $3)
			ON CONFLICT (sync) DO UPDATE SET kind = EXCLUDED.kind, value = EXCLUDED.value, updated_at = now()`,
			sync, c.Cursor.Kind, c.Cursor.Value); err != nil {
			return fmt.Errorf("save cursor: %w", err)
		}
	}
	if c.Identity != nil {
		id, err := json.Marshal(c.Identity)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "INSERT INTO "+s.q+`identities (sync, identity) VALUES ($1, $2)
			ON CONFLICT (sync) DO UPDATE SET identity = EXCLUDED.identity`, sync, id); err != nil {
			return fmt.Errorf("save identity: %w", err)
		}
	}
	run, err := json.Marshal(c.Run)
	if err != nil {
		return err
	}
	started := c.Run.StartedAt
	if started.IsZero() {
		started = time.Now()
	}
	if _, err := tx.Exec(ctx, "INSERT INTO "+s.q+"runs (sync, started_at, run) VALUES ($1, $2, $3)", sync, started, run); err != nil {
		return fmt.Errorf("save run: %w", err)
	}
	return nil
}

func (s *pgStore) applyDelta(ctx context.Context, tx pgx.Tx, sync string, delta Iterator) error {
	defer delta.Close()
	if _, err := tx.Exec(ctx, "CREATE TEMP TABLE hoist_delta (seq bigint, key bytea, row bytea, rid bytea) ON COMMIT DROP"); err != nil {
		return err
	}
	var seq int64
	src := pgx.CopyFromFunc(func() ([]any, error) {
		if !delta.Next() {
			return nil, delta.Err()
		}
		e := delta.Entry()
		seq++
		var row, rid any // a nil Row is a removal: NULL, not an empty bytea
		if e.Row != nil {
			row = e.Row
			if len(e.ID) > 0 {
				rid = e.ID
			}
		}
		return []any{seq, e.Key, row, rid}, nil
	})
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"hoist_delta"}, []string{"seq", "key", "row", "rid"}, src); err != nil {
		return fmt.Errorf("copy snapshot delta: %w", err)
	}
	// A key given twice keeps its last entry.
	last := "(SELECT DISTINCT ON (key) key, row, rid FROM hoist_delta ORDER BY key, seq DESC) d"
	if _, err := tx.Exec(ctx, "DELETE FROM "+s.q+"snapshot s USING "+last+
		" WHERE s.sync = $1 AND s.key = d.key AND d.row IS NULL", sync); err != nil {
		return fmt.Errorf("apply snapshot removals: %w", err)
	}
	if _, err := tx.Exec(ctx, "INSERT INTO "+s.q+"snapshot (sync, key, row, rid) SELECT $1, key, row, rid FROM "+last+
		" WHERE row IS NOT NULL ON CONFLICT (sync, key) DO UPDATE SET row = EXCLUDED.row, rid = EXCLUDED.rid", sync); err != nil {
		return fmt.Errorf("apply snapshot changes: %w", err)
	}
	return nil
}

// lockKey maps a sync to its advisory lock key; the schema is part of it so
// two state schemas on one server do not exclude each other.
func (s *pgStore) lockKey(sync string) int64 {
	h := fnv.New64a()
	h.Write([]byte("hoist\x00" + s.schema + "\x00" + sync))
	return int64(h.Sum64())
}

var errNotAcquired = errors.New("advisory lock not acquired")
