package load

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/hoist-dev/hoist/connector"
	"github.com/hoist-dev/hoist/internal/quota"
	"github.com/hoist-dev/hoist/internal/salesforceconn"
	"github.com/hoist-dev/hoist/sync/spec"
)

// withBudget returns a copy of a whose requests spend from b.
func (a *sfAPI) withBudget(b *quota.Budget) *sfAPI {
	cp := *a
	cp.client = a.client.WithBudget(b)
	cp.upload = a.upload.WithBudget(b)
	return &cp
}

// describe reads the object's fields (GET /sobjects/{object}/describe).
func (w *sfWriter) describe(ctx context.Context) (map[string]*sfField, error) {
	var doc struct {
		Name   string     `json:"name"`
		Fields []*sfField `json:"fields"`
	}
	resp, err := w.api.json(ctx, sfRequest{method: http.MethodGet, path: "/sobjects/" + w.object + "/describe"}, &doc)
	if resp != nil && resp.Status == http.StatusNotFound {
		return nil, fmt.Errorf("no sObject %s in the org (or the user may not see it)", w.object)
	}
	if err != nil {
		return nil, fmt.Errorf("describe: %w", err)
	}
	out := make(map[string]*sfField, len(doc.Fields))
	for _, f := range doc.Fields {
		out[strings.ToLower(f.Name)] = f
	}
	return out, nil
}

// checkSchema holds the mapped fields to describe: each a field of the
// object, writable as the mode needs (createable for new records,
// updateable for changes), of a type the column can fill; the key an
// external ID field.
func (w *sfWriter) checkSchema(schema *arrow.Schema) error {
	var errs []string
	mode := w.target.Dest.Mode
	for _, f := range schema.Fields() {
		sf := w.field(f.Name)
		switch {
		case sf == nil:
			errs = append(errs, fmt.Sprintf("mapped field %s is not a field of %s%s", f.Name, w.object, w.suggest(f.Name)))
		case strings.EqualFold(f.Name, w.ext):
			if !sf.ExternalID && !sf.IDLookup {
				errs = append(errs, fmt.Sprintf("the key %s is not an external ID field of %s: records cannot be upserted by it (tick External ID on the field in Setup)", f.Name, w.object))
			}
		case !sf.Createable && mode != spec.ModeUpdate:
			errs = append(errs, fmt.Sprintf("field %s of %s is not createable (read-only, a formula, or hidden from the user by field-level security)", f.Name, w.object))
		case !sf.Updateable && mode != spec.ModeInsert:
			errs = append(errs, fmt.Sprintf("field %s of %s is not updateable: changes to it cannot be sent", f.Name, w.object))
		default:
			if why := sf.fits(f.Type); why != "" {
				errs = append(errs, why)
			}
		}
	}
	if w.cfg.GroupBy != "" && w.field(w.cfg.GroupBy) == nil {
		errs = append(errs, fmt.Sprintf("group_by %s is not a field of %s", w.cfg.GroupBy, w.object))
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "; "))
	}
	return nil
}

func (w *sfWriter) suggest(name string) string {
	names := make([]string, 0, len(w.fields))
	for _, f := range w.fields {
		names = append(names, f.Name)
	}
	if best := spec.Closest(name, names); best != "" {
		return fmt.Sprintf(" (did you mean %s?)", best)
	}
	return ""
}

func init() {
	checkers[salesforceconn.Type] = checkSalesforce
	syncCheckers[salesforceconn.Type] = checkSalesforceSync
}

// checkSalesforce runs the connection's OAuth flow and reads the org's
// limits: a refused key or secret, or a user not pre-authorized, fails.
func checkSalesforce(ctx context.Context, conn *spec.Connection, dir string) (string, error) {
	cfg, err := connector.As[*salesforceconn.Config](conn.Config)
	if err != nil {
		return "", err
	}
	api, err := newSFAPI(conn.Name, cfg, dir)
	if err != nil {
		return "", err
	}
	defer api.client.Close()
	var lim map[string]struct {
		Max       int64 `json:"Max"`
		Remaining int64 `json:"Remaining"`
	}
	if _, err := api.json(ctx, sfRequest{method: http.MethodGet, path: "/limits"}, &lim); err != nil {
		return "", err
	}
	if r, ok := lim["DailyApiRequests"]; ok && r.Max > 0 && r.Remaining <= r.Max/10 {
		return fmt.Sprintf("only %d of the org's %d daily API requests are left: a run stops when a tenth is left (daily_budget)", r.Remaining, r.Max), nil
	}
	return "", nil
}

// checkSalesforceSync opens the sync's destination to check it only: the
// object exists and every field the mappings name is one of its fields,
// writable as the mode needs, the key an external ID (plan, which knows
// the mapped columns' types, checks those too).
func checkSalesforceSync(ctx context.Context, conn *spec.Connection, dir string, s *spec.Sync) error {
	d, err := Open(ctx, conn, dir)
	if err != nil {
		return err
	}
	defer d.Close()
	var fields []arrow.Field
	seen := map[string]bool{}
	add := func(name string) {
		if name != "" && !seen[strings.ToLower(name)] {
			seen[strings.ToLower(name)] = true
			fields = append(fields, arrow.Field{Name: name, Type: arrow.BinaryTypes.String, Nullable: true})
		}
	}
	for _, k := range s.Destination.PrimaryKey {
		add(k)
	}
	for _, m := range s.Mappings {
		add(m.To)
	}
	w, err := d.Open(ctx, Target{Sync: s.Name, Dest: &s.Destination, Schema: arrow.NewSchema(fields, nil), DryRun: true})
	if err != nil {
		return err
	}
	return w.Abort(ctx)
}
