package load

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/hoist-dev/hoist/connector"
	"github.com/hoist-dev/hoist/internal/filefmt"
	"github.com/hoist-dev/hoist/sync/spec"
)

// streamRecord is a record of many types, dotted names among them, with
// awkward values: the stream's direct JSON writer must say exactly what
// the http destination's encoding/json path says.
func streamRecord(t *testing.T) arrow.RecordBatch {
	t.Helper()
	mem := memory.NewGoAllocator()
	sch := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "p.name", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "p.deep.n", Type: arrow.PrimitiveTypes.Uint64, Nullable: true},
		{Name: "f", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "f4", Type: arrow.PrimitiveTypes.Float32, Nullable: true},
		{Name: "ok", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
		{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true},
		{Name: "d", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
		{Name: "bin", Type: arrow.BinaryTypes.Binary, Nullable: true},
		{Name: "dec", Type: &arrow.Decimal128Type{Precision: 20, Scale: 2}, Nullable: true},
		{Name: "i8", Type: arrow.PrimitiveTypes.Int8, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(mem, sch)
	defer b.Release()
	texts := []string{"plain", "quote \" back\\slash", "ctl \x00\x01\x1f tab\t nl\n cr\r", "<b>&amp;</b>", "bad utf8 \xff\xfe", "ls\u2028ps\u2029", "🚀 é e\u0301"}
	floats := []float64{0.1, -1.0 / 3, math.MaxFloat64, math.SmallestNonzeroFloat64, 1e21, math.NaN(), math.Inf(-1)}
	for i, s := range texts {
		b.Field(0).(*array.Int64Builder).Append(int64(i) - 3)
		b.Field(1).(*array.StringBuilder).Append(s)
		b.Field(2).(*array.Uint64Builder).Append(math.MaxUint64 - uint64(i))
		b.Field(3).(*array.Float64Builder).Append(floats[i])
		b.Field(4).(*array.Float32Builder).Append(float32(floats[i%3]))
		b.Field(5).(*array.BooleanBuilder).Append(i%2 == 0)
		b.Field(6).(*array.TimestampBuilder).Append(arrow.Timestamp(int64(i) * 1_700_000_000_123_456))
		b.Field(7).(*array.Date32Builder).Append(arrow.Date32(int32(i) * 9000))
		b.Field(8).(*array.BinaryBuilder).Append([]byte{byte(i), 0, 0xff})
		n, _ := decimal128.FromString("-1234567890123456.78", 20, 2)
		b.Field(9).(*array.Decimal128Builder).Append(n)
		b.Field(10).(*array.Int8Builder).Append(int8(-128 + i))
	}
	b.Field(0).(*array.Int64Builder).Append(99)
	for c := 1; c < sch.NumFields(); c++ {
		b.Field(c).AppendNull()
	}
	return b.NewRecordBatch()
}

func TestStreamJSONMatchesEncodingJSON(t *testing.T) {
	rec := streamRecord(t)
	defer rec.Release()
	want, err := recordRows(rec)
	if err != nil {
		t.Fatal(err)
	}
	obj, err := newJSONObject(rec.Schema(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range int(rec.NumRows()) {
		got, err := obj.append(nil, rec, i)
		if err != nil {
			t.Fatalf("row %d: %v", i, err)
		}
		wantJSON, _ := marshalJSON(want[i])
		var g, w any
		if err := json.Unmarshal(got, &g); err != nil {
			t.Fatalf("row %d: invalid JSON %s: %v", i, got, err)
		}
		json.Unmarshal(wantJSON, &w)
		if !reflect.DeepEqual(g, w) {
			t.Errorf("row %d:\n got  %s\n want %s", i, got, wantJSON)
		}
		// numbers exactly as encoding/json would keep them
		if !strings.Contains(string(got), `"n":`+jsonNum(want[i], "p", "deep", "n")) {
			t.Errorf("row %d: uint64 not exact: %s", i, got)
		}
	}
}

func jsonNum(row map[string]any, path ...string) string {
	var v any = row
	for _, p := range path {
		v = v.(map[string]any)[p]
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func TestStreamStringEscapesAsEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "a", "line\nbreak\r\t", "\"", "\\", "\x00", "\x7f", "\u2028", "\xff", "a\xc3", "日本", "\U0010ffff", "</script>"} {
		got := filefmt.AppendJSONString(nil, s)
		want, _ := marshalJSON(s)
		if string(got) != string(want) {
			t.Errorf("%q: got %s want %s", s, got, want)
		}
	}
}

func TestStreamNestingConflict(t *testing.T) {
	sch := arrow.NewSchema([]arrow.Field{{Name: "a", Type: arrow.PrimitiveTypes.Int64}, {Name: "a.b", Type: arrow.PrimitiveTypes.Int64}}, nil)
	if _, err := newJSONObject(sch, nil); err == nil || !strings.Contains(err.Error(), "both a value and an object") {
		t.Fatalf("a and a.b: %v", err)
	}
}

// recordingPublisher stands in for a broker in the shared layer's own
// tests: it records what it is given and refuses what refuse says.
type recordingPublisher struct {
	got    []StreamMsg
	refuse func(StreamMsg) error
	fail   error
}

func (p *recordingPublisher) Publish(_ context.Context, _ StreamMeta, msgs []StreamMsg) ([]error, error) {
	if p.fail != nil {
		return nil, p.fail
	}
	out := make([]error, len(msgs))
	for i, m := range msgs {
		if p.refuse != nil {
			out[i] = p.refuse(m)
		}
		if out[i] == nil {
			p.got = append(p.got, m)
		}
	}
	return out, nil
}
func (p *recordingPublisher) Close() error { return nil }

type testStreamDest struct {
	StreamDest `yaml:",inline"`
	Topic      string
}

func (d *testStreamDest) Validate(connector.Dest, connector.Problems) {}
func (d *testStreamDest) topicText() string                           { return d.Topic }
func (d *testStreamDest) stream() StreamDest                          { return d.StreamDest }

func TestStreamWriter(t *testing.T) {
	rec := streamRecord(t)
	defer rec.Release()
	keyRec := func() arrow.RecordBatch { return rec.NewSlice(0, 3) }
	open := func(t *testing.T, pub *recordingPublisher, mode, format, topic string, key []string) Writer {
		t.Helper()
		d := &streamDest{kind: "test", name: "t", role: streamDestRole(nil), pub: pub, opts: streamOptions{
			checkTopic: func(s string) error {
				if strings.Contains(s, " ") {
					return errors.New("no spaces")
				}
				return nil
			}}}
		w, err := d.Open(context.Background(), Target{Sync: "s1", RunID: "run-1", Schema: rec.Schema(),
			Dest: &spec.Dest{Object: "obj", Mode: mode, PrimaryKey: key, Config: &testStreamDest{StreamDest{Format: format}, topic}}})
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	t.Run("envelope", func(t *testing.T) {
		pub := &recordingPublisher{}
		w := open(t, pub, spec.ModeMirror, "", "", []string{"id"})
		res, err := w.Write(context.Background(), Batch{Op: OpUpsert, Record: keyRec()})
		if err != nil || len(res.Failed) > 0 {
			t.Fatal(err, res.Failed)
		}
		m := pub.got[0]
		var env map[string]any
		if err := json.Unmarshal(m.Value, &env); err != nil {
			t.Fatalf("%s: %v", m.Value, err)
		}
		if env["op"] != "upsert" || env["sync"] != "s1" || env["run_id"] != "run-1" || m.Topic != "obj" || string(m.Key) != `{"id":-3}` || m.KeyText != "" {
			t.Errorf("message %+v, envelope %s", m, m.Value)
		}
		if _, err := time.Parse(time.RFC3339Nano, env["ts"].(string)); err != nil {
			t.Errorf("ts: %v", err)
		}
		if after := env["after"].(map[string]any); after["p"].(map[string]any)["name"] != "plain" {
			t.Errorf("after: %v", after)
		}
		// a delete: the key only, after null
		del := keyOnly(t, rec)
		defer del.Release()
		pub.got = nil
		if _, err := w.Write(context.Background(), Batch{Op: OpDelete, Record: del}); err != nil {
			t.Fatal(err)
		}
		if v := string(pub.got[0].Value); !strings.HasPrefix(v, `{"op":"delete","key":{"id":-2},"after":null,"sync":"s1"`) {
			t.Errorf("delete envelope: %s", v)
		}
	})
	t.Run("ids", func(t *testing.T) {
		ids := func(seq int, run string) []string {
			pub := &recordingPublisher{}
			w := open(t, pub, spec.ModeUpsert, "", "", []string{"id"})
			w.(*streamWriter).enc.meta.RunID = run
			w.Write(context.Background(), Batch{Seq: seq, Op: OpUpsert, Record: keyRec()})
			var out []string
			for _, m := range pub.got {
				out = append(out, m.ID)
			}
			return out
		}
		a, b := ids(0, "r1"), ids(5, "r2")
		if !reflect.DeepEqual(a, b) || a[0] == a[1] {
			t.Errorf("a change's id must not depend on run or batch, and differ by key: %v %v", a, b)
		}
	})
	t.Run("bare and tombstones", func(t *testing.T) {
		pub := &recordingPublisher{}
		w := open(t, pub, spec.ModeMirror, "bare", "", []string{"id"})
		w.Write(context.Background(), Batch{Op: OpUpsert, Record: keyRec()})
		del := keyOnly(t, rec)
		defer del.Release()
		w.Write(context.Background(), Batch{Op: OpDelete, Record: del})
		if v := string(pub.got[0].Value); !strings.HasPrefix(v, `{"id":-3,"p":{"name":"plain"`) {
			t.Errorf("bare: %s", v)
		}
		if last := pub.got[len(pub.got)-1]; last.Value != nil || last.Op != "delete" {
			t.Errorf("bare delete: %+v", last)
		}
	})
	t.Run("per-row topic rejects a bad one", func(t *testing.T) {
		pub := &recordingPublisher{}
		w := open(t, pub, spec.ModeUpsert, "", "t.{{.Row.p.name}}", []string{"id"})
		res, err := w.Write(context.Background(), Batch{Op: OpUpsert, Record: keyRec()})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Failed) != 2 || res.Failed[0].Row != 1 || !strings.Contains(res.Failed[0].Msg, "no spaces") {
			t.Errorf("failed: %+v", res.Failed)
		}
		if len(pub.got) != 1 || pub.got[0].Topic != "t.plain" {
			t.Errorf("published: %+v", pub.got)
		}
	})
	t.Run("refused messages are rejected rows", func(t *testing.T) {
		pub := &recordingPublisher{refuse: func(m StreamMsg) error {
			if m.Row == 1 {
				return errors.New("message too large")
			}
			return nil
		}}
		w := open(t, pub, spec.ModeAppend, "", "", nil)
		res, err := w.Write(context.Background(), Batch{Op: OpAppend, Record: keyRec()})
		if err != nil || len(res.Failed) != 1 || res.Failed[0].Row != 1 || !strings.Contains(res.Failed[0].Msg, "message too large") {
			t.Fatalf("%v %+v", err, res.Failed)
		}
		if len(pub.got) != 2 || pub.got[0].Key != nil {
			t.Errorf("published %+v", pub.got)
		}
	})
	t.Run("a failed connection fails the batch", func(t *testing.T) {
		pub := &recordingPublisher{fail: errors.New("connection closed")}
		w := open(t, pub, spec.ModeUpsert, "", "", []string{"id"})
		if _, err := w.Write(context.Background(), Batch{Op: OpUpsert, Record: keyRec()}); err == nil || !strings.Contains(err.Error(), "connection closed") {
			t.Fatalf("%v", err)
		}
	})
	t.Run("replace and update refused", func(t *testing.T) {
		for _, mode := range []string{spec.ModeReplace, spec.ModeUpdate} {
			d := &streamDest{kind: "test", name: "t", role: streamDestRole(nil), pub: &recordingPublisher{}}
			_, err := d.Open(context.Background(), Target{Schema: rec.Schema(), Dest: &spec.Dest{Object: "o", Mode: mode, Config: &testStreamDest{}}})
			if err == nil || !strings.Contains(err.Error(), "mode "+mode+" cannot") && !strings.Contains(err.Error(), "mode "+mode+" needs") {
				t.Errorf("%s: %v", mode, err)
			}
		}
	})
}

func keyOnly(t *testing.T, rec arrow.RecordBatch) arrow.RecordBatch {
	t.Helper()
	sch := arrow.NewSchema([]arrow.Field{rec.Schema().Field(0)}, nil)
	sl := rec.NewSlice(1, 3)
	defer sl.Release()
	return array.NewRecordBatch(sch, []arrow.Array{sl.Column(0)}, 2)
}
