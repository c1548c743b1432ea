// Command fakesalesforce serves the fake Salesforce org of package
// salesforcetest on a fixed address, for demos of hoist's salesforce
// destination without an org:
//
//	fakesalesforce -addr 127.0.0.1:8181 -key-out demo-key.pem -per-record 200us
//
// It writes a fresh connected-app key pair's private key to -key-out (the
// demo spec's private_key_file) and checks every JWT against its public
// half. Objects: Opportunity (with -extra-fields text fields) and
// Customer__c. GET /_stats answers the fake's counters as JSON.
package main

import (
	"context"
	"encoding/json"
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

	"github.com/hoist-dev/hoist/internal/salesforcetest"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "fakesalesforce:", err)
		os.Exit(1)
	}
}

func run() error {
	var cfg salesforcetest.Config
	addr := flag.String("addr", "127.0.0.1:8181", "listen address")
	keyOut := flag.String("key-out", "demo-key.pem", "write the connected app's private key here (PEM)")
	extra := flag.Int("extra-fields", 0, "text fields Field_001__c… added to Opportunity")
	flag.StringVar(&cfg.ClientID, "client-id", "3MVG9demoConsumerKey", "the connected app's consumer key")
	flag.StringVar(&cfg.Username, "username", "integration@demo.example", "the user JWTs may name")
	flag.StringVar(&cfg.ClientSecret, "client-secret", "", "enable the client credentials flow with this secret")
	flag.DurationVar(&cfg.TokenTTL, "token-ttl", 0, "sessions expire after this (0: never)")
	flag.DurationVar(&cfg.JobLatency, "job-latency", 500*time.Millisecond, "a closed job waits this long before processing")
	flag.DurationVar(&cfg.PerRecord, "per-record", 100*time.Microsecond, "simulated processing time of one record")
	flag.IntVar(&cfg.FailJobs, "fail-jobs", 0, "the next n jobs fail midway")
	flag.IntVar(&cfg.LockFailures, "lock-failures", 0, "the next n records fail UNABLE_TO_LOCK_ROW")
	flag.IntVar(&cfg.ErrorEvery, "error-every", 0, "answer every n-th request 503")
	flag.IntVar(&cfg.DailyAPIRequests, "daily-requests", 100_000, "the org's daily API request limit")
	flag.Parse()

	key, pub, err := salesforcetest.Key()
	if err != nil {
		return err
	}
	if err := os.WriteFile(*keyOut, []byte(key), 0o600); err != nil {
		return err
	}
	cfg.PublicKey = pub
	cfg.Objects = []salesforcetest.Object{salesforcetest.Opportunity(*extra), salesforcetest.Customer()}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := salesforcetest.NewHandler(cfg)
	srv.URL = "http://" + ln.Addr().String()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /_stats", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(srv.Stats())
	})
	mux.Handle("/", srv)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = hs.Shutdown(sctx)
		srv.Close()
	}()
	slog.Info("fake Salesforce listening", "url", srv.URL, "client_id", cfg.ClientID, "username", cfg.Username, "key", *keyOut)
	if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
