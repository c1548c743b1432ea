// Package streamtest is what every stream destination's tests share: a
// consumer's materialised view of a topic (the last message per key,
// deletes and tombstones applied, events kept in order), built from the
// messages a test read back from the real broker, and turned into Arrow
// records for the destination conformance suite.
package streamtest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Msg is one message as a consumer receives it.
type Msg struct {
	// Key is the broker's message key (Kafka) or the hoist-key header;
	// nil when the message has none.
	Key []byte
	// Value is the payload; nil or empty is a tombstone.
	Value []byte
	// Op is the hoist-op header, where the broker has headers.
	Op string
	// ID is the message id (Nats-Msg-Id, AMQP message_id).
	ID string
}

// View is a consumer's materialised view: what a service that applies
// every message in order holds.
type View struct {
	// Bare: payloads are the mapped row alone (format: bare).
	Bare  bool
	rows  map[string]json.RawMessage // key → after
	order []string                   // keys in first-seen order
	// events are the rows of messages without a key (append), in order.
	events []json.RawMessage
	// Messages counts every message applied; Keyed the ones with a key.
	Messages, Keyed int
	ids             map[string]int
}

// NewView returns an empty view.
func NewView() *View { return &View{rows: map[string]json.RawMessage{}, ids: map[string]int{}} }

type envelope struct {
	Op    string          `json:"op"`
	Key   json.RawMessage `json:"key"`
	After json.RawMessage `json:"after"`
	Sync  string          `json:"sync"`
	RunID string          `json:"run_id"`
	TS    string          `json:"ts"`
}

// Apply applies one message: upsert sets the key's row, insert sets it
// only when the key is absent, delete (or a tombstone) removes it, a
// message without a key is an event.
func (v *View) Apply(m Msg) error {
	v.Messages++
	if m.ID != "" {
		v.ids[m.ID]++
	}
	op, key, after := m.Op, compact(m.Key), json.RawMessage(nil)
	if len(m.Value) > 0 && !v.Bare {
		var e envelope
		if err := json.Unmarshal(m.Value, &e); err != nil {
			return fmt.Errorf("message %.80q is not an envelope: %w", m.Value, err)
		}
		if e.Op == "" || e.Sync == "" || e.RunID == "" || e.TS == "" {
			return fmt.Errorf("envelope %.200s lacks op, sync, run_id or ts", m.Value)
		}
		if _, err := time.Parse(time.RFC3339Nano, e.TS); err != nil {
			return fmt.Errorf("envelope ts %q: %w", e.TS, err)
		}
		if op != "" && op != e.Op {
			return fmt.Errorf("header op %q but envelope op %q", op, e.Op)
		}
		op = e.Op
		if k := compact(e.Key); k != "null" && k != "" {
			if key != "" && key != k {
				return fmt.Errorf("message key %s but envelope key %s", key, k)
			}
			key = k
		}
		if string(e.After) != "null" {
			after = e.After
		}
	} else if len(m.Value) > 0 {
		after = json.RawMessage(m.Value)
	} else if op == "" {
		op = "delete"
	}
	if key == "" || key == "null" {
		if op == "delete" || after == nil {
			return fmt.Errorf("a %s message without a key", op)
		}
		v.events = append(v.events, after)
		return nil
	}
	v.Keyed++
	_, held := v.rows[key]
	switch {
	case op == "delete" || after == nil:
		delete(v.rows, key)
	case op == "insert" && held:
	case op == "upsert", op == "insert", op == "append":
		if !held {
			v.order = append(v.order, key)
		}
		v.rows[key] = after
	default:
		return fmt.Errorf("unknown op %q", op)
	}
	return nil
}

// Duplicates counts messages whose id was seen before.
func (v *View) Duplicates() int {
	n := 0
	for _, c := range v.ids {
		n += c - 1
	}
	return n
}

func compact(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return string(b)
	}
	return buf.String()
}

