package load

import (
	"context"
	"strings"
	"testing"

	"github.com/hoist-dev/hoist/internal/httpkit"
	"github.com/hoist-dev/hoist/sync/spec"
)

// TestHTTPRefusesReplaceAtOpen: a caller that opens an http destination for
// replace without validating first gets the reason validate gives.
func TestHTTPRefusesReplaceAtOpen(t *testing.T) {
	conn := &spec.Connection{Name: "api", Type: httpkit.Type, Config: &httpkit.Config{BaseURL: "http://127.0.0.1:9"}}
	d, err := Open(context.Background(), conn, "")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ops := map[string]*HTTPOperation{"upsert": {Path: "/c", Batch: true}}
	_, err = d.Open(context.Background(), Target{Sync: "s", Dest: &spec.Dest{Mode: spec.ModeReplace, Config: &HTTPDest{Operations: ops}}})
	want := "http destination api: " + httpDestRole.Why[spec.ModeReplace]
	if err == nil || err.Error() != want || !strings.Contains(want, "cannot be done atomically") {
		t.Fatalf("err = %v, want %q", err, want)
	}
}
