package cli

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"github.com/hoist-dev/hoist/internal/shard"
	hsync "github.com/hoist-dev/hoist/sync"
	"github.com/hoist-dev/hoist/sync/spec"
)

// ShardOptions are the flags that make run and plan one shard of each keyed
// sync: --shard I/N, or --shards N with the index from JOB_COMPLETION_INDEX
// (what a Kubernetes Indexed Job sets in each pod). HOIST_SHARDS stands in
// for --shards, so a manifest can set the count once in the environment.
type ShardOptions struct {
	Shard   string
	Shards  int
	Reshard bool
}

// Names of the environment variables ShardOptions read.
const (
	envCompletionIndex = "JOB_COMPLETION_INDEX"
	envShards          = "HOIST_SHARDS"
)

func (o *ShardOptions) addFlags(fl *pflag.FlagSet, run bool) {
	fl.StringVar(&o.Shard, "shard", "", "run shard I of N (I from 0) of every keyed sync, each shard with its own state and lock")
	fl.IntVar(&o.Shards, "shards", 0, "shard count, the index taken from $"+envCompletionIndex+" (a Kubernetes Indexed Job); default $"+envShards)
	if run {
		fl.BoolVar(&o.Reshard, "reshard", false, "accept a changed shard count: rebuild each shard's snapshot from the destination (like --refresh) and forget the old shards' state")
	}
}

// resolve is the shard the flags and environment name; the zero Spec when
// the run is not sharded. getenv is os.Getenv outside tests.
func (o *ShardOptions) resolve(getenv func(string) string) (shard.Spec, error) {
	if o.Shard != "" {
		if o.Shards != 0 {
			return shard.Spec{}, fmt.Errorf("--shard and --shards: give one (--shard I/N, or --shards N with $%s)", envCompletionIndex)
		}
		return shard.Parse(o.Shard)
	}
	n := o.Shards
	if n == 0 {
		v := strings.TrimSpace(getenv(envShards))
		if v == "" {
			return shard.Spec{}, nil
		}
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			return shard.Spec{}, fmt.Errorf("$%s=%q: want a whole number of shards", envShards, v)
		}
	}
	if n == 1 {
		return shard.Spec{Count: 1}, nil
	}
	v := strings.TrimSpace(getenv(envCompletionIndex))
	if v == "" {
		return shard.Spec{}, fmt.Errorf("%d shards but no index: give --shard I/%d, or run where $%s is set (a Kubernetes Indexed Job)", n, n, envCompletionIndex)
	}
	i, err := strconv.Atoi(v)
	if err != nil {
		return shard.Spec{}, fmt.Errorf("$%s=%q: want a whole number", envCompletionIndex, v)
	}
	return shard.New(i, n)
}

// apply resolves the shard into opt, and leaves out of syncs the unkeyed
// ones a shard other than 0 does not run (shard 0 runs them whole).
func (o *ShardOptions) apply(opt *hsync.Options, syncs []*spec.Sync, logf func(string, ...any)) ([]*spec.Sync, error) {
	sh, err := o.resolve(os.Getenv)
	if err != nil {
		return nil, err
	}
	opt.Shard, opt.Reshard = sh, o.Reshard
	if o.Reshard {
		opt.Refresh = true
	}
	if !sh.Sharded() || sh.Index == 0 {
		return syncs, nil
	}
	kept := syncs[:0:0]
	for _, s := range syncs {
		if hsync.Shardable(s) {
			kept = append(kept, s)
		} else {
			logf("sync %s is not split (mode %s has no key to split by): shard 0 runs it whole", s.Name, s.Destination.Mode)
		}
	}
	return kept, nil
}
