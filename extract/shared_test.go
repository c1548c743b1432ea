package extract

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	stdsync "sync"
	"testing"

	"github.com/hoist-dev/hoist/connector"
	"github.com/hoist-dev/hoist/internal/filefmt"
	"github.com/hoist-dev/hoist/sync/spec"
)

// TestSharedSources: under a Shared, every sync opening one SQLite
// connection, at once or one after another, gets the same open database
// (one open, one schema read), whose Close is the run's: it still reads
// after the syncs closed it, and no longer once the run closed the set. A
// failed open is not kept. Other types, and Open without a Shared, open
// their own.
func TestSharedSources(t *testing.T) {
	conn, dir := sqliteFixture(t, "CREATE TABLE t (id INTEGER PRIMARY KEY)", "INSERT INTO t VALUES (1), (2)")
	shared := NewShared()
	ctx := WithShared(context.Background(), shared)
	dbs := make([]*sql.DB, 8)
	var wg stdsync.WaitGroup
	for i := range dbs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			src, err := Open(ctx, conn, dir)
			if err != nil {
				t.Error(err)
				return
			}
			dbs[i] = src.(*sharedSource).Source.(*sqliteSource).db
			src.Close() // a sync's close: the source stays open
		}()
	}
	wg.Wait()
	for i, db := range dbs {
		if db == nil || db != dbs[0] {
			t.Fatalf("sync %d got another database than sync 0", i)
		}
	}
	req := Request{Sync: "s", Source: &spec.Source{Config: &connector.SQLSource{Table: "t"}}}
	src, err := Open(ctx, conn, dir)
	if err != nil {
		t.Fatal(err)
	}
	rr, err := src.Read(ctx, req)
	if err != nil {
		t.Fatalf("read after the syncs closed it: %v", err)
	}
	rr.Release()
	if err := shared.Close(); err != nil {
		t.Fatal(err)
	}
	if err := dbs[0].Ping(); err == nil {
		t.Fatal("the database is still open after the run closed its sources")
	}

	// a missing file fails, and is opened once it exists
	missing := &spec.Connection{Name: "later", Type: conn.Type, Config: conn.Config}
	later := NewShared()
	defer later.Close()
	lctx := WithShared(context.Background(), later)
	empty := t.TempDir()
	if _, err := Open(lctx, missing, empty); err == nil {
		t.Fatal("opened a missing database")
	}
	b, _ := os.ReadFile(filepath.Join(dir, "src.db"))
	os.WriteFile(filepath.Join(empty, "src.db"), b, 0o644)
	if _, err := Open(lctx, missing, empty); err != nil {
		t.Fatalf("the failed open was kept: %v", err)
	}

	// without a Shared, or for a type not marked shareable: a source of its own
	own, err := Open(context.Background(), conn, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer own.Close()
	if _, ok := own.(*sharedSource); ok {
		t.Fatal("Open without a Shared shared its source")
	}
	files := &spec.Connection{Name: "f", Type: filefmt.Type, Config: &filefmt.Config{Path: dir, Format: "csv"}}
	f, err := Open(lctx, files, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, ok := f.(*sharedSource); ok {
		t.Fatal("a files source was shared")
	}
}
