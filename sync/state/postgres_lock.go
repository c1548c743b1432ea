package state

import (
	"context"
	"errors"
	"fmt"
	"os"
	stdsync "sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hoist-dev/hoist/internal/pgconn"
)

// pgLockPoll is how often a waiting runner tries the advisory lock again.
const pgLockPoll = 100 * time.Millisecond

// pgLock is a session-level advisory lock held on a connection of its own
// (not a pooled one, which someone else could borrow and unlock). If the
// runner dies, its session ends and the server drops the lock: no stale
// locks, and the locks row it leaves is overwritten by the next holder.
type pgLock struct {
	once    stdsync.Once
	store   *pgStore
	conn    *pgx.Conn
	key     int64
	sync    string
	backend int32 // the server pid of conn's session, which holds the lock
	// token fences this holding of the lock: taken from a sequence when
	// the lock is acquired and checked by every commit (see fence).
	token int64
	err   error
}

// ErrLockLost fails a commit whose run no longer holds its sync's lock: the
// lock's connection ended (a server restart, a dropped network, an admin's
// pg_terminate_backend) and with it the session lock, so another runner
// may be working on the sync. Committing then could move the cursor or the
// snapshot under that runner; the rows already sent are sent again by the
// next run, which every keyed mode tolerates. The file store's writes fail
// with an error matching it when the run's lock file was removed or
// replaced (see file_fence.go).
var ErrLockLost = errors.New("this run lost its lock on the sync (its state store connection ended); it commits no state")

// heldLocks remembers, per sync, the lock this store holds, so a commit can
// check that it still holds it.
type heldLocks struct {
	mu stdsync.Mutex
	by map[string]held
}

// held is one holding of a sync's lock: the backend whose session holds the
// advisory lock, and the fencing token recorded in the locks table.
type held struct {
	backend int32
	token   int64
}

func (h *heldLocks) set(sync string, l held) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.by == nil {
		h.by = map[string]held{}
	}
	h.by[sync] = l
}

func (h *heldLocks) clear(sync string, l held) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.by[sync] == l {
		delete(h.by, sync)
	}
}

func (h *heldLocks) get(sync string) (held, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	l, ok := h.by[sync]
	return l, ok
}

