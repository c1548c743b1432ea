package sync

import (
	"github.com/hoist-dev/hoist/load"
	"github.com/hoist-dev/hoist/sync/diff"
	"github.com/hoist-dev/hoist/sync/spec"
)

// Mode is what a destination mode means to the engine, in one place: every
// mode-dependent decision of a run or a plan asks it rather than comparing
// mode names. Spec validation (sync/spec) checks the same rules on the spec
// as written; TestModes holds the two to the same answers.
type Mode struct {
	Name string
	// Keyed modes diff the source by primary key against the snapshot (so
	// they need a primary_key) and send only what changed; the others
	// stream every extracted row and keep no snapshot.
	Keyed bool
	// Inserts: a key new to the destination is created. update cannot: it
	// still sends rows new to the snapshot (only the destination knows
	// whether it holds the key, and answers "not held" if not), except
	// under --refresh, whose diff against the destination already knows.
	Inserts bool
	// SendsChanges: a key whose row changed since the snapshot is sent;
	// insert leaves it alone and counts it unchanged.
	SendsChanges bool
	// SendsDeletes: a key gone from the source is deleted (mirror).
	SendsDeletes bool
	// Write is the op new and changed rows (unkeyed: every row) are sent
	// with; deletes go as load.OpDelete.
	Write load.Op
	// Cursor: the source may be read incrementally past a cursor. mirror
	// must read the whole source to find deletes, and replace would
	// rewrite the object with only the rows since the last run.
	Cursor bool
	// Lookback: the cursor may be moved back by cursor_lookback. append
	// sends every row it reads, so the window's rows would land twice.
	Lookback bool
	// BoundedDeletes: a run refuses to delete more than max_delete_fraction
	// of the snapshot (of the destination with --refresh) unless
	// --allow-mass-delete.
	BoundedDeletes bool
	// Rewrites: every run rewrites the whole object in one transaction that
	// commits at the end (replace). See AbortKeepsAcked and JointCommit.
	Rewrites bool
	// Identity is what a change of the sync's recorded identity (source,
	// destination, key, mapped schema) means; see identity.go.
	Identity IdentityRule
	// Split sends rows new to the snapshot as load.OpInsert and changed
	// (or re-sent unchanged) rows as load.OpUpdate instead of Write, for a
	// writer that routes them to different requests (load.KindRouter; see
	// routing.go). Only a mode that both inserts and sends changes splits.
	Split bool
}

// IdentityRule says how a mode treats state recorded for another identity.
type IdentityRule uint8

const (
	// IdentityKeyed: a new destination or primary key is refused, since the
	// snapshot says nothing of the new target; a new source or mapped
	// schema re-reads the whole source and diffs it against the snapshot.
	IdentityKeyed IdentityRule = iota
	// IdentityStrict: with no snapshot to diff against, a new source is
	// refused like a new target; the mapped schema is not compared (the
	// rows appended are whatever the mapping makes).
	IdentityStrict
	// IdentityIgnored: the object is rewritten every run, so nothing
	// recorded is trusted and no change matters.
	IdentityIgnored
)

var modes = map[string]Mode{
	spec.ModeInsert: {Name: spec.ModeInsert, Keyed: true, Inserts: true, Write: load.OpInsert,
		Cursor: true, Lookback: true},
	spec.ModeUpdate: {Name: spec.ModeUpdate, Keyed: true, SendsChanges: true, Write: load.OpUpdate,
		Cursor: true, Lookback: true},
	spec.ModeUpsert: {Name: spec.ModeUpsert, Keyed: true, Inserts: true, SendsChanges: true, Write: load.OpUpsert,
		Cursor: true, Lookback: true},
	spec.ModeMirror: {Name: spec.ModeMirror, Keyed: true, Inserts: true, SendsChanges: true, SendsDeletes: true, Write: load.OpUpsert,
		BoundedDeletes: true},
	spec.ModeAppend: {Name: spec.ModeAppend, Inserts: true, Write: load.OpAppend,
		Cursor: true, Identity: IdentityStrict},
	spec.ModeReplace: {Name: spec.ModeReplace, Inserts: true, Write: load.OpAppend,
		Rewrites: true, Identity: IdentityIgnored},
}

// ModeOf returns the meaning of a mode name. Validation rejects unknown
// names before a run; one that gets here anyway streams its rows as append
// batches, as an unkeyed mode.
func ModeOf(name string) Mode {
	if m, ok := modes[name]; ok {
		return m
	}
	return Mode{Name: name, Write: load.OpAppend}
}

// Op is the op a classified change is sent with.
func (m Mode) Op(k diff.Kind) load.Op {
	switch {
	case k == diff.Remove:
		return load.OpDelete
	case m.Split && k == diff.Add:
		return load.OpInsert
	case m.Split:
		return load.OpUpdate
	}
	return m.Write
}

// Sends reports whether a keyed run sends a classified key. full
// (--full-refresh) sends unchanged rows again; refresh (--refresh) diffed
// against the destination, so a mode that cannot insert leaves out the keys
// the destination is known to lack.
func (m Mode) Sends(k diff.Kind, full, refresh bool) bool {
	switch k {
	case diff.Add:
		return m.Inserts || !refresh
	case diff.Change:
		return m.SendsChanges
	case diff.Remove:
		return m.SendsDeletes
	case diff.Unchanged:
		return full
	}
	return false
}

// AbortKeepsAcked reports whether the batches a destination acknowledged
// stay delivered when the run aborts or its destination commit fails. Not
// for a mode that rewrites the object: its rollback restores the old
// content, so nothing was delivered and the cursor must not move.
func (m Mode) AbortKeepsAcked() bool { return !m.Rewrites }

// JointCommit reports whether the state may commit in the transaction of
// the run's last batch (when the destination shares the state store's
// database). A mode that rewrites the object has no transaction per batch:
// its one transaction commits at the end anyway.
func (m Mode) JointCommit() bool { return !m.Rewrites }
