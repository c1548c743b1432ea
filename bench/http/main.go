// Command http benchmarks hoist's http destination against the fake CRM:
// 200,000 rows upserted in batches of 100 to an API limited to 200
// requests/s, from 16 concurrent Write callers as the pipeline runs them,
// once with no faults and once with the fault mix of issue 5 (10% 5xx, 5%
// timeouts, bursts of 429, a connection reset per 1,000 requests). It prints
// the achieved rate as a ratio of the limit and the peak RSS of the loader.
//
// The fake runs in a child process (this binary, re-executed), so the RSS
// printed is hoist's own.
//
//	go run -tags minicore_disabled ./bench/http
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	stdsync "sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/hoist-dev/hoist/internal/httpkit"
	"github.com/hoist-dev/hoist/load"
	"github.com/hoist-dev/hoist/load/crmtest"
	"github.com/hoist-dev/hoist/sync/spec"
)

const fakeEnv = "HOIST_BENCH_FAKE_CONFIG"

func main() {
	if cfg := os.Getenv(fakeEnv); cfg != "" {
		serveFake(cfg)
		return
	}
	rows := flag.Int("rows", 200_000, "rows to upsert")
	batch := flag.Int("batch", 100, "rows per request")
	callers := flag.Int("callers", 16, "concurrent Write callers")
	limit := flag.Float64("limit", 200, "API rate limit, requests/s")
	burst := flag.Int("burst", 20, "API burst")
	// About 100× the fake's typical latency, the ratio of a 30s timeout to
	// a 300ms API: hung requests hold a caller for this long.
	timeout := flag.Duration("timeout", 250*time.Millisecond, "client timeout per attempt")
	maxConc := flag.Int("max-concurrency", 0, "max_concurrency of the connection (0: default)")
	only := flag.String("phase", "", "run only this phase (clean or faults)")
	flag.Parse()

	fmt.Printf("%d rows, batches of %d, %d callers, limit %.0f req/s (burst %d), timeout %s, max_concurrency %d\n\n",
		*rows, *batch, *callers, *limit, *burst, *timeout, *maxConc)
	fmt.Printf("%-7s %9s %9s %8s %14s %15s %6s %5s %5s %8s %6s\n",
		"phase", "requests", "batches", "elapsed", "achieved/limit", "requests/limit", "max/s", "429", "5xx", "timeouts", "resets")
	phases := []struct {
		name string
		cfg  crmtest.Config
	}{
		{"clean", crmtest.Config{}},
		{"faults", crmtest.Config{ErrorRate: 0.10, TimeoutRate: 0.05, Throttle429Every: 400, Throttle429Len: 5, ResetEvery: 1000}},
	}
	ok := true
	for _, ph := range phases {
		if *only != "" && ph.name != *only {
			continue
		}
		ph.cfg.Seed, ph.cfg.RateLimit, ph.cfg.Burst, ph.cfg.Hang = 1, *limit, *burst, time.Minute
		r, err := runPhase(ph.name, ph.cfg, *rows, *batch, *callers, *limit, *burst, *timeout, *maxConc)
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", ph.name, err)
			os.Exit(1)
		}
		ratio := float64(r.batches) / r.elapsed.Seconds() / *limit
		st := r.stats
		fmt.Printf("%-7s %9d %9d %7.1fs %14.3f %15.3f %6d %5d %5d %8d %6d\n", ph.name, st.Requests, r.batches,
			r.elapsed.Seconds(), ratio, float64(st.Requests)/r.elapsed.Seconds() / *limit, st.MaxPerSecond,
			st.ByStatus[429], st.ByStatus[500]+st.ByStatus[502]+st.ByStatus[503], st.Timeouts, st.Resets)
		fmt.Printf("  requests per second: %v\n", st.PerSecond)
		if st.Records != *rows {
			fmt.Printf("  MISMATCH: the fake holds %d records, want %d\n", st.Records, *rows)
			ok = false
		}
		if st.MaxPerSecond > int(*limit)+*burst {
			fmt.Printf("  OVER LIMIT: %d requests in one second\n", st.MaxPerSecond)
			ok = false
		}
	}
	fmt.Printf("\npeak RSS of the loader: %s\n", peakRSS("self"))
	if !ok {
		os.Exit(1)
	}
}

type result struct {
	batches int
	elapsed time.Duration
	stats   crmtest.StatsReport
}

