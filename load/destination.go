// Package load writes mapped Arrow record batches into destinations.
//
// Each connector lives in its own file and registers itself by connection
// type in init. A destination reports per-batch and per-row outcomes; it never
// logs and drops an error: what it did not acknowledge is not delivered.
package load

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/hoist-dev/hoist/connector"
	"github.com/hoist-dev/hoist/internal/quota"
	"github.com/hoist-dev/hoist/sync/spec"
)

// Op is what a batch asks the destination to do with its rows.
type Op uint8

const (
	// OpAppend inserts every row as it is (modes append and replace).
	OpAppend Op = iota + 1
	// OpInsert inserts rows whose key is new and leaves existing keys alone
	// (mode insert: INSERT … ON CONFLICT DO NOTHING).
	OpInsert
	// OpUpsert inserts new keys and updates existing ones.
	OpUpsert
	// OpUpdate updates rows whose key exists; missing keys are no-ops.
	OpUpdate
	// OpDelete deletes the keys in the batch; the record holds only the
	// primary key columns.
	OpDelete
)

var opNames = map[Op]string{OpAppend: "append", OpInsert: "insert", OpUpsert: "upsert", OpUpdate: "update", OpDelete: "delete"}

func (o Op) String() string {
	if s, ok := opNames[o]; ok {
		return s
	}
	return fmt.Sprintf("op(%d)", uint8(o))
}

// Target is what one sync writes into.
type Target struct {
	// Sync is the sync's name (for logs, errors and idempotency keys).
	Sync string
	// RunID names this run of the sync, as its report and rejected-rows
	// lines do (stream destinations put it on every message).
	RunID string
	// Dest is the sync's destination block: object, mode, primary_key,
	// create_table, http operations.
	Dest *spec.Dest
	// Schema is the schema of the mapped rows every upsert/insert/append batch
	// carries; delete batches carry only the primary key fields of it.
	Schema *arrow.Schema
	// DryRun opens for validation only (hoist validate --connect): check the
	// object exists and the schema fits, write nothing.
	DryRun bool
	Alloc  memory.Allocator
	// Logger carries the "sync" attribute already: do not add it again.
	Logger *slog.Logger
	// Ledger keeps a connection's daily request count across runs (the
	// state store, when it keeps one); nil: counted in this process only.
	Ledger quota.Ledger
	// Jobs keeps the sync's asynchronous jobs in the state (jobs.go); nil
	// when the store keeps none.
	Jobs JobJournal
}

// ValueChecker is a Writer, opened with DryRun, that can say before
// anything is sent which rows hold values the destination would refuse (a
// HubSpot value that is none of a picklist's options, text in a number
// property): plan reports them, as the run rejects those rows unsent.
// problem is called once per refused value: row in rec, the field, the
// value as it would be sent, and why.
type ValueChecker interface {
	CheckValues(rec arrow.RecordBatch, problem func(row int, field, value, why string))
}

// DefaultConcurrencer is a Writer that wants its own number of concurrent
// Write callers when the sync sets none (the spec's default suits a
// database; an API whose requests are paced and sometimes hang needs more
// of them in flight).
type DefaultConcurrencer interface {
	DefaultConcurrency() int
}

// ErrBudgetSpent is what a Write fails with (wrapped) when the connection's
// daily request budget is spent: the pipeline stops the run as partial,
// commits what was acknowledged, and the next run continues.
var ErrBudgetSpent = quota.ErrSpent

