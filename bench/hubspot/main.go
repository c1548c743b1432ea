// Command hubspot benchmarks hoist's hubspot destination against the fake
// HubSpot (internal/hubspottest) at the Professional tier's limit of 190
// requests in any ten seconds: the built hoist binary runs the spec a user
// would write (printed) on a generated SQLite table of contacts with 20
// properties, and the bench prints
//
//   - achieved / limit: the requests the fake answered 2xx in each ten
//     seconds of the run (every ten-second window, stepped by a second,
//     that ends before the run's last second), averaged, over the limit.
//     Under the fault mix the requests the faults spoiled do not count: it
//     is what hoist got done of what the limit allows;
//   - the most requests the fake saw in any ten seconds and the
//     ten-secondly 429s it answered (both must stay at 190 and 0);
//   - hoist's peak RSS at two sizes;
//   - a daily-budget run: daily_budget stops a mirror part way as partial;
//     a rerun the same day sends nothing; with a larger budget the next run
//     finishes.
//
// Every phase checks that the fake ends holding exactly the source.
//
//	make bench-hubspot   # or: go run -tags minicore_disabled ./bench/hubspot -hoist bin/hoist
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/hoist-dev/hoist/internal/hubspottest"
)

const token = "pat-na1-bench-0000-0000-000000000000"

var verbose *bool

func main() {
	hoistBin := flag.String("hoist", "bin/hoist", "the hoist binary")
	rows := flag.Int("rows", 100_000, "contacts in the large runs")
	small := flag.Int("small", 10_000, "contacts in the small run (peak RSS)")
	budgetRows := flag.Int("budget-rows", 20_000, "contacts in the daily-budget runs")
	budget := flag.Int("budget", 120, "daily_budget.requests of the budget's first run")
	phases := flag.String("phases", "small,clean,faults,budget", "comma-separated phases to run")
	verbose = flag.Bool("v", false, "print the requests per second the fake saw")
	flag.Parse()
	bin, err := filepath.Abs(*hoistBin)
	if err != nil {
		fail(err)
	}
	root, err := os.MkdirTemp("", "hoist-bench-hubspot-*")
	if err != nil {
		fail(err)
	}
	defer os.RemoveAll(root)
	fmt.Printf("source: SQLite table contacts, 20 columns (email the key); destination: the fake HubSpot, professional tier (%d requests per 10 s)\n",
		hubspottest.Tiers["professional"][0])
	fmt.Printf("\nspec (HUBSPOT_URL points at the fake):\n%s\n", indent(specText("upsert", "")))
	fmt.Printf("%-7s %7s %8s %8s %13s %14s %11s %9s %7s %10s\n", "phase", "rows", "requests", "seconds", "2xx per 10 s",
		"achieved/limit", "max in 10 s", "429 limit", "faults", "peak RSS")
	ok := true
	for _, ph := range strings.Split(*phases, ",") {
		var err error
		switch ph {
		case "small":
			err = measure(bin, filepath.Join(root, ph), ph, *small, hubspottest.Config{})
		case "clean":
			err = measure(bin, filepath.Join(root, ph), ph, *rows, hubspottest.Config{})
		case "faults":
			err = measure(bin, filepath.Join(root, ph), ph, *rows, hubspottest.FaultMix(hubspottest.Config{Seed: 1}))
		case "budget":
			err = budgetRuns(bin, filepath.Join(root, ph), *budgetRows, *budget)
		default:
			err = fmt.Errorf("unknown phase %q", ph)
		}
		if err != nil {
			fmt.Printf("%-7s FAILED: %v\n", ph, err)
			ok = false
		}
	}
	if !ok {
		os.Exit(1)
	}
}

// specText is the spec a user would write: a SQLite source, the HubSpot
// connection by tier, the contacts object keyed by email; nothing tuned.
func specText(mode, budget string) string {
	conn := "    tier: professional\n"
	if budget != "" {
		conn += "    daily_budget: " + budget + "\n"
	}
	return `version: 1
connections:
  warehouse: {type: sqlite, path: contacts.db}
  hubspot:
    type: hubspot
    token: ${HUBSPOT_TOKEN}
    base_url: ${HUBSPOT_URL}
` + conn + `syncs:
  - name: contacts
    source: {connection: warehouse, table: contacts}
    destination:
      connection: hubspot
      object: contacts
      mode: ` + mode + `
      primary_key: [email]
`
}

