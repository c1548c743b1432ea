package spec_test

import (
	"fmt"
	"strings"
	"testing"

	. "github.com/hoist-dev/hoist/sync/spec"
)

// afterSpec is a spec of syncs named by names, each a line "NAME: AFTER"
// ("b: a, c" makes b run after a and c). The syncs start on line 6; each
// takes three lines, and a fourth for its after list.
func afterSpec(lines ...string) string {
	var b strings.Builder
	b.WriteString(`version: 1
connections:
  src: {type: files, path: ., format: csv}
  db: {type: sqlite, path: ./dest.db}
syncs:
`)
	for _, l := range lines {
		name, after, _ := strings.Cut(l, ":")
		fmt.Fprintf(&b, "  - name: %s\n    source: {connection: src, path: %s.csv}\n", name, name)
		fmt.Fprintf(&b, "    destination: {connection: db, object: %s, mode: append}\n", name)
		if after = strings.TrimSpace(after); after != "" {
			fmt.Fprintf(&b, "    after: [%s]\n", after)
		}
	}
	return b.String()
}

// TestAfterValidation: every wrong after entry is an error naming the file,
// the line and the entry; a cycle is reported once, with its path, at the
// entry of its first sync in the spec.
func TestAfterValidation(t *testing.T) {
	tests := []struct {
		name  string
		syncs []string
		want  []string // "" in want: the spec is valid
	}{
		{"valid chain and fan-in", []string{"a:", "b: a", "c: a, b"}, nil},
		{"after a later sync", []string{"a: c", "b:", "c:"}, nil},
		{"unknown name", []string{"a:", "b: x"},
			[]string{`s.yaml:12: syncs[1].after[0]: no sync named "x" (syncs: a, b)`}},
		{"itself", []string{"a: a"},
			[]string{`s.yaml:9: syncs[0].after[0]: sync "a" cannot run after itself`}},
		{"twice", []string{"a:", "b: a, a"},
			[]string{`s.yaml:12: syncs[1].after[1]: sync "a" is listed twice`}},
		{"empty name", []string{"a:", `b: ""`},
			[]string{`s.yaml:12: syncs[1].after[0]: sync name is empty`}},
		{"two-cycle", []string{"a: b", "b: a"},
			[]string{`s.yaml:9: syncs[0].after[0]: these syncs wait for each other in a cycle (a → b → a, each after the next)`}},
		{"three-cycle behind a chain", []string{"x:", "a: x, c", "b: a", "c: b"},
			[]string{`s.yaml:12: syncs[1].after[1]: these syncs wait for each other in a cycle (a → c → b → a, each after the next)`}},
		{"two separate cycles", []string{"a: b", "b: a", "c: d", "d: c"},
			[]string{`s.yaml:9: syncs[0].after[0]: these syncs wait for each other in a cycle (a → b → a`,
				`s.yaml:17: syncs[2].after[0]: these syncs wait for each other in a cycle (c → d → c`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f, err := Parse("s.yaml", []byte(afterSpec(tc.syncs...)), env(nil))
			if tc.want == nil {
				if err != nil {
					t.Fatalf("valid spec refused: %v", err)
				}
				if len(f.Syncs[len(f.Syncs)-1].After) == 0 && tc.syncs[len(tc.syncs)-1] != "c:" {
					t.Fatalf("after was not read: %+v", f.Syncs)
				}
				return
			}
			if err == nil {
				t.Fatal("spec validated")
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(tc.want) {
				t.Fatalf("got %d problems, want %d:\n%v", len(lines), len(tc.want), err)
			}
			for i, w := range tc.want {
				if !strings.HasPrefix(lines[i], w) {
					t.Errorf("problem %d:\n got %s\nwant %s…", i, lines[i], w)
				}
			}
		})
	}
}
