package load_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	stdsync "sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/hoist-dev/hoist/internal/salesforceconn"
	"github.com/hoist-dev/hoist/internal/salesforcetest"
	"github.com/hoist-dev/hoist/load"
	"github.com/hoist-dev/hoist/load/loadtest"
	"github.com/hoist-dev/hoist/sync/spec"
)

// TestSalesforceConformance runs the destination suite against the fake
// org twice: once as the suite's batches come (under bulk_threshold, so
// through sObject Collections) and once with bulk_threshold 1 (every batch
// a Bulk API 2.0 job: upload, close, poll, result CSVs; a row with a
// carriage return goes through collections even then). Each object of the
// suite is a custom object declared in the fake from the schema the suite
// writes, read back from the fake's records.
//
// Salesforce has no field named id (Id is the record ID hoist keeps in its
// state, never a key), so the suite's key column is mapped to the external
// ID field Key__c, as a spec's mappings would (`from: id, to: Key__c`):
// sfMapped renames the target's and every batch's fields, zero-copy.
//
// It claims insert, update, upsert and mirror (append and replace
// Salesforce cannot do: records are keyed by an external ID, and nothing
// swaps an object's records atomically). Not claimed, because Salesforce
// cannot store them: 64-bit integers, float32 and float64 and
// decimal128(38,9) (a Number field holds at most 18 digits: MaxInt64,
// 1e21, MaxFloat64, the subnormals and 38-digit decimals do not fit), NaN
// and the infinities (no number in JSON or Salesforce), bool (a checkbox
// is never NULL: it reads back false), the empty string and empty binary
// (Salesforce keeps no empty strings: "" empties the field), dates (valid
// from 1700-01-01 to 4000-12-31; the suite writes 0001-01-01 and
// 9999-12-31) and timestamps (datetimes hold milliseconds and the same
// 1700 to 4000 range). Binary is claimed as base64 in a Long Text Area.
func TestSalesforceConformance(t *testing.T) {
	t.Parallel()
	for _, v := range []struct {
		name      string
		threshold int
	}{
		{"collections", 0},
		{"bulk", 1},
	} {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			runSalesforceConformance(t, "sf-conformance-"+v.name, v.threshold)
		})
	}
}

func runSalesforceConformance(t *testing.T, name string, threshold int) {
	const clientID, secret = "3MVG9conformanceConsumerKey", "conformance-consumer-secret"
	srv := salesforcetest.New(salesforcetest.Config{ClientID: clientID, ClientSecret: secret})
	t.Cleanup(srv.Close)
	retries := 2
	conn := &spec.Connection{Name: name, Type: salesforceconn.Type, Config: &salesforceconn.Config{
		Auth: salesforceconn.AuthClientCredentials, InstanceURL: srv.URL, ClientID: clientID, ClientSecret: spec.Secret(secret),
		PollInterval: spec.Duration(5 * time.Millisecond), Timeout: spec.Duration(10 * time.Second), MaxRetries: &retries,
	}}
	h := &sfObjects{srv: srv, defined: map[string]bool{}, refuse: map[string]bool{}}
	loadtest.Run(t, loadtest.Harness{
		Open: func(t *testing.T) load.Destination {
			d, err := load.Open(context.Background(), conn, "")
			if err != nil {
				t.Fatal(err)
			}
			return sfMapped{d}
		},
		Target: func(_ *testing.T, object, mode string, key []string, schema *arrow.Schema) load.Target {
			h.define(object, schema)
			var pk []string
			for _, k := range key {
				pk = append(pk, sfFieldOf(k))
			}
			return load.Target{Dest: &spec.Dest{Connection: conn.Name, Object: object, Mode: mode, PrimaryKey: pk,
				Config: &load.SalesforceDest{BulkThreshold: threshold}}, Schema: schema}
		},
		Read:  h.read,
		Modes: []string{spec.ModeInsert, spec.ModeUpdate, spec.ModeUpsert, spec.ModeMirror},
		Types: []loadtest.Type{loadtest.Int8, loadtest.Int16, loadtest.Int32, loadtest.Uint8, loadtest.Uint16, loadtest.Uint32,
			loadtest.DecimalSmall, loadtest.String, loadtest.LargeString, loadtest.Binary},
		// a validation rule on the name field refuses the value: Salesforce
		// fails that record alone (allOrNone false; a failedResults row of
		// a job), and only that row is rejected
		Reject: func(_ *testing.T, object string) string {
			h.mu.Lock()
			h.refuse[object] = true
			h.mu.Unlock()
			return "refused!by-the-rule"
		},
		Known: map[string]string{
			"values/a 1 MB value": "Salesforce's largest text field (Long Text Area) holds 131,072 characters: the row is rejected unsent, with that reason",
		},
	})
	st := srv.Stats()
	if st.Invalid != 0 {
		t.Errorf("%d requests were invalid for Salesforce: %v", st.Invalid, st.InvalidReasons)
	}
	// each variant went the way it means to (bulk: only the rows a job
	// cannot carry, those with a carriage return, through collections)
	if bulk := threshold == 1; bulk != (st.Jobs > 0) || bulk != (st.BulkRecords > st.CollectionRecords) {
		t.Errorf("bulk_threshold %d: %d jobs, %d records through Bulk, %d through collections", threshold, st.Jobs, st.BulkRecords, st.CollectionRecords)
	}
}