// Rows returns the view's rows: the keyed ones sorted by key, then the
// events in order.
func (v *View) Rows() []json.RawMessage {
	keys := make([]string, 0, len(v.rows))
	for k := range v.rows {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]json.RawMessage, 0, len(keys)+len(v.events))
	for _, k := range keys {
		out = append(out, v.rows[k])
	}
	return append(out, v.events...)
}

// Len is how many rows the view holds.
func (v *View) Len() int { return len(v.rows) + len(v.events) }

// Get returns the row of a key ({"id":1}), or nil.
func (v *View) Get(key string) json.RawMessage { return v.rows[compact([]byte(key))] }

// Records turns the view's rows into records of schema (dotted names are
// looked up in nested objects), as a reader of the topic would type them.
func (v *View) Records(t testing.TB, schema *arrow.Schema, mem memory.Allocator) []arrow.RecordBatch {
	t.Helper()
	rows := v.Rows()
	if len(rows) == 0 {
		return nil
	}
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	for i, raw := range rows {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		var row map[string]any
		if err := dec.Decode(&row); err != nil {
			t.Fatalf("view row %d %.200s: %v", i, raw, err)
		}
		for c, f := range schema.Fields() {
			val, ok := lookup(row, f.Name)
			if !ok {
				t.Fatalf("view row %d %.200s lacks field %s", i, raw, f.Name)
			}
			if err := appendJSON(b.Field(c), val); err != nil {
				t.Fatalf("view row %d field %s: %v", i, f.Name, err)
			}
		}
	}
	return []arrow.RecordBatch{b.NewRecordBatch()}
}

func lookup(row map[string]any, name string) (any, bool) {
	var cur any = row
	for _, p := range strings.Split(name, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[p]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// appendJSON appends a decoded JSON value as the builder's type reads it.
func appendJSON(b array.Builder, v any) error {
	if v == nil {
		b.AppendNull()
		return nil
	}
	num, _ := v.(json.Number)
	str, _ := v.(string)
	switch b := b.(type) {
	case *array.Int8Builder, *array.Int16Builder, *array.Int32Builder, *array.Int64Builder,
		*array.Uint8Builder, *array.Uint16Builder, *array.Uint32Builder, *array.Uint64Builder,
		*array.Float32Builder, *array.Float64Builder:
		if num == "" {
			return fmt.Errorf("%v is not a number", v)
		}
		return b.AppendValueFromString(string(num))
	case *array.BooleanBuilder:
		x, ok := v.(bool)
		if !ok {
			return fmt.Errorf("%v is not a bool", v)
		}
		b.Append(x)
	case *array.StringBuilder:
		b.Append(str)
	case *array.LargeStringBuilder:
		b.Append(str)
	case *array.BinaryBuilder:
		raw, err := base64.StdEncoding.DecodeString(str)
		if err != nil {
			return err
		}
		b.Append(raw)
	case *array.TimestampBuilder:
		ts, err := time.Parse(time.RFC3339Nano, str)
		if err != nil {
			return err
		}
		x, err := arrow.TimestampFromTime(ts, b.Type().(*arrow.TimestampType).Unit)
		if err != nil {
			return err
		}
		b.Append(x)
	case *array.Date32Builder:
		d, err := time.Parse(time.DateOnly, str)
		if err != nil {
			return err
		}
		b.Append(arrow.Date32FromTime(d))
	case *array.Decimal128Builder:
		typ := b.Type().(*arrow.Decimal128Type)
		x, err := decimal128.FromString(string(num), typ.Precision, typ.Scale)
		if err != nil {
			return err
		}
		b.Append(x)
	default:
		return fmt.Errorf("streamtest cannot read %s values", b.Type())
	}
	return nil
}

// Require says whether a missing service fails the test
// (HOIST_REQUIRE_SERVICES=1) or skips it.
func Require(t testing.TB, service, url string, err error) {
	t.Helper()
	if os.Getenv("HOIST_REQUIRE_SERVICES") == "1" {
		t.Fatalf("%s at %s is required (HOIST_REQUIRE_SERVICES=1): %v", service, url, err)
	}
	t.Skipf("%s at %s not reachable: %v", service, url, err)
}

// Env returns the variable or def.
func Env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
