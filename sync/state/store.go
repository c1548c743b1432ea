// Package state keeps what each sync has delivered: its cursor, its snapshot
// (every delivered key with its mapped row) and its run history.
//
// Stores are opened by URL: file://DIR (the default, .hoist/ beside the spec)
// or postgres://… (shared by many runners). Every store gives the same
// guarantees: one runner per sync at a time (Lock), and Commit moves cursor,
// snapshot and history together or not at all.
package state

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hoist-dev/hoist/connector"
	"github.com/hoist-dev/hoist/internal/cursor"
	"github.com/hoist-dev/hoist/internal/txjoin"
)

// Entry is one snapshot row: an encoded key and its encoded mapped row. Both
// are opaque to stores; snapshots are ordered by bytes.Compare on Key.
type Entry struct {
	Key []byte
	// Row is nil in a delta entry that removes Key.
	Row []byte
	// ID is the record ID the destination gave the row (a CRM's record
	// id), kept beside the key so that later runs can address the record
	// by it; nil when unknown (a destination that assigns none, or state
	// written before IDs were kept). A delta entry sets the key's ID with
	// its row: the committer carries an unchanged ID forward itself.
	ID []byte
}

// Iterator walks entries in ascending key order.
type Iterator interface {
	Next() bool
	// Entry is valid until the next call to Next; copy what you keep.
	Entry() Entry
	Err() error
	Close() error
}

// Run is one run's record in the history.
type Run struct {
	Status       string         `json:"status"`
	Mode         string         `json:"mode"`
	StartedAt    time.Time      `json:"started_at"`
	DurationMS   int64          `json:"duration_ms"`
	RowsRead     int64          `json:"rows_read"`
	Delivered    int64          `json:"delivered"`
	Rejected     int64          `json:"rejected"`
	CursorBefore *cursor.Cursor `json:"cursor_before,omitempty"`
	CursorAfter  *cursor.Cursor `json:"cursor_after,omitempty"`
	Error        string         `json:"error,omitempty"`
}

// SyncState is what a store knows of one sync.
type SyncState struct {
	Sync         string         `json:"sync"`
	Cursor       *cursor.Cursor `json:"cursor,omitempty"`
	SnapshotRows int64          `json:"snapshot_rows"`
	// Identity is what the snapshot and cursor describe, as of the last
	// commit; nil for a sync never run (or run by a hoist before it).
	Identity *Identity `json:"identity,omitempty"`
	LastRun  *Run      `json:"last_run,omitempty"`
}

// Identity fingerprints what a sync's state describes: the rows of which
// source (the cursor), delivered to which destination object, keyed how and
// shaped how (the snapshot). A run whose spec no longer matches it must not
// trust that state as it is (see sync's identity check).
type Identity struct {
	Source      string   `json:"source"`
	Destination string   `json:"destination"`
	PrimaryKey  []string `json:"primary_key,omitempty"`
	// Schema is a hash of the mapped schema's field names and types.
	Schema string `json:"schema,omitempty"`
	// Shard is "I/N" for the state of one shard of a sharded sync, "" for
	// an unsharded one: the layout its snapshot and cursor split rows by.
	Shard string `json:"shard,omitempty"`
	// Diff is "warehouse" when the snapshot lives in the source database
	// (diff: warehouse); "" when it is this store's.
	Diff string `json:"diff,omitempty"`
}

// Commit is what a run hands the store when it ends.
type Commit struct {
	// Cursor is the new cursor; nil keeps the old one.
	Cursor *cursor.Cursor
	// Delta holds the acknowledged snapshot changes in ascending key order:
	// a Row sets the key, a nil Row removes it. nil means no change.
	Delta Iterator
	// Run is appended to the history.
	Run Run
	// Identity, when set, replaces the recorded identity; nil keeps it.
	Identity *Identity
}

// RowCounter is a Commit.Delta that knows, once read to its end, how many
// keys it adds to the snapshot less how many it removes: the run's diff
// classified each key against the snapshot, under the run's lock. A store
// may use it instead of looking every key up again to keep its row count.
type RowCounter interface {
	RowChange() int64
}

