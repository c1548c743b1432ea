package load

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/hoist-dev/hoist/internal/filefmt"
)

// untypedColumn refuses to create a column from a field whose type the
// source could only guess (a header-only CSV file): a table of all-text
// columns, made silently, would then refuse or mangle the typed rows of the
// next run.
func untypedColumn(f arrow.Field) error {
	why := filefmt.Untyped(f)
	if why == "" {
		return nil
	}
	return fmt.Errorf("no type to create it with (%s to infer one from); create the table, add data rows, or give the column a type in mappings (type: int64, decimal(12,2), …)", why)
}
