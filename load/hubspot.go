package load

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/hoist-dev/hoist/connector"
	"github.com/hoist-dev/hoist/internal/httpkit"
	"github.com/hoist-dev/hoist/internal/hubspotconn"
	"github.com/hoist-dev/hoist/internal/quota"
	"github.com/hoist-dev/hoist/sync/spec"
)

// The hubspot destination writes rows into a HubSpot account's CRM objects
// (contacts, companies, deals, tickets, custom objects) through the CRM v3
// batch APIs, each mapped field a property:
//
//   - new and changed rows (upsert, mirror): batch/upsert by id_property, a
//     property with unique values (email for contacts); mode update:
//     batch/update, by record ID where the state has it;
//   - mirror's deletes: batch/archive by record ID (HubSpot's delete,
//     restorable for 90 days): the IDs upserts answered are kept in state,
//     and one the state lacks is looked up by id_property with batch/read;
//   - at most 100 inputs a request (HubSpot's batch limit), whatever
//     batch_size is;
//   - a 207 answer's errors name their records' ids (in no order): exactly
//     those rows are rejected; results are matched by objectWriteTraceId;
//   - values formatted as HubSpot wants them (hubspot_values.go), NULLs
//     emptied with "" (nulls: clear) or left out (skip), and by default
//     (patch: changed) a change sends only the properties that changed;
//   - the property catalog is read at start (properties API): a mapped
//     field that is no property, a read-only one, a type that cannot fill
//     it fail the run before anything is sent (and plan says so); a value
//     that is not one of a property's options rejects its row unsent;
//   - the tier's ten-secondly limit paces every request (a rolling window,
//     shared by every sync on the connection); a ten-secondly 429 is waited
//     out; a daily one, or the daily budget spent, stops the run as partial.

func init() { Register(hubspotconn.Type, hubspotDestRole, openHubSpot) }

// HubSpotDest is a hubspot destination's keys.
type HubSpotDest struct {
	IDProperty string `yaml:"id_property" doc:"property with unique values records are upserted and looked up by (default: the primary key's field, e.g. email)"`
	// CheckProperties reads the object's property catalog at start.
	CheckProperties   *bool `yaml:"check_properties" doc:"read the object's properties at start and refuse mapped fields it lacks, read-only ones and types that cannot fill them (default true)"`
	connector.AppDest `yaml:",inline"`
}

// hubspotAppRules: HubSpot takes strings only, so a NULL is emptied ("")
// or left out, never sent as null; its delete is an archive.
var hubspotAppRules = connector.AppRules{
	Patch:    []string{connector.PatchChanged, connector.PatchAll},
	Nulls:    []string{connector.NullsClear, connector.NullsSkip},
	OnDelete: []string{connector.DeleteArchive, connector.DeleteDelete, connector.DeleteClear, connector.DeleteIgnore},
	Why: map[string]string{
		"nulls=send": "HubSpot takes property values as strings and refuses a JSON null: use nulls: clear (an empty string empties the property) or skip (leave it as it is)",
	},
}

var hubspotDestRole = connector.DestRole{
	NewConfig: func() connector.DestConfig { return &HubSpotDest{} },
	Modes:     []string{spec.ModeUpsert, spec.ModeMirror, spec.ModeUpdate},
	Why: map[string]string{
		spec.ModeReplace: "mode replace cannot be done atomically in HubSpot; use mirror",
		spec.ModeAppend:  "HubSpot records are keyed by a unique property: use upsert",
		spec.ModeInsert:  "use upsert: HubSpot's batch/create fails a whole batch when one record exists",
	},
	// Object names are case-insensitive in the API.
	ObjectKey: func(_ connector.Config, _ connector.DestConfig, object string) string { return strings.ToLower(object) },
	PlanCheck: true,
}

// objectTypeRe is a standard object's name, a custom object's type ID
// (2-123456) or its fully qualified name (p123456_cars).
var objectTypeRe = regexp.MustCompile(`^([a-z_]+|\d+-\d+|p\d*_[a-z0-9_]+)$`)

