package filefmt

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// JSON Lines: one object per line; blank lines are skipped. Nested objects
// are flattened into dotted column names ({"a":{"b":1}} gives column "a.b"),
// the mirror image of the writer nesting dotted names, so a file hoist wrote
// reads back with the columns it was written from. Arrays become their JSON
// text in a string column. Inference over the first InferRows lines: all
// booleans → bool, all integers → int64, numbers → float64, strings that are
// all dates or all zoned timestamps → date32 / timestamp[us, UTC], anything
// else or mixed → string (non-strings as JSON text). A key that first appears
// after the inference window is an error naming its line: dropping it would
// lose data silently.

type jsonKind uint8

const (
	jNull jsonKind = iota
	jBool
	jNumber
	jString
	jRaw // an array, kept as JSON text
)

type jsonVal struct {
	kind jsonKind
	text string // number literal, string value, raw JSON, or "true"/"false"
}

type jsonField struct {
	name string
	val  jsonVal
}

type jsonLine struct {
	fields []jsonField
	line   int
}

type jsonlRows struct {
	name    string
	f       *os.File
	br      *bufio.Reader
	line    int // lines consumed so far
	index   map[string]int
	from    string // what the schema came from, for errors
	pending []jsonLine
}

func openJSONL(ctx context.Context, path string, opts ReadOptions) (array.RecordReader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	s := &jsonlRows{name: opts.Name, f: f, br: bufio.NewReaderSize(f, 1<<16)}
	if bom, _ := s.br.Peek(3); bytes.Equal(bom, []byte{0xEF, 0xBB, 0xBF}) {
		s.br.Discard(3)
	}
	schema := opts.Schema
	s.from = fmt.Sprintf("inferred from the first %d lines", opts.inferRows())
	if schema != nil {
		for _, fl := range schema.Fields() {
			if !textReadable(fl.Type) {
				f.Close()
				return nil, fmt.Errorf("%s: column %s: cannot read %s values from json lines", s.name, fl.Name, fl.Type)
			}
		}
		s.from = "given"
		if opts.SchemaFrom != "" {
			s.from = "taken from " + opts.SchemaFrom
		}
	} else if schema, err = s.infer(opts.inferRows()); err != nil {
		f.Close()
		return nil, err
	}
	s.index = make(map[string]int, schema.NumFields())
	for i, fl := range schema.Fields() {
		s.index[fl.Name] = i
	}
	return newBatchReader(ctx, schema, s, opts), nil
}

// jsonGuess narrows a column's type over the inference window.
type jsonGuess struct {
	bools, ints, floats, strs, raws int
	specials                        int       // "NaN", "Infinity", "-Infinity" strings
	text                            textGuess // over the string values
	num                             numGuess  // over the number literals
}

func (s *jsonlRows) infer(n int) (*arrow.Schema, error) {
	var names []string
	guesses := map[string]*jsonGuess{}
	for len(s.pending) < n {
		l, err := s.read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		for _, f := range l.fields {
			g := guesses[f.name]
			if g == nil {
				g = &jsonGuess{text: newTextGuess()}
				guesses[f.name] = g
				names = append(names, f.name)
			}
			switch f.val.kind {
			case jBool:
				g.bools++
			case jNumber:
				g.num.add(f.val.text)
				if _, err := strconv.ParseInt(f.val.text, 10, 64); err == nil {
					g.ints++
				} else {
					g.floats++
				}
			case jString:
				g.strs++
				if isFloatSpecial(f.val.text) {
					g.specials++
				}
				if f.val.text != "" {
					g.text.add(f.val.text)
				}
			case jRaw:
				g.raws++
			}
		}
		s.pending = append(s.pending, l)
	}
	fields := make([]arrow.Field, len(names))
	for i, n := range names {
		fields[i] = arrow.Field{Name: n, Type: guesses[n].typ(), Nullable: true}
	}
	return arrow.NewSchema(fields, nil), nil
}

func (g *jsonGuess) typ() arrow.DataType {
	total := g.bools + g.ints + g.floats + g.strs + g.raws
	switch {
	case total == 0:
		return arrow.BinaryTypes.String
	case g.bools == total:
		return arrow.FixedWidthTypes.Boolean
	case g.ints == total:
		return arrow.PrimitiveTypes.Int64
	case g.ints+g.floats == total:
		if dt := g.num.decimal(); dt != nil {
			return dt
		}
		return arrow.PrimitiveTypes.Float64
	case g.ints+g.floats > 0 && g.ints+g.floats+g.specials == total:
		// numbers and the strings hoist writes for NaN and ±Inf: a float
		// column written by hoist reads back as one
		return arrow.PrimitiveTypes.Float64
	case g.strs == total && g.text.seen && !g.text.isInt && !g.text.isFloat && !g.text.isBool:
		// Only dates and timestamps are read out of JSON strings: "123" in
		// quotes was written as text on purpose.
		if t := g.text.typ(); t.ID() == arrow.DATE32 || t.ID() == arrow.TIMESTAMP {
			return t
		}
	}
	return arrow.BinaryTypes.String
}

