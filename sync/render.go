package sync

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
)

// ANSI colors for plan text on a terminal.
const (
	colorGreen  = "\x1b[32m"
	colorYellow = "\x1b[33m"
	colorRed    = "\x1b[31m"
	colorBold   = "\x1b[1m"
	colorReset  = "\x1b[0m"
)

// RenderPlanText prints plans the way `terraform plan` does: a summary line
// per sync, then sample rows with field-level before → after.
func RenderPlanText(w io.Writer, plans []*PlanReport, color bool) {
	paint := func(c, s string) string {
		if !color {
			return s
		}
		return c + s + colorReset
	}
	for i, p := range plans {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "%s (%s → %s)\n", paint(colorBold, p.Sync), p.Mode, p.Destination)
		fmt.Fprintf(w, "  %s, %s, %s, %d unchanged",
			paint(colorGreen, fmt.Sprintf("+ %d to add", p.Added)),
			paint(colorYellow, fmt.Sprintf("~ %d to change", p.Changed)),
			paint(colorRed, fmt.Sprintf("- %d to remove", p.Removed)),
			p.Unchanged)
		if p.Resent > 0 {
			fmt.Fprintf(w, ", %s", paint(colorYellow, fmt.Sprintf("%d to resend (--full-refresh)", p.Resent)))
		}
		fmt.Fprintln(w)
		for _, warn := range p.Warnings {
			fmt.Fprintf(w, "  %s %s\n", paint(colorRed, "!"), warn)
		}
		for _, smp := range p.Samples {
			switch smp.Op {
			case "add":
				fmt.Fprintf(w, "\n  %s %s\n", paint(colorGreen, "+"), keyText(smp.Key))
				for _, f := range sortedFields(smp.Fields, smp.After) {
					fmt.Fprintf(w, "      %s: %s\n", f, valueText(smp.After[f]))
				}
			case "change":
				fmt.Fprintf(w, "\n  %s %s\n", paint(colorYellow, "~"), keyText(smp.Key))
				for _, f := range sortedFields(smp.Fields, smp.After) {
					fmt.Fprintf(w, "      %s: %s → %s\n", f, valueText(smp.Before[f]), valueText(smp.After[f]))
				}
			case "remove":
				fmt.Fprintf(w, "\n  %s %s\n", paint(colorRed, "-"), keyText(smp.Key))
			}
		}
	}
}

// RenderPlanJSON prints one JSON object per sync, one per line.
func RenderPlanJSON(w io.Writer, plans []*PlanReport) error {
	enc := json.NewEncoder(w)
	for _, p := range plans {
		if err := enc.Encode(p); err != nil {
			return fmt.Errorf("encode plan: %w", err)
		}
	}
	return nil
}

// RenderRunText prints a line per sync.
func RenderRunText(w io.Writer, reps []*Report) {
	for _, r := range reps {
		if r.Status == StatusSkipped {
			fmt.Fprintf(w, "%s: %s — %s\n", r.Sync, r.Status, strings.TrimPrefix(r.Error, "skipped: "))
			continue
		}
		delivered := fmt.Sprintf("%d delivered", r.Delivered)
		if r.Committed != r.Delivered {
			delivered = fmt.Sprintf("%d delivered (%d committed to state)", r.Delivered, r.Committed)
		}
		fmt.Fprintf(w, "%s: %s — %d read, +%d ~%d -%d", r.Sync, r.Status, r.RowsRead, r.Added, r.Changed, r.Removed)
		if r.Resent > 0 {
			fmt.Fprintf(w, " (%d resent)", r.Resent)
		}
		fmt.Fprintf(w, ", %s, %d rejected", delivered, r.Rejected)
		if r.NotHeld > 0 {
			fmt.Fprintf(w, ", %d not held", r.NotHeld)
		}
		fmt.Fprintf(w, " in %.1fs", float64(r.DurationMS)/1000)
		if r.CursorAfter != "" {
			fmt.Fprintf(w, " (cursor %s)", r.CursorAfter)
		}
		fmt.Fprintln(w)
		if r.RejectedFile != "" {
			fmt.Fprintf(w, "  rejected rows: %s\n", r.RejectedFile)
		}
		if r.Stopped != "" {
			fmt.Fprintf(w, "  stopped: %s\n", r.Stopped)
		}
		if r.Error != "" {
			fmt.Fprintf(w, "  error: %s\n", r.Error)
		}
	}
}

// RenderRunJSON prints one JSON object per sync, one per line.
func RenderRunJSON(w io.Writer, reps []*Report) error {
	enc := json.NewEncoder(w)
	for _, r := range reps {
		if err := enc.Encode(r); err != nil {
			return fmt.Errorf("encode report: %w", err)
		}
	}
	return nil
}

func sortedFields(fields []string, m map[string]any) []string {
	if len(fields) > 0 {
		return fields
	}
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func keyText(key map[string]any) string {
	names := sortedFields(nil, key)
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = n + ": " + valueText(key[n])
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

func valueText(v any) string {
	if v == nil {
		return "null"
	}
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(data)
}
