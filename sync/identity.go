package sync

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/hoist-dev/hoist/sync/spec"
	"github.com/hoist-dev/hoist/sync/state"
)

// A sync's state (cursor and snapshot) is only true of the source,
// destination, key and mapping it was built with. Each commit records that
// identity; each run compares it with the spec's:
//
//   - destination object or primary key changed: the snapshot says nothing
//     of the new target, so diffing against it would silently skip rows.
//     The run refuses unless --full-refresh, which then forgets the old
//     state and sends every row to the new target.
//   - source or mapped schema changed: the snapshot still describes what the
//     destination holds, but the cursor does not describe the new source
//     (and rows past it lack a new column). The run re-reads the whole
//     source and diffs it against the snapshot as usual. In append mode,
//     which has no snapshot to diff against, a new source is refused like a
//     new target.
//
// Identities hold no secrets: connections are named by type and address
// (host, port, database, file path as written in the spec), never their
// credentials, and the schema by a hash.

// identityOf is the identity of the sync as the spec and the mapped schema
// say now.
func (r *Runner) identityOf(s *spec.Sync, mapped *arrow.Schema) *state.Identity {
	src := r.File.Connections[s.Source.Connection]
	dst := r.File.Connections[s.Destination.Connection]
	var what []string
	if s.Source.Config != nil {
		for _, kv := range s.Source.Config.Identity() {
			if kv[1] != "" {
				what = append(what, kv[0]+"="+strings.Join(strings.Fields(kv[1]), " "))
			}
		}
	}
	return &state.Identity{
		Source:      strings.TrimSpace(connAddress(src) + " " + strings.Join(what, " ")),
		Destination: connAddress(dst) + " object=" + s.Destination.Object,
		PrimaryKey:  slices.Clone(s.Destination.PrimaryKey),
		Schema:      schemaHash(mapped),
		Shard:       r.layout(s).String(),
		Diff:        diffEngine(s),
	}
}

// diffEngine is the identity's name of the sync's diff engine: "" for the
// client diff, as identities recorded before there was a choice say.
func diffEngine(s *spec.Sync) string {
	if s.WarehouseDiff() {
		return spec.DiffWarehouse
	}
	return ""
}

// connAddress names what a connection reaches, without credentials, as its
// connector spells it.
func connAddress(c *spec.Connection) string {
	if c == nil {
		return ""
	}
	addr := ""
	if c.Config != nil {
		addr = c.Config.Address()
	}
	return c.Type + ":" + addr
}

// schemaHash fingerprints field names and types, in order.
func schemaHash(s *arrow.Schema) string {
	if s == nil {
		return ""
	}
	h := sha256.New()
	for _, f := range s.Fields() {
		fmt.Fprintf(h, "%s\x00%s\x00%t\x00", f.Name, f.Type, f.Nullable)
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}

// identityChange compares the recorded identity with the current one.
type identityChange struct {
	target  []string // destination / primary key differences
	reread  []string // source / schema differences
	refused bool     // the run must not go on without --full-refresh
}

func (c *identityChange) any() bool { return len(c.target)+len(c.reread) > 0 }

// compareIdentity says what changed since the state was recorded; a state
// with no identity (never run, or run by an earlier hoist) matches.
func compareIdentity(mode string, was, now *state.Identity) *identityChange {
	c := &identityChange{}
	if was == nil {
		return c
	}
	if was.Destination != now.Destination {
		c.target = append(c.target, fmt.Sprintf("destination was %q, is now %q", was.Destination, now.Destination))
	}
	if !slices.Equal(was.PrimaryKey, now.PrimaryKey) {
		c.target = append(c.target, fmt.Sprintf("primary_key was [%s], is now [%s]", strings.Join(was.PrimaryKey, ", "), strings.Join(now.PrimaryKey, ", ")))
	}
	if was.Diff != now.Diff {
		// the other engine's snapshot is elsewhere: this one's is not it
		c.target = append(c.target, fmt.Sprintf("the diff engine was %s, is now %s", engineName(was.Diff), engineName(now.Diff)))
	}
	if was.Source != now.Source {
		c.reread = append(c.reread, fmt.Sprintf("source was %q, is now %q", was.Source, now.Source))
	}
	rule := ModeOf(mode).Identity
	if was.Schema != now.Schema && rule != IdentityStrict {
		c.reread = append(c.reread, "the mapped columns or their types changed")
	}
	switch rule {
	case IdentityIgnored:
		// replace rewrites the whole object every run: nothing to trust.
		c.target, c.reread = nil, nil
	case IdentityStrict:
		c.refused = len(c.target)+len(c.reread) > 0
	default:
		c.refused = len(c.target) > 0
	}
	return c
}

func engineName(d string) string {
	if d == "" {
		return spec.DiffClient
	}
	return d
}

// refusal is the error of a run whose state belongs to another target.
func (c *identityChange) refusal(sync string) error {
	why := strings.Join(append(slices.Clone(c.target), c.reread...), "; ")
	return fmt.Errorf("sync %s: its state was recorded for another target (%s): diffing against it would skip rows. "+
		"Run with --full-refresh to forget that state and send every row, or --refresh to diff against what the new target holds (or restore the spec)", sync, why)
}

// note is the plan's and the log's line for a change that forces a re-read.
func (c *identityChange) note() string {
	return "the whole source is re-read (cursor ignored) because " + strings.Join(c.reread, "; ")
}

// checkIdentity compares the sync's recorded identity with the spec's once
// its extraction is open, and returns the extraction to go on with: the same
// one, or the whole source re-opened when a changed source or schema makes
// the cursor meaningless. A target change is refused unless --full-refresh;
// with it, x.noSnapshot makes the diff see an empty snapshot (run also
// forgets the old state; plan writes nothing).
func (r *Runner) checkIdentity(ctx context.Context, s *spec.Sync, st *state.SyncState, x *extraction) (*extraction, *state.Identity, *identityChange, error) {
	id := r.identityOf(s, x.mappedSchema())
	chg := compareIdentity(s.Destination.Mode, st.Identity, id)
	switch {
	case chg.refused && r.Opt.Refresh:
		// --refresh diffs against what the new target really holds and
		// rebuilds the snapshot from it: nothing of the old state is used.
	case chg.refused && !r.Opt.FullRefresh:
		return x, id, chg, chg.refusal(s.Name)
	case chg.refused:
		x.noSnapshot = true
	case len(chg.reread) > 0 && x.after != nil:
		r.log().Info("state identity changed: "+chg.note(), "sync", s.Name)
		x.close()
		nx, err := r.openExtraction(ctx, s, nil)
		if err != nil {
			return nil, id, chg, err
		}
		return nx, id, chg, nil
	}
	return x, id, chg, nil
}