// sfKeyField is the external ID field the suite's key column maps to.
const sfKeyField = "Key__c"

// sfFieldOf is the Salesforce field a suite column maps to.
func sfFieldOf(column string) string {
	if column == "id" {
		return sfKeyField
	}
	return column
}

// sfMapSchema is schema with its fields renamed as the mappings do.
func sfMapSchema(schema *arrow.Schema) *arrow.Schema {
	fields := schema.Fields()
	for i := range fields {
		fields[i].Name = sfFieldOf(fields[i].Name)
	}
	return arrow.NewSchema(fields, nil)
}

// sfMapped opens writers whose targets and batches carry the mapped field
// names, as the pipeline builds them from a sync's mappings.
type sfMapped struct{ load.Destination }

func (d sfMapped) Open(ctx context.Context, t load.Target) (load.Writer, error) {
	t.Schema = sfMapSchema(t.Schema)
	w, err := d.Destination.Open(ctx, t)
	if err != nil {
		return nil, err
	}
	return sfMappedWriter{w}, nil
}

type sfMappedWriter struct{ load.Writer }

func (w sfMappedWriter) Write(ctx context.Context, b load.Batch) (load.Result, error) {
	rec := b.Record
	b.Record = array.NewRecordBatch(sfMapSchema(rec.Schema()), rec.Columns(), rec.NumRows())
	defer b.Record.Release()
	return w.Writer.Write(ctx, b)
}

// sfObjects declares the suite's objects in the fake and reads them back.
type sfObjects struct {
	srv     *salesforcetest.Server
	mu      stdsync.Mutex
	defined map[string]bool // object → declared
	refuse  map[string]bool // objects whose name field has the validation rule
}

var sfNoBang = regexp.MustCompile(`!`)

// define declares object with a field for each of the schema's columns,
// typed as an admin would for its Arrow type: the key a text external ID,
// numbers Number fields, text and binary (base64) a Long Text Area.
func (h *sfObjects) define(object string, schema *arrow.Schema) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.defined[object] {
		return
	}
	h.defined[object] = true
	o := salesforcetest.Object{Name: object}
	for _, f := range schema.Fields() {
		sf := salesforcetest.Field{Name: sfFieldOf(f.Name)}
		switch id := f.Type.ID(); {
		case f.Name == "id":
			sf.Type, sf.Length, sf.ExternalID = "string", 80, true
		case arrow.IsInteger(id) || arrow.IsFloating(id) || id == arrow.DECIMAL128 || id == arrow.DECIMAL256:
			sf.Type = "double"
		case id == arrow.BOOL:
			sf.Type = "boolean"
		case id == arrow.DATE32 || id == arrow.DATE64:
			sf.Type = "date"
		case id == arrow.TIMESTAMP:
			sf.Type = "datetime"
		default:
			sf.Type, sf.Length = "textarea", 131_072
		}
		if f.Name == "name" && h.refuse[object] {
			sf.Rule = sfNoBang
		}
		o.Fields = append(o.Fields, sf)
	}
	h.srv.DefineObject(o)
}

// read turns the object's records into rows of schema: numbers and
// checkboxes as JSON literals, the rest (text, base64 binary, dates) as
// the strings Salesforce returns, a field not set NULL.
func (h *sfObjects) read(t *testing.T, object string, schema *arrow.Schema, mem memory.Allocator) []arrow.RecordBatch {
	t.Helper()
	recs := h.srv.Records(object)
	if len(recs) == 0 {
		return nil
	}
	rows := make([]map[string]any, 0, len(recs))
	for _, r := range recs {
		row := map[string]any{}
		for _, f := range schema.Fields() {
			v, ok := r[sfFieldOf(f.Name)]
			switch id := f.Type.ID(); {
			case !ok:
				row[f.Name] = nil
			case arrow.IsInteger(id) || arrow.IsFloating(id) || id == arrow.DECIMAL128 || id == arrow.DECIMAL256:
				row[f.Name] = json.Number(v)
			case id == arrow.BOOL:
				row[f.Name] = v == "true"
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
		t.Fatalf("read back the records of %s as %s: %v", object, schema, fmt.Sprint(err))
	}
	return []arrow.RecordBatch{rec}
}
