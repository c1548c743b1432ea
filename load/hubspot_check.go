package load

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/hoist-dev/hoist/connector"
	"github.com/hoist-dev/hoist/internal/httpkit"
	"github.com/hoist-dev/hoist/internal/hubspotconn"
	"github.com/hoist-dev/hoist/sync/spec"
)

func init() {
	checkers[hubspotconn.Type] = checkHubSpot
	syncCheckers[hubspotconn.Type] = checkHubSpotSync
}

// checkHubSpot asks for the contacts property catalog: a refused token is
// an error; a token without the contacts scope is still a working token.
func checkHubSpot(ctx context.Context, conn *spec.Connection, _ string) (string, error) {
	cfg, err := connector.As[*hubspotconn.Config](conn.Config)
	if err != nil {
		return "", err
	}
	c, err := httpkit.NewClient(conn.Name, cfg.HTTP())
	if err != nil {
		return "", err
	}
	defer c.Close()
	u, err := c.Resolve("/crm/v3/properties/contacts")
	if err != nil {
		return "", err
	}
	resp, err := c.WithPacer(cfg.Window(conn.Name)).Do(ctx, httpkit.Request{Method: http.MethodGet, URL: u, DiscardSuccessBody: true})
	if err != nil {
		return "", err
	}
	switch resp.Status {
	case http.StatusUnauthorized:
		return "", fmt.Errorf("HubSpot refused the token (401): %s", errorMessage(resp.Body, resp.Status, c.Scrubber()))
	case http.StatusForbidden:
		return "the token works, but lacks the contacts scope", nil
	}
	return "", nil
}

// checkHubSpotSync opens the sync's destination to check it only: the
// object exists, its id_property has unique values, and every field the
// mappings name is a writable property (types are checked by plan, which
// knows the mapped columns' types).
func checkHubSpotSync(ctx context.Context, conn *spec.Connection, dir string, s *spec.Sync) error {
	d, err := Open(ctx, conn, dir)
	if err != nil {
		return err
	}
	defer d.Close()
	var fields []arrow.Field
	seen := map[string]bool{}
	add := func(name string) {
		if name != "" && !seen[name] {
			seen[name] = true
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

var _ ValueChecker = (*hubspotWriter)(nil)

// CheckValues implements ValueChecker with the checks Write makes before it
// sends a row (hsValue): a value that is none of its property's options, a
// number or boolean that is not one, a text too long.
func (w *hubspotWriter) CheckValues(rec arrow.RecordBatch, problem func(row int, field, value, why string)) {
	if w.props == nil {
		return // check_properties: false
	}
	for c, f := range rec.Schema().Fields() {
		p := w.props[f.Name]
		if p == nil {
			continue
		}
		col := rec.Column(c)
		for i := 0; i < int(rec.NumRows()); i++ {
			if col.IsNull(i) {
				continue
			}
			v, err := hsText(col, i, p)
			if err == nil {
				if why := p.check(v); why != "" {
					err = errors.New(why)
				}
			}
			if err != nil {
				problem(i, f.Name, v, err.Error())
			}
		}
	}
}
