// Command profile runs the hoist CLI in-process with profiling, to find out
// where a pipeline benchmark spends time or memory:
//
//	go run -tags minicore_disabled ./bench/pipeline/profile -cpu cpu.out -heap heap.out -- run spec.yaml
//	go tool pprof -sample_index=inuse_space -top heap.out
//
// The heap profile is taken when the live heap (what the last GC kept, the
// same moment an inuse_space profile describes) peaks, checked every 20 ms,
// not at exit: it shows what held memory at the worst moment.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"runtime/metrics"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/hoist-dev/hoist/cmd/cli"
)

func main() {
	cpu := flag.String("cpu", "", "write a CPU profile to this file")
	heap := flag.String("heap", "", "write a heap profile at the live-heap peak to this file")
	flag.Parse()
	os.Args = append([]string{"hoist"}, flag.Args()...)

	if *cpu != "" {
		f, err := os.Create(*cpu)
		if err != nil {
			fmt.Fprintln(os.Stderr, "profile:", err)
			os.Exit(1)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "profile:", err)
			os.Exit(1)
		}
	}
	var p *peakHeap
	if *heap != "" {
		p = watchHeap()
	}
	code := cli.Main()
	report()
	if *cpu != "" {
		pprof.StopCPUProfile()
	}
	if p != nil {
		if err := p.stop(*heap); err != nil {
			fmt.Fprintln(os.Stderr, "profile:", err)
			os.Exit(1)
		}
	}
	os.Exit(code)
}

// peakHeap keeps the heap profile taken at the highest HeapInuse seen.
type peakHeap struct {
	done chan struct{}
	out  chan []byte
}

func watchHeap() *peakHeap {
	p := &peakHeap{done: make(chan struct{}), out: make(chan []byte)}
	go func() {
		var best, bestRSS uint64
		var atPeak string
		sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
		var prof []byte
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-p.done:
				fmt.Fprintln(os.Stderr, "profile: at peak RSS:", atPeak)
				p.out <- prof
				return
			case <-t.C:
				metrics.Read(sample)
				live := sample[0].Value.Uint64()
				if rss := vmRSS(); rss > bestRSS {
					bestRSS = rss
					goMapped := sample[1].Value.Uint64() - sample[2].Value.Uint64()
					atPeak = fmt.Sprintf("RSS %d MB, Go runtime mapped %d MB, live heap %d MB", rss>>20, goMapped>>20, live>>20)
				}
				if live > best+best/20 { // 5% higher: worth a new profile
					best = live
					var b bytes.Buffer
					if err := pprof.Lookup("heap").WriteTo(&b, 0); err == nil {
						prof = b.Bytes()
					}
					fmt.Fprintf(os.Stderr, "profile: live heap %d MB\n", live>>20)
				}
			}
		}
	}()
	return p
}

func (p *peakHeap) stop(path string) error {
	close(p.done)
	prof := <-p.out
	if prof == nil {
		return nil
	}
	return os.WriteFile(path, prof, 0o644)
}

// report prints the peak RSS beside what the Go runtime mapped: the gap is
// memory outside the Go heap (SQLite's page cache through modernc's libc
// allocator, for one).
func report() {
	sample := []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
	metrics.Read(sample)
	goMapped := sample[0].Value.Uint64() - sample[1].Value.Uint64()
	status, _ := os.ReadFile("/proc/self/status")
	for _, line := range strings.Split(string(status), "\n") {
		if strings.HasPrefix(line, "VmHWM:") || strings.HasPrefix(line, "VmRSS:") {
			fmt.Fprintln(os.Stderr, "profile:", line)
		}
	}
	fmt.Fprintf(os.Stderr, "profile: Go runtime mapped (not released) at exit: %d MB\n", goMapped>>20)
}

// vmRSS is the current resident set in bytes.
func vmRSS() uint64 {
	status, _ := os.ReadFile("/proc/self/status")
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}
