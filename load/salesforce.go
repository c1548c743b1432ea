package load

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	stdsync "sync"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/hoist-dev/hoist/connector"
	"github.com/hoist-dev/hoist/internal/quota"
	"github.com/hoist-dev/hoist/internal/salesforceconn"
	"github.com/hoist-dev/hoist/sync/spec"
)

// The salesforce destination writes rows into a Salesforce org's sObjects
// (Account, Opportunity, custom objects), each mapped field a field of the
// object, keyed by an external ID field (the primary key):
//
//   - a batch under bulk_threshold rows (default 2,000, where Salesforce
//     recommends the Bulk API) goes through sObject Collections: 200
//     records a request, allOrNone false, per-record results in request
//     order (salesforce_collections.go);
//   - a larger one through Bulk API 2.0 ingest jobs: its rows streamed as
//     CSV into jobs cut under job_size_mb, closed, polled with backoff,
//     and their result CSVs read: successful records give their record ID
//     (sf__Id), failed ones are rejected with sf__Error, unprocessed ones
//     stay pending for the next run (salesforce_bulk.go);
//   - new and changed rows are upserted by the external ID (mode insert
//     inserts; mode update updates by record ID, looked up by the external
//     ID where the state has none); mirror's deletes delete (or, with
//     hard_delete, hard-delete) by record ID;
//   - each job is recorded in the state before its data is uploaded; a run
//     killed while one is open or processing is resumed by the next, which
//     aborts an open job and reads a finished one's results instead of
//     uploading its rows again (salesforce_jobs.go);
//   - describe is read at start: mapped fields must exist and be writable,
//     and a value that is not one of a restricted picklist's values rejects
//     its row unsent (salesforce_check.go);
//   - UNABLE_TO_LOCK_ROW failures are sent again after a wait; group_by
//     orders each request and job by a parent field, so records of one
//     parent are processed together instead of contending for its lock.

func init() { Register(salesforceconn.Type, salesforceDestRole, openSalesforce) }

// SalesforceDest is a salesforce destination's keys.
type SalesforceDest struct {
	ExternalID        string `yaml:"external_id" doc:"external ID field records are upserted and looked up by (default, and must be: the primary key's field)"`
	BulkThreshold     int    `yaml:"bulk_threshold" doc:"batches of at least this many rows go through Bulk API 2.0, smaller ones through sObject Collections (default 2000)"`
	JobSizeMB         int    `yaml:"job_size_mb" doc:"most CSV megabytes uploaded to one Bulk job; larger batches are cut into several jobs (default 100, at most 150: the documented limit)"`
	GroupBy           string `yaml:"group_by" doc:"a mapped parent field (AccountId): records are ordered by it in every request and job, so that records of one parent are processed together (fewer UNABLE_TO_LOCK_ROW)"`
	HardDelete        bool   `yaml:"hard_delete" doc:"mirror's deletes skip the recycle bin (Bulk API hardDelete, always through a job; the user needs the Bulk API Hard Delete permission)"`
	CheckFields       *bool  `yaml:"check_fields" doc:"read the object's describe at start and refuse mapped fields it lacks, ones hoist may not write and types that cannot fill them (default true)"`
	connector.AppDest `yaml:",inline"`
}

// salesforceAppRules: changes send only the changed fields by default;
// Salesforce empties a field with null (#N/A in a Bulk CSV), so nulls
// clear by default, and send would mean the same.
var salesforceAppRules = connector.AppRules{
	Patch:    []string{connector.PatchChanged, connector.PatchAll},
	Nulls:    []string{connector.NullsClear, connector.NullsSkip},
	OnDelete: []string{connector.DeleteDelete, connector.DeleteClear, connector.DeleteIgnore},
	Why: map[string]string{
		"nulls=send":        "Salesforce empties a field with null (#N/A in a Bulk API CSV): use nulls: clear, or skip to leave the field as it is",
		"on_delete=archive": "Salesforce has no archive: on_delete: delete moves records to the recycle bin (hard_delete: true skips it)",
	},
}

