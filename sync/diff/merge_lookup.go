package diff

import (
	"bytes"
	"context"
	"fmt"

	"github.com/hoist-dev/hoist/sync/state"
)

// Chunk bounds of MergeLookup: keys per Lookup.Get (one round trip to a
// Postgres store) and bytes of extract held at once.
const (
	lookupChunkKeys  = 4096
	lookupChunkBytes = 8 << 20
)

// MergeLookup classifies the sorted extract as Merge does without removals
// (opt.Removes is ignored), reading from the snapshot only the extract's own
// keys: chunk by chunk, it asks look for the keys it holds. An incremental
// run thus reads in proportion to what it extracted, not to the snapshot.
func MergeLookup(ctx context.Context, ex *SortedIter, look state.Lookup, opt MergeOptions, fn func(Event) error) error {
	f := &folder{ex: ex, lastWins: opt.LastWins}
	var c lookupChunk
	for {
		more, err := c.fill(f)
		if err != nil {
			return err
		}
		if len(c.ents) == 0 {
			return nil
		}
		if err := c.lookup(ctx, look); err != nil {
			return fmt.Errorf("read snapshot: %w", err)
		}
		if err := c.emit(fn); err != nil {
			return err
		}
		if !more {
			return nil
		}
	}
}

// lookupChunk holds a run of extract entries in one arena (offsets, not
// slices, since the arena grows) and the snapshot rows found for them.
type lookupChunk struct {
	arena []byte
	ents  []chunkEntry
	keys  [][]byte
	old   []byte // found snapshot rows, each followed by its record ID
}

type chunkEntry struct {
	key, row, aux int // ends in arena; the key starts at the previous aux end
	oldFrom       int // in old; -1 when the snapshot lacks the key
	oldTo         int
	idTo          int // the record ID is old[oldTo:idTo]
}

// fill reads up to a chunk of keys; more is false once the extract ended.
func (c *lookupChunk) fill(f *folder) (more bool, err error) {
	c.arena, c.ents, c.old = c.arena[:0], c.ents[:0], c.old[:0]
	for len(c.ents) < lookupChunkKeys && len(c.arena) < lookupChunkBytes {
		ok, err := f.next()
		if err != nil {
			return false, err
		}
		if !ok {
			return false, nil
		}
		var e chunkEntry
		c.arena = append(c.arena, f.key...)
		e.key = len(c.arena)
		c.arena = append(c.arena, f.row...)
		e.row = len(c.arena)
		c.arena = append(c.arena, f.aux...)
		e.aux = len(c.arena)
		e.oldFrom = -1
		c.ents = append(c.ents, e)
	}
	return true, nil
}

func (c *lookupChunk) start(i int) int {
	if i == 0 {
		return 0
	}
	return c.ents[i-1].aux
}

func (c *lookupChunk) lookup(ctx context.Context, look state.Lookup) error {
	c.keys = c.keys[:0]
	for i, e := range c.ents {
		c.keys = append(c.keys, c.arena[c.start(i):e.key])
	}
	i := 0
	return look.Get(ctx, c.keys, func(s state.Entry) error {
		for i < len(c.keys) && bytes.Compare(c.keys[i], s.Key) < 0 {
			i++
		}
		if i == len(c.keys) || !bytes.Equal(c.keys[i], s.Key) {
			return fmt.Errorf("lookup returned key %s that was not asked for, or out of order", KeyString(s.Key))
		}
		c.ents[i].oldFrom = len(c.old)
		c.old = append(c.old, s.Row...)
		c.ents[i].oldTo = len(c.old)
		c.old = append(c.old, s.ID...)
		c.ents[i].idTo = len(c.old)
		i++
		return nil
	})
}

func (c *lookupChunk) emit(fn func(Event) error) error {
	for i, e := range c.ents {
		ev := Event{Kind: Add, Key: c.keys[i], New: c.arena[e.key:e.row], Aux: c.arena[e.row:e.aux]}
		if e.oldFrom >= 0 {
			ev.Old = c.old[e.oldFrom:e.oldTo:e.oldTo]
			if e.idTo > e.oldTo {
				ev.ID = c.old[e.oldTo:e.idTo:e.idTo]
			}
			ev.Kind = Unchanged
			if !bytes.Equal(ev.New, ev.Old) {
				ev.Kind = Change
			}
		}
		if err := fn(ev); err != nil {
			return err
		}
	}
	return nil
}