// Validate implements connector.DestConfig.
func (h *HubSpotDest) Validate(d connector.Dest, p connector.Problems) {
	h.AppDest.Validate(d, p, hubspotAppRules)
	if d.Object != "" && !objectTypeRe.MatchString(strings.ToLower(d.Object)) {
		p.Add("object", "%q is not a HubSpot object type: contacts, companies, deals, tickets, or a custom object's type ID (2-123456) or name (p123456_cars)", d.Object)
	}
	switch {
	case len(d.PrimaryKey) > 1:
		p.Add("primary_key", "a hubspot destination is keyed by one unique property (id_property), not %d columns", len(d.PrimaryKey))
	case len(d.PrimaryKey) == 1 && h.IDProperty != "" && h.IDProperty != d.PrimaryKey[0]:
		p.Add("id_property", "id_property %q must be the primary key's field %q: the snapshot is keyed by the record's unique property", h.IDProperty, d.PrimaryKey[0])
	}
}

// idProperty is the destination's id_property.
func (h *HubSpotDest) idProperty(d *spec.Dest) string {
	if h.IDProperty != "" {
		return h.IDProperty
	}
	if len(d.PrimaryKey) == 1 {
		return d.PrimaryKey[0]
	}
	return ""
}

type hubspotDest struct {
	name   string
	conn   *hubspotconn.Config
	client *httpkit.Client
}

func openHubSpot(_ context.Context, conn *spec.Connection, _ string) (Destination, error) {
	cfg, err := connector.As[*hubspotconn.Config](conn.Config)
	if err != nil {
		return nil, err
	}
	c, err := httpkit.NewClient(conn.Name, cfg.HTTP())
	if err != nil {
		return nil, err
	}
	return &hubspotDest{name: conn.Name, conn: cfg, client: c.WithPacer(cfg.Window(conn.Name))}, nil
}

func (d *hubspotDest) Close() error {
	d.client.Close()
	return nil
}

func (d *hubspotDest) Open(ctx context.Context, t Target) (Writer, error) {
	fail := func(format string, args ...any) (Writer, error) {
		return nil, fmt.Errorf("hubspot destination %s: "+format, append([]any{d.name}, args...)...)
	}
	if t.Dest == nil {
		return fail("no destination block")
	}
	if why, refused := hubspotDestRole.Why[t.Dest.Mode]; refused {
		return fail("%s", why)
	}
	cfg, err := connector.As[*HubSpotDest](t.Dest.Config)
	if err != nil {
		return fail("%v", err)
	}
	object := strings.ToLower(t.Dest.Object)
	idp := cfg.idProperty(t.Dest)
	if object == "" || idp == "" {
		return fail("need an object and a primary key (its field is the id_property)")
	}
	if t.Schema.FieldIndices(idp) == nil {
		return fail("id_property %s is not a mapped field", idp)
	}
	w := &hubspotWriter{
		client: d.client.WithLogger(t.Log()), target: t, object: object, idProperty: idp,
		app: cfg.AppDest.Resolved(hubspotAppRules), gate: newAIMD(d.conn.HTTP().MaxConcurrency),
		base: "/crm/v3/objects/" + object, adaptiveTimeout: d.conn.Timeout == 0,
	}
	if !t.DryRun {
		// the property read is a request of the day's too
		b := d.conn.Budget()
		w.budget = quota.Shared(b.Quota(d.name, d.conn.Address()), t.Ledger)
		w.budget.Acquire()
		w.client = w.client.WithBudget(w.budget)
	}
	if cfg.CheckProperties == nil || *cfg.CheckProperties {
		if w.props, err = w.readProperties(ctx); err != nil {
			w.release(ctx)
			return fail("%s: %w", object, err)
		}
		if err := w.checkSchema(t.Schema); err != nil {
			w.release(ctx)
			return fail("%s: %w", object, err)
		}
	}
	return w, nil
}

// BatchLimits implements BatchSizer: one request's worth of inputs, so a
// batch is one request, acknowledged (or stopped by the budget) whole.
func (w *hubspotWriter) BatchLimits() BatchLimits { return BatchLimits{Rows: hsBatchLimit} }

// hubspotWriter writes one run of one sync into one object type.
type hubspotWriter struct {
	client     *httpkit.Client
	target     Target
	object     string // contacts, 2-123456, …
	base       string // /crm/v3/objects/<object>
	idProperty string
	app        connector.AppDest // resolved
	props      map[string]*hsProperty
	gate       *aimd
	budget     *quota.Budget
	released   bool
	// adaptiveTimeout: the connection sets no timeout (see timeout)
	adaptiveTimeout bool
}

