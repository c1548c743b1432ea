package cli

import (
	"strings"
	"testing"

	"github.com/hoist-dev/hoist/internal/shard"
)

func TestShardOptionsResolve(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		opt  ShardOptions
		env  map[string]string
		want shard.Spec
		err  string
	}{
		{name: "none", want: shard.Spec{}},
		{name: "flag", opt: ShardOptions{Shard: "2/4"}, want: shard.Spec{Index: 2, Count: 4}},
		{name: "flag ignores the pod index", opt: ShardOptions{Shard: "1/4"}, env: map[string]string{"JOB_COMPLETION_INDEX": "3"}, want: shard.Spec{Index: 1, Count: 4}},
		{name: "shards with the pod index", opt: ShardOptions{Shards: 4}, env: map[string]string{"JOB_COMPLETION_INDEX": "3"}, want: shard.Spec{Index: 3, Count: 4}},
		{name: "HOIST_SHARDS with the pod index", env: map[string]string{"HOIST_SHARDS": "4", "JOB_COMPLETION_INDEX": "0"}, want: shard.Spec{Index: 0, Count: 4}},
		{name: "a pod index alone is not sharding", env: map[string]string{"JOB_COMPLETION_INDEX": "2"}, want: shard.Spec{}},
		{name: "one shard", opt: ShardOptions{Shards: 1}, want: shard.Spec{Count: 1}},
		{name: "shards without an index", opt: ShardOptions{Shards: 4}, err: "4 shards but no index"},
		{name: "index past the count", opt: ShardOptions{Shards: 4}, env: map[string]string{"JOB_COMPLETION_INDEX": "4"}, err: "the index must be 0 … 3"},
		{name: "both flags", opt: ShardOptions{Shard: "0/4", Shards: 4}, err: "give one"},
		{name: "bad HOIST_SHARDS", env: map[string]string{"HOIST_SHARDS": "four"}, err: "$HOIST_SHARDS"},
		{name: "bad index", opt: ShardOptions{Shards: 2}, env: map[string]string{"JOB_COMPLETION_INDEX": "x"}, err: "$JOB_COMPLETION_INDEX"},
		{name: "bad flag", opt: ShardOptions{Shard: "4"}, err: "want I/N"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := tc.opt.resolve(func(k string) string { return tc.env[k] })
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %v, %v; want error with %q", got, err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}
