package load

import "context"

// FirstLoader is a Writer that can take a keyed sync's first load as plain
// appends (OpAppend batches, its fastest path) instead of the mode's own op.
// The engine asks only when the sync's snapshot is empty, so every row it
// sends is new; FirstLoad reports whether the destination object holds no
// rows and enforces the primary key's uniqueness itself, so that an append
// can neither meet an existing row nor let a duplicate key in.
type FirstLoader interface {
	FirstLoad(ctx context.Context) (bool, error)
}