var (
	_ Writer = (*hubspotWriter)(nil)
	_ Needer = (*hubspotWriter)(nil)
)

// BatchNeeds implements Needer: record IDs (archives go by ID) and, for
// patch: changed, the changed fields.
func (w *hubspotWriter) BatchNeeds() BatchNeeds {
	return BatchNeeds{IDs: true, Changed: w.app.Patch == connector.PatchChanged}
}

// Concurrency is 0: the adaptive gate and the window pace the requests.
func (w *hubspotWriter) Concurrency() int { return 0 }

// hsLoaders is how many batches are in flight when the sync sets no
// concurrency. A batch is one request (BatchLimits), and a request HubSpot
// never answers holds its loader for the whole timeout (30s): with the
// spec's default of 4, four such requests within half a minute stop the
// run (bench-hubspot's fault mix: 0.19 of the limit), where 16 keep it
// near the limit; the window, not the loaders, holds the rate.
const hsLoaders = 16

// DefaultConcurrency implements DefaultConcurrencer.
func (w *hubspotWriter) DefaultConcurrency() int { return hsLoaders }

func (w *hubspotWriter) Commit(ctx context.Context) error { return w.release(ctx) }
func (w *hubspotWriter) Abort(ctx context.Context) error  { return w.release(ctx) }

func (w *hubspotWriter) release(ctx context.Context) error {
	if w.budget == nil || w.released {
		return nil
	}
	w.released = true
	return w.budget.Release(context.WithoutCancel(ctx))
}

// readProperties reads the object's property catalog.
func (w *hubspotWriter) readProperties(ctx context.Context) (map[string]*hsProperty, error) {
	u, err := w.client.Resolve("/crm/v3/properties/" + w.object)
	if err != nil {
		return nil, err
	}
	resp, err := w.client.Do(ctx, httpkit.Request{Method: http.MethodGet, URL: u, Classify: w.classify})
	if err != nil {
		return nil, fmt.Errorf("read its properties: %w", err)
	}
	if resp.Status != http.StatusOK {
		return nil, fmt.Errorf("read its properties: %d %s: %s", resp.Status, http.StatusText(resp.Status), errorMessage(resp.Body, resp.Status, w.client.Scrubber()))
	}
	var doc struct {
		Results []*hsProperty `json:"results"`
	}
	if err := decodeInto(resp.Body, &doc); err != nil {
		return nil, fmt.Errorf("read its properties: %w", err)
	}
	out := make(map[string]*hsProperty, len(doc.Results))
	for _, p := range doc.Results {
		out[p.Name] = p
	}
	return out, nil
}

// checkSchema holds the mapped fields to the catalog: each a property,
// writable, of a type the field can fill; id_property one with unique
// values.
func (w *hubspotWriter) checkSchema(schema *arrow.Schema) error {
	var errs []string
	for _, f := range schema.Fields() {
		p := w.props[f.Name]
		switch {
		case p == nil:
			errs = append(errs, fmt.Sprintf("mapped field %s is not a property of %s%s", f.Name, w.object, w.suggest(f.Name)))
		case f.Name == w.idProperty:
			if !p.HasUniqueValue && !(w.object == "contacts" && f.Name == "email") {
				errs = append(errs, fmt.Sprintf("id_property %s does not have unique values in %s: records cannot be upserted by it (make it unique in HubSpot, or key by a property that is)", f.Name, w.object))
			}
		case p.readOnly():
			errs = append(errs, fmt.Sprintf("property %s is read-only in %s: HubSpot sets it itself", f.Name, w.object))
		default:
			if why := p.fits(f.Type); why != "" {
				errs = append(errs, why)
			}
		}
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "; "))
	}
	return nil
}

// suggest names the catalog's closest property to a missing one.
func (w *hubspotWriter) suggest(name string) string {
	names := make([]string, 0, len(w.props))
	for n := range w.props {
		names = append(names, n)
	}
	best := spec.Closest(strings.ToLower(name), names)
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %s?)", best)
}
