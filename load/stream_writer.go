package load

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hoist-dev/hoist/connector"
	"github.com/hoist-dev/hoist/sync/spec"
)

// StreamPublisher is what a broker gives the stream writer: the one seam
// between the shared layer (envelope, key, message id, topic templates,
// rejected rows) and a client library.
type StreamPublisher interface {
	// Publish sends every message of one batch without waiting between
	// them, then waits for each one's acknowledgement. out[i] is message
	// i's outcome: nil when the broker acknowledged it, else why the broker
	// refused it (too large, not authorised): the row is rejected and the
	// rest of the batch is delivered. A non-nil err means the batch failed
	// (the connection is gone, acknowledgements timed out): no message of
	// it counts as delivered, whatever the broker kept.
	Publish(ctx context.Context, meta StreamMeta, msgs []StreamMsg) (out []error, err error)
	Close() error
}

// StreamDest is the destination keys every stream destination has; each
// broker's destination block embeds it.
type StreamDest struct {
	Format string `yaml:"format" doc:"json (the envelope with op, key, after, sync, run_id and ts; default) or bare (the mapped row alone)"`
	Before bool   `yaml:"before" doc:"add the key's previous row to the envelope (\"before\": the row as hoist last delivered it, from the snapshot; null for a key new to it); format json only"`
}

// FormatOrDefault is Format, json when unset.
func (s StreamDest) FormatOrDefault() string {
	if s.Format == "" {
		return StreamJSON
	}
	return s.Format
}

func (s StreamDest) validate(p connector.Problems) {
	if s.Format != "" && s.Format != StreamJSON && s.Format != StreamBare {
		p.Add("format", "unknown format %q (want json or bare)", s.Format)
	}
	if s.Before && s.Format == StreamBare {
		p.Add("before", "before is a field of the envelope: it needs format json")
	}
}

// streamDestConfig is a broker's destination block.
type streamDestConfig interface {
	connector.DestConfig
	// topicText is the topic template of the block, or "" for the object.
	topicText() string
	stream() StreamDest
}

// keyTopicConfig is a block that publishes each key's messages retained on
// topic/<key> (MQTT retain: true).
type keyTopicConfig interface {
	keyTopic() bool
}

// streamModes are what a stream destination writes: every message is an
// event, so new, changed and deleted keys, or every row.
var streamModes = []string{spec.ModeInsert, spec.ModeUpsert, spec.ModeMirror, spec.ModeAppend}

// streamDestRole declares a broker's destination block; the topic key may
// stand in for object.
func streamDestRole(newConfig func() connector.DestConfig) connector.DestRole {
	return connector.DestRole{
		NewConfig: newConfig,
		Modes:     streamModes,
		Why: map[string]string{
			spec.ModeReplace: "mode replace cannot be done on a stream: a topic cannot be swapped for new content atomically; use mirror (deletes become tombstones) or append",
			spec.ModeUpdate:  "mode update needs to know whether the destination holds a key, which a stream cannot tell; use upsert",
		},
		ObjectOptional: true,
	}
}

// validateStreamTopic checks a block's topic template (or the object that
// stands in for it) under field.
func validateStreamTopic(field, text string, d connector.Dest, p connector.Problems) {
	if text == "" && d.Object == "" {
		p.Add(field, "set %s or destination.object (the %s messages are published to)", field, field)
		return
	}
	if text == "" {
		text = d.Object
	}
	if err := CheckStreamTopic(text); err != nil {
		p.Add(field, "invalid template: %s", templateErr(err))
	}
}

// streamOptions are what a broker adds to the shared writer.
type streamOptions struct {
	// tombstones: every delete is a null payload (Kafka compaction).
	tombstones bool
	// checkTopic says why a rendered topic cannot be published to; the row
	// is then rejected rather than failing the batch.
	checkTopic func(topic string) error
	// prepare checks, once per run, what a topic known before the rows
	// needs (a JetStream stream capturing the subject, a Kafka topic).
	prepare func(ctx context.Context, topic string) error
	// bind gives the run a publisher of its own destination block's
	// settings (an AMQP exchange); nil: the connection's.
	bind func(cfg streamDestConfig) (StreamPublisher, error)
}

// topicPreparer is a bound publisher that checks a run's topics itself.
type topicPreparer interface {
	prepare(ctx context.Context, topic string) error
}

// streamDest is a broker connection as a hoist destination.
type streamDest struct {
	kind, name string
	role       connector.DestRole
	pub        StreamPublisher
	opts       streamOptions
}