// fake is a fake HubSpot served on a loopback port.
type fake struct {
	*hubspottest.Server
	url string
	hs  *http.Server
}

func startFake(cfg hubspottest.Config) (*fake, error) {
	cfg.Token = token
	cfg.Properties = map[string][]hubspottest.Property{"contacts": contactProps}
	srv := hubspottest.NewHandler(cfg)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	hs := &http.Server{Handler: srv}
	go func() { _ = hs.Serve(ln) }()
	return &fake{Server: srv, url: "http://" + ln.Addr().String(), hs: hs}, nil
}

func (f *fake) close() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = f.hs.Shutdown(ctx)
	f.hs.Close()
}

// report is what `hoist run --output json` prints that the bench reads.
type report struct {
	Status    string `json:"status"`
	Delivered int64  `json:"delivered"`
	Rejected  int64  `json:"rejected"`
	Stopped   string `json:"stopped"`
	Error     string `json:"error"`
}

// runHoist runs the spec in dir under /usr/bin/time: hoist's own peak RSS
// (a child started from this process would share its memory until exec).
func runHoist(bin, dir, url string) (report, int64, error) {
	cmd := exec.Command("/usr/bin/time", "-f", "hoist-maxrss-kb %M", bin, "run", "hoist.yaml", "--output", "json")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HUBSPOT_TOKEN="+token, "HUBSPOT_URL="+url)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var rep report
	if jerr := json.Unmarshal([]byte(out.String()), &rep); jerr != nil {
		return rep, 0, fmt.Errorf("hoist run: %v: %s%s", err, out.String(), errb.String())
	}
	var rss int64
	for _, line := range strings.Split(errb.String(), "\n") {
		if v, ok := strings.CutPrefix(line, "hoist-maxrss-kb "); ok {
			rss, _ = strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		}
	}
	if rep.Status == "failed" {
		return rep, rss, fmt.Errorf("hoist run failed: %s", rep.Error)
	}
	return rep, rss, nil
}

// measure upserts n contacts into a fresh fake and prints one line.
func measure(bin, dir, phase string, n int, cfg hubspottest.Config) error {
	if err := prepare(dir, n, specText("upsert", "")); err != nil {
		return err
	}
	f, err := startFake(cfg)
	if err != nil {
		return err
	}
	defer f.close()
	rep, rss, err := runHoist(bin, dir, f.url)
	if err != nil {
		return err
	}
	if rep.Status != "ok" || rep.Delivered != int64(n) {
		return fmt.Errorf("status %s, %d delivered, %d rejected: %s", rep.Status, rep.Delivered, rep.Rejected, rep.Error)
	}
	st := f.Stats()
	if err := same(f.Server, n); err != nil {
		return err
	}
	limit := st.TenSecondlyLimit
	secs := st.Last.Sub(st.First).Seconds()
	mean := hubspottest.MeanPer10s(st.OKPerSecond)
	ratio, per10 := "-", "-"
	if mean > 0 {
		ratio, per10 = fmt.Sprintf("%.3f", mean/float64(limit)), fmt.Sprintf("%.1f", mean)
	}
	faults := st.Injected5xx + st.Injected429 + st.Timeouts + st.Resets
	fmt.Printf("%-7s %7d %8d %8.1f %13s %14s %11d %9d %7d %7.0f MB\n", phase, n, st.Requests, secs, per10, ratio,
		st.MaxPer10s, st.Limited, faults, float64(rss)/1024)
	if *verbose {
		fmt.Printf("        arrivals per second: %v\n        2xx per second:      %v\n", st.PerSecond, st.OKPerSecond)
	}
	if st.Injected5xx+st.Injected429+st.Timeouts+st.Resets > 0 {
		fmt.Printf("        faults: %d 5xx, %d injected 429s, %d unanswered, %d resets\n", st.Injected5xx, st.Injected429, st.Timeouts, st.Resets)
	}
	if st.MaxPer10s > limit || st.Limited > 0 {
		return fmt.Errorf("OVER THE LIMIT: %d requests in ten seconds, %d ten-secondly 429s", st.MaxPer10s, st.Limited)
	}
	if st.Invalid > 0 {
		return fmt.Errorf("%d requests invalid for HubSpot's schemas: %v", st.Invalid, st.InvalidReasons)
	}
	return nil
}

