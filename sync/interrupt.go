package sync

import (
	"fmt"
	"strings"
)

// interrupted is the error of a run stopped by Ctrl-C or SIGTERM: what it
// delivered and committed, and what the next run sends again, instead of a
// bare "context canceled".
func interrupted(rep *Report) string {
	var b strings.Builder
	fmt.Fprintf(&b, "interrupted: %d rows delivered and committed", rep.Committed)
	if n := rep.Delivered - rep.Committed; n > 0 {
		fmt.Fprintf(&b, "; %d delivered but not committed to state will be sent again next run", n)
	}
	if rep.unacked > 0 {
		fmt.Fprintf(&b, "; %d sent but not acknowledged will be sent again next run", rep.unacked)
	}
	b.WriteString("; the next run sends the rest")
	return b.String()
}
