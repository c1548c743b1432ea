package sync

import (
	"log/slog"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/hoist-dev/hoist/internal/shard"
	"github.com/hoist-dev/hoist/sync/spec"
	"github.com/hoist-dev/hoist/sync/state"
)

// Options tune a Runner.
type Options struct {
	FullRefresh bool
	// Refresh diffs against the destination's content instead of the
	// snapshot (see refresh.go).
	Refresh         bool
	Concurrency     int // overrides every sync's concurrency when > 0
	AllowMassDelete bool
	LockTimeout     time.Duration
	// Limit is the number of plan samples per operation (default 10).
	Limit  int
	Logger *slog.Logger
	// Progress, when set, makes a progress reporter per sync.
	Progress func(sync string) Progress
	Alloc    memory.Allocator
	// TempDir holds spills (default os.TempDir()).
	TempDir string
	// SortMemory bounds the bytes of rows the diff holds before spilling.
	SortMemory int
	// Shard makes the run one shard of every keyed sync (run --shard);
	// the zero Spec runs them whole. See shard.go.
	Shard shard.Spec
	// Reshard lets a run whose shard layout differs from the state's go
	// on; the caller sets Refresh with it, so that the shard's snapshot is
	// rebuilt from the destination.
	Reshard bool
}

// Runner runs the syncs of one spec file against one state store.
type Runner struct {
	File  *spec.File
	Store state.Store
	Opt   Options
}

func (r *Runner) log() *slog.Logger {
	if r.Opt.Logger != nil {
		return r.Opt.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func (r *Runner) alloc() memory.Allocator {
	if r.Opt.Alloc != nil {
		return r.Opt.Alloc
	}
	return memory.DefaultAllocator
}
