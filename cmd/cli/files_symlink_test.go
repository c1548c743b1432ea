package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFilesDestinationSymlinkOut: hoist run appending to an object that is
// a symbolic link out of the files connection's folder fails naming it, and
// the file it points at is untouched.
func TestFilesDestinationSymlinkOut(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "people.csv"), []byte("id,name\n1,Ann\n2,Bob\n"), 0o644)
	os.Mkdir(filepath.Join(dir, "out"), 0o755)
	victim := filepath.Join(dir, "elsewhere.csv")
	os.WriteFile(victim, []byte("id,name\n9,Zed\n"), 0o644)
	if err := os.Symlink(victim, filepath.Join(dir, "out", "people.csv")); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "hoist.yaml"), []byte(`version: 1
connections:
  src: {type: files, path: ., format: csv}
  out: {type: files, path: ./out, format: csv}
syncs:
  - name: people
    source: {connection: src, path: people.csv}
    destination: {connection: out, object: people.csv, mode: append}
`), 0o644)
	res := hoist(t, dir, nil, "run", "hoist.yaml")
	if res.code != 1 || !strings.Contains(res.stdout+res.stderr, "people.csv is a symbolic link to "+victim+", outside the connection's folder") {
		t.Fatalf("exit %d, want 1 naming the link\n%s%s", res.code, res.stdout, res.stderr)
	}
	if b, _ := os.ReadFile(victim); string(b) != "id,name\n9,Zed\n" {
		t.Errorf("the file outside the folder was written: %q", b)
	}
}
