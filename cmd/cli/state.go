package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hoist-dev/hoist/sync/state"
)

// NewCmdState builds `hoist state show|reset`.
func NewCmdState(streams *IO, g *GlobalOptions) *cobra.Command {
	cmd := &cobra.Command{Use: "state", Short: "Show or reset what hoist remembers per sync"}
	cmd.AddCommand(&cobra.Command{
		Use:   "show SPEC",
		Short: "Cursors, snapshot sizes and last run per sync",
		Args:  specArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runStateShow(cmd.Context(), streams, g, args[0])
		},
	})
	reset := &cobra.Command{
		Use:   "reset SPEC --sync NAME",
		Short: "Forget a sync's cursor and snapshot so the next run is a full sync",
		Args:  specArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(g.Syncs) == 0 {
				return fmt.Errorf("state reset needs --sync NAME (it never resets every sync at once)")
			}
			return runStateReset(cmd.Context(), streams, g, args[0])
		},
	}
	cmd.AddCommand(reset)
	return cmd
}

func runStateShow(ctx context.Context, streams *IO, g *GlobalOptions, path string) error {
	_, syncs, store, err := openSpec(ctx, path, g)
	if err != nil {
		return err
	}
	defer store.Close()
	enc := json.NewEncoder(streams.Out)
	var all []*state.SyncState
	for _, s := range syncs {
		st, err := store.Get(ctx, s.Name)
		if err != nil {
			return fmt.Errorf("state of %s: %w", s.Name, err)
		}
		st.Sync = s.Name
		shards, err := shardStates(ctx, store, s.Name)
		if err != nil {
			return err
		}
		if len(shards) == 0 || st.Identity != nil || st.LastRun != nil {
			all = append(all, st)
		}
		all = append(all, shards...)
	}
	for _, st := range all {
		if g.Output == "json" {
			if err := enc.Encode(st); err != nil {
				return err
			}
			continue
		}
		fmt.Fprintf(streams.Out, "%s\n  cursor:   %s\n  snapshot: %d rows\n", st.Sync, orNone(st.Cursor.String()), st.SnapshotRows)
		if id := st.Identity; id != nil {
			fmt.Fprintf(streams.Out, "  source:   %s\n  target:   %s, key [%s]\n", id.Source, id.Destination, strings.Join(id.PrimaryKey, ", "))
			engine := "client (snapshot in the state store)"
			if id.Diff == "warehouse" {
				engine = "warehouse (snapshot in the source database, schema hoist_diff)"
			}
			fmt.Fprintf(streams.Out, "  diff:     %s\n", engine)
			if id.Shard != "" {
				fmt.Fprintf(streams.Out, "  shard:    %s\n", id.Shard)
			}
		}
		if r := st.LastRun; r != nil {
			fmt.Fprintf(streams.Out, "  last run: %s at %s, %d read, %d delivered, %d rejected, %dms\n",
				r.Status, r.StartedAt.UTC().Format("2006-01-02T15:04:05Z"), r.RowsRead, r.Delivered, r.Rejected, r.DurationMS)
			if r.Error != "" {
				fmt.Fprintf(streams.Out, "  error:    %s\n", r.Error)
			}
		} else {
			fmt.Fprintln(streams.Out, "  last run: never")
		}
	}
	return nil
}

func runStateReset(ctx context.Context, streams *IO, g *GlobalOptions, path string) error {
	_, syncs, store, err := openSpec(ctx, path, g)
	if err != nil {
		return err
	}
	defer store.Close()
	for _, s := range syncs {
		// a sharded sync's shards too: no layout's leftovers outlive a reset
		shards, err := shardStates(ctx, store, s.Name)
		if err != nil {
			return err
		}
		names := []string{s.Name}
		for _, st := range shards {
			names = append(names, st.Sync)
		}
		for _, name := range names {
			lock, err := store.Lock(ctx, name, 0)
			if err != nil {
				return err
			}
			err = store.Reset(ctx, name)
			lock.Release()
			if err != nil {
				return fmt.Errorf("reset %s: %w", name, err)
			}
		}
		what := s.Name
		if len(shards) > 0 {
			what = fmt.Sprintf("%s and its %d shards", s.Name, len(shards))
		}
		fmt.Fprintf(streams.Out, "reset %s: the next run is a full sync\n", what)
	}
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
