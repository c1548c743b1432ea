package sync

import (
	"slices"
	"testing"

	"github.com/hoist-dev/hoist/connector"
	"github.com/hoist-dev/hoist/extract"
	"github.com/hoist-dev/hoist/load"
)

// TestRegistryMatchesOpeners: every connector that declares a source role
// has a source opener and the other way round, and likewise for
// destinations, so validate never accepts a spec that run cannot open.
func TestRegistryMatchesOpeners(t *testing.T) {
	var sources, dests []string
	for _, c := range connector.All() {
		if c.Source != nil {
			sources = append(sources, c.Type)
		}
		if c.Dest != nil {
			dests = append(dests, c.Type)
			if len(c.Dest.Modes) == 0 {
				t.Errorf("%s: a destination writing no mode", c.Type)
			}
		}
	}
	if got := extract.Types(); !slices.Equal(got, sources) {
		t.Errorf("source openers %v, connectors with a source role %v", got, sources)
	}
	if got := load.Types(); !slices.Equal(got, dests) {
		t.Errorf("destination openers %v, connectors with a destination role %v", got, dests)
	}
	if len(sources) < 5 || len(dests) < 4 {
		t.Fatalf("too few connectors registered: sources %v, destinations %v", sources, dests)
	}
}
