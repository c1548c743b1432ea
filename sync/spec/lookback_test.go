package spec_test

import (
	"strings"
	"testing"
	"time"

	. "github.com/hoist-dev/hoist/sync/spec"
)

// TestCursorLookback: cursor_lookback parses as a duration (days too) or a
// number, and is refused without a cursor, in append mode, or unreadable,
// naming file, line and field.
func TestCursorLookback(t *testing.T) {
	doc := func(source, mode string) string {
		return `version: 1
connections:
  src: {type: files, path: ., format: csv}
  out: {type: sqlite, path: out.db}
syncs:
  - name: s
    source: {connection: src, path: a.csv, ` + source + `}
    destination: {connection: out, object: t, mode: ` + mode + `, primary_key: [id]}
`
	}
	for _, tc := range []struct{ source, mode, err string }{
		{source: "cursor: at, cursor_lookback: 10m", mode: "upsert"},
		{source: "cursor: at, cursor_lookback: 3d", mode: "upsert"},
		{source: "cursor: at, cursor_lookback: 500", mode: "insert"},
		{source: "cursor_lookback: 10m", mode: "upsert", err: "s.yaml:7: syncs[0].source.cursor_lookback: cursor_lookback needs a cursor"},
		{source: "cursor: at, cursor_lookback: 10m", mode: "append", err: "syncs[0].source.cursor_lookback: mode append sends every row it reads"},
		{source: "cursor: at, cursor_lookback: soon", mode: "upsert", err: `cursor_lookback "soon" is neither a duration`},
		{source: "cursor: at, cursor_lookback: -5m", mode: "upsert", err: `cursor_lookback "-5m" is negative`},
	} {
		_, err := Parse("s.yaml", []byte(doc(tc.source, tc.mode)), env(nil))
		if tc.err == "" && err != nil {
			t.Errorf("%s: %v", tc.source, err)
		}
		if tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%s in %s: %v, want %q", tc.source, tc.mode, err, tc.err)
		}
	}
	if d, isDur, err := ParseLookback("3d"); err != nil || !isDur || d != 72*time.Hour {
		t.Errorf("3d = %v %v %v", d, isDur, err)
	}
}