// read returns the next non-blank line, flattened.
func (s *jsonlRows) read() (jsonLine, error) {
	for {
		b, err := s.br.ReadBytes('\n')
		if len(b) == 0 && err != nil {
			if errors.Is(err, io.EOF) {
				return jsonLine{}, io.EOF
			}
			return jsonLine{}, fmt.Errorf("read %s: %w", s.name, err)
		}
		s.line++
		if len(bytes.TrimSpace(b)) == 0 {
			continue
		}
		if !utf8.Valid(b) {
			return jsonLine{}, fmt.Errorf("%s: line %d: invalid UTF-8 (the file must be UTF-8)", s.name, s.line)
		}
		l := jsonLine{line: s.line}
		if err := flattenObject(b, "", &l.fields); err != nil {
			// %v, not %w: a decoder's io.EOF inside a truncated record must
			// not read as the end of the file to the callers, which would
			// drop the row (and mirror mode delete it downstream).
			return jsonLine{}, fmt.Errorf("%s: line %d: %v", s.name, s.line, badJSON(err))
		}
		return l, nil
	}
}

// flattenObject appends the leaves of the JSON object in data, in the order
// they appear, under dotted names.
func flattenObject(data []byte, prefix string, out *[]jsonField) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("bad json: %w", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return fmt.Errorf("want a json object, got %s", describe(tok))
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return fmt.Errorf("bad json: %w", err)
		}
		key := prefix + tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return fmt.Errorf("bad json at key %q: %w", key, err)
		}
		raw = bytes.TrimSpace(raw)
		switch raw[0] {
		case '{':
			if err := flattenObject(raw, key+".", out); err != nil {
				return err
			}
			continue
		case '[':
			var buf bytes.Buffer
			if err := json.Compact(&buf, raw); err != nil {
				return fmt.Errorf("bad json at key %q: %w", key, err)
			}
			*out = append(*out, jsonField{key, jsonVal{jRaw, buf.String()}})
		case '"':
			var v string
			if err := json.Unmarshal(raw, &v); err != nil {
				return fmt.Errorf("bad json at key %q: %w", key, err)
			}
			*out = append(*out, jsonField{key, jsonVal{jString, v}})
		case 't', 'f':
			*out = append(*out, jsonField{key, jsonVal{jBool, string(raw)}})
		case 'n':
			*out = append(*out, jsonField{key, jsonVal{jNull, ""}})
		default:
			*out = append(*out, jsonField{key, jsonVal{jNumber, string(raw)}})
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return fmt.Errorf("bad json: %w", err)
	}
	if prefix == "" {
		if _, err := dec.Token(); !errors.Is(err, io.EOF) {
			return fmt.Errorf("bad json: more than one value on the line")
		}
	}
	return nil
}

// badJSON names a record that ends before its object closes: the decoder
// says only "EOF" or "unexpected EOF" for a line cut short (a file copied
// while still being written, a disk that filled).
func badJSON(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("truncated record, the line ends before its json object closes (%v)", err)
	}
	return err
}

func describe(tok json.Token) string {
	switch v := tok.(type) {
	case json.Delim:
		return fmt.Sprintf("%q", string(v))
	case string:
		return "a string"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%v", tok)
}

func (s *jsonlRows) next(bld *array.RecordBuilder) (bool, error) {
	var l jsonLine
	if len(s.pending) > 0 {
		l = s.pending[0]
		s.pending[0] = jsonLine{}
		s.pending = s.pending[1:]
	} else {
		var err error
		if l, err = s.read(); err != nil {
			if errors.Is(err, io.EOF) {
				return false, nil
			}
			return false, err
		}
	}
	// A key may repeat within an object; the last one wins, as in most
	// JSON decoders.
	vals := make([]jsonVal, bld.Schema().NumFields()) // zero value: null
	for _, f := range l.fields {
		i, ok := s.index[f.name]
		if !ok {
			return false, fmt.Errorf("%s: line %d: field %q is not in the schema (%s); put it in an early line or map it explicitly", s.name, l.line, f.name, s.from)
		}
		vals[i] = f.val
	}
	for i := range vals {
		if err := appendJSON(bld.Field(i), vals[i]); err != nil {
			return false, fmt.Errorf("%s: line %d: field %s: %w", s.name, l.line, bld.Schema().Field(i).Name, err)
		}
	}
	return true, nil
}

// appendJSON appends a JSON leaf to a builder of the column's type. Strings
// keep "" as an empty text (unlike CSV); other types parse the value's text.
func appendJSON(b array.Builder, v jsonVal) error {
	if v.kind == jNull {
		b.AppendNull()
		return nil
	}
	switch sb := b.(type) {
	case *array.StringBuilder:
		sb.Append(v.text)
		return nil
	case *array.LargeStringBuilder:
		sb.Append(v.text)
		return nil
	case *array.BinaryBuilder: // binary and large binary
		if v.kind == jString && v.text == "" {
			// the base64 of no bytes, which the writer writes for an
			// empty value (NULL is null)
			sb.Append([]byte{})
			return nil
		}
	}
	if v.kind == jRaw {
		return fmt.Errorf("cannot read a json array as %s", b.Type())
	}
	if v.kind == jBool && b.Type().ID() != arrow.BOOL {
		return fmt.Errorf("cannot read %s as %s", v.text, b.Type())
	}
	if v.kind == jString && strings.TrimSpace(v.text) == "" {
		b.AppendNull()
		return nil
	}
	return appendText(b, v.text)
}

// isFloatSpecial reports the strings the JSON Lines writer writes for NaN
// and ±Inf.
func isFloatSpecial(s string) bool {
	return s == "NaN" || s == "Infinity" || s == "-Infinity"
}

func (s *jsonlRows) close() error { return s.f.Close() }
