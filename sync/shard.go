package sync

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"

	"github.com/hoist-dev/hoist/extract"
	"github.com/hoist-dev/hoist/internal/shard"
	"github.com/hoist-dev/hoist/sync/spec"
	"github.com/hoist-dev/hoist/sync/state"
)

// A sharded run (run --shard I/N) holds the rows of a keyed sync whose key
// hashes to shard I (internal/shard). Each shard is a sync of its own to
// the state store: its state is kept under ShardStateName, so it has its
// own cursor, snapshot, history and lock, and a shard killed and run again
// redoes only its own part. Its identity records the layout ("I/N"); a run
// whose layout differs from the recorded one is refused (checkLayout), since
// the old snapshot holds rows of another split.
//
// Unkeyed syncs (append, replace) have no key to split by: shard 0 runs
// them whole and the other shards leave them out (Shardable).

// Shardable reports whether a sync is split among the shards of a sharded
// run; the others run whole, in shard 0 only.
func Shardable(s *spec.Sync) bool { return ModeOf(s.Destination.Mode).Keyed }

// ShardStateName is the name the state store keeps shard i of a sync under.
// The shard count is not part of it but of the state's identity, so that a
// changed count is found on the state itself (checkLayout).
func ShardStateName(sync string, i int) string { return sync + " shard " + strconv.Itoa(i) }

// layout is the sync's split in this run: Count 1 when it is not sharded.
func (r *Runner) layout(s *spec.Sync) shard.Spec {
	if r.Opt.Shard.Sharded() && Shardable(s) {
		return r.Opt.Shard
	}
	return shard.Spec{Count: 1}
}

// stateName is the name of the sync's state in the store for this run.
func (r *Runner) stateName(s *spec.Sync) string {
	if l := r.layout(s); l.Sharded() {
		return ShardStateName(s.Name, l.Index)
	}
	return s.Name
}

// recordedLayout parses an identity's shard ("" is unsharded).
func recordedLayout(id *state.Identity) (shard.Spec, error) {
	if id.Shard == "" {
		return shard.Spec{Count: 1}, nil
	}
	return shard.Parse(id.Shard)
}

// layoutChange is what checkLayout found: the layout the state was
// recorded with and the states the new layout leaves behind.
type layoutChange struct {
	was, now shard.Spec
	// orphans are states of the old layout that the new one does not use:
	// a --reshard run forgets them once it has committed, so that no later
	// layout reuses a snapshot that stopped being kept up to date.
	orphans []string
}

// checkLayout compares the layout the sync's state was recorded with and
// this run's. A state never committed is compared through its siblings: a
// sharded run looks at the unsharded state and at shard 0's, an unsharded
// run at shard 0's, so that a first run of a new layout is caught too. A
// change is refused unless --reshard; nil when nothing changed.
func (r *Runner) checkLayout(ctx context.Context, s *spec.Sync, st *state.SyncState) (*layoutChange, error) {
	now := r.layout(s)
	id := st.Identity
	if id == nil {
		var err error
		if id, err = r.siblingIdentity(ctx, s, now); err != nil || id == nil {
			return nil, err
		}
	}
	was, err := recordedLayout(id)
	if err != nil {
		return nil, fmt.Errorf("sync %s: recorded identity: %w", s.Name, err)
	}
	if was.Count == now.Count {
		return nil, nil
	}
	chg := &layoutChange{was: was, now: now}
	switch {
	case !was.Sharded():
		chg.orphans = []string{s.Name}
	default:
		for i := range was.Count {
			if !now.Sharded() || i >= now.Count {
				chg.orphans = append(chg.orphans, ShardStateName(s.Name, i))
			}
		}
	}
	if r.Opt.Reshard {
		return chg, nil
	}
	return chg, fmt.Errorf("sync %s: its state was recorded %s, and this run is %s: the snapshot splits the rows another way and diffing against it would skip or repeat rows. "+
		"Run every shard once with --reshard (each diffs its rows against what the destination holds, like --refresh, and rebuilds its snapshot), "+
		"or `hoist state reset SPEC --sync %s` to forget every shard's state (the next runs send every row again)",
		s.Name, describeLayout(was), describeLayout(now), s.Name)
}

