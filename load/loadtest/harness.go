// Package loadtest is the conformance suite every destination runs: one
// call of Run from the destination's own test proves that it keeps the
// load.Writer contract (modes, per-row rejects, idempotent retries, an
// atomic replace, exact values, concurrent writes).
//
// The suite knows nothing of any connector. The Harness a destination's
// test supplies opens the destination, builds the Target of one run (the
// connector's own keys: create_table, a files format, http operations),
// and reads an object back; it also says what the destination claims
// (modes, Arrow types). A claimed mode or type must behave exactly; what
// is not claimed is skipped, and the skip says so.
package loadtest

import (
	"context"
	"slices"
	"strings"
	stdsync "sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/hoist-dev/hoist/load"
	"github.com/hoist-dev/hoist/sync/spec"
)

// Harness is what a destination's test tells the suite.
type Harness struct {
	// Open opens a connection to the destination under test; the suite
	// closes it. Every call reaches the same database, folder or API, so a
	// second run sees what the first one wrote.
	Open func(t *testing.T) load.Destination
	// Target builds the target of one run that writes object in mode,
	// keyed by key (nil for append and replace), with rows of schema. It
	// sets whatever the connector needs to create the object on first use.
	// The suite fills in Alloc, and Sync when it is empty.
	Target func(t *testing.T, object, mode string, key []string, schema *arrow.Schema) load.Target
	// Read returns the object's current rows as a reader of the object
	// would see them, in records allocated from mem (the suite releases
	// them). Columns are matched with schema, the one the suite wrote, by
	// name; their types may differ as long as every value reads back with
	// the same text (see valueText). An object never written has no rows.
	Read func(t *testing.T, object string, schema *arrow.Schema, mem memory.Allocator) []arrow.RecordBatch
	// Modes are the modes the destination claims, a subset of
	// spec.ModeInsert … spec.ModeReplace.
	Modes []string
	// Types are the Arrow types the destination claims to keep exactly
	// (see AllTypes); the others are skipped.
	Types []Type
	// Reject, when set, prepares object (not yet written) so that the
	// destination rejects, row by row, a row whose "name" holds the value
	// it returns: a CHECK constraint in SQL, a validation rule of an API.
	// Without it the reject checks are skipped.
	Reject func(t *testing.T, object string) string
	// ReplaceBlocksReaders says a reader waits while a replace is open
	// (PostgreSQL's TRUNCATE lock) instead of seeing the old content, so
	// the suite does not read in the middle of one.
	ReplaceBlocksReaders bool
	// BlindUpdates says the destination cannot tell which rows of an
	// update found no key (a batched HTTP update): they count as
	// delivered. Otherwise Result.NotHeld, or NotHeldReporter after
	// Commit, must name exactly those rows.
	BlindUpdates bool
	// Known marks checks a destination is known to fail, by their path
	// below the suite ("values/line endings"), with the reason: they are
	// skipped with "known: <reason>", so the failure stays on record.
	Known map[string]string
}

// allModes is the order the suite visits modes in.
var allModes = []string{spec.ModeInsert, spec.ModeUpdate, spec.ModeUpsert, spec.ModeMirror, spec.ModeAppend, spec.ModeReplace}

// opTimeout bounds every call into the destination, so a hang fails the
// check that caused it instead of the whole test binary.
const opTimeout = 30 * time.Second

// Run runs every check of the suite against the destination h describes.
func Run(t *testing.T, h Harness) {
	t.Helper()
	if h.Open == nil || h.Target == nil || h.Read == nil {
		t.Fatal("loadtest: the harness needs Open, Target and Read")
	}
	for _, m := range h.Modes {
		if !slices.Contains(allModes, m) {
			t.Fatalf("loadtest: the harness claims unknown mode %q", m)
		}
	}
	s := &suite{h: h, root: t.Name(), known: map[string]string{}, used: map[string]bool{}}
	for k, why := range h.Known {
		s.known[strings.ReplaceAll(k, " ", "_")] = why
	}
	t.Run("modes", s.modes)
	t.Run("idempotent", s.idempotent)
	t.Run("abort", s.abort)
	t.Run("rejects", s.rejects)
	t.Run("types", s.types)
	t.Run("values", s.values)
	s.check(t, "concurrency", s.concurrency)
	for k := range h.Known {
		if !s.used[strings.ReplaceAll(k, " ", "_")] {
			t.Errorf("loadtest: the harness marks %q known, but no check of that name ran", k)
		}
	}
}

type suite struct {
	h     Harness
	root  string // the test that called Run
	mu    stdsync.Mutex
	known map[string]string // Harness.Known, by test name below root
	used  map[string]bool
}

// check runs one check as a subtest, unless the harness marks it known.
func (s *suite) check(t *testing.T, name string, fn func(t *testing.T)) {
	t.Helper()
	t.Run(name, func(t *testing.T) {
		key := strings.TrimPrefix(t.Name(), s.root+"/")
		s.mu.Lock()
		why, known := s.known[key]
		s.used[key] = s.used[key] || known
		s.mu.Unlock()
		if known {
			t.Skip("known: " + why)
		}
		fn(t)
	})
}

func (s *suite) claims(mode string) bool { return slices.Contains(s.h.Modes, mode) }

// needMode skips t unless the destination claims mode.
func (s *suite) needMode(t *testing.T, mode string) {
	t.Helper()
	if !s.claims(mode) {
		t.Skipf("mode %s not claimed", mode)
	}
}

// firstMode is the first claimed of modes, or "".
func (s *suite) firstMode(modes ...string) string {
	for _, m := range modes {
		if s.claims(m) {
			return m
		}
	}
	return ""
}

// seedMode is the mode the suite fills a keyed object with before a check
// needs existing rows (update, rejects of update).
func (s *suite) seedMode() string {
	return s.firstMode(spec.ModeUpsert, spec.ModeInsert, spec.ModeMirror)
}

// keyFor is the primary key a run of mode is given.
func keyFor(mode string) []string {
	if spec.KeyNeeded(mode) {
		return []string{"id"}
	}
	return nil
}

func ctxFor(t *testing.T) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), opTimeout)
}
