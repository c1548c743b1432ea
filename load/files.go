package load

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/hoist-dev/hoist/connector"
	"github.com/hoist-dev/hoist/internal/filefmt"
	"github.com/hoist-dev/hoist/sync/spec"
)

func init() {
	Register(filefmt.Type, connector.DestRole{
		NewConfig: func() connector.DestConfig { return &filefmt.Dest{} },
		Modes:     allModes,
		ObjectKey: filefmt.ObjectKey,
	}, openFilesDest)
}

// filesDest writes Parquet, CSV or JSON Lines files into the connection's
// folder. Every mode ends in an atomic rename or an append of whole batches,
// so a reader never sees a half-written file:
//
//   - replace: a temp file beside the object, renamed over it at Commit.
//   - append: CSV and JSONL append whole batches to the object (header only
//     when new; a batch that fails is truncated off). Parquet cannot be
//     appended to, so a run writes the object when it does not exist yet and
//     otherwise a part file "<object stem>-<UTC time>.parquet" beside it; read
//     them all back with a glob such as "events*.parquet".
//   - insert, update, upsert, mirror: the run's rows are spilled to a temp
//     Arrow IPC file as they are acknowledged (only their keys stay in
//     memory), and Commit streams the old object and the spill into a new
//     file holding exactly the current table, renamed over the object.
type filesDest struct {
	name string
	conn *filefmt.Config
	dir  string // the connection's folder, absolute or relative to the cwd
}

var _ Destination = (*filesDest)(nil)

func openFilesDest(_ context.Context, conn *spec.Connection, dir string) (Destination, error) {
	cfg, err := connector.As[*filefmt.Config](conn.Config)
	if err != nil {
		return nil, err
	}
	if cfg.Path == "" {
		return nil, fmt.Errorf("files connection %s: path is required", conn.Name)
	}
	p := cfg.Path
	if !filepath.IsAbs(p) && dir != "" {
		p = filepath.Join(dir, p)
	}
	return &filesDest{name: conn.Name, conn: cfg, dir: filepath.Clean(p)}, nil
}

func (d *filesDest) Close() error { return nil }

// objectPath returns the file a target writes and its format.
func (d *filesDest) objectPath(dst *spec.Dest) (string, string, error) {
	fd, _ := dst.Config.(*filefmt.Dest)
	return filefmt.ObjectPath(d.dir, dst.Object, fd.FormatOf(d.conn))
}

func (d *filesDest) Open(ctx context.Context, t Target) (Writer, error) {
	if t.Dest == nil || t.Schema == nil {
		return nil, fmt.Errorf("files destination %s: target needs a destination and a schema", d.name)
	}
	path, format, err := d.objectPath(t.Dest)
	if err != nil {
		return nil, fmt.Errorf("files destination %s: %w", d.name, err)
	}
	if err := d.inside(path); err != nil {
		return nil, fmt.Errorf("files destination %s: %w", d.name, err)
	}
	if st, err := os.Stat(path); err == nil && !st.Mode().IsRegular() {
		return nil, fmt.Errorf("files destination %s: %s exists and is not a file", d.name, path)
	}
	if t.DryRun {
		return filesDryRun{}, nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("files destination %s: create folder: %w", d.name, err)
	}
	o := fileObject{path: path, format: format, compression: d.conn.Compression, target: t}
	var w Writer
	switch mode := t.Dest.Mode; {
	case mode == spec.ModeReplace:
		w, err = newFileReplace(o, path, true)
	case mode == spec.ModeAppend && format == filefmt.Parquet:
		w, err = newFileReplace(o, filePartPath(path), false)
	case mode == spec.ModeAppend:
		w, err = newFileAppend(o)
	case spec.KeyNeeded(mode):
		w, err = newFileMerge(o)
	default:
		err = fmt.Errorf("unknown mode %q", mode)
	}
	if err != nil {
		return nil, fmt.Errorf("files destination %s: open %s: %w", d.name, filepath.Base(path), err)
	}
	return w, nil
}

// fileObject is what every files writer needs to know.
type fileObject struct {
	path        string
	format      string
	compression string // Parquet codec (filefmt.WriteOptions.Compression)
	target      Target
}

func (o fileObject) name() string { return filepath.Base(o.path) }

func filesAlloc(t Target) memory.Allocator {
	if t.Alloc != nil {
		return t.Alloc
	}
	return memory.DefaultAllocator
}

// inside refuses an object path that a symbolic link (the object itself or
// a folder on the way) leads out of the connection's folder: every mode
// writes, renames or appends there, and would do so wherever the link
// points. Links that stay inside are followed.
func (d *filesDest) inside(path string) error {
	root, err := filepath.EvalSymlinks(d.dir)
	if os.IsNotExist(err) {
		return nil // created by Open: nothing in it can be a link yet
	}
	if err != nil {
		return fmt.Errorf("folder %s: %w", d.dir, err)
	}
	rel, err := filepath.Rel(d.dir, path)
	if err != nil {
		return err
	}
	cur := d.dir
	for _, part := range strings.Split(rel, string(filepath.Separator)) {
		cur = filepath.Join(cur, part)
		fi, err := os.Lstat(cur)
		if os.IsNotExist(err) {
			return nil
		}
		if err != nil {
			return err
		}
		if fi.Mode()&os.ModeSymlink == 0 {
			continue
		}
		target, err := filepath.EvalSymlinks(cur)
		if err != nil {
			return fmt.Errorf("%s is a symbolic link that does not resolve: %w", cur, err)
		}
		if r, err := filepath.Rel(root, target); err != nil || !filepath.IsLocal(r) {
			return fmt.Errorf("%s is a symbolic link to %s, outside the connection's folder; the files destination writes only inside it", cur, target)
		}
	}
	return nil
}

// filesDryRun is what hoist validate --connect opens: it checks the object
// path above and writes nothing.
type filesDryRun struct{}

func (filesDryRun) Write(context.Context, Batch) (Result, error) {
	return Result{}, fmt.Errorf("files destination opened for a dry run cannot write")
}
func (filesDryRun) Commit(context.Context) error { return nil }
func (filesDryRun) Abort(context.Context) error  { return nil }
func (filesDryRun) Concurrency() int             { return 1 }

// filePartPath returns the path of a new part file for a Parquet object that
// already exists, or the object itself when it does not.
func filePartPath(path string) string {
	if _, err := os.Stat(path); os.IsNotExist(err) {
		return path
	}
	stem := strings.TrimSuffix(path, filepath.Ext(path))
	return stem + "-" + filePartStamp() + filepath.Ext(path)
}