// siblingIdentity is the identity of another state of the sync that tells
// its layout, for a run whose own state was never committed.
func (r *Runner) siblingIdentity(ctx context.Context, s *spec.Sync, now shard.Spec) (*state.Identity, error) {
	var names []string
	if now.Sharded() {
		names = append(names, s.Name)
	}
	if !now.Sharded() || now.Index != 0 {
		names = append(names, ShardStateName(s.Name, 0))
	}
	for _, n := range names {
		st, err := r.Store.Get(ctx, n)
		if err != nil {
			return nil, fmt.Errorf("read state: %w", err)
		}
		if st.Identity != nil {
			return st.Identity, nil
		}
	}
	return nil, nil
}

func describeLayout(l shard.Spec) string {
	if !l.Sharded() {
		return "unsharded"
	}
	return fmt.Sprintf("as shard %d of %d (--shard %s)", l.Index, l.Count, l)
}

// orphanWait is how long a --reshard run waits for an old state's lock.
const orphanWait = time.Minute

// forgetOrphans resets the old layout's states the new one does not use,
// each under its own lock, once a --reshard run has committed.
func (r *Runner) forgetOrphans(ctx context.Context, s *spec.Sync, chg *layoutChange) error {
	for _, name := range chg.orphans {
		if name == r.stateName(s) {
			continue
		}
		// the other shards of the new layout forget the same states at
		// the same time: wait for them (a reset takes a moment)
		lock, err := r.Store.Lock(ctx, name, max(r.Opt.LockTimeout, orphanWait))
		if err != nil {
			return fmt.Errorf("forget state %q of the old layout: %w", name, err)
		}
		err = r.Store.Reset(ctx, name)
		lock.Release()
		if err != nil {
			return fmt.Errorf("forget state %q of the old layout: %w", name, err)
		}
		r.log().Info("forgot the state of the old shard layout", "sync", s.Name, "state", name)
	}
	return nil
}

// shardFilter is the request's shard for a sharded sync, nil otherwise.
// Its columns are the source columns of the key when each key field is one
// mapped as is (or there are no mappings); a source may push the filter
// down then.
func (r *Runner) shardFilter(s *spec.Sync) *extract.ShardFilter {
	l := r.layout(s)
	if !l.Sharded() {
		return nil
	}
	f := &extract.ShardFilter{Spec: l}
	if len(s.Mappings) == 0 {
		f.Columns = slices.Clone(s.Destination.PrimaryKey)
		return f
	}
	for _, k := range s.Destination.PrimaryKey {
		i := slices.IndexFunc(s.Mappings, func(m *spec.Mapping) bool { return m.To == k })
		if i < 0 || s.Mappings[i].From == "" || s.Mappings[i].Type != "" {
			f.Columns = nil
			return f
		}
		f.Columns = append(f.Columns, s.Mappings[i].From)
	}
	return f
}

// keepShard keeps the rows of a mapped record (and its cursor column, when
// set) whose key is in the shard. When the source pushed the filter down,
// every row must be, and one that is not fails the run: the source's SQL
// and Go disagree on a key's text, and the shards would not partition the
// rows.
func (x *extraction) keepShard(ctx context.Context, rec arrow.Record, cur arrow.Array) (arrow.Record, arrow.Array, error) {
	f := x.shard
	keys := make([]arrow.Array, len(x.keyIdx))
	for k, idx := range x.keyIdx {
		keys[k] = rec.Column(idx)
	}
	n := int(rec.NumRows())
	keep := make([]bool, n)
	kept := 0
	var buf []byte
	for i := range n {
		buf = shard.AppendKeyText(buf[:0], keys, i)
		if keep[i] = f.Spec.Holds(buf); keep[i] {
			kept++
		} else if f.Pushed {
			return nil, nil, fmt.Errorf("shard %s: the source's query returned key %q of shard %d: its text in SQL differs from hoist's (report this with the key's column types)",
				f.Spec, string(buf), shard.Of(buf, f.Spec.Count))
		}
	}
	if kept == n {
		rec.Retain()
		if cur != nil {
			cur.Retain()
		}
		return rec, cur, nil
	}
	b := array.NewBooleanBuilder(x.alloc)
	defer b.Release()
	b.AppendValues(keep, nil)
	mask := b.NewBooleanArray()
	defer mask.Release()
	out, err := compute.FilterRecordBatch(ctx, rec, mask, compute.DefaultFilterOptions())
	if err != nil {
		return nil, nil, fmt.Errorf("keep the shard's rows: %w", err)
	}
	if cur == nil {
		return out, nil, nil
	}
	fc, err := compute.FilterArray(ctx, cur, mask, *compute.DefaultFilterOptions())
	if err != nil {
		out.Release()
		return nil, nil, fmt.Errorf("keep the shard's rows: %w", err)
	}
	return out, fc, nil
}
