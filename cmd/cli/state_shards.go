package cli

import (
	"context"
	"fmt"

	"github.com/hoist-dev/hoist/internal/shard"
	hsync "github.com/hoist-dev/hoist/sync"
	"github.com/hoist-dev/hoist/sync/state"
)

// shardStates lists the states of a sharded sync's shards (run --shard),
// as far as the store knows them: the count shard 0's identity recorded,
// and past it any shard left with state (a count that shrank without
// --reshard). nil for a sync never run sharded.
func shardStates(ctx context.Context, store state.Store, sync string) ([]*state.SyncState, error) {
	var out []*state.SyncState
	n := 0
	for i := 0; ; i++ {
		st, err := store.Get(ctx, hsync.ShardStateName(sync, i))
		if err != nil {
			return nil, fmt.Errorf("state of %s shard %d: %w", sync, i, err)
		}
		if i == 0 && st.Identity != nil {
			if l, err := shard.Parse(st.Identity.Shard); err == nil {
				n = l.Count
			}
		}
		if i >= n && st.Identity == nil && st.LastRun == nil {
			return out, nil
		}
		st.Sync = hsync.ShardStateName(sync, i)
		out = append(out, st)
	}
}
