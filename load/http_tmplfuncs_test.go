package load

import (
	"strings"
	"testing"
)

// TestCheckTemplateUsesTheDestinationsFuncs: validate parses operation
// templates with the very functions the destination renders them with, so it
// passes exactly the templates run accepts.
func TestCheckTemplateUsesTheDestinationsFuncs(t *testing.T) {
	for n := range tmplFuncs {
		if err := CheckTemplate("{{" + n + " .Rows}}"); err != nil {
			t.Errorf("template calling %s: %v", n, err)
		}
	}
	if err := CheckTemplate("{{yaml .Rows}}"); err == nil || !strings.Contains(err.Error(), `function "yaml" not defined`) {
		t.Fatalf("unknown function: err = %v", err)
	}
}
