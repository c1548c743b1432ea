// Command salesforce benchmarks hoist's salesforce destination on the
// published reverse-ETL case: 650,000 opportunities × 240 fields kept fresh
// in Salesforce. A full load (a mirror's first run) goes into the fake org
// through Bulk API 2.0 jobs, whose processing the fake simulates (1 ms a
// record by default, in parallel across jobs, as an org does); then 1% of
// the rows change in 3 fields, and the second run must send only those
// fields and finish in under 60 s of hoist's time.
//
// hoist runs as a child (the binary of -bin) under /usr/bin/time, so the
// peak RSS printed is hoist's own; the fake runs in this process. For each
// run it prints hoist's wall and CPU time, its peak RSS, the jobs and their
// largest upload, and the fake's simulated processing time.
//
//	go run -tags minicore_disabled ./bench/salesforce -bin bin/hoist [-rows 650000 -fields 240]
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/hoist-dev/hoist/internal/salesforcetest"
)

// base are the opportunity fields every row maps besides Field_NNN__c.
const base = 5 // Ext_Id__c, Name, StageName, CloseDate, Amount

func main() {
	rows := flag.Int("rows", 650_000, "opportunities")
	fields := flag.Int("fields", 240, "mapped fields per opportunity (at least 8)")
	change := flag.Float64("change", 0.01, "share of rows the second run changes")
	changed := flag.Int("changed-fields", 3, "fields each changed row changes")
	perRecord := flag.Duration("per-record", time.Millisecond, "the fake's simulated processing time of one record")
	latency := flag.Duration("job-latency", 2*time.Second, "the fake's wait before it processes a closed job")
	bin := flag.String("bin", "bin/hoist", "hoist binary")
	dir := flag.String("dir", "", "work folder (default: a temporary one, removed after)")
	flag.Parse()
	if err := run(*rows, *fields, *change, *changed, *perRecord, *latency, *bin, *dir); err != nil {
		fmt.Fprintln(os.Stderr, "bench-salesforce:", err)
		os.Exit(1)
	}
}

func run(rows, fields int, change float64, changed int, perRecord, latency time.Duration, bin, dir string) error {
	if fields < base+changed {
		return fmt.Errorf("-fields must be at least %d", base+changed)
	}
	bin, err := filepath.Abs(bin)
	if err != nil {
		return err
	}
	if dir == "" {
		if dir, err = os.MkdirTemp("", "bench-salesforce-"); err != nil {
			return err
		}
		defer os.RemoveAll(dir)
	}
	key, pub, err := salesforcetest.Key()
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "key.pem"), []byte(key), 0o600); err != nil {
		return err
	}
	srv := salesforcetest.New(salesforcetest.Config{ClientID: "3MVG9benchConsumerKey", Username: "integration@bench.example", PublicKey: pub,
		Objects: []salesforcetest.Object{salesforcetest.Opportunity(fields - base)}, JobLatency: latency, PerRecord: perRecord,
		DailyAPIRequests: 1_000_000})
	defer srv.Close()
	spec := benchSpec(srv.URL)
	if err := os.WriteFile(filepath.Join(dir, "hoist.yaml"), []byte(spec), 0o644); err != nil {
		return err
	}
	fmt.Printf("bench-salesforce: %d opportunities × %d fields; the fake processes %s a record after %s per job\n\nspec:\n%s\n",
		rows, fields, perRecord, latency, indent(spec))
	every := int(1 / change)

	began := time.Now()
	if err := writeSource(filepath.Join(dir, "opps.parquet"), rows, fields, -1, changed); err != nil {
		return err
	}
	fmt.Printf("source written in %s\n", time.Since(began).Round(time.Second))
	full, err := runHoist(bin, dir, srv)
	if err != nil {
		return err
	}
	full.print("full load")
	if n := srv.Count("Opportunity"); n != rows {
		return fmt.Errorf("full load: the org holds %d opportunities, want %d", n, rows)
	}
	if err := sample(srv, rows, fields, -1, changed); err != nil {
		return fmt.Errorf("full load: %w", err)
	}

	if err := writeSource(filepath.Join(dir, "opps.parquet"), rows, fields, every, changed); err != nil {
		return err
	}
	srv.ResetLog()
	srv.SetKeepLog(true)
	inc, err := runHoist(bin, dir, srv)
	if err != nil {
		return err
	}
	inc.print(fmt.Sprintf("%.0f%% change to %d fields", change*100, changed))
	if err := sample(srv, rows, fields, every, changed); err != nil {
		return fmt.Errorf("change: %w", err)
	}
	want := []string{"Ext_Id__c"}
	for f := 1; f <= changed; f++ {
		want = append(want, fmt.Sprintf("Field_%03d__c", f))
	}
	sent := srv.Sent("Opportunity")
	nChanged := (rows + every - 1) / every
	if len(sent) != nChanged {
		return fmt.Errorf("change: %d records sent, want the %d changed", len(sent), nChanged)
	}
	for ext, got := range sent {
		if strings.Join(got, ",") != strings.Join(want, ",") {
			return fmt.Errorf("change: %s sent %v, want only %v", ext, got, want)
		}
	}
	fmt.Printf("\nthe change sent %d records, each with only %v\n", len(sent), want)
	verdict := "under"
	if inc.cpu+inc.wait() > 60*time.Second || inc.wall > 60*time.Second {
		verdict = "NOT under"
	}
	fmt.Printf("change run: %s wall (%s of it waiting for the fake's simulated processing), %s %s the 60 s target\n",
		inc.wall.Round(100*time.Millisecond), inc.processing.Round(100*time.Millisecond), inc.wall.Round(100*time.Millisecond), verdict)
	return nil
}

