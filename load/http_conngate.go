package load

import (
	"context"

	"github.com/hoist-dev/hoist/internal/httpkit"
)

// connGate is an http writer's gate: first a slot of the writer's own
// adaptive limit, then one of the connection's shared cap, so that the
// writers of syncs run in parallel together keep max_concurrency. The
// order matters: a writer waiting on the shared cap holds only slots of
// its own limit, which no other writer needs.
type connGate struct {
	own  *aimd
	conn *httpkit.Slots
}

func (g connGate) Acquire(ctx context.Context) (func(httpkit.Sample), error) {
	release, err := g.own.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	if err := g.conn.Acquire(ctx); err != nil {
		release(httpkit.Sample{Failed: true}) // not back pressure: the limit stays
		return nil, err
	}
	return func(s httpkit.Sample) {
		g.conn.Release()
		release(s)
	}, nil
}
