package main

import (
	"fmt"
	"io"
	"runtime"

	"github.com/hoist-dev/hoist/sync/diff"
)

// report prints the diff phase of every size and the targets of issue 4.
func report(w io.Writer, diffs []*phaseResult) {
	fmt.Fprintf(w, "\nhoist diff benchmark — %d CPUs, 1%% changed + 0.1%% replaced keys, sort memory %d MiB\n", runtime.NumCPU(), diff.DefaultSortMemory>>20)
	fmt.Fprintf(w, "%11s %8s %8s %7s %7s %7s %9s %8s %7s %7s %7s %7s\n",
		"rows", "diff_s", "excl_gen", "gen_s", "sort_s", "merge_s", "rows/s", "peak_MB", "spills", "adds", "changes", "removes")
	for _, d := range diffs {
		fmt.Fprintf(w, "%11d %8.2f %8.2f %7.2f %7.2f %7.2f %9.0f %8.1f %7d %7d %7d %7d\n",
			d.Rows, d.Seconds, d.Seconds-d.GenSecs, d.GenSecs, d.SortSecs-d.GenSecs, d.MergeSecs, float64(d.Rows)/d.Seconds,
			mb(d.PeakKB), d.Spills, d.Adds, d.Changes, d.Removes)
	}
	fmt.Fprintln(w, "diff_s: whole diff phase = gen_s (generating the source records) + sort_s (encode, sort,")
	fmt.Fprintln(w, "spill) + merge_s (merge with the snapshot, read from the state store); excl_gen = diff_s - gen_s.")
	fmt.Fprintln(w)
	for _, d := range diffs {
		if d.Rows != targetRows {
			continue
		}
		fmt.Fprintf(w, "%d rows: %.2f s (target < %.0f s) %s; peak RSS %.1f MB (target < %.0f MB) %s\n",
			d.Rows, d.Seconds, targetSeconds, verdict(d.Seconds < targetSeconds),
			mb(d.PeakKB), targetMB, verdict(mb(d.PeakKB) < targetMB))
	}
	if len(diffs) > 1 {
		lo, hi := diffs[0], diffs[len(diffs)-1]
		r := float64(hi.PeakKB) / float64(lo.PeakKB)
		fmt.Fprintf(w, "peak RSS %d/%d rows: %.2f× (target <= %.1f×) %s\n", hi.Rows, lo.Rows, r, targetRatio, verdict(r <= targetRatio))
	}
}

func verdict(ok bool) string {
	if ok {
		return "ok"
	}
	return "MISS"
}
