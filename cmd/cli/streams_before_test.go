package cli_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/hoist-dev/hoist/internal/natstest"
)

// TestStreamBeforeEndToEnd publishes a mirror with before: true to
// JetStream with the built binary, edits the source, and runs again: each
// message of the second run carries the key's row as the first run
// delivered it (changes and deletes), or null (adds), formatted as after.
func TestStreamBeforeEndToEnd(t *testing.T) {
	srv := natstest.New(t)
	subject := srv.Stream(t, "customers")
	dir := t.TempDir()
	db := streamSource(t, dir, 50)
	b := streamBroker{conn: fmt.Sprintf("{type: nats, url: %q}", srv.URL), dest: fmt.Sprintf("subject: %q\n      before: true", subject)}
	if err := os.WriteFile(filepath.Join(dir, "hoist.yaml"), []byte(streamSpec(b)), 0o644); err != nil {
		t.Fatal(err)
	}
	if rep := streamRun(t, dir); rep.Delivered != 50 {
		t.Fatalf("first run: %+v", rep)
	}
	first := len(srv.Messages(t, "customers"))
	for _, q := range []string{
		`UPDATE customers SET plan = 'enterprise', score = -1 WHERE id IN (3, 4)`,
		`DELETE FROM customers WHERE id = 7`,
		`INSERT INTO customers VALUES (51, 'new@example.com', NULL, 5)`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	if rep := streamRun(t, dir); rep.Added != 1 || rep.Changed != 2 || rep.Removed != 1 {
		t.Fatalf("second run: %+v", rep)
	}
	type env struct {
		Op     string          `json:"op"`
		Key    json.RawMessage `json:"key"`
		Before json.RawMessage `json:"before"`
		After  json.RawMessage `json:"after"`
	}
	got := map[string]env{}
	msgs := srv.Messages(t, "customers")
	for _, m := range msgs[first:] {
		var e env
		if err := json.Unmarshal(m.Value, &e); err != nil {
			t.Fatalf("%s: %v", m.Value, err)
		}
		got[string(e.Key)] = e
	}
	row := func(id int, plan string, score int) string {
		return fmt.Sprintf(`{"id":%d,"email":"user%d@example.com","plan":%s,"score":%d}`, id, id, plan, score)
	}
	want := map[string][2]string{ // key → before, after
		`{"id":3}`:  {row(3, `"free"`, 21), row(3, `"enterprise"`, -1)},
		`{"id":4}`:  {row(4, `"pro"`, 28), row(4, `"enterprise"`, -1)},
		`{"id":7}`:  {row(7, `"pro"`, 49), "null"},
		`{"id":51}`: {"null", `{"id":51,"email":"new@example.com","plan":null,"score":5}`},
	}
	if len(got) != len(want) {
		t.Errorf("second run published %d keys, want %d: %v", len(got), len(want), got)
	}
	for k, w := range want {
		e, ok := got[k]
		if !ok {
			t.Errorf("no message for %s", k)
			continue
		}
		if compactJSON(t, e.Before) != compactJSON(t, []byte(w[0])) || compactJSON(t, e.After) != compactJSON(t, []byte(w[1])) {
			t.Errorf("%s (%s): before %s after %s, want before %s after %s", k, e.Op, e.Before, e.After, w[0], w[1])
		}
	}
}

// compactJSON is b re-encoded with sorted keys, for comparing objects.
func compactJSON(t *testing.T, b []byte) string {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	out, _ := json.Marshal(v)
	return string(out)
}
