package load

import (
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
)

// What the business-app destinations (hubspot, salesforce) share when they
// hold a mapped column to a field the API describes.

// optionText lists a picklist's values for an error message, the first 12
// and how many in all past that.
func optionText(vals []string) string {
	if len(vals) > 12 {
		return strings.Join(vals[:12], ", ") + fmt.Sprintf(", … (%d in all)", len(vals))
	}
	return strings.Join(vals, ", ")
}

// arrowKinds gives the type ID a column of type t stores (an extension
// type's storage) and whether it holds numbers, text or dates and times.
func arrowKinds(t arrow.DataType) (id arrow.Type, numeric, textual, temporal bool) {
	id = t.ID()
	if ext, ok := t.(arrow.ExtensionType); ok {
		id = ext.StorageType().ID()
	}
	numeric = arrow.IsInteger(id) || arrow.IsFloating(id) || id == arrow.DECIMAL128 || id == arrow.DECIMAL256
	textual = id == arrow.STRING || id == arrow.LARGE_STRING || id == arrow.STRING_VIEW || id == arrow.DICTIONARY
	temporal = id == arrow.DATE32 || id == arrow.DATE64 || id == arrow.TIMESTAMP
	return id, numeric, textual, temporal
}
