// Command fakecrm serves the fake CRM of package crmtest on a fixed address,
// for demos of hoist's http connector and for benchmarks:
//
//	fakecrm -addr 127.0.0.1:8080 -rate 20 -burst 20 -token secret -seed-records 1000
//
// Endpoints: POST /contacts/batch, POST /contacts/batch/delete, POST
// /contacts, PUT|PATCH|DELETE|GET /contacts/{id}, GET /contacts (page,
// offset, cursor and Link pagination, updated_since), GET /_stats.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/hoist-dev/hoist/load/crmtest"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "fakecrm:", err)
		os.Exit(1)
	}
}

func run() error {
	var cfg crmtest.Config
	addr := flag.String("addr", "127.0.0.1:8080", "listen address")
	seedRecords := flag.Int("seed-records", 0, "store this many sample contacts at start")
	flag.Uint64Var(&cfg.Seed, "seed", 1, "fault injection seed")
	flag.StringVar(&cfg.KeyField, "key-field", "id", "record field holding the key")
	flag.StringVar(&cfg.Token, "token", os.Getenv("FAKECRM_TOKEN"), "required bearer token (default $FAKECRM_TOKEN; empty: none)")
	flag.Float64Var(&cfg.RateLimit, "rate", 0, "requests per second before 429 (0: unlimited)")
	flag.IntVar(&cfg.Burst, "burst", 1, "token bucket burst")
	flag.Float64Var(&cfg.ErrorRate, "error-rate", 0, "fraction of requests answered 5xx")
	flag.Float64Var(&cfg.SlowRate, "slow-rate", 0, "fraction of requests delayed by -slow-delay")
	flag.DurationVar(&cfg.SlowDelay, "slow-delay", 50*time.Millisecond, "delay of slow requests")
	flag.Float64Var(&cfg.TimeoutRate, "timeout-rate", 0, "fraction of requests applied and never answered")
	flag.IntVar(&cfg.ResetEvery, "reset-every", 0, "reset the connection of every Nth request")
	flag.IntVar(&cfg.Throttle429Every, "throttle-every", 0, "every Nth request starts a burst of 429s")
	flag.IntVar(&cfg.Throttle429Len, "throttle-len", 5, "length of a 429 burst")
	flag.BoolVar(&cfg.RowErrors, "row-errors", false, "answer invalid records in a batch with 207 per-row errors instead of 400")
	flag.Parse()

	srv := crmtest.NewHandler(cfg)
	for i := 1; i <= *seedRecords; i++ {
		srv.Put(map[string]any{cfg.KeyField: i, "email": fmt.Sprintf("user%d@example.com", i),
			"updated_at": time.Now().UTC().Add(time.Duration(i-*seedRecords) * time.Second).Format(time.RFC3339)})
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	hs := &http.Server{Handler: srv.WithStats(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = hs.Shutdown(sctx)
	}()
	slog.Info("fake CRM listening", "url", "http://"+ln.Addr().String(), "token_required", cfg.Token != "")
	if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
