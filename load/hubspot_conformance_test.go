package load_test

import (
	"bytes"
	"context"
	"encoding/json"
	"regexp"
	"strconv"
	stdsync "sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/hoist-dev/hoist/internal/hubspotconn"
	"github.com/hoist-dev/hoist/internal/hubspottest"
	"github.com/hoist-dev/hoist/load"
	"github.com/hoist-dev/hoist/load/loadtest"
	"github.com/hoist-dev/hoist/sync/spec"
)

// TestHubSpotConformance runs the destination suite against the fake
// HubSpot: each object of the suite is a custom object type whose
// properties are made from the schema the suite writes (the key, id, a
// property with unique values, as id_property), read back from the fake's
// records with each property's string turned into the column's type.
//
// It claims upsert, update and mirror (insert would be batch/create, which
// fails a whole batch when one record exists; append and replace HubSpot
// cannot do). Not claimed: NaN and infinities (no number HubSpot stores:
// such a row is rejected unsent), the empty string and empty binary (an
// empty value clears a HubSpot property: it reads back as NULL), and
// timestamps finer than milliseconds (HubSpot datetimes hold milliseconds).
func TestHubSpotConformance(t *testing.T) {
	t.Parallel()
	const token = "pat-na1-conformance-0000"
	srv := hubspottest.New(hubspottest.Config{Token: token, TenSecondly: -1, Daily: -1})
	t.Cleanup(srv.Close)
	retries := 2
	conn := &spec.Connection{Name: "hubspot-conformance", Type: hubspotconn.Type, Config: &hubspotconn.Config{
		Token: spec.Secret(token), BaseURL: srv.URL, RequestsPer10s: 100_000, MaxRetries: &retries,
		Timeout: spec.Duration(10 * time.Second),
	}}
	h := &hsObjects{srv: srv, defined: map[string]map[string]bool{}, refuse: map[string]bool{}}
	loadtest.Run(t, loadtest.Harness{
		Open: func(t *testing.T) load.Destination {
			d, err := load.Open(context.Background(), conn, "")
			if err != nil {
				t.Fatal(err)
			}
			return d
		},
		Target: func(_ *testing.T, object, mode string, key []string, schema *arrow.Schema) load.Target {
			h.define(object, schema)
			return load.Target{Dest: &spec.Dest{Connection: conn.Name, Object: object, Mode: mode, PrimaryKey: key,
				Config: &load.HubSpotDest{}}, Schema: schema}
		},
		Read:  h.read,
		Modes: []string{spec.ModeUpdate, spec.ModeUpsert, spec.ModeMirror},
		Types: loadtest.Without(loadtest.AllTypes(), loadtest.FloatSpecial, loadtest.EmptyString, loadtest.EmptyBinary,
			loadtest.TimestampMicros, loadtest.TimestampNanos),
		// a property validation rule (REGEX) refuses the value: HubSpot
		// answers 207 naming the record, and only that row is rejected
		Reject: func(_ *testing.T, object string) string {
			h.mu.Lock()
			h.refuse[object] = true
			h.mu.Unlock()
			return "refused!by-the-rule"
		},
		Known: map[string]string{
			"values/a 1 MB value": "HubSpot stores at most 65,536 characters in a property: the row is rejected (unsent, with that reason), not stored",
		},
	})
	if st := srv.Stats(); st.Invalid != 0 {
		t.Errorf("%d requests were invalid for HubSpot's request schemas: %v", st.Invalid, st.InvalidReasons)
	}
}

// hsObjects defines the suite's objects in the fake and reads them back.
type hsObjects struct {
	srv     *hubspottest.Server
	mu      stdsync.Mutex
	defined map[string]map[string]bool // object → property defined
	refuse  map[string]bool            // objects whose name has the REGEX rule
}

var noBang = regexp.MustCompile(`^[^!]*$`)

// define adds the schema's fields the object lacks as properties typed
// after their Arrow types.
func (h *hsObjects) define(object string, schema *arrow.Schema) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.defined[object] == nil {
		h.defined[object] = map[string]bool{}
	}
	var props []hubspottest.Property
	for _, f := range schema.Fields() {
		if h.defined[object][f.Name] {
			continue
		}
		h.defined[object][f.Name] = true
		var p hubspottest.Property
		switch id := f.Type.ID(); {
		case f.Name == "id":
			p = hubspottest.UniqueProperty("id")
		case arrow.IsInteger(id) || arrow.IsFloating(id) || id == arrow.DECIMAL128 || id == arrow.DECIMAL256:
			p = hubspottest.NumberProperty(f.Name)
		case id == arrow.BOOL:
			p = hubspottest.BoolProperty(f.Name)
		case id == arrow.DATE32 || id == arrow.DATE64:
			p = hubspottest.DateProperty(f.Name)
		case id == arrow.TIMESTAMP:
			p = hubspottest.DateTimeProperty(f.Name)
		default:
			p = hubspottest.StringProperty(f.Name)
		}
		if f.Name == "name" && h.refuse[object] {
			p.Pattern = noBang
		}
		props = append(props, p)
	}
	h.srv.DefineObject(object, props...)
}

// read turns the object's records into rows of schema: numbers and
// booleans as JSON literals, dates from their epoch milliseconds, the rest
// (text, ISO datetimes, base64 binary) as strings, a missing property NULL.
func (h *hsObjects) read(t *testing.T, object string, schema *arrow.Schema, mem memory.Allocator) []arrow.RecordBatch {
	t.Helper()
	recs := h.srv.Records(object)
	if len(recs) == 0 {
		return nil
	}
	rows := make([]map[string]any, 0, len(recs))
	for _, r := range recs {
		row := map[string]any{}
		for _, f := range schema.Fields() {
			v, ok := r.Properties[f.Name]
			if !ok {
				row[f.Name] = nil
				continue
			}
			switch id := f.Type.ID(); {
			case arrow.IsInteger(id) || arrow.IsFloating(id) || id == arrow.DECIMAL128 || id == arrow.DECIMAL256:
				row[f.Name] = json.Number(v)
			case id == arrow.BOOL:
				row[f.Name] = v == "true"
			case id == arrow.DATE32 || id == arrow.DATE64:
				ms, err := strconv.ParseInt(v, 10, 64)
				if err != nil {
					t.Fatalf("%s.%s: date %q is not epoch milliseconds", object, f.Name, v)
				}
				row[f.Name] = time.UnixMilli(ms).UTC().Format(time.DateOnly)
			default:
				row[f.Name] = v
			}
		}
		rows = append(rows, row)
	}
	b, err := json.Marshal(rows)
	if err != nil {
		t.Fatal(err)
	}
	rec, _, err := array.RecordFromJSON(mem, schema, bytes.NewReader(b))
	if err != nil {
		t.Fatalf("read back the records of %s as %s: %v", object, schema, err)
	}
	return []arrow.RecordBatch{rec}
}