// Lock is held by one runner of one sync.
type Lock interface {
	Release() error
}

// ErrLocked is returned (wrapped, with the holder) when a sync's lock is
// held by another runner past the wait.
var ErrLocked = errors.New("sync is locked by another run")

// Store is a state backend.
type Store interface {
	// Lock takes the sync's run lock, waiting up to wait; past it the error
	// wraps ErrLocked and names the holder (host, pid, since).
	Lock(ctx context.Context, sync string, wait time.Duration) (Lock, error)
	// Get returns the sync's state; a sync never run has a zero SyncState.
	Get(ctx context.Context, sync string) (*SyncState, error)
	// Snapshot iterates the sync's committed snapshot in key order. It reads a
	// consistent view and takes no lock that blocks a run for longer than it reads.
	Snapshot(ctx context.Context, sync string) (Iterator, error)
	// Commit applies c atomically.
	Commit(ctx context.Context, sync string, c *Commit) error
	// Reset forgets the sync's cursor and snapshot (history is kept).
	Reset(ctx context.Context, sync string) error
	// History returns the sync's last n runs, newest first.
	History(ctx context.Context, sync string, n int) ([]Run, error)
	Close() error
}

// TxJoiner is a store whose commit can join a transaction that a destination
// opened on the store's own database (load.StateJoiner), so that the run's
// last batch and the state it moves commit together or not at all. The
// store, not its caller, says whether a destination is in its database.
type TxJoiner interface {
	// Joins reports whether target (a destination's) is the store's own
	// database.
	Joins(target txjoin.Target) bool
	// CommitTx applies c inside tx, which the destination commits.
	CommitTx(ctx context.Context, tx txjoin.Tx, sync string, c *Commit) error
}

// Opener opens a store from its URL. legacy is the folder where a hoist
// before state identity kept the spec's default state ("" if none): the
// file store reads a sync's state there until a run moves it in.
type Opener func(ctx context.Context, url, legacy string) (Store, error)

var openers connector.Table[Opener]

// Register makes a URL scheme ("file", "postgres") available.
func Register(scheme string, o Opener) { openers.Set(scheme, o) }

// Open opens the store at url (file://DIR or postgres://…); see Opener for
// legacy.
func Open(ctx context.Context, url, legacy string) (Store, error) {
	scheme, _, ok := strings.Cut(url, "://")
	if !ok {
		return nil, fmt.Errorf("state %q: want file://DIR or postgres://URL", redactURL(url))
	}
	if scheme == "postgresql" {
		scheme = "postgres"
	}
	o, found := openers.Get(scheme)
	if !found {
		return nil, fmt.Errorf("state: unsupported scheme %q", scheme)
	}
	s, err := o(ctx, url, legacy)
	if err != nil {
		return nil, fmt.Errorf("open state %s: %w", redactURL(url), err)
	}
	return s, nil
}

// redactURL hides a password in a URL for messages.
func redactURL(u string) string {
	scheme, rest, ok := strings.Cut(u, "://")
	if !ok {
		return u
	}
	at := strings.LastIndexByte(rest, '@')
	if at < 0 {
		return u
	}
	userinfo := rest[:at]
	if user, _, hasPw := strings.Cut(userinfo, ":"); hasPw {
		return scheme + "://" + user + ":****@" + rest[at+1:]
	}
	return u
}

// RedactURL hides a password in a URL for messages and logs.
func RedactURL(u string) string { return redactURL(u) }

// SliceIterator iterates entries held in memory (tests, small deltas).
type SliceIterator struct {
	Entries []Entry
	i       int
}

// Next implements Iterator.
func (s *SliceIterator) Next() bool { s.i++; return s.i <= len(s.Entries) }

// Entry implements Iterator.
func (s *SliceIterator) Entry() Entry { return s.Entries[s.i-1] }

// Err implements Iterator.
func (s *SliceIterator) Err() error { return nil }

// Close implements Iterator.
func (s *SliceIterator) Close() error { return nil }