func benchSpec(url string) string {
	return fmt.Sprintf(`version: 1
state: file://.hoist
connections:
  warehouse:
    type: files
    path: .
    format: parquet
  org:
    type: salesforce
    login_url: %s
    client_id: 3MVG9benchConsumerKey
    username: integration@bench.example
    private_key_file: key.pem
    poll_interval: 1s
syncs:
  - name: opportunities
    source: {connection: warehouse, path: opps.parquet}
    destination:
      connection: org
      object: Opportunity
      mode: mirror
      primary_key: [Ext_Id__c]
    on_reject: {file: rejected.jsonl}
`, url)
}

// measured is one hoist run.
type measured struct {
	wall, cpu  time.Duration
	rssKB      int64
	jobs       int
	maxUpload  int
	processing time.Duration // the fake's simulated processing, summed over jobs
	requests   int
	collection int
	summary    string
}

// wait is an estimate of the processing hoist waited for: the summed
// processing over the jobs that ran at once (hoist keeps four in flight).
func (m measured) wait() time.Duration {
	if m.jobs == 0 {
		return 0
	}
	return m.processing / time.Duration(min(m.jobs, 4))
}

func (m measured) print(what string) {
	fmt.Printf("\n%s: %s\n", what, m.summary)
	fmt.Printf("  hoist: %s wall, %s CPU, peak RSS %d MiB\n", m.wall.Round(100*time.Millisecond), m.cpu.Round(100*time.Millisecond), m.rssKB>>10)
	fmt.Printf("  the fake: %d Bulk jobs (largest upload %.1f MB, limit 150 MB), %d records through collections, %d API requests;\n"+
		"            simulated processing %s summed over the jobs, about %s of wall time with four jobs in flight\n",
		m.jobs, float64(m.maxUpload)/(1<<20), m.collection, m.requests, m.processing.Round(100*time.Millisecond), m.wait().Round(100*time.Millisecond))
}

