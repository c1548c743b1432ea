package load_test

import (
	"context"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/hoist-dev/hoist/internal/natsconn"
	"github.com/hoist-dev/hoist/internal/natstest"
	"github.com/hoist-dev/hoist/load"
	"github.com/hoist-dev/hoist/sync/spec"
)

func idRecord(t *testing.T, ids ...int64) arrow.RecordBatch {
	t.Helper()
	sch := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}, {Name: "name", Type: arrow.BinaryTypes.String}}, nil)
	b := array.NewRecordBuilder(memory.NewGoAllocator(), sch)
	defer b.Release()
	for _, id := range ids {
		b.Field(0).(*array.Int64Builder).Append(id)
		b.Field(1).(*array.StringBuilder).Append("row " + strings.Repeat("x", int(id%3)))
	}
	return b.NewRecordBatch()
}

// keyOnlyRecord is a delete batch's record: the id column alone.
func keyOnlyRecord(t *testing.T, ids ...int64) arrow.RecordBatch {
	t.Helper()
	sch := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}}, nil)
	b := array.NewRecordBuilder(memory.NewGoAllocator(), sch)
	defer b.Release()
	b.Field(0).(*array.Int64Builder).AppendValues(ids, nil)
	return b.NewRecordBatch()
}

func openNATSWriter(t *testing.T, srv *natstest.Server, subject, run string) (load.Destination, load.Writer, error) {
	t.Helper()
	conn := &spec.Connection{Name: "js", Type: natsconn.Type, Config: &natsconn.Config{URL: spec.Secret(srv.URL)}}
	d, err := load.Open(context.Background(), conn, "")
	if err != nil {
		t.Fatal(err)
	}
	rec := idRecord(t, 1)
	defer rec.Release()
	w, err := d.Open(context.Background(), load.Target{Sync: "s", RunID: run, Schema: rec.Schema(),
		Dest: &spec.Dest{Object: "o", Mode: spec.ModeUpsert, PrimaryKey: []string{"id"}, Config: &load.NATSDest{Subject: subject}}})
	if err != nil {
		d.Close()
	}
	return d, w, err
}

// TestNATSResendIsDropped sends one batch in a run, then again in a
// second run (a rerun after a crash): JetStream acknowledges the second
// as duplicates of the first (Nats-Msg-Id), so the stream holds each
// message once.
func TestNATSResendIsDropped(t *testing.T) {
	srv := natstest.New(t)
	subject := srv.Stream(t, "dedup")
	rec := idRecord(t, 1, 2, 3)
	defer rec.Release()
	for _, run := range []string{"run-1", "run-2"} {
		d, w, err := openNATSWriter(t, srv, subject, run)
		if err != nil {
			t.Fatal(err)
		}
		if res, err := w.Write(context.Background(), load.Batch{Op: load.OpUpsert, Record: rec}); err != nil || len(res.Failed) > 0 {
			t.Fatalf("%s: %v %v", run, err, res.Failed)
		}
		d.Close()
	}
	msgs := srv.Messages(t, "dedup")
	if len(msgs) != 3 {
		t.Fatalf("the stream holds %d messages after a resend, want 3", len(msgs))
	}
}

// TestNATSNoStream fails the run's open, naming the subject, when no
// stream captures it: every publish would otherwise wait for nothing.
func TestNATSNoStream(t *testing.T) {
	srv := natstest.New(t)
	_, _, err := openNATSWriter(t, srv, srv.Prefix+".nostream", "r")
	if err == nil || !strings.Contains(err.Error(), "no JetStream stream captures subject \""+srv.Prefix+".nostream\"") {
		t.Fatalf("open: %v", err)
	}
}

// TestNATSConnectionLost fails the batch, not its rows, when the
// connection is gone.
func TestNATSConnectionLost(t *testing.T) {
	srv := natstest.New(t)
	subject := srv.Stream(t, "lost")
	d, w, err := openNATSWriter(t, srv, subject, "r")
	if err != nil {
		t.Fatal(err)
	}
	d.Close() // closes the client connection under the writer
	rec := idRecord(t, 1, 2)
	defer rec.Release()
	res, err := w.Write(context.Background(), load.Batch{Op: load.OpUpsert, Record: rec})
	if err == nil || len(res.Failed) > 0 {
		t.Fatalf("write on a closed connection: %v, %+v", err, res.Failed)
	}
}

// TestNATSSecretsNotPrinted: a wrong password's error names the server,
// never the password.
func TestNATSSecretsNotPrinted(t *testing.T) {
	url := "nats://hoist:s3cret-pw@127.0.0.1:1" // nothing listens: the error must still not print it
	conn := &spec.Connection{Name: "js", Type: natsconn.Type, Config: &natsconn.Config{URL: spec.Secret(url), Token: "t0ken-value"}}
	_, err := load.Open(context.Background(), conn, "")
	if err == nil {
		t.Fatal("connected to a port nothing listens on")
	}
	if strings.Contains(err.Error(), "127.0.0.1:1") == false || (strings.Contains(err.Error(), "s3cret-pw") || strings.Contains(err.Error(), "t0ken-value")) {
		t.Fatalf("error prints a secret: %v", err)
	}
}