// budgetRuns mirrors n contacts with daily_budget: {requests: budget}: the
// run stops as partial having sent exactly the budget; a rerun the same day
// sends nothing; with a budget large enough the next run sends the rest and
// the fake holds exactly the source.
func budgetRuns(bin, dir string, n, budget int) error {
	f, err := startFake(hubspottest.Config{})
	if err != nil {
		return err
	}
	defer f.close()
	spec := specText("mirror", fmt.Sprintf("{requests: %d}", budget))
	if err := prepare(dir, n, spec); err != nil {
		return err
	}
	fmt.Printf("\nbudget: %d contacts mirrored, %d requests needed; the spec as above with mode: mirror and\n    daily_budget: {requests: %d}\n",
		n, (n+99)/100+1, budget)
	rep, _, err := runHoist(bin, dir, f.url)
	if err != nil {
		return err
	}
	st := f.Stats()
	fmt.Printf("  run 1: %s, %d delivered, %d requests sent; stopped: %s\n", rep.Status, rep.Delivered, st.Requests, rep.Stopped)
	if rep.Status != "partial" || st.Requests != int64(budget) || st.LiveRecords != int(rep.Delivered) {
		return fmt.Errorf("run 1: want partial having sent exactly %d requests, the fake holding what was delivered (%d)", budget, st.LiveRecords)
	}
	rep, _, err = runHoist(bin, dir, f.url)
	if err != nil {
		return err
	}
	st2 := f.Stats()
	fmt.Printf("  run 2, the same day: %s, %d delivered, %d requests sent\n", rep.Status, rep.Delivered, st2.Requests-st.Requests)
	if rep.Status != "partial" || st2.Requests != st.Requests {
		return fmt.Errorf("run 2: want partial and nothing sent: the day's count is in the state")
	}
	more := (n+99)/100 + 2*budget
	if err := os.WriteFile(filepath.Join(dir, "hoist.yaml"), []byte(specText("mirror", fmt.Sprintf("{requests: %d}", more))), 0o644); err != nil {
		return err
	}
	rep, _, err = runHoist(bin, dir, f.url)
	if err != nil {
		return err
	}
	st3 := f.Stats()
	fmt.Printf("  run 3, daily_budget: {requests: %d}: %s, %d delivered, %d requests sent\n", more, rep.Status, rep.Delivered, st3.Requests-st2.Requests)
	if rep.Status != "ok" {
		return fmt.Errorf("run 3: %s: %s %s", rep.Status, rep.Stopped, rep.Error)
	}
	if err := same(f.Server, n); err != nil {
		return err
	}
	fmt.Printf("  the fake holds exactly the %d source contacts; %d requests in all, %d invalid\n", n, st3.Requests, st3.Invalid)
	return nil
}

// same checks that the fake's contacts are exactly the source's n.
func same(srv *hubspottest.Server, n int) error {
	got := map[string]map[string]string{}
	for _, r := range srv.Records("contacts") {
		p := r.Properties
		delete(p, "hs_object_id")
		delete(p, "createdate")
		delete(p, "hs_lastmodifieddate")
		got[p["email"]] = p
	}
	if len(got) != n {
		return fmt.Errorf("the fake holds %d contacts, the source %d", len(got), n)
	}
	for i := range n {
		want := props(i)
		g := got[want["email"]]
		if len(g) != len(want) {
			return fmt.Errorf("contact %s: got %v, want %v", want["email"], g, want)
		}
		for k, v := range want {
			if g[k] != v {
				return fmt.Errorf("contact %s: %s = %q, want %q", want["email"], k, g[k], v)
			}
		}
	}
	return nil
}

// sources are the generated tables by size, shared by the phases (hard
// links: hoist only reads them).
var sources = map[int]string{}

func prepare(dir string, n int, spec string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	src, ok := sources[n]
	if !ok {
		src = filepath.Join(filepath.Dir(dir), fmt.Sprintf("contacts-%d.db", n))
		if err := writeSource(src, n); err != nil {
			return err
		}
		sources[n] = src
	}
	if err := os.Link(src, filepath.Join(dir, "contacts.db")); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "hoist.yaml"), []byte(spec), 0o644)
}

func indent(s string) string {
	return "    " + strings.ReplaceAll(strings.TrimSpace(s), "\n", "\n    ") + "\n"
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench-hubspot:", err)
	os.Exit(1)
}
