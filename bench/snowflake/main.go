// Command snowflake benchmarks hoist's Snowflake source: a 1,000,000-row,
// 20-chunk result served by the fake Snowflake (50 ms latency per chunk
// download) is extracted through the real gosnowflake driver into a Parquet
// file, once with download_concurrency 4 and once with 1. It prints rows/s,
// peak RSS and the speed-up of overlapping chunk downloads with writing.
//
// The fake and each extraction run in child processes (this binary,
// re-executed), so every peak RSS printed is one extraction's own.
// HOIST_BENCH_SF_CPUPROFILE=path writes a CPU profile per extraction.
//
//	go run -tags minicore_disabled ./bench/snowflake
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/hoist-dev/hoist/connector"
	"github.com/hoist-dev/hoist/extract"
	"github.com/hoist-dev/hoist/extract/snowflaketest"
	"github.com/hoist-dev/hoist/sync/spec"
)

// Child modes, selected by environment so flags stay for the user.
const (
	fakeEnv    = "HOIST_BENCH_SF_FAKE"    // "rows,chunkRows,latency"
	extractEnv = "HOIST_BENCH_SF_EXTRACT" // "dsn|concurrency|out"
)

type result struct {
	Rows        int64   `json:"rows"`
	Seconds     float64 `json:"seconds"`
	PeakRSSKB   int64   `json:"peak_rss_kb"`
	ParquetRows int64   `json:"parquet_rows"`
	FileBytes   int64   `json:"file_bytes"`
}

func main() {
	if cfg := os.Getenv(fakeEnv); cfg != "" {
		exitOn(serveFake(cfg))
		return
	}
	if cfg := os.Getenv(extractEnv); cfg != "" {
		exitOn(runExtract(cfg))
		return
	}
	rows := flag.Int("rows", 1_000_000, "rows in the result")
	chunks := flag.Int("chunks", 20, "remote chunks")
	latency := flag.Duration("latency", 50*time.Millisecond, "fake latency per chunk download")
	flag.Parse()
	exitOn(bench(*rows, *chunks, *latency))
}

func exitOn(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench/snowflake:", err)
		os.Exit(1)
	}
}

func bench(rows, chunks int, latency time.Duration) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	fake := exec.Command(self)
	fake.Env = append(os.Environ(), fmt.Sprintf("%s=%d,%d,%s", fakeEnv, rows, rows/chunks, latency))
	fake.Stderr = os.Stderr
	stdin, err := fake.StdinPipe() // the fake exits when this closes
	if err != nil {
		return err
	}
	stdout, err := fake.StdoutPipe()
	if err != nil {
		return err
	}
	if err := fake.Start(); err != nil {
		return err
	}
	defer func() { _ = stdin.Close(); _ = fake.Wait() }()
	dsn, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		return fmt.Errorf("fake did not start: %w", err)
	}
	dsn = strings.TrimSpace(dsn)

	dir, err := os.MkdirTemp("", "hoist-bench-snowflake")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	fmt.Printf("snowflake → parquet: %d rows in %d chunks, fake latency %v per chunk download\n", rows, chunks, latency)
	fmt.Printf("%-22s %10s %12s %14s %10s\n", "download_concurrency", "seconds", "rows/s", "peak RSS MB", "file MB")
	var secs = map[int]float64{}
	// The first run warms the fake's chunk cache (the fake then serves
	// chunks like a stage serves files) and is not reported.
	for i, c := range []int{4, 4, 1} {
		out := filepath.Join(dir, fmt.Sprintf("customers-%d.parquet", c))
		child := exec.Command(self)
		child.Env = append(os.Environ(), fmt.Sprintf("%s=%s|%d|%s", extractEnv, dsn, c, out))
		child.Stderr = os.Stderr
		b, err := child.Output()
		if err != nil {
			return fmt.Errorf("extract with concurrency %d: %w", c, err)
		}
		var r result
		if err := json.Unmarshal(b, &r); err != nil {
			return fmt.Errorf("extract with concurrency %d: %w (%s)", c, err, b)
		}
		if r.Rows != int64(rows) || r.ParquetRows != int64(rows) {
			return fmt.Errorf("concurrency %d: read %d rows, parquet has %d, want %d", c, r.Rows, r.ParquetRows, rows)
		}
		if i == 0 {
			continue
		}
		secs[c] = r.Seconds
		fmt.Printf("%-22d %10.2f %12.0f %14.1f %10.1f\n", c, r.Seconds, float64(r.Rows)/r.Seconds,
			float64(r.PeakRSSKB)/1024, float64(r.FileBytes)/(1<<20))
	}
	fmt.Printf("speed-up of download_concurrency 4 over 1: %.2fx\n", secs[1]/secs[4])
	return nil
}

