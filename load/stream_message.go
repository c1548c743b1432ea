package load

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/hoist-dev/hoist/internal/filefmt"
)

// The message a stream destination publishes for each row, the same on
// every broker:
//
//	{"op":"upsert","key":{"id":42},"after":{"id":42,"email":"a@x.io"},
//	 "sync":"customers","run_id":"20261122T090000.123Z-ab12","ts":"2026-11-22T09:00:00.123456Z"}
//
// op is the row's operation: upsert (mode upsert and mirror: the key's new
// state), insert (mode insert: a key new to hoist's snapshot; a consumer
// that already holds the key keeps what it has), append (mode append: an
// event, no key unless primary_key is set) or delete (mode mirror: the key
// is gone; after is null). key holds the primary key fields, after the
// mapped row (dotted names nested). ts is when the message was built.
// With before: true a "before" field follows key: the key's row as hoist
// last delivered it (its snapshot), with the same fields and formatting as
// after, or null where the snapshot has none (a key new to it, a first
// load, mode append and insert).
// With format: bare the payload is the mapped row alone, and a delete is
// an empty payload (Kafka: a null value, a tombstone). Broker metadata
// (Kafka headers, NATS and AMQP headers, MQTT v5 user properties) carries
// sync, op and run_id in either format.

// Stream payload formats.
const (
	StreamJSON = "json"
	StreamBare = "bare"
)

// Operations named in a message's op.
const (
	StreamOpUpsert = "upsert"
	StreamOpInsert = "insert"
	StreamOpAppend = "append"
	StreamOpDelete = "delete"
)

// streamOpOf names a batch's operation in its messages; update has none (a
// stream cannot tell whether a consumer holds the key, so the mode is
// refused).
func streamOpOf(op Op) (string, bool) {
	switch op {
	case OpUpsert:
		return StreamOpUpsert, true
	case OpInsert:
		return StreamOpInsert, true
	case OpAppend:
		return StreamOpAppend, true
	case OpDelete:
		return StreamOpDelete, true
	}
	return "", false
}

// StreamMsg is one message of a batch, ready for a broker.
type StreamMsg struct {
	// Row is the message's row within the batch's record.
	Row int
	// Topic is the rendered topic, subject or routing key.
	Topic string
	// Key is the JSON object of the primary key fields ({"id":42}); nil
	// without a primary key (append).
	Key []byte
	// KeyText is the key's values as text joined by "/" ("42", "eu/7"),
	// for MQTT's retained topic/<key> and the templates' .Key.
	KeyText string
	// Value is the payload; nil is a tombstone (a delete in bare format,
	// or any delete on Kafka).
	Value []byte
	// ID identifies the message's content for a broker's dedup
	// (Nats-Msg-Id, AMQP message_id): a resend of the same change after a
	// crash has the same ID.
	ID string
	Op string
	// Retain asks the broker to keep the message as the topic's latest
	// (MQTT retain: the topic is then topic/<key>).
	Retain bool
}

// StreamMeta is what every message of a run carries besides its row.
type StreamMeta struct {
	Sync, RunID string
}

// streamEncoder turns a batch's rows into messages.
type streamEncoder struct {
	format     string
	key        []string // primary key fields; nil for append without one
	tombstones bool     // every delete is a null payload (Kafka)
	before     bool     // the envelope carries before (Batch.Before)
	keyText    bool     // fill StreamMsg.KeyText (per-row topics, retained topic/<key>)
	meta       StreamMeta
	now        func() time.Time
}

