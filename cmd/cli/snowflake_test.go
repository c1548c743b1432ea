package cli_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hoist-dev/hoist/extract/snowflaketest"
)

// TestSnowflakeWrongPassword: a wrong password ends with exit 1 and
// Snowflake's message in seconds, never the password itself.
func TestSnowflakeWrongPassword(t *testing.T) {
	sf := snowflaketest.New(snowflaketest.Options{Tables: []*snowflaketest.Table{snowflaketest.Customers(10)}})
	defer sf.Close()
	dir := t.TempDir()
	// the fake speaks plain HTTP on loopback, which only a DSN can say
	dsn := strings.Replace(sf.DSN("DEMO", "PUBLIC"), snowflaketest.DefaultPassword, "wrong-pass-123", 1)
	os.WriteFile(filepath.Join(dir, "hoist.yaml"), []byte(fmt.Sprintf(`version: 1
connections:
  wh: {type: snowflake, dsn: %q, login_timeout: 5s}
  db: {type: sqlite, path: ./dest.db}
syncs:
  - name: c
    source: {connection: wh, table: customers}
    destination: {connection: db, object: c, mode: upsert, primary_key: [id], create_table: true}
`, dsn)), 0o644)
	start := time.Now()
	res := hoist(t, dir, []string{"SNOWFLAKE_DISABLE_PLATFORM_DETECTION=true"}, "run", "hoist.yaml")
	took := time.Since(start)
	if res.code != 1 || !strings.Contains(res.stdout+res.stderr, "Incorrect username or password") {
		t.Fatalf("exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	if took > 10*time.Second {
		t.Fatalf("took %s, want under 10 s", took)
	}
	if strings.Contains(res.stdout+res.stderr, "wrong-pass-123") {
		t.Fatal("password in output")
	}
}
