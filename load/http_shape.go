package load

import (
	"slices"
	"strings"

	"github.com/hoist-dev/hoist/connector"
)

// shaper makes the body a row is sent with from the mapped row: under
// patch: changed, a changed row sends only the fields that changed and the
// primary key (what identifies the record); under nulls: skip a NULL is
// left out (the API keeps its value) and under nulls: clear sent as an
// empty string; on_delete: clear sends the key with every other mapped
// field emptied.
type shaper struct {
	fields [][]string // each field of the batch's record, as a dotted path
	key    []bool     // per field: part of the primary key
	patch  bool
	nulls  string
	// clear: the other mapped fields (on_delete: clear), and what they get
	clear      [][]string
	clearValue any
}

// shaper returns the batch's shaper, or nil when every body is its row.
func (w *httpWriter) shaper(b Batch) *shaper {
	clearing := b.Op == OpDelete && w.clearDeletes
	patch := w.app.Patch == connector.PatchChanged && b.Changed != nil
	if !patch && w.app.Nulls == connector.NullsSend && !clearing {
		return nil
	}
	s := &shaper{patch: patch, nulls: w.app.Nulls}
	for _, f := range b.Record.Schema().Fields() {
		s.fields = append(s.fields, strings.Split(f.Name, "."))
		s.key = append(s.key, slices.Contains(w.keys, f.Name))
	}
	if clearing {
		// nulls: skip would leave every field as it is: clear sends null
		// then, or the empty string under nulls: clear
		if w.app.Nulls == connector.NullsClear {
			s.clearValue = ""
		}
		for _, f := range w.target.Schema.Fields() {
			if !slices.Contains(w.keys, f.Name) {
				s.clear = append(s.clear, strings.Split(f.Name, "."))
			}
		}
	}
	return s
}

// shape returns row's body; changed lists its changed fields (nil: all).
func (s *shaper) shape(row map[string]any, changed []int) (map[string]any, error) {
	body := make(map[string]any, len(s.fields))
	for i, path := range s.fields {
		if s.patch && changed != nil && !s.key[i] && !slices.Contains(changed, i) {
			continue
		}
		v, _ := lookupPath(row, path)
		if v == nil && !s.key[i] {
			switch s.nulls {
			case connector.NullsSkip:
				continue
			case connector.NullsClear:
				v = ""
			}
		}
		if err := setPath(body, path, v); err != nil {
			return nil, err
		}
	}
	for _, path := range s.clear {
		if err := setPath(body, path, s.clearValue); err != nil {
			return nil, err
		}
	}
	return body, nil
}