func (d *streamDest) Close() error { return d.pub.Close() }

func (d *streamDest) Open(ctx context.Context, t Target) (Writer, error) {
	w, err := d.open(ctx, t)
	if err != nil {
		return nil, fmt.Errorf("%s destination %s: %w", d.kind, d.name, err)
	}
	return w, nil
}

func (d *streamDest) open(ctx context.Context, t Target) (Writer, error) {
	if t.Dest == nil {
		return nil, errors.New("no destination block")
	}
	// validate refuses these modes already; a caller of the API may not have validated
	if why, refused := d.role.Why[t.Dest.Mode]; refused {
		return nil, errors.New(why)
	}
	cfg, err := connector.As[streamDestConfig](t.Dest.Config)
	if err != nil {
		return nil, err
	}
	var errs []error
	for _, k := range t.Dest.PrimaryKey {
		if t.Schema.FieldIndices(k) == nil {
			errs = append(errs, fmt.Errorf("primary key column %q is not among the mapped fields", k))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	text := cfg.topicText()
	if text == "" {
		text = t.Dest.Object
	}
	if text == "" {
		return nil, errors.New("no topic: set the destination's topic key or object")
	}
	topic, err := compileStreamTopic(text)
	if err != nil {
		return nil, err
	}
	kt, _ := cfg.(keyTopicConfig)
	pub, prepare := d.pub, d.opts.prepare
	if d.opts.bind != nil {
		if pub, err = d.opts.bind(cfg); err != nil {
			return nil, err
		}
		if tp, ok := pub.(topicPreparer); ok {
			prepare = tp.prepare
		}
	}
	w := &streamWriter{
		keyTopic: kt != nil && kt.keyTopic(),
		kind:     d.kind, pub: pub, opts: d.opts, topic: topic, object: t.Dest.Object,
		enc: &streamEncoder{format: cfg.stream().FormatOrDefault(), key: t.Dest.PrimaryKey, tombstones: d.opts.tombstones,
			before: cfg.stream().Before, meta: StreamMeta{Sync: t.Sync, RunID: t.RunID}, now: time.Now},
		static: map[string]string{},
	}
	w.enc.keyText = topic.perRow || w.keyTopic
	if !topic.perRow {
		ops := []string{streamOpFor(t.Dest.Mode)}
		if t.Dest.Mode == spec.ModeMirror {
			ops = append(ops, StreamOpDelete)
		}
		for _, op := range ops {
			s, err := topic.render(topicData{Sync: t.Sync, Object: t.Dest.Object, Op: op})
			if err != nil {
				return nil, err
			}
			if d.opts.checkTopic != nil {
				if err := d.opts.checkTopic(s); err != nil {
					return nil, fmt.Errorf("topic %q: %w", s, err)
				}
			}
			if prepare != nil {
				if err := prepare(ctx, s); err != nil {
					return nil, err
				}
			}
			w.static[op] = s
		}
	}
	if t.DryRun {
		return streamDryRun{}, nil
	}
	return w, nil
}

// streamOpFor is the operation a mode publishes its rows with.
func streamOpFor(mode string) string {
	op, _ := streamOpOf(OpFor(mode))
	return op
}

// streamWriter publishes one run's batches.
type streamWriter struct {
	kind   string
	pub    StreamPublisher
	opts   streamOptions
	topic  *streamTopic
	object string
	enc    *streamEncoder
	static map[string]string // op → topic, for a template without .Row or .Key
	// keyTopic: each message goes retained to topic/<key>
	keyTopic bool
}

var _ Writer = (*streamWriter)(nil)

// BatchNeeds asks for the snapshot's rows when the envelope carries
// before.
func (w *streamWriter) BatchNeeds() BatchNeeds { return BatchNeeds{Before: w.enc.before} }

// Concurrency is 0: each Write has a whole batch in flight, and the broker
// client pipelines them.
func (w *streamWriter) Concurrency() int { return 0 }

// Commit and Abort have nothing to do: an acknowledged message is final.
func (w *streamWriter) Commit(context.Context) error { return nil }
func (w *streamWriter) Abort(context.Context) error  { return nil }

func (w *streamWriter) Write(ctx context.Context, b Batch) (Result, error) {
	res, err := w.write(ctx, b)
	if err != nil {
		return Result{}, fmt.Errorf("write batch %d (%s, %d rows): %w", b.Seq, b.Op, b.Record.NumRows(), err)
	}
	return res, nil
}

func (w *streamWriter) write(ctx context.Context, b Batch) (Result, error) {
	op, ok := streamOpOf(b.Op)
	if !ok {
		return Result{}, fmt.Errorf("a stream destination cannot %s", b.Op)
	}
	msgs, failed, err := w.enc.encode(b, op)
	if err != nil {
		return Result{}, err
	}
	if msgs, failed, err = w.route(b, op, msgs, failed); err != nil {
		return Result{}, err
	}
	if w.keyTopic {
		msgs, failed = w.keyTopics(msgs, failed)
	}
	if len(msgs) > 0 {
		out, err := w.pub.Publish(ctx, w.enc.meta, msgs)
		if err != nil {
			return Result{}, err
		}
		if len(out) != len(msgs) {
			return Result{}, fmt.Errorf("%s publisher answered %d of %d messages", w.kind, len(out), len(msgs))
		}
		for i, e := range out {
			if e != nil {
				failed = append(failed, RowError{Row: msgs[i].Row, Msg: fmt.Sprintf("%s refused the message: %v", w.kind, e)})
			}
		}
	}
	slices.SortFunc(failed, func(a, b RowError) int { return a.Row - b.Row })
	return Result{Failed: failed}, nil
}

// route sets each message's topic; a row whose template fails or renders a
// topic the broker cannot take is rejected, naming the topic.
func (w *streamWriter) route(b Batch, op string, msgs []StreamMsg, failed []RowError) ([]StreamMsg, []RowError, error) {
	if !w.topic.perRow {
		s, ok := w.static[op]
		if !ok {
			var err error
			if s, err = w.topic.render(topicData{Sync: w.enc.meta.Sync, Object: w.object, Op: op}); err != nil {
				return nil, nil, err
			}
		}
		for i := range msgs {
			msgs[i].Topic = s
		}
		return msgs, failed, nil
	}
	var rows []map[string]any
	if w.topic.usesRow {
		var err error
		if rows, err = recordRows(b.Record); err != nil {
			return nil, nil, err
		}
	}
	kept := msgs[:0]
	for _, m := range msgs {
		d := topicData{Sync: w.enc.meta.Sync, Object: w.object, Op: op, Key: m.KeyText}
		if rows != nil {
			d.Row = rows[m.Row]
		}
		s, err := w.topic.render(d)
		if err == nil && w.opts.checkTopic != nil {
			if cerr := w.opts.checkTopic(s); cerr != nil {
				err = fmt.Errorf("topic %q: %w", s, cerr)
			}
		}
		if err != nil {
			failed = append(failed, RowError{Row: m.Row, Msg: err.Error()})
			continue
		}
		m.Topic = s
		kept = append(kept, m)
	}
	return kept, failed, nil
}

// keyTopics moves each message to topic/<key>, retained; the key's values
// are escaped so that each stays one topic level.
func (w *streamWriter) keyTopics(msgs []StreamMsg, failed []RowError) ([]StreamMsg, []RowError) {
	kept := msgs[:0]
	for _, m := range msgs {
		m.Topic += "/" + escapeTopicKey(m.KeyText)
		m.Retain = true
		if m.Op == StreamOpDelete {
			m.Value = nil // an empty retained message clears the key's
		}
		if w.opts.checkTopic != nil {
			if err := w.opts.checkTopic(m.Topic); err != nil {
				failed = append(failed, RowError{Row: m.Row, Msg: fmt.Sprintf("topic %q: %v", m.Topic, err)})
				continue
			}
		}
		kept = append(kept, m)
	}
	return kept, failed
}

// escapeTopicKey percent-encodes what would split or match MQTT topic
// levels (/ + #), NUL, and % itself, so a key's topic is one level and the
// key can be read back from it.
func escapeTopicKey(s string) string {
	if !strings.ContainsAny(s, "/+#%\x00") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '/', '+', '#', '%', 0:
			fmt.Fprintf(&b, "%%%02X", c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// streamDryRun is what validate --connect gets: the connection and the
// topic were checked, nothing may be published.
type streamDryRun struct{}

func (streamDryRun) Write(context.Context, Batch) (Result, error) {
	return Result{}, errors.New("stream destination opened as a dry run: nothing may be published")
}
func (streamDryRun) Commit(context.Context) error { return nil }
func (streamDryRun) Abort(context.Context) error  { return nil }
func (streamDryRun) Concurrency() int             { return 0 }
