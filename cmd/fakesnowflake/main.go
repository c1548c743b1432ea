// Command fakesnowflake serves the fake Snowflake of package snowflaketest
// on a fixed address, so README demos can sync Snowflake → SQLite without an
// account:
//
//	fakesnowflake -addr 127.0.0.1:8765 -customers 100000
//
// It serves one table, CUSTOMERS (ID, EMAIL, NAME, PLAN, BALANCE, ACTIVE,
// UPDATED_AT), and prints the DSN for a hoist spec's `dsn:` key.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/hoist-dev/hoist/extract/snowflaketest"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "fakesnowflake:", err)
		os.Exit(1)
	}
}

func run() error {
	addr := flag.String("addr", "127.0.0.1:8765", "listen address")
	customers := flag.Int("customers", 100_000, "rows in the CUSTOMERS table")
	chunkRows := flag.Int("chunk-rows", 50_000, "rows per result chunk")
	latency := flag.Duration("chunk-latency", 0, "delay added to every chunk download")
	user := flag.String("user", snowflaketest.DefaultUser, "user name to accept")
	password := flag.String("password", snowflaketest.DefaultPassword, "password to accept")
	flag.Parse()

	s, err := snowflaketest.Listen(*addr, snowflaketest.Options{
		User: *user, Password: *password,
		InlineRows: 1000, ChunkRows: *chunkRows, ChunkLatency: *latency,
		Tables: []*snowflaketest.Table{snowflaketest.Customers(*customers)},
	})
	if err != nil {
		return err
	}
	defer s.Close()
	fmt.Printf("fake snowflake on %s serving CUSTOMERS (%d rows)\n", s.URL, *customers)
	fmt.Printf("dsn: %s\n", s.DSN("DEMO", "PUBLIC"))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	// Give in-flight downloads a moment; Close waits for handlers.
	time.Sleep(50 * time.Millisecond)
	return nil
}
