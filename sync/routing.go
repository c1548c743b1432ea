package sync

import "github.com/hoist-dev/hoist/load"

// routed returns m set to split new and changed rows into inserts and
// updates when the writer routes them to different requests (an API with
// separate create and update verbs, load.KindRouter). The batch stage and
// the commit's replay of its numbering both ask the returned mode, so they
// agree on every batch's op.
func routed(m Mode, w load.Writer) Mode {
	kr, ok := w.(load.KindRouter)
	if ok && m.Inserts && m.SendsChanges && m.Keyed && kr.RoutesByKind() {
		m.Split = true
	}
	return m
}