// encode builds one message per row of b, leaving the topics empty. A row
// that cannot be encoded (an invalid JSON value) is a RowError.
func (e *streamEncoder) encode(b Batch, op string) ([]StreamMsg, []RowError, error) {
	rec := b.Record
	sch := rec.Schema()
	var keyObj *jsonObject
	var keyCols []int
	if len(e.key) > 0 {
		for _, k := range e.key {
			idx := sch.FieldIndices(k)
			if len(idx) != 1 {
				return nil, nil, fmt.Errorf("primary key field %q is not one field of the batch's rows", k)
			}
			keyCols = append(keyCols, idx[0])
		}
		var err error
		if keyObj, err = newJSONObject(sch, keyCols); err != nil {
			return nil, nil, err
		}
	}
	var beforeObj *jsonObject
	if e.before && b.Before != nil {
		var err error
		if beforeObj, err = newJSONObject(b.Before.Schema(), nil); err != nil {
			return nil, nil, err
		}
	}
	var rowObj *jsonObject
	if op != StreamOpDelete {
		var err error
		if rowObj, err = newJSONObject(sch, nil); err != nil {
			return nil, nil, err
		}
	}
	ts := e.now().UTC().AppendFormat(nil, time.RFC3339Nano)
	n := int(rec.NumRows())
	msgs := make([]StreamMsg, 0, n)
	var failed []RowError
	// one buffer for the batch's payloads; messages slice into it
	buf := make([]byte, 0, n*64)
	for i := 0; i < n; i++ {
		m := StreamMsg{Row: i, Op: op}
		start := len(buf)
		var err error
		var keyBytes, rowBytes []byte
		if keyObj != nil {
			if buf, err = keyObj.append(buf, rec, i); err != nil {
				failed = append(failed, RowError{Row: i, Msg: err.Error()})
				buf = buf[:start]
				continue
			}
			keyBytes = buf[start:len(buf):len(buf)]
			if e.keyText {
				m.KeyText = keyText(rec, keyCols, i)
			}
		}
		rowStart := len(buf)
		if rowObj != nil {
			if buf, err = rowObj.append(buf, rec, i); err != nil {
				failed = append(failed, RowError{Row: i, Msg: err.Error()})
				buf = buf[:start]
				continue
			}
			rowBytes = buf[rowStart:len(buf):len(buf)]
		}
		var beforeBytes []byte
		if beforeObj != nil && i < len(b.HasBefore) && b.HasBefore[i] {
			bs := len(buf)
			if buf, err = beforeObj.append(buf, b.Before, i); err != nil {
				failed = append(failed, RowError{Row: i, Msg: "before: " + err.Error()})
				buf = buf[:start]
				continue
			}
			beforeBytes = buf[bs:len(buf):len(buf)]
		}
		m.Key = keyBytes
		m.ID = messageID(e.meta.Sync, e.meta.RunID, op, keyBytes, rowBytes, b.Seq, i)
		switch {
		case op == StreamOpDelete && (e.tombstones || e.format == StreamBare):
			m.Value = nil
		case e.format == StreamBare:
			m.Value = rowBytes
		default:
			vs := len(buf)
			buf = e.envelope(buf, op, keyBytes, beforeBytes, rowBytes, ts)
			m.Value = buf[vs:len(buf):len(buf)]
		}
		msgs = append(msgs, m)
	}
	return msgs, failed, nil
}

// envelope appends the JSON envelope of one row.
func (e *streamEncoder) envelope(b []byte, op string, key, before, row, ts []byte) []byte {
	b = append(b, `{"op":`...)
	b = filefmt.AppendJSONString(b, op)
	b = append(b, `,"key":`...)
	if key == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, key...)
	}
	if e.before {
		b = append(b, `,"before":`...)
		if before == nil {
			b = append(b, "null"...)
		} else {
			b = append(b, before...)
		}
	}
	b = append(b, `,"after":`...)
	if row == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, row...)
	}
	b = append(b, `,"sync":`...)
	b = filefmt.AppendJSONString(b, e.meta.Sync)
	b = append(b, `,"run_id":`...)
	b = filefmt.AppendJSONString(b, e.meta.RunID)
	b = append(b, `,"ts":"`...)
	b = append(b, ts...)
	return append(b, `"}`...)
}

// messageID hashes what a change is — sync, operation, key and mapped row
// — and not when it was sent (run_id, ts), so a rerun after a crash sends
// the same change under the same ID and a broker's dedup window drops it.
// A message without a key (append without primary_key) cannot be told
// from an equal event of another run by its content: it also hashes the
// run and its place in it (batch and row), so equal events stay distinct
// messages, and a rerun after a crash sends them under new IDs (set
// primary_key to an event id column to have them dropped instead).
func messageID(sync, runID, op string, key, row []byte, seq, i int) string {
	h := sha256.New()
	var n [8]byte
	for _, part := range [][]byte{[]byte(sync), []byte(op), key, row} {
		binary.BigEndian.PutUint64(n[:], uint64(len(part)))
		h.Write(n[:])
		h.Write(part)
	}
	if key == nil {
		binary.BigEndian.PutUint64(n[:], uint64(len(runID)))
		h.Write(n[:])
		h.Write([]byte(runID))
		binary.BigEndian.PutUint64(n[:], uint64(seq))
		h.Write(n[:])
		binary.BigEndian.PutUint64(n[:], uint64(i))
		h.Write(n[:])
	}
	var sum [sha256.Size]byte
	return hex.EncodeToString(h.Sum(sum[:0])[:16])
}

// keyText is row i's key values as text joined by "/": strings as they
// are, other values as their JSON text.
func keyText(rec arrow.RecordBatch, cols []int, i int) string {
	var b []byte
	for n, c := range cols {
		if n > 0 {
			b = append(b, '/')
		}
		col := rec.Column(c)
		switch a := col.(type) {
		case *array.String:
			b = append(b, a.Value(i)...)
		case *array.LargeString:
			b = append(b, a.Value(i)...)
		default:
			v, err := appendJSONValue(nil, col, i)
			if err != nil {
				v = []byte(col.ValueStr(i))
			}
			if len(v) >= 2 && v[0] == '"' {
				v = []byte(col.ValueStr(i))
			}
			b = append(b, v...)
		}
	}
	return string(b)
}
