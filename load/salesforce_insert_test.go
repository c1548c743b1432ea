package load_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/hoist-dev/hoist/internal/salesforceconn"
	"github.com/hoist-dev/hoist/internal/salesforcetest"
	"github.com/hoist-dev/hoist/load"
	"github.com/hoist-dev/hoist/sync/spec"
)

// TestSalesforceInsertDuplicates: in mode insert, a row whose external ID
// a record holds already is left alone and learns that record's ID (what
// OpInsert means; the conformance suite's insert checks), while a row
// whose other unique field duplicates another record's is still rejected
// with Salesforce's DUPLICATE_VALUE: only a duplicate of the key means
// "the record exists". Through collections and through a Bulk job.
func TestSalesforceInsertDuplicates(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		threshold int
	}{
		{"collections", 0},
		{"bulk", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			const clientID, secret = "3MVG9insertDuplicates", "insert-duplicates-secret"
			srv := salesforcetest.New(salesforcetest.Config{ClientID: clientID, ClientSecret: secret, Objects: []salesforcetest.Object{{
				Name: "Member__c", KeyPrefix: "a07", Fields: []salesforcetest.Field{
					{Name: "Key__c", Type: "string", Length: 20, ExternalID: true},
					{Name: "Email__c", Type: "email", ExternalID: true}, // unique: an external ID field is
					{Name: "Name", Type: "string"},
				}}}})
			t.Cleanup(srv.Close)
			held := srv.Put("Member__c", map[string]string{"Key__c": "K1", "Email__c": "one@example.com", "Name": "first"})[0]
			conn := &spec.Connection{Name: "sf-insert-dup-" + tc.name, Type: salesforceconn.Type, Config: &salesforceconn.Config{
				Auth: salesforceconn.AuthClientCredentials, InstanceURL: srv.URL, ClientID: clientID, ClientSecret: spec.Secret(secret),
				PollInterval: spec.Duration(5 * time.Millisecond)}}
			d, err := load.Open(context.Background(), conn, "")
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			schema := arrow.NewSchema([]arrow.Field{{Name: "Key__c", Type: arrow.BinaryTypes.String},
				{Name: "Email__c", Type: arrow.BinaryTypes.String}, {Name: "Name", Type: arrow.BinaryTypes.String}}, nil)
			w, err := d.Open(context.Background(), load.Target{Sync: "members", Schema: schema, Dest: &spec.Dest{Connection: conn.Name,
				Object: "Member__c", Mode: spec.ModeInsert, PrimaryKey: []string{"Key__c"}, Config: &load.SalesforceDest{BulkThreshold: tc.threshold}}})
			if err != nil {
				t.Fatal(err)
			}
			b := array.NewRecordBuilder(memory.NewGoAllocator(), schema)
			defer b.Release()
			for _, r := range [][3]string{
				{"K1", "changed@example.com", "changed"}, // the key is held: left alone
				{"K2", "one@example.com", "second"},      // another record's email: rejected
				{"K3", "three@example.com", "third"},     // new
			} {
				for c, v := range r {
					b.Field(c).(*array.StringBuilder).Append(v)
				}
			}
			rec := b.NewRecordBatch()
			defer rec.Release()
			res, err := w.Write(context.Background(), load.Batch{Op: load.OpInsert, Record: rec})
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Commit(context.Background()); err != nil {
				t.Fatal(err)
			}
			if len(res.Failed) != 1 || res.Failed[0].Row != 1 || !strings.Contains(res.Failed[0].Msg, "DUPLICATE_VALUE") {
				t.Errorf("rejected %+v, want row 1 alone, with DUPLICATE_VALUE", res.Failed)
			}
			if len(res.IDs) != 3 || res.IDs[0] != held || res.IDs[2] == "" {
				t.Errorf("IDs %q, want the held record's %s for row 0 and a new one for row 2", res.IDs, held)
			}
			if got := srv.Lookup("Member__c", "Key__c", "K1"); got["Name"] != "first" || got["Email__c"] != "one@example.com" {
				t.Errorf("the held record K1 is %v: the insert changed it", got)
			}
			if srv.Lookup("Member__c", "Key__c", "K2") != nil || srv.Lookup("Member__c", "Key__c", "K3") == nil || srv.Count("Member__c") != 2 {
				t.Errorf("the org holds %v, want K1 and K3", srv.Records("Member__c"))
			}
		})
	}
}
