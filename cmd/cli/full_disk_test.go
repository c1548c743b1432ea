package cli_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// tinyDisk mounts a tmpfs of size for the test, or skips where that is
// not allowed (not root, no mount privilege).
func tinyDisk(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a small tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", dir).Run() })
	return dir
}

// TestFullStateDiskSaysItOnce: a state store on a full disk fails the run
// with the file and the cause said once (not "write X: write X: no space
// left on device"), and the report tells the delivered rows apart from the
// committed ones (none).
func TestFullStateDiskSaysItOnce(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("id,name\n")
	for i := 0; i < 20000; i++ {
		fmt.Fprintf(&b, "%d,person %d with a name long enough to fill the snapshot\n", i, i*7919)
	}
	os.WriteFile(filepath.Join(dir, "people.csv"), []byte(b.String()), 0o644)
	os.WriteFile(filepath.Join(dir, "hoist.yaml"), []byte(goodConns+`syncs:
  - name: people
    source: {connection: src, path: people.csv}
    destination: {connection: db, object: people, mode: upsert, primary_key: [id], create_table: true}
`), 0o644)
	// the disk fills at different points of the snapshot's writing: while
	// rows stream in, and when the last block is flushed
	for _, size := range []string{"64k", "320k"} { // the snapshot is ~390 KiB
		t.Run(size, func(t *testing.T) {
			disk := tinyDisk(t, size)
			os.RemoveAll(filepath.Join(dir, "dest.db"))
			res := hoist(t, dir, nil, "run", "hoist.yaml", "--output", "json", "--state", "file://"+filepath.Join(disk, "state"))
			rep := decodeRun(t, res)
			if res.code != 1 || rep.Delivered != 20000 || rep.Committed != 0 {
				t.Fatalf("exit %d, %+v: want a failed state commit after 20000 delivered", res.code, rep)
			}
			if strings.Count(rep.Error, "no space left on device") != 1 || strings.Count(rep.Error, disk) != 1 {
				t.Fatalf("error %q: want the file and the cause once each", rep.Error)
			}
		})
	}
}
