package spec_test

// The spec is read with every built-in connector registered, as the hoist
// binary reads it.
import (
	_ "github.com/hoist-dev/hoist/extract"
	_ "github.com/hoist-dev/hoist/load"
)