func runHoist(bin, dir string, srv *salesforcetest.Server) (measured, error) {
	before := srv.Stats()
	start := time.Now()
	args := []string{"-f", "hoist-time %e %U %S %M", bin, "run", "hoist.yaml"}
	if os.Getenv("HOIST_BENCH_SF_VERBOSE") != "" {
		args = append(args, "--verbose")
	}
	cmd := exec.Command("/usr/bin/time", args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	m := measured{wall: time.Since(start)}
	if err != nil {
		return m, fmt.Errorf("hoist run: %v: %s", err, out)
	}
	if os.Getenv("HOIST_BENCH_SF_VERBOSE") != "" {
		os.Stderr.Write(out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(line, "hoist-time "); ok {
			f := strings.Fields(v)
			user, _ := strconv.ParseFloat(f[1], 64)
			sys, _ := strconv.ParseFloat(f[2], 64)
			m.cpu = time.Duration((user + sys) * float64(time.Second))
			m.rssKB, _ = strconv.ParseInt(f[3], 10, 64)
		}
		if strings.Contains(line, "delivered") && strings.HasPrefix(line, "opportunities:") {
			m.summary = strings.TrimPrefix(line, "opportunities: ")
		}
	}
	after := srv.Stats()
	m.jobs = after.Jobs - before.Jobs
	m.maxUpload = after.MaxUpload
	m.processing = after.ProcessingTime - before.ProcessingTime
	m.requests = after.Requests - before.Requests
	m.collection = after.CollectionRecords - before.CollectionRecords
	return m, nil
}

// value is field f of row i (f from 1: Field_001__c), changed when the
// row is one of every -th.
func value(i, f, every, changed int) string {
	v := "f" + strconv.Itoa(f) + "-" + strconv.Itoa((i*31+f*7)%997)
	if every > 0 && i%every == 0 && f <= changed {
		v += "-changed"
	}
	return v
}

func writeSource(path string, rows, fields, every, changed int) error {
	extra := fields - base
	fs := []arrow.Field{{Name: "Ext_Id__c", Type: arrow.BinaryTypes.String}, {Name: "Name", Type: arrow.BinaryTypes.String},
		{Name: "StageName", Type: arrow.BinaryTypes.String}, {Name: "CloseDate", Type: arrow.FixedWidthTypes.Date32},
		{Name: "Amount", Type: arrow.PrimitiveTypes.Float64}}
	for f := 1; f <= extra; f++ {
		fs = append(fs, arrow.Field{Name: fmt.Sprintf("Field_%03d__c", f), Type: arrow.BinaryTypes.String})
	}
	schema := arrow.NewSchema(fs, nil)
	tmp := path + ".tmp"
	fh, err := os.Create(tmp)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	bw := bufio.NewWriterSize(fh, 1<<20)
	props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Snappy), parquet.WithMaxRowGroupLength(16384))
	w, err := pqarrow.NewFileWriter(schema, bw, props, pqarrow.DefaultWriterProps())
	if err != nil {
		fh.Close()
		return err
	}
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	day0 := arrow.Date32FromTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	for start := 0; start < rows; start += 8192 {
		for i := start; i < min(start+8192, rows); i++ {
			b.Field(0).(*array.StringBuilder).Append(fmt.Sprintf("OPP-%07d", i))
			b.Field(1).(*array.StringBuilder).Append("Deal " + strconv.Itoa(i))
			b.Field(2).(*array.StringBuilder).Append(salesforcetest.Stages[i%len(salesforcetest.Stages)])
			b.Field(3).(*array.Date32Builder).Append(day0 + arrow.Date32(i%365))
			b.Field(4).(*array.Float64Builder).Append(float64(i%100_000) + 0.5)
			for f := 1; f <= extra; f++ {
				b.Field(base - 1 + f).(*array.StringBuilder).Append(value(i, f, every, changed))
			}
		}
		rec := b.NewRecordBatch()
		err := w.Write(rec)
		rec.Release()
		if err != nil {
			fh.Close()
			return err
		}
	}
	if err := w.Close(); err != nil {
		fh.Close()
		return err
	}
	if err := bw.Flush(); err != nil {
		fh.Close()
		return err
	}
	if err := fh.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// sample checks 1,000 records spread over the rows, every field.
func sample(srv *salesforcetest.Server, rows, fields, every, changed int) error {
	step := max(rows/1000, 1)
	for i := 0; i < rows; i += step {
		ext := fmt.Sprintf("OPP-%07d", i)
		r := srv.Lookup("Opportunity", "Ext_Id__c", ext)
		if r == nil {
			return fmt.Errorf("no record %s", ext)
		}
		if r["Name"] != "Deal "+strconv.Itoa(i) || r["StageName"] != salesforcetest.Stages[i%len(salesforcetest.Stages)] ||
			r["Amount"] != strconv.FormatFloat(float64(i%100_000)+0.5, 'f', -1, 64) {
			return fmt.Errorf("record %s is %v", ext, r)
		}
		for f := 1; f <= fields-base; f++ {
			name := fmt.Sprintf("Field_%03d__c", f)
			if r[name] != value(i, f, every, changed) {
				return fmt.Errorf("record %s: %s is %q, want %q", ext, name, r[name], value(i, f, every, changed))
			}
		}
	}
	return nil
}

func indent(s string) string {
	return "    " + strings.ReplaceAll(strings.TrimSpace(s), "\n", "\n    ") + "\n"
}
