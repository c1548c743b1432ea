// Command fakehubspot serves the fake HubSpot CRM v3 API of package
// hubspottest on a fixed address, so the README's HubSpot demo and
// `make bench-hubspot` run without an account:
//
//	fakehubspot -addr 127.0.0.1:8089 -token demo-token -tier professional
//	fakehubspot -faults                      # the benchmark's fault mix
//	fakehubspot -error-rate 0.05 -throttle-every 300
//
// It serves the objects batch APIs (upsert, update, create, archive, read)
// of contacts, companies, deals, tickets and custom objects, and the
// properties API, validating every request against HubSpot's documented
// request schemas; it enforces the tier's ten-secondly and daily limits with
// HubSpot's headers and 429 bodies. Contacts carry the properties of
// -properties beside HubSpot's standard ones (by default those the demo
// spec, cmd/fakehubspot/demo.yaml, maps). GET /_stats reports what it saw.
// It prints its URL on the first line of standard output.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/hoist-dev/hoist/internal/hubspottest"
)

// demoProperties are the contact properties demo.yaml maps, beside the
// standard email, firstname and lifecyclestage.
const demoProperties = "customer_id:unique,country:string,plan:enum:free|starter|pro|enterprise," +
	"lifetime_value:number,is_active:bool,signup_date:date,last_updated:datetime"

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "fakehubspot:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("fakehubspot", flag.ContinueOnError)
	var cfg hubspottest.Config
	addr := fs.String("addr", "127.0.0.1:8089", "listen address (port 0: any free port)")
	fs.StringVar(&cfg.Token, "token", os.Getenv("FAKEHUBSPOT_TOKEN"), "the private app token every request must carry (default $FAKEHUBSPOT_TOKEN; empty: none checked)")
	fs.StringVar(&cfg.Tier, "tier", "professional", "account tier whose limits apply: free, starter, professional, enterprise or api_add_on")
	fs.IntVar(&cfg.TenSecondly, "requests-per-10s", 0, "ten-secondly limit (0: the tier's; -1: none)")
	fs.IntVar(&cfg.Daily, "daily", 0, "daily limit (0: the tier's; -1: none)")
	props := fs.String("properties", demoProperties, "comma-separated contact properties beside the standard ones, each name:type[:option|option…] (types string, unique, number, date, datetime, bool, enum, multienum)")
	faults := fs.Bool("faults", false, "inject the benchmark's fault mix (5% 5xx, 2% unanswered, 5% slow, resets, 429 bursts); the flags below override its parts")
	fs.Uint64Var(&cfg.Seed, "seed", 1, "fault injection seed")
	errorRate := fs.Float64("error-rate", -1, "fraction of requests answered 500/502/503, unapplied")
	slowRate := fs.Float64("slow-rate", -1, "fraction of requests delayed by -slow-delay")
	slowDelay := fs.Duration("slow-delay", 0, "delay of slow requests (default 100ms, 200ms with -faults)")
	timeoutRate := fs.Float64("timeout-rate", -1, "fraction of requests applied and never answered (until the client gives up or -hang)")
	fs.DurationVar(&cfg.Hang, "hang", 30*time.Second, "how long an unanswered request hangs")
	resetEvery := fs.Int("reset-every", -1, "reset the connection of every Nth request")
	throttleEvery := fs.Int("throttle-every", -1, "every Nth request starts a burst of ten-secondly 429s")
	throttleLen := fs.Int("throttle-len", 0, "length of a 429 burst (default 5)")
	fs.BoolVar(&cfg.WholeBatch400, "whole-batch-400", false, "refuse a batch holding an invalid record with one 400 instead of a 207 naming the records")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *faults {
		cfg = hubspottest.FaultMix(cfg)
	}
	set := func(dst *float64, v float64) {
		if v >= 0 {
			*dst = v
		}
	}
	set(&cfg.ErrorRate, *errorRate)
	set(&cfg.SlowRate, *slowRate)
	set(&cfg.TimeoutRate, *timeoutRate)
	if *slowDelay > 0 {
		cfg.SlowDelay = *slowDelay
	}
	if *resetEvery >= 0 {
		cfg.ResetEvery = *resetEvery
	}
	if *throttleEvery >= 0 {
		cfg.Throttle429Every = *throttleEvery
	}
	if *throttleLen > 0 {
		cfg.Throttle429Len = *throttleLen
	}
	if _, ok := hubspottest.Tiers[cfg.Tier]; !ok {
		return fmt.Errorf("-tier %q: want free, starter, professional, enterprise or api_add_on", cfg.Tier)
	}
	var contacts []hubspottest.Property
	for _, def := range strings.Split(*props, ",") {
		if def = strings.TrimSpace(def); def == "" {
			continue
		}
		p, err := hubspottest.ParseProperty(def)
		if err != nil {
			return fmt.Errorf("-properties: %w", err)
		}
		contacts = append(contacts, p)
	}
	cfg.Properties = map[string][]hubspottest.Property{"contacts": contacts}

	srv := hubspottest.NewHandler(cfg)
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	url := "http://" + ln.Addr().String()
	st := srv.Stats()
	fmt.Println(url)
	fmt.Fprintf(os.Stderr, "fake HubSpot on %s: tier %s, %d requests per 10 s, %d a day, token required: %v; stats at %s%s\n",
		url, cfg.Tier, st.TenSecondlyLimit, st.DailyLimit, cfg.Token != "", url, hubspottest.StatsPath)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	hs := &http.Server{Handler: srv.WithStats(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = hs.Shutdown(sctx)
	}()
	if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
