package load

import (
	"sort"
	"testing"

	"github.com/hoist-dev/hoist/sync/spec"
)

// TestTemplateFuncsMatchSpec: validate parses operation templates with the
// function names spec.TemplateFuncs lists; they must be the ones the
// destination provides, or validate would pass a template run rejects.
func TestTemplateFuncsMatchSpec(t *testing.T) {
	var have []string
	for n := range tmplFuncs {
		have = append(have, n)
	}
	sort.Strings(have)
	want := append([]string(nil), spec.TemplateFuncs...)
	sort.Strings(want)
	if len(have) != len(want) {
		t.Fatalf("load provides %v, spec.TemplateFuncs lists %v", have, want)
	}
	for i := range have {
		if have[i] != want[i] {
			t.Fatalf("load provides %v, spec.TemplateFuncs lists %v", have, want)
		}
	}
}
