package load

import (
	"github.com/hoist-dev/hoist/connector"
	"github.com/hoist-dev/hoist/sync/spec"
)

// httpRoutes is which declared operation serves each batch op of a mode, as
// worked out from the operations a destination declares. validate and Open
// both use it, so validate refuses exactly what a run could not do, and warns
// about exactly the operations a run would never send.
type httpRoutes struct {
	// ops maps each batch op the mode sends to the operation that serves it.
	ops map[Op]string
	// split: rows new to the snapshot go as OpInsert and changed rows as
	// OpUpdate (modes upsert and mirror with both insert and update
	// declared: an API with separate create and update verbs).
	split bool
	// missing says what the mode needs and lacks ("" when nothing).
	missing string
	// unused lists declared operations the mode never sends, each with why.
	unused map[string]string
}

// routeHTTP works out a mode's routes over the declared operations (has
// reports whether one is declared); onDelete is mirror's on_delete, which
// says what takes its deletes: operations.delete, operations.archive,
// operations.update (clear) or nothing (ignore).
func routeHTTP(mode string, has func(string) bool, onDelete string) httpRoutes {
	r := httpRoutes{ops: map[Op]string{}, unused: map[string]string{}}
	pick := func(names ...string) string {
		for _, n := range names {
			if has(n) {
				return n
			}
		}
		return ""
	}
	need := func(op Op, what string, names ...string) {
		if n := pick(names...); n != "" {
			r.ops[op] = n
		} else if r.missing == "" {
			r.missing = "mode " + mode + " needs " + what
		}
	}
	switch mode {
	case spec.ModeInsert:
		need(OpInsert, "operations.insert or operations.upsert", "insert", "upsert")
	case spec.ModeAppend:
		need(OpAppend, "operations.insert or operations.upsert", "insert", "upsert")
	case spec.ModeUpdate:
		need(OpUpdate, "operations.update", "update")
	case spec.ModeUpsert, spec.ModeMirror:
		if has("insert") && has("update") {
			r.split = true
			r.ops[OpInsert], r.ops[OpUpdate] = "insert", "update"
		} else {
			need(OpUpsert, "operations.upsert, or operations.insert and operations.update", "upsert")
		}
		if mode == spec.ModeMirror {
			switch onDelete {
			case "", connector.DeleteDelete:
				need(OpDelete, "operations.delete (or on_delete: ignore)", "delete")
			case connector.DeleteArchive:
				need(OpDelete, "operations.archive for on_delete: archive", opArchive)
			case connector.DeleteClear:
				need(OpDelete, "operations.update for on_delete: clear", "update")
			}
		}
	}
	used := map[string]bool{}
	for _, n := range r.ops {
		used[n] = true
	}
	for _, n := range HTTPOperations {
		if !has(n) || used[n] || n == opLookup {
			continue
		}
		switch {
		case n == opArchive:
			r.unused[n] = "operations.archive is sent only for mode mirror's on_delete: archive"
		case r.split && n == "upsert":
			r.unused[n] = "operations.insert and operations.update take new and changed rows, so operations.upsert is never sent"
		case (mode == spec.ModeUpsert || mode == spec.ModeMirror) && (n == "insert" || n == "update"):
			r.unused[n] = "new and changed rows go through operations.upsert; operations." + n + " is used only when both operations.insert and operations.update are declared"
		case n == "delete" && mode == spec.ModeMirror:
			r.unused[n] = "on_delete: " + onDelete + " does not delete, so operations.delete is never sent"
		default:
			r.unused[n] = "mode " + mode + " never sends operations." + n
		}
	}
	return r
}
