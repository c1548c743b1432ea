package load

import "testing"

// TestBatchRamp: the writers that merge each batch on a connection of
// their own ramp the diff's batches; COPY into a replaced table, files and
// SQLite (one writer at a time) gain nothing from small first batches.
func TestBatchRamp(t *testing.T) {
	for _, tc := range []struct {
		name string
		w    BatchSizer
		ramp bool
	}{
		{"postgres merge", &pgWriter{}, true},
		{"mysql merge", &myWriter{}, true},
		{"postgres replace", &pgReplaceWriter{}, false},
		{"sqlite", &sqliteWriter{}, false},
		{"files merge", &fileMerge{}, false},
	} {
		lim := tc.w.BatchLimits()
		if got := lim.Start > 0 && lim.Start < lim.Rows; got != tc.ramp {
			t.Errorf("%s: limits %+v, ramp %v, want %v", tc.name, lim, got, tc.ramp)
		}
	}
}