func serveFake(cfg string) error {
	parts := strings.Split(cfg, ",")
	if len(parts) != 3 {
		return fmt.Errorf("bad %s %q", fakeEnv, cfg)
	}
	rows, _ := strconv.Atoi(parts[0])
	chunkRows, _ := strconv.Atoi(parts[1])
	latency, err := time.ParseDuration(parts[2])
	if err != nil {
		return err
	}
	s := snowflaketest.New(snowflaketest.Options{
		ChunkRows: chunkRows, ChunkLatency: latency, CacheChunks: true,
		Tables: []*snowflaketest.Table{snowflaketest.Customers(rows)},
	})
	defer s.Close()
	fmt.Println(s.DSN("BENCH", "PUBLIC"))
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n') // until the parent closes stdin
	return nil
}

// runExtract reads the CUSTOMERS table through hoist's Snowflake source and
// writes it to Parquet, reporting rows, time and the process's peak RSS.
func runExtract(cfg string) error {
	parts := strings.SplitN(cfg, "|", 3)
	if len(parts) != 3 {
		return fmt.Errorf("bad %s", extractEnv)
	}
	conc, _ := strconv.Atoi(parts[1])
	if path := os.Getenv("HOIST_BENCH_SF_CPUPROFILE"); path != "" {
		f, err := os.Create(fmt.Sprintf("%s.%d", path, conc))
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	ctx := context.Background()
	start := time.Now()
	src, err := extract.Open(ctx, &spec.Connection{Name: "bench", Type: extract.SnowflakeType, Config: &extract.SnowflakeConfig{DSN: spec.Secret(parts[0]), DownloadConcurrency: conc}}, ".")
	if err != nil {
		return err
	}
	defer src.Close()
	rr, err := src.Read(ctx, extract.Request{Sync: "bench", Source: &spec.Source{Config: &connector.SQLSource{Table: "customers"}}})
	if err != nil {
		return err
	}
	defer rr.Release()
	f, err := os.Create(parts[2])
	if err != nil {
		return err
	}
	props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Snappy))
	w, err := pqarrow.NewFileWriter(rr.Schema(), f, props, pqarrow.DefaultWriterProps())
	if err != nil {
		return err
	}
	var res result
	for rr.Next() {
		rec := rr.RecordBatch()
		if err := w.Write(rec); err != nil {
			return fmt.Errorf("write parquet: %w", err)
		}
		res.Rows += rec.NumRows()
	}
	if err := rr.Err(); err != nil {
		return err
	}
	if err := w.Close(); err != nil { // also closes f
		return err
	}
	res.Seconds = time.Since(start).Seconds()
	res.PeakRSSKB = peakRSSKB()
	pf, err := file.OpenParquetFile(parts[2], false)
	if err != nil {
		return err
	}
	res.ParquetRows = pf.NumRows()
	_ = pf.Close()
	if st, err := os.Stat(parts[2]); err == nil {
		res.FileBytes = st.Size()
	}
	return json.NewEncoder(os.Stdout).Encode(res)
}

// peakRSSKB reads VmHWM, the process's peak resident set, from procfs.
func peakRSSKB() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return n
		}
	}
	return 0
}