// checkLockHeld fails with ErrLockLost, inside the commit's transaction, if
// this store locked sync and no longer holds that lock. A store that did not
// lock sync (a test, state reset) skips the check.
//
// Two checks: the fence, then the session. The fence is a compare-and-swap
// on the locks row's token, which every new holder replaces with a fresh one
// from a sequence when it takes the lock. Updating the row holds its row
// lock until this transaction ends, so a runner that takes the advisory lock
// meanwhile (the lock's connection died mid-commit) blocks on recording its
// token until this commit is over: a commit can land only while no other
// runner has started, however long it takes. The session check then catches
// a lock lost with nobody else holding it yet.
func (s *pgStore) checkLockHeld(ctx context.Context, tx pgx.Tx, sync string) error {
	l, ok := s.locks.get(sync)
	if !ok {
		return nil
	}
	tag, err := tx.Exec(ctx, "UPDATE "+s.q+"locks SET token = token WHERE sync = $1 AND token = $2", sync, l.token)
	if err != nil {
		return fmt.Errorf("check the run lock: %w", err)
	}
	if tag.RowsAffected() != 1 {
		return ErrLockLost
	}
	key := s.lockKey(sync)
	var alive bool
	err = tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_locks
		WHERE locktype = 'advisory' AND granted AND pid = $4
			AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
			AND classid::bigint = $1 AND objid::bigint = $2 AND objsubid = $3)`,
		int64(uint64(key)>>32), int64(uint64(key)&0xffffffff), 1, l.backend).Scan(&alive)
	if err != nil {
		return fmt.Errorf("check the run lock: %w", err)
	}
	if !alive {
		return ErrLockLost
	}
	return nil
}

// Lock implements Store: it tries pg_try_advisory_lock every pgLockPoll
// until wait has passed (0: once), then reports who holds it.
func (s *pgStore) Lock(ctx context.Context, sync string, wait time.Duration) (Lock, error) {
	conn, err := pgconn.ConnectOne(ctx, s.cfg)
	if err != nil {
		return nil, fmt.Errorf("lock sync %s: connect to %s: %w", sync, s.url, err)
	}
	l := &pgLock{store: s, conn: conn, key: s.lockKey(sync), sync: sync}
	deadline := time.Now().Add(wait)
	for {
		err := l.try(ctx)
		if err == nil {
			s.locks.set(sync, held{l.backend, l.token})
			return l, nil
		}
		if !errors.Is(err, errNotAcquired) {
			closeConn(conn)
			return nil, fmt.Errorf("lock sync %s: %w", sync, err)
		}
		if !time.Now().Before(deadline) {
			holder := s.holder(ctx, conn, l.key, sync)
			closeConn(conn)
			return nil, &LockedError{Sync: sync, Holder: holder}
		}
		t := time.NewTimer(min(pgLockPoll, time.Until(deadline)+time.Millisecond))
		select {
		case <-ctx.Done():
			t.Stop()
			closeConn(conn)
			return nil, fmt.Errorf("lock sync %s: %w", sync, ctx.Err())
		case <-t.C:
		}
	}
}

// try takes the lock and records this process as its holder.
func (l *pgLock) try(ctx context.Context) error {
	var ok bool
	if err := l.conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1), pg_backend_pid()", l.key).Scan(&ok, &l.backend); err != nil {
		return err
	}
	if !ok {
		return errNotAcquired
	}
	host, _ := os.Hostname()
	// A new token from the sequence, never one a stale holder could still
	// have; this waits for the row lock of a commit still in flight.
	err := l.conn.QueryRow(ctx, "INSERT INTO "+l.store.q+`locks (sync, host, pid, backend_pid, started_at, token)
		VALUES ($1, $2, $3, pg_backend_pid(), now(), nextval($4::regclass))
		ON CONFLICT (sync) DO UPDATE SET host = EXCLUDED.host, pid = EXCLUDED.pid,
			backend_pid = EXCLUDED.backend_pid, started_at = EXCLUDED.started_at, token = EXCLUDED.token
		RETURNING token`, l.sync, host, os.Getpid(), l.store.q+"lock_tokens").Scan(&l.token)
	if err != nil {
		_, _ = l.conn.Exec(ctx, "SELECT pg_advisory_unlock($1)", l.key)
		return fmt.Errorf("record lock holder: %w", err)
	}
	return nil
}

// holder names the runner holding key: the locks row written by the
// session that actually holds the advisory lock (pg_locks), or, if that
// runner has not written its row yet, the holding backend.
func (s *pgStore) holder(ctx context.Context, conn *pgx.Conn, key int64, sync string) LockHolder {
	var h LockHolder
	var backend int32
	// A bigint advisory key shows in pg_locks as classid (high half),
	// objid (low half), objsubid 1.
	err := conn.QueryRow(ctx, `SELECT l.pid, coalesce(k.host, 'postgres backend ' || l.pid::text),
			coalesce(k.pid, 0), coalesce(k.started_at, a.backend_start)
		FROM pg_locks l
		LEFT JOIN pg_stat_activity a ON a.pid = l.pid
		LEFT JOIN `+s.q+`locks k ON k.sync = $4 AND k.backend_pid = l.pid
		WHERE l.locktype = 'advisory' AND l.granted AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
			AND l.classid::bigint = $1 AND l.objid::bigint = $2 AND l.objsubid = $3
		LIMIT 1`, int64(uint64(key)>>32), int64(uint64(key)&0xffffffff), 1, sync).Scan(&backend, &h.Host, &h.PID, &h.StartedAt)
	if err != nil {
		return LockHolder{}
	}
	if h.PID == 0 {
		h.PID = int(backend) // the server-side pid is the best we know
	}
	return h
}

// Release unlocks and closes the lock's connection (closing alone would
// also free it; unlocking first makes the hand-over immediate).
func (l *pgLock) Release() error {
	l.once.Do(func() {
		l.store.locks.clear(l.sync, held{l.backend, l.token})
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err := l.conn.Exec(ctx, "DELETE FROM "+l.store.q+"locks WHERE sync = $1 AND token = $2", l.sync, l.token)
		if _, uerr := l.conn.Exec(ctx, "SELECT pg_advisory_unlock($1)", l.key); uerr != nil {
			err = errors.Join(err, uerr)
		}
		closeConn(l.conn)
		if err != nil {
			l.err = fmt.Errorf("release lock of sync %s: %w", l.sync, err)
		}
	})
	return l.err
}

func closeConn(c *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = c.Close(ctx)
}