var salesforceDestRole = connector.DestRole{
	NewConfig: func() connector.DestConfig { return &SalesforceDest{} },
	Modes:     []string{spec.ModeUpsert, spec.ModeMirror, spec.ModeInsert, spec.ModeUpdate},
	Why: map[string]string{
		spec.ModeReplace: "mode replace cannot be done atomically in Salesforce; use mirror",
		spec.ModeAppend:  "Salesforce records are keyed by an external ID field: use upsert (or insert)",
	},
	// sObject and field API names are case-insensitive.
	ObjectKey: func(_ connector.Config, _ connector.DestConfig, object string) string { return strings.ToLower(object) },
	PlanCheck: true,
}

// sObjectRe is an sObject API name: Account, Opportunity, Invoice__c,
// ns__Thing__c.
var sObjectRe = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`)

const (
	defaultBulkThreshold = 2_000
	sfCollectionsMax     = 200
)

// Validate implements connector.DestConfig.
func (c *SalesforceDest) Validate(d connector.Dest, p connector.Problems) {
	c.AppDest.Validate(d, p, salesforceAppRules)
	if d.Object != "" && !sObjectRe.MatchString(d.Object) {
		p.Add("object", "%q is not an sObject API name (Account, Opportunity, Invoice__c)", d.Object)
	}
	switch {
	case len(d.PrimaryKey) > 1:
		p.Add("primary_key", "a salesforce destination is keyed by one external ID field, not %d columns", len(d.PrimaryKey))
	case len(d.PrimaryKey) == 1 && strings.EqualFold(d.PrimaryKey[0], "Id"):
		p.Add("primary_key", "key by an external ID field, not Id: hoist keeps the record IDs Salesforce gives in its state itself")
	case len(d.PrimaryKey) == 1 && c.ExternalID != "" && !strings.EqualFold(c.ExternalID, d.PrimaryKey[0]):
		p.Add("external_id", "external_id %q must be the primary key's field %q: the snapshot is keyed by the record's external ID", c.ExternalID, d.PrimaryKey[0])
	}
	if c.BulkThreshold < 0 {
		p.Add("bulk_threshold", "must not be negative")
	}
	if c.JobSizeMB < 0 || c.JobSizeMB > salesforceconn.MaxJobBytes>>20 {
		p.Add("job_size_mb", "must be between 1 and %d (the Bulk API's limit per job), not %d", salesforceconn.MaxJobBytes>>20, c.JobSizeMB)
	}
	if c.HardDelete && d.Mode != "" && d.Mode != spec.ModeMirror {
		connector.Warn(p, "hard_delete", "only mode mirror deletes; mode %s never uses hard_delete", d.Mode)
	}
}

func (c *SalesforceDest) externalID(d *spec.Dest) string {
	if c.ExternalID != "" {
		return c.ExternalID
	}
	if len(d.PrimaryKey) == 1 {
		return d.PrimaryKey[0]
	}
	return ""
}

type salesforceDest struct {
	name string
	conn *salesforceconn.Config
	api  *sfAPI
	// bulk budget across the process's runs on this connection
	bulkBatchesLeft *atomic.Int64
}

func openSalesforce(_ context.Context, conn *spec.Connection, dir string) (Destination, error) {
	cfg, err := connector.As[*salesforceconn.Config](conn.Config)
	if err != nil {
		return nil, err
	}
	api, err := newSFAPI(conn.Name, cfg, dir)
	if err != nil {
		return nil, err
	}
	return &salesforceDest{name: conn.Name, conn: cfg, api: api}, nil
}

func (d *salesforceDest) Close() error {
	d.api.client.Close()
	return nil
}

func (d *salesforceDest) Open(ctx context.Context, t Target) (Writer, error) {
	fail := func(format string, args ...any) (Writer, error) {
		return nil, fmt.Errorf("salesforce destination %s: "+format, append([]any{d.name}, args...)...)
	}
	if t.Dest == nil {
		return fail("no destination block")
	}
	if why, refused := salesforceDestRole.Why[t.Dest.Mode]; refused {
		return fail("%s", why)
	}
	cfg, err := connector.As[*SalesforceDest](t.Dest.Config)
	if err != nil {
		return fail("%v", err)
	}
	ext := cfg.externalID(t.Dest)
	if t.Dest.Object == "" || ext == "" {
		return fail("need an object and a primary key (its field is the external ID)")
	}
	if len(t.Schema.FieldIndices(ext)) == 0 {
		return fail("external ID %s is not a mapped field", ext)
	}
	w := &sfWriter{
		api: d.api, target: t, object: t.Dest.Object, ext: ext, extCol: t.Schema.FieldIndices(ext)[0], cfg: cfg, conn: d.conn,
		app: cfg.AppDest.Resolved(salesforceAppRules), threshold: cfg.BulkThreshold, jobBytes: cfg.JobSizeMB << 20,
		jobs: newSFJobs(t.Jobs), groupCol: -1,
	}
	if w.threshold == 0 {
		w.threshold = defaultBulkThreshold
	}
	if w.jobBytes == 0 {
		w.jobBytes = salesforceconn.DefaultJobBytes
	}
	if cfg.GroupBy != "" {
		idx := t.Schema.FieldIndices(cfg.GroupBy)
		if len(idx) == 0 {
			return fail("group_by %s is not a mapped field", cfg.GroupBy)
		}
		w.groupCol = idx[0]
	}
	if cfg.CheckFields == nil || *cfg.CheckFields {
		if w.fields, err = w.describe(ctx); err != nil {
			return fail("%s: %v", w.object, err)
		}
		if err := w.checkSchema(t.Schema); err != nil {
			return fail("%s: %v", w.object, err)
		}
	}
	if t.DryRun {
		return w, nil
	}
	w.budget = quota.Shared(d.conn.Quota(d.name), t.Ledger)
	w.budget.Acquire()
	w.api = w.api.withBudget(w.budget)
	if err := w.readLimits(ctx); err != nil {
		w.release(ctx)
		return fail("%v", err)
	}
	if err := w.jobs.recover(ctx, w); err != nil {
		w.release(ctx)
		return fail("resume the jobs of an earlier run: %v", err)
	}
	return w, nil
}

// sfWriter writes one run of one sync into one sObject.
type sfWriter struct {
	api       *sfAPI
	target    Target
	conn      *salesforceconn.Config
	cfg       *SalesforceDest
	object    string
	ext       string // the external ID field
	extCol    int    // its column in the schema
	groupCol  int    // group_by's column, -1: none
	app       connector.AppDest
	threshold int
	jobBytes  int
	fields    map[string]*sfField // describe, by lower-case name; nil: not read
	colOnce   stdsync.Once
	colFields []*sfField // describe's field of each schema column
	jobs      *sfJobs
	budget    *quota.Budget
	released  bool
	// what the limits resource said is left of the Bulk API's batches
	batchesLeft atomic.Int64
}

var (
	_ Writer     = (*sfWriter)(nil)
	_ Needer     = (*sfWriter)(nil)
	_ BatchSizer = (*sfWriter)(nil)
	_ Settler    = (*sfWriter)(nil)
)

// BatchNeeds implements Needer: record IDs (updates and deletes go by ID)
// and, for patch: changed, the changed fields.
func (w *sfWriter) BatchNeeds() BatchNeeds {
	return BatchNeeds{IDs: true, Changed: w.app.Patch == connector.PatchChanged}
}

// BatchLimits implements BatchSizer: a batch is one Bulk job (or, under
// the threshold, a few collections requests), so batches are large, but
// bounded in bytes: a few of them are in memory at once, and each is
// encoded straight into its job's upload.
func (w *sfWriter) BatchLimits() BatchLimits {
	return BatchLimits{Rows: 100_000, Bytes: 32 << 20}
}

// Concurrency: four jobs at once; Salesforce processes jobs in parallel,
// and a job's latency is mostly the server's.
func (w *sfWriter) Concurrency() int { return 4 }

func (w *sfWriter) Commit(ctx context.Context) error { return w.release(ctx) }
func (w *sfWriter) Abort(ctx context.Context) error  { return w.release(ctx) }

// Settled implements Settler: the run's state is committed, so the jobs
// whose results it booked are forgotten (and deleted in Salesforce).
func (w *sfWriter) Settled(ctx context.Context) error { return w.jobs.settle(ctx, w) }

func (w *sfWriter) release(ctx context.Context) error {
	if w.budget == nil || w.released {
		return nil
	}
	w.released = true
	return w.budget.Release(context.WithoutCancel(ctx))
}

// readLimits reads the limits resource: the Bulk API's batches left
// today; a run whose jobs would need more stops as partial.
func (w *sfWriter) readLimits(ctx context.Context) error {
	var lim map[string]struct {
		Max       int64 `json:"Max"`
		Remaining int64 `json:"Remaining"`
	}
	if _, err := w.api.json(ctx, sfRequest{method: http.MethodGet, path: "/limits"}, &lim); err != nil {
		return fmt.Errorf("read the org's limits: %w", err)
	}
	w.batchesLeft.Store(-1)
	if b, ok := lim["DailyBulkApiBatches"]; ok {
		w.batchesLeft.Store(b.Remaining)
	}
	if r, ok := lim["DailyApiRequests"]; ok && r.Max > 0 {
		h := http.Header{}
		h.Set(salesforceconn.LimitInfoHeader, fmt.Sprintf("api-usage=%d/%d", r.Max-r.Remaining, r.Max))
		w.budget.Observe(h)
	}
	return nil
}

// spendBulk takes a job of n records from the Bulk API's limits: the
// batches the limits resource says are left, and the records a day the
// connection allows (counted in the state's ledger across runs).
func (w *sfWriter) spendBulk(ctx context.Context, n int) error {
	batches := int64((n + salesforceconn.BulkBatchRecords - 1) / salesforceconn.BulkBatchRecords)
	if left := w.batchesLeft.Add(-batches); left+batches >= 0 && left < 0 {
		w.batchesLeft.Add(batches)
		return fmt.Errorf("%w: the limits resource says fewer than %d Bulk API batches are left today (DailyBulkApiBatches)", ErrBudgetSpent, batches)
	}
	if w.target.Ledger == nil {
		return nil
	}
	day := w.budget.Day()
	name := w.target.Dest.Connection + " bulk records"
	used, err := w.target.Ledger.Spend(ctx, name, day, int64(n))
	if err != nil {
		return err
	}
	if used > w.conn.BulkRecords() {
		_, _ = w.target.Ledger.Spend(ctx, name, day, -int64(n))
		return fmt.Errorf("%w: %d Bulk API records would pass bulk_records_per_day %d", ErrBudgetSpent, used, w.conn.BulkRecords())
	}
	return nil
}

// field returns describe's field of a mapped column, or nil.
func (w *sfWriter) field(name string) *sfField {
	if w.fields == nil {
		return nil
	}
	return w.fields[strings.ToLower(name)]
}

// errSFStop marks a Write stopped past max_rejected.
var errSFStop = errors.New("past on_reject.max_rejected")

// sfColumn reports whether a mapped field is sent in requests (the schema
// has it); fields is the record's schema.
func sfColumns(s *arrow.Schema) []string {
	out := make([]string, s.NumFields())
	for i, f := range s.Fields() {
		out[i] = f.Name
	}
	return out
}
