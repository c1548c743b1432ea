package state

import "context"

// Lookup reads the entries of chosen keys from one consistent view of a
// sync's committed snapshot. An incremental run (a cursor past its first
// run) extracts a small part of the source, and can only add or change what
// it extracted: reading just those keys keeps the diff's cost in proportion
// to the change, not to the table.
type Lookup interface {
	// Get calls fn, in ascending key order, with the entry of each of keys
	// that the snapshot holds; keys it lacks are skipped. keys must be
	// strictly ascending, and above every key of earlier calls. An Entry is
	// valid only during its fn call.
	Get(ctx context.Context, keys [][]byte, fn func(Entry) error) error
	Close() error
}

// LookupStore is a Store that can read chosen keys of a snapshot without
// reading the rest of it.
type LookupStore interface {
	Store
	// Lookup opens a view of the sync's committed snapshot; a sync never
	// committed has an empty one.
	Lookup(ctx context.Context, sync string) (Lookup, error)
}