func runPhase(name string, cfg crmtest.Config, rows, batch, callers int, limit float64, burst int, timeout time.Duration, maxConc int) (result, error) {
	url, stopFake, err := startFake(cfg)
	if err != nil {
		return result{}, err
	}
	defer stopFake()
	ctx := context.Background()
	retries := 10 // 2,000 batches at a 16% failure rate: 6 failures in a row happen
	conn := &spec.Connection{
		Name: "bench-" + name,
		Type: httpkit.Type,
		Config: &httpkit.Config{
			MaxRetries:     &retries,
			BaseURL:        url,
			RateLimit:      &httpkit.RateLimit{RequestsPerSecond: limit, Burst: burst},
			Timeout:        spec.Duration(timeout),
			MaxConcurrency: maxConc,
		},
	}
	d, err := load.Open(ctx, conn, ".")
	if err != nil {
		return result{}, err
	}
	defer d.Close()
	w, err := d.Open(ctx, load.Target{Sync: "bench", Schema: schema, Dest: &spec.Dest{
		Mode:       spec.ModeUpsert,
		PrimaryKey: []string{"id"},
		Config: &load.HTTPDest{
			Operations: map[string]*load.HTTPOperation{"upsert": {Method: "POST", Path: "/contacts/batch", Batch: true}},
		},
	}})
	if err != nil {
		return result{}, err
	}
	alloc := memory.NewGoAllocator()
	seqs := make(chan int)
	errs := make(chan error, callers)
	var wg stdsync.WaitGroup
	start := time.Now()
	for range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for seq := range seqs {
				rec := buildBatch(alloc, seq*batch, min(batch, rows-seq*batch))
				res, err := w.Write(ctx, load.Batch{Seq: seq, Op: load.OpUpsert, Record: rec})
				rec.Release()
				if err == nil && len(res.Failed) > 0 {
					err = fmt.Errorf("batch %d: %d rows rejected: %s", seq, len(res.Failed), res.Failed[0].Msg)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	n := (rows + batch - 1) / batch
	go func() {
		defer close(seqs)
		for i := range n {
			seqs <- i
		}
	}()
	wg.Wait()
	elapsed := time.Since(start)
	select {
	case err := <-errs:
		return result{}, err
	default:
	}
	if err := w.Commit(ctx); err != nil {
		return result{}, err
	}
	st, err := fetchStats(url)
	return result{batches: n, elapsed: elapsed, stats: st}, err
}

var schema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "email", Type: arrow.BinaryTypes.String},
	{Name: "properties.full_name", Type: arrow.BinaryTypes.String},
	{Name: "properties.plan", Type: arrow.BinaryTypes.String},
	{Name: "updated_at", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}},
}, nil)

var t0 = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

func buildBatch(alloc memory.Allocator, from, n int) arrow.RecordBatch {
	b := array.NewRecordBuilder(alloc, schema)
	defer b.Release()
	for i := from; i < from+n; i++ {
		b.Field(0).(*array.Int64Builder).Append(int64(i + 1))
		b.Field(1).(*array.StringBuilder).Append(fmt.Sprintf("user%d@example.com", i))
		b.Field(2).(*array.StringBuilder).Append(fmt.Sprintf("User %d", i))
		b.Field(3).(*array.StringBuilder).Append([]string{"free", "pro", "team"}[i%3])
		b.Field(4).(*array.TimestampBuilder).Append(arrow.Timestamp(t0.Add(time.Duration(i) * time.Second).UnixMicro()))
	}
	return b.NewRecordBatch()
}

// startFake re-executes this binary as the fake CRM and returns its URL.
func startFake(cfg crmtest.Config) (string, func(), error) {
	exe, err := os.Executable()
	if err != nil {
		return "", nil, err
	}
	js, _ := json.Marshal(cfg)
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), fakeEnv+"="+string(js))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return "", nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return "", nil, err
	}
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	stop := func() {
		stdin.Close() // the child exits when its stdin closes
		_ = cmd.Wait()
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		stop()
		return "", nil, fmt.Errorf("fake did not start: %w", err)
	}
	return strings.TrimSpace(line), stop, nil
}

func serveFake(raw string) {
	var cfg crmtest.Config
	if err := json.Unmarshal([]byte(raw), &cfg); err != nil {
		fmt.Fprintln(os.Stderr, "fake config:", err)
		os.Exit(1)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	hs := &http.Server{Handler: crmtest.NewHandler(cfg).WithStats()}
	go func() { _ = hs.Serve(ln) }()
	fmt.Printf("http://%s\n", ln.Addr())
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n') // until the parent closes stdin
}

func fetchStats(url string) (crmtest.StatsReport, error) {
	var st crmtest.StatsReport
	resp, err := http.Get(url + crmtest.StatsPath)
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	return st, json.NewDecoder(resp.Body).Decode(&st)
}

// peakRSS reads VmHWM, the resident set's high-water mark, from /proc.
func peakRSS(pid string) string {
	b, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return "unknown"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmHWM:") {
			return strings.TrimSpace(strings.TrimPrefix(l, "VmHWM:"))
		}
	}
	return "unknown"
}
