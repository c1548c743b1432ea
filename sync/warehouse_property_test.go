package sync_test

import (
	"fmt"
	"testing"

	"github.com/hoist-dev/hoist/internal/pgtest"
	"github.com/hoist-dev/hoist/sync/spec"
)

// pgWarehouseSource is the property test's source as a PostgreSQL table,
// diffed in the database (diff: warehouse).
func pgWarehouseSource(t *testing.T) propSource {
	db := pgtest.New(t)
	db.Exec(t, `CREATE TABLE people_src (id bigint PRIMARY KEY, name text NOT NULL, score bigint NOT NULL, ver bigint NOT NULL)`)
	return propSource{
		conn:  fmt.Sprintf("{type: postgres, url: %q}", db.URL),
		block: fmt.Sprintf("table: %s.people_src", db.Schema),
		extra: "    diff: warehouse\n",
		write: func(t *testing.T, _ string, src map[int]row) {
			sqls := []string{"TRUNCATE people_src"}
			for id, r := range src {
				sqls = append(sqls, fmt.Sprintf("INSERT INTO people_src VALUES (%d, '%s', %d, %d)", id, r.name, r.score, r.ver))
			}
			db.Exec(t, sqls...)
		},
	}
}

// TestPropertyWarehouseDiff is TestPropertyRandomEditsAndFailures with the
// diff computed in the source database: random edits, load failures before
// and after the write; after each final run the destination is exact and a
// rerun sends nothing.
func TestPropertyWarehouseDiff(t *testing.T) {
	kinds := []struct {
		name string
		make func(t *testing.T) destKind
	}{
		{"sqlite", func(*testing.T) destKind { return sqliteKind() }},
		{"postgres", postgresKind},
	}
	before, after := injector.before, injector.after
	for _, kind := range kinds {
		for _, mode := range []string{spec.ModeUpsert, spec.ModeMirror, spec.ModeInsert} {
			for seed := uint64(1); seed <= 3; seed++ {
				t.Run(fmt.Sprintf("%s/%s/seed%d", kind.name, mode, seed), func(t *testing.T) {
					runPropertyFrom(t, pgWarehouseSource(t), kind.make(t), mode, seed)
				})
			}
		}
	}
	if injector.before == before || injector.after == after {
		t.Fatalf("faults were not injected (before %d, after %d)", injector.before-before, injector.after-after)
	}
}
