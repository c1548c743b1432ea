package load_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hoist-dev/hoist/internal/filefmt"
	"github.com/hoist-dev/hoist/load"
	"github.com/hoist-dev/hoist/sync/spec"
)

// TestFilesRefusesSymlinksOut: in every mode, an object that is a symbolic
// link out of the connection's folder, or sits in a linked folder outside,
// is refused at Open and the file outside is left as it was. A link that
// stays inside the folder is followed.
func TestFilesRefusesSymlinksOut(t *testing.T) {
	t.Parallel()
	modes := []struct {
		mode, format string
		pk           []string
	}{
		{spec.ModeReplace, "csv", nil},
		{spec.ModeAppend, "csv", nil},
		{spec.ModeAppend, "parquet", nil},
		{spec.ModeUpsert, "jsonl", []string{"id"}},
	}
	links := []struct {
		name string
		// link makes links in out, the connection's folder; the object is
		// sub/people or people, with the format's extension ext
		link    func(t *testing.T, out, outside, ext string)
		object  string
		wantErr string
	}{
		{"object links outside", func(t *testing.T, out, outside, ext string) {
			symlink(t, filepath.Join(outside, "victim"+ext), filepath.Join(out, "people"+ext))
		}, "people", "outside the connection's folder"},
		{"folder links outside", func(t *testing.T, out, outside, ext string) {
			symlink(t, outside, filepath.Join(out, "sub"))
		}, "sub/victim", "outside the connection's folder"},
		{"folder link that stays inside", func(t *testing.T, out, outside, ext string) {
			if err := os.Mkdir(filepath.Join(out, "real"), 0o755); err != nil {
				t.Fatal(err)
			}
			symlink(t, filepath.Join(out, "real"), filepath.Join(out, "sub"))
		}, "sub/people", ""},
	}
	for _, m := range modes {
		for _, l := range links {
			t.Run(m.mode+" "+m.format+" "+l.name, func(t *testing.T) {
				t.Parallel()
				dir := t.TempDir()
				out, outside := filepath.Join(dir, "out"), filepath.Join(dir, "outside")
				for _, d := range []string{out, outside} {
					if err := os.Mkdir(d, 0o755); err != nil {
						t.Fatal(err)
					}
				}
				ext := "." + m.format
				victim := filepath.Join(outside, "victim"+ext)
				if err := os.WriteFile(victim, []byte("precious\n"), 0o644); err != nil {
					t.Fatal(err)
				}
				l.link(t, out, outside, ext)
				ctx := context.Background()
				d, err := load.Open(ctx, &spec.Connection{Name: "out", Type: filefmt.Type, Config: &filefmt.Config{Path: "out", Format: m.format}}, dir)
				if err != nil {
					t.Fatal(err)
				}
				defer d.Close()
				w, err := d.Open(ctx, load.Target{Sync: "s", Schema: filesSchema, Alloc: filesChecked(t),
					Dest: &spec.Dest{Object: l.object, Mode: m.mode, PrimaryKey: m.pk}})
				if l.wantErr == "" {
					if err != nil {
						t.Fatalf("a link inside the folder: %v", err)
					}
					w.Abort(ctx)
					return
				}
				if err == nil || !strings.Contains(err.Error(), l.wantErr) {
					if w != nil {
						w.Commit(ctx)
					}
					t.Fatalf("err = %v, want %q", err, l.wantErr)
				}
				if b, _ := os.ReadFile(victim); string(b) != "precious\n" {
					t.Errorf("the file outside changed: %q", b)
				}
			})
		}
	}
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}