// Log returns the target's logger or one that discards.
func (t *Target) Log() *slog.Logger {
	if t.Logger != nil {
		return t.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// Batch is one chunk of rows sent to the destination.
type Batch struct {
	// Seq numbers batches from 0 within one run of one sync.
	Seq    int
	Op     Op
	Record arrow.Record
	// Reject, when set, counts n rows a writer found rejected while still
	// working on the batch, and reports whether the run is now past
	// on_reject.max_rejected (n = 0 only asks). A writer that isolates bad
	// rows by splitting requests asks it before each further request and,
	// once it says stop, returns a *RejectLimitError instead of spending
	// thousands of requests on a run that has already failed.
	Reject func(n int) (stop bool)
	// IDs holds, for a writer whose BatchNeeds asks for them, the record ID
	// the state keeps for each row's key (aligned with Record's rows; ""
	// when it keeps none: a row new to the snapshot, or one whose ID was
	// never learned). nil otherwise.
	IDs []string
	// Changed lists, for a writer whose BatchNeeds asks for it, the fields
	// of each row that differ from the snapshot's row, as indexes into
	// Record's schema in ascending order; nil for a row that is not a
	// change (new, re-sent unchanged by --full-refresh, a delete): send it
	// whole. A change always has at least one field here. nil otherwise.
	Changed [][]int
	// Before holds, for a writer whose BatchNeeds asks for it, the
	// snapshot's row of each change and delete (the row as hoist last
	// delivered it), with the full mapped schema, aligned with Record's
	// rows; HasBefore says which rows have one (a key new to the snapshot
	// has none: its row in Before is all NULL). Released with the batch.
	// nil otherwise.
	Before    arrow.Record
	HasBefore []bool
}

// BatchNeeds is what a writer asks the pipeline to add to its batches and
// keep from its results.
type BatchNeeds struct {
	// IDs: fill Batch.IDs, and keep every ID of Result.IDs in the state
	// beside its row's key (state.Entry.ID), for later runs' batches.
	IDs bool
	// Changed: fill Batch.Changed (field-level patches).
	Changed bool
	// Before: fill Batch.Before (a stream's "before" in its envelope).
	Before bool
}

// Needer is a Writer that needs more than the rows (see BatchNeeds).
type Needer interface {
	BatchNeeds() BatchNeeds
}

// NeedsOf returns what w needs beyond the rows.
func NeedsOf(w Writer) BatchNeeds {
	if n, ok := w.(Needer); ok {
		return n.BatchNeeds()
	}
	return BatchNeeds{}
}

// RejectLimitError is a Write stopped early by Batch.Reject. Failed holds the
// rows found rejected so far; none of the batch counts as delivered.
type RejectLimitError struct {
	Failed []RowError
}

func (e *RejectLimitError) Error() string {
	return fmt.Sprintf("stopped after %d rejected row(s): the run is past on_reject.max_rejected", len(e.Failed))
}

// RowError is one row the destination rejected; the rest of its batch counts
// as delivered.
type RowError struct {
	// Row is the row's index within the batch's record.
	Row int
	// Msg says why, as the destination put it (never a secret).
	Msg string
	// Status is the HTTP status where there is one.
	Status int
	// Body is the (truncated) response body where there is one.
	Body string
}

// Result is a destination's answer to one batch that was not failed whole.
type Result struct {
	Failed []RowError
	// NotHeld lists rows (indexes within the batch's record) of an OpUpdate
	// batch whose key the destination does not hold: the update left them
	// alone, as mode update allows. They are neither delivered nor rejected;
	// the pipeline keeps them out of the snapshot, so they are offered again
	// while the source has them. Only OpUpdate batches report them, and a
	// row is never both here and in Failed.
	NotHeld []int
	// Pending lists rows (indexes within the batch's record) the
	// destination took but did not get to (a Bulk API job's unprocessed
	// records): neither delivered nor rejected. They stay out of the
	// snapshot and the cursor stays below them, so the next run sends them
	// again; the run ends partial. A row is never both here and in Failed
	// or NotHeld.
	Pending []int
	// IDs are record IDs the destination gave (or a lookup found) for the
	// batch's rows, aligned with Record's rows; "" where it learned none,
	// and the state keeps the ID it had. nil: none learned. Only kept for
	// a writer whose BatchNeeds asks for IDs.
	IDs []string
}

// NotHeldReporter is a writer that learns only when it finishes which
// update rows' keys it did not hold (the files destination, which merges
// at Commit). After a successful Commit or Abort, NotHeld returns them by
// batch: Seq → row indexes, each a row of an OpUpdate batch it answered.
type NotHeldReporter interface {
	NotHeld() map[int][]int
}

// Writer writes the batches of one run of one sync.
//
// Write may be called from Concurrency() goroutines at once. A nil error
// means every row of the batch is delivered except those in Result.Failed
// (rejected) and Result.NotHeld (an update of a key the destination lacks).
// A writer that cannot tell whether an update found its key (a batched HTTP
// request) counts the row as delivered. A non-nil error
// means no row of the batch is known to be delivered; the writer has already
// done its own retries (connection loss, 429, 5xx), so the pipeline stops.
// Commit makes the run's writes final (the replace swap, the file rename) and
// is called once after every Write succeeded; after a failure the pipeline
// calls Abort instead, and batches already acknowledged stay delivered where
// the destination allows it (every mode but replace).
type Writer interface {
	Write(ctx context.Context, b Batch) (Result, error)
	Commit(ctx context.Context) error
	Abort(ctx context.Context) error
	// Concurrency is the most Writes the writer takes at once (0: no limit
	// beyond the sync's concurrency).
	Concurrency() int
}

// KindRouter is a Writer that takes rows new to the snapshot and changed rows
// through different requests (an API with separate create and update verbs).
// When RoutesByKind reports true, the pipeline sends, in modes upsert and
// mirror, new rows as OpInsert batches and changed ones (and unchanged ones
// re-sent by --full-refresh) as OpUpdate batches, instead of OpUpsert for
// both. The snapshot can be wrong about the destination (a record removed or
// created behind hoist's back), so such a writer updates a row whose
// OpInsert finds it held, and creates one whose OpUpdate finds it missing
// where the API tells (a per-row update answered 404): every row ends as an
// upsert would leave it.
type KindRouter interface {
	RoutesByKind() bool
}

// Destination is an opened destination connection.
type Destination interface {
	// Open prepares a run: checks or creates the object, begins a replace.
	Open(ctx context.Context, t Target) (Writer, error)
	Close() error
}

// Opener opens a destination for a connection; dir is the spec file's
// folder, against which relative paths resolve.
type Opener func(ctx context.Context, conn *spec.Connection, dir string) (Destination, error)

var openers connector.Table[Opener]

// Register makes a connection type available as a destination: role says
// what its destination keys decode into and what it can do, o opens it.
// Connector files call it from init.
func Register(typ string, role connector.DestRole, o Opener) {
	connector.RegisterDest(typ, role)
	openers.Set(typ, o)
}

// Types lists the registered destination types.
func Types() []string { return openers.Types() }

// Open opens the destination for conn.
func Open(ctx context.Context, conn *spec.Connection, dir string) (Destination, error) {
	o, ok := openers.Get(conn.Type)
	if !ok {
		return nil, fmt.Errorf("connection %s: type %q cannot be a destination", conn.Name, conn.Type)
	}
	d, err := o(ctx, conn, dir)
	if err != nil {
		return nil, fmt.Errorf("open destination %s: %w", conn.Name, err)
	}
	return d, nil
}

// OpFor returns the operation a mode sends its new and changed rows with.
func OpFor(mode string) Op {
	switch mode {
	case spec.ModeInsert:
		return OpInsert
	case spec.ModeUpdate:
		return OpUpdate
	case spec.ModeUpsert, spec.ModeMirror:
		return OpUpsert
	}
	return OpAppend
}

// Lookup returns the opener registered for a connection type (tests wrap
// real destinations with fault injection through it).
func Lookup(typ string) (Opener, bool) { return openers.Get(typ) }

// SetOpener replaces the opener of a registered type, keeping its role
// (tests wrap a real destination with fault injection).
func SetOpener(typ string, o Opener) { openers.Set(typ, o) }

// allModes are the modes a database destination writes.
var allModes = []string{spec.ModeInsert, spec.ModeUpdate, spec.ModeUpsert, spec.ModeMirror, spec.ModeAppend, spec.ModeReplace}

// sqlDestRole is what a SQL database destination declares: every mode,
// create_table, and case-insensitive table names.
func sqlDestRole(planCheck bool) connector.DestRole {
	return connector.DestRole{
		NewConfig: func() connector.DestConfig { return &connector.SQLDest{} },
		Modes:     allModes,
		// Unquoted SQL names are case-insensitive.
		ObjectKey: func(_ connector.Config, _ connector.DestConfig, object string) string { return strings.ToLower(object) },
		PlanCheck: planCheck,
	}
}

// createTable reports whether a sync asks for its table to be created.
func createTable(t Target) bool {
	c, ok := t.Dest.Config.(interface{ CreatesTable() bool })
	return ok && c.CreatesTable()
}
