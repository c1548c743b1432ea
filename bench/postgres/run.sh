#!/usr/bin/env bash
# Postgres → Postgres benchmark of issue 3 (make bench-postgres).
#
# For each size (200k and 2M rows by default) it generates the 10-column
# table, times psql's COPY pipe as the baseline, then times hoist with mode
# replace and mode upsert into an empty table, and a 1% incremental refresh
# through the cursor (ROUNDS rounds, default 10, each against a psql-only
# "db floor"). Each hoist figure is measured twice when possible:
#   driver — bench/postgres/main.go, hoist's own source and destination
#            driven directly (no diff, no state);
#   cli    — bin/hoist run spec.yaml (the whole pipeline), if bin/hoist exists.
# Peak RSS comes from /usr/bin/time -v ("Maximum resident set size").
#
# The refresh step times plan --refresh (the source extraction plus reading
# the whole destination back) against plan with empty state (the source
# extraction alone) after 0.1% of the destination was deleted and 0.1%
# changed by hand, then repairs it with run --refresh.
#
# The mirror step changes 1% of the source (no cursor: the whole source is
# read and diffed) and times hoist against the floor: \copy of the whole
# source to /dev/null plus the db floor of the changes. The parquet step
# times a replace into a Parquet file against psql's \copy (format csv) to a
# file. Every hoist run's temp files (TMPDIR) are sampled for their peak,
# printed beside the table's text size (what \copy to stdout writes).
#
# Env: HOIST_BENCH_PG (server URL, default local trust auth),
#      BENCH_SIZES (default "200000 2000000"),
#      BENCH_STEPS (default "copy modes parquet mirror refresh incremental"),
#      ROUNDS (incremental rounds, default 10), MIRROR_ROUNDS (default 3),
#      MODE_ROUNDS (hoist runs per replace/upsert, the fastest counts; default 2).
set -euo pipefail
cd "$(dirname "$0")/../.."

BASE=${HOIST_BENCH_PG:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}
SIZES=${BENCH_SIZES:-"200000 2000000"}
SCHEMA=hoist_bench
sep='?'; [[ $BASE == *\?* ]] && sep='&'
export HOIST_BENCH_URL="${BASE}${sep}options=-csearch_path%3D${SCHEMA}%20-cclient_min_messages%3Dwarning"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"; psql -q "$BASE" -c "DROP SCHEMA IF EXISTS $SCHEMA CASCADE" >/dev/null 2>&1 || true' EXIT

if [[ ! -x /usr/bin/time ]]; then
  echo "installing GNU time for peak RSS" >&2
  apt-get install -y time >/dev/null
fi
command -v psql >/dev/null || { echo "psql is required" >&2; exit 1; }

go build -tags minicore_disabled -o "$WORK/pgbench" ./bench/postgres
HOIST=${HOIST_BIN:-bin/hoist}
[[ -x $HOIST ]] || HOIST=""

psqlq() { psql -X -q -v ON_ERROR_STOP=1 "$HOIST_BENCH_URL" "$@"; }
# hoist's spills go to TMPDIR: a folder of the bench's own, sampled for its peak
export TMPDIR="$WORK/tmp" HOIST_BENCH_OUT="$WORK/files"
mkdir -p "$TMPDIR" "$HOIST_BENCH_OUT"
. bench/postgres/table.sh

# timed CMD...: runs CMD under GNU time, sets SECS, RSS_MB and TMP_MB (the
# peak of TMPDIR while it ran, sampled every 50 ms).
timed() {
  local t0 t1 sampler
  rm -rf "${TMPDIR:?}"/* "$WORK/tmp-peak"
  ( peak=0; while :; do
      # du fails when a file vanishes mid-scan; under pipefail and -e
      # that used to end this sampler, and the kill below the bench
      n=$(du -sb "$TMPDIR" 2>/dev/null | cut -f1 || true); n=${n:-0}
      if (( n > peak )); then peak=$n; echo "$peak" >"$WORK/tmp-peak"; fi
      sleep 0.05
    done ) &
  sampler=$!
  t0=$(date +%s%N)
  /usr/bin/time -v -o "$WORK/time" "$@" >"$WORK/out" 2>"$WORK/err" || { kill $sampler 2>/dev/null || true; wait $sampler 2>/dev/null; cat "$WORK/err" "$WORK/out" >&2; return 1; }
  t1=$(date +%s%N)
  kill $sampler 2>/dev/null || true; wait $sampler 2>/dev/null || true
  TMP_MB=$(awk '{printf "%.0f", $1/1048576}' "$WORK/tmp-peak" 2>/dev/null); TMP_MB=${TMP_MB:-0}
  SECS=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
  RSS_MB=$(awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2/1024}' "$WORK/time")
  # hoist's own CPU (user + system): steadier than wall time on a shared machine
  CPU_S=$(awk -F': ' '/User time|System time/ {s += $2} END {printf "%.2f", s}' "$WORK/time")
}

# empty_dst starts each timed load from an empty bench_dst and a
# checkpoint, so no run pays for writing out the pages the one before it
# dirtied (the first baseline once took 38 s against 10 s for the next).
empty_dst() {
  psqlq -c "DROP TABLE IF EXISTS bench_dst" -c "CREATE TABLE bench_dst (LIKE bench_src INCLUDING ALL)" -c CHECKPOINT
}

same_content() {
  local diff
  diff=$(psqlq -At -c "SELECT count(*) FROM (SELECT * FROM bench_src EXCEPT ALL SELECT * FROM bench_dst) d" \
                   -c "SELECT (SELECT count(*) FROM bench_src) - (SELECT count(*) FROM bench_dst)")
  [[ $(echo $diff) == "0 0" ]] || { echo "destination differs from source: $diff" >&2; exit 1; }
}

STEPS=${BENCH_STEPS:-"copy modes parquet mirror refresh incremental"}
want() { [[ " $STEPS " == *" $1 "* ]]; }

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1f%%", 100 * a / b; else print "n/a" }'; }

psql -X -q "$BASE" -c "DROP SCHEMA IF EXISTS $SCHEMA CASCADE" -c "CREATE SCHEMA $SCHEMA" >/dev/null 2>&1

echo "spec (bench/postgres/spec.yaml):"
sed -n '/^version/,$p' bench/postgres/spec.yaml
echo
printf '%-9s %-22s %9s %8s %9s %9s %7s\n' rows run seconds ratio rss_mb tmp_mb cpu_s
# row N RUN SECONDS RATIO RSS TMP [CPU]: CPU defaults to the last timed command's
row() { printf '%-9s %-22s %9.2f %8s %9s %9s %7s\n' "$1" "$2" "$3" "$4" "$5" "$6" "${7:-${CPU_S:--}}"; }
for N in $SIZES; do
  gen_bench_src "$N"
  TEXT_MB=$(psqlq -c '\copy (select * from bench_src) to stdout' | wc -c | awk '{printf "%.0f", $1/1048576}')
  echo "bench_src: $N rows, ${TEXT_MB} MB as COPY text"

  # Baseline: psql's COPY pipe (text format) into an empty table.
  # Timed twice, once before the hoist runs and once after them; the faster
  # counts (the first pass also warms the server's cache for everyone).
  BASE_S=0
  copy_pipe() {
    empty_dst
    timed bash -c "psql -X -q '$HOIST_BENCH_URL' -c '\\copy (select * from bench_src) to stdout' | psql -X -q '$HOIST_BENCH_URL' -c '\\copy bench_dst from stdin'"
    same_content
    if [[ $BASE_S == 0 ]] || awk -v a="$SECS" -v b="$BASE_S" 'BEGIN { exit !(a < b) }'; then BASE_S=$SECS; fi
    echo "psql copy pipe: ${SECS}s" >&2
  }
  if want copy; then copy_pipe; fi

  MODE_ROWS=() # "label secs rss tmp cpu", printed once the baseline is final
  want modes && for MODE in replace upsert; do
    empty_dst
    timed "$WORK/pgbench" -url "$HOIST_BENCH_URL" -mode "$MODE"
    MODE_ROWS+=("driver_$MODE $SECS $RSS_MB - $CPU_S")
    same_content
    if [[ -n $HOIST ]]; then
      # best of MODE_ROUNDS, as the pipe is best of two: one 2M-row run
      # varies by ±20% here with the server's writeback
      best=""
      for ((i = 1; i <= ${MODE_ROUNDS:-2}; i++)); do
        empty_dst
        export HOIST_BENCH_STATE="$WORK/state-$MODE-$N-$i"
        if ! timed "$HOIST" run bench/postgres/spec.yaml --sync "$MODE" --quiet; then
          echo "cli $MODE failed (see above)" >&2
          continue
        fi
        same_content
        echo "cli $MODE: ${SECS}s" >&2
        if [[ -z $best ]] || awk -v a="$SECS" -v b="${best%% *}" 'BEGIN { exit !(a < b) }'; then
          best="$SECS $RSS_MB $TMP_MB $CPU_S"
        fi
      done
      [[ -n $best ]] && MODE_ROWS+=("cli_$MODE $best")
    fi
  done
  if want copy; then
    want modes && copy_pipe
    row "$N" "psql copy pipe" "$BASE_S" 1.00 "-" "-" "-"
  fi
  for r in "${MODE_ROWS[@]}"; do
    read -r label secs rss tmp cpu <<<"$r"
    row "$N" "${label/_/ }" "$secs" "$(ratio "$secs" "$BASE_S")" "$rss" "$tmp" "$cpu"
  done

  # pg → parquet: a replace into a Parquet file against psql's csv \copy
  # to a file, interleaved, best of two each.
  if [[ -n $HOIST ]] && want parquet; then
    CSV_S=999999 PQ_S=999999 PQ_RSS=0
    for i in 1 2; do
      timed psql -X -q "$HOIST_BENCH_URL" -c "\\copy (select * from bench_src) to '$WORK/bench.csv' (format csv)"
      CSV_S=$(awk -v a="$SECS" -v b="$CSV_S" 'BEGIN { print (a < b) ? a : b }')
      export HOIST_BENCH_STATE="$WORK/state-parquet-$N"
      timed "$HOIST" run bench/postgres/spec.yaml --sync parquet --quiet
      if awk -v a="$SECS" -v b="$PQ_S" 'BEGIN { exit !(a < b) }'; then PQ_S=$SECS PQ_RSS=$RSS_MB PQ_CPU=$CPU_S PQ_TMP=$TMP_MB; fi
    done
    rm -f "$WORK/bench.csv"
    row "$N" "psql copy to csv" "$CSV_S" 1.00 "-" "-" "-"
    row "$N" "cli parquet (replace)" "$PQ_S" "$(ratio "$PQ_S" "$CSV_S")" "$PQ_RSS" "$PQ_TMP" "$PQ_CPU"
  fi

  # mirror of 1% changes, no cursor: hoist reads and diffs the whole source.
  # Floor = \copy of the whole source to /dev/null + psql's own upsert of
  # the changed rows into bench_db (a copy of bench_dst).
  if [[ -n $HOIST ]] && want mirror; then
    empty_dst
    export HOIST_BENCH_STATE="$WORK/state-mirror-$N"
    timed "$HOIST" run bench/postgres/spec.yaml --sync mirror --quiet
    MIRROR_FULL_S=$SECS MIRROR_FULL_TMP=$TMP_MB MIRROR_FULL_RSS=$RSS_MB MIRROR_FULL_CPU=$CPU_S
    psqlq -c "DROP TABLE IF EXISTS bench_db" -c "CREATE TABLE bench_db (LIKE bench_src INCLUDING ALL)" \
      -c "INSERT INTO bench_db SELECT * FROM bench_dst" -c "VACUUM ANALYZE bench_db" -c "VACUUM ANALYZE bench_dst"
    SETS="email = EXCLUDED.email, name = EXCLUDED.name, country = EXCLUDED.country, age = EXCLUDED.age,
      balance = EXCLUDED.balance, active = EXCLUDED.active, updated_at = EXCLUDED.updated_at,
      attrs = EXCLUDED.attrs, note = EXCLUDED.note"
    M_HOIST=() M_FLOOR=() M_RSS=0 M_TMP=0
    for ((round = 1; round <= ${MIRROR_ROUNDS:-3}; round++)); do
      psqlq -c "UPDATE bench_src SET note = 'mirror round $round' WHERE id % 100 = $((round + 50))" -c "VACUUM ANALYZE bench_src"
      psqlq -c CHECKPOINT
      timed bash -c "psql -X -q '$HOIST_BENCH_URL' -c '\\copy (select * from bench_src) to stdout' >/dev/null &&
        psql -X -q '$HOIST_BENCH_URL' -c \"\\copy (SELECT * FROM bench_src WHERE note = 'mirror round $round') to stdout\" |
        psql -X -q -v ON_ERROR_STOP=1 '$HOIST_BENCH_URL' -c 'CREATE TEMP TABLE s (LIKE bench_db)' -c '\\copy s from stdin' \
          -c 'INSERT INTO bench_db SELECT * FROM s ON CONFLICT (id) DO UPDATE SET $SETS'"
      M_FLOOR+=("$SECS")
      psqlq -c CHECKPOINT
      timed "$HOIST" run bench/postgres/spec.yaml --sync mirror -o json
      grep -q "\"delivered\":$((N / 100))," "$WORK/out" || { echo "mirror round $round: hoist did not deliver $((N / 100)) rows:" >&2; cat "$WORK/out" >&2; exit 1; }
      M_HOIST+=("$SECS") M_CPU=$CPU_S
      if (( RSS_MB > M_RSS )); then M_RSS=$RSS_MB; fi
      if (( TMP_MB > M_TMP )); then M_TMP=$TMP_MB; fi
    done
    same_content
    mstats() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {printf "%.3f", a[int((NR+1)/2)]}'; }
    MH=$(mstats "${M_HOIST[@]}") MF=$(mstats "${M_FLOOR[@]}")
    row "$N" "cli mirror (full)" "$MIRROR_FULL_S" "-" "$MIRROR_FULL_RSS" "$MIRROR_FULL_TMP" "$MIRROR_FULL_CPU"
    row "$N" "mirror floor 1%" "$MF" 1.00 "-" "-" "-"
    row "$N" "cli mirror 1%" "$MH" "$(ratio "$MH" "$MF")" "$M_RSS" "$M_TMP" "$M_CPU"
    echo "mirror rounds: hoist ${M_HOIST[*]} | floor ${M_FLOOR[*]} (target: hoist <= 1.5x the floor)"
  fi

  if [[ -n $HOIST ]] && want refresh; then
    echo "refresh step, spec (sync upsert of bench/postgres/spec.yaml):"
    sed -n '/- name: upsert/,/destination/p' bench/postgres/spec.yaml
    empty_dst
    export HOIST_BENCH_STATE="$WORK/state-refresh-$N"
    timed "$HOIST" plan bench/postgres/spec.yaml --sync upsert --quiet
    EXTRACT_S=$SECS EXTRACT_RSS=$RSS_MB
    timed "$HOIST" run bench/postgres/spec.yaml --sync upsert --quiet
    psqlq -c "DELETE FROM bench_dst WHERE id % 1000 = 1" -c "UPDATE bench_dst SET note = 'hand' WHERE id % 1000 = 2" \
      -c "VACUUM ANALYZE bench_dst"
    timed "$HOIST" plan bench/postgres/spec.yaml --sync upsert --quiet
    PLAN_S=$SECS PLAN_RSS=$RSS_MB
    # the extraction and the refresh, interleaved, best of two each: single
    # runs on a shared machine vary by a third
    REFRESH_S=999999
    for i in 1 2; do
      timed "$HOIST" plan bench/postgres/spec.yaml --sync upsert --refresh -o json
      grep -q "\"added\":$((N / 1000)),\"changed\":$((N / 1000))," "$WORK/out" || { echo "plan --refresh missed the drift:" >&2; cat "$WORK/out" >&2; exit 1; }
      if awk -v a="$SECS" -v b="$REFRESH_S" 'BEGIN { exit !(a < b) }'; then REFRESH_S=$SECS REFRESH_RSS=$RSS_MB; fi
      [[ $i == 2 ]] && break
      mv "$HOIST_BENCH_STATE" "$HOIST_BENCH_STATE.keep"
      timed "$HOIST" plan bench/postgres/spec.yaml --sync upsert --quiet
      if awk -v a="$SECS" -v b="$EXTRACT_S" 'BEGIN { exit !(a < b) }'; then EXTRACT_S=$SECS EXTRACT_RSS=$RSS_MB; fi
      rm -rf "$HOIST_BENCH_STATE"; mv "$HOIST_BENCH_STATE.keep" "$HOIST_BENCH_STATE"
    done
    timed "$HOIST" run bench/postgres/spec.yaml --sync upsert --refresh -o json
    grep -q "\"delivered\":$((2 * N / 1000))," "$WORK/out" || { echo "run --refresh did not repair:" >&2; cat "$WORK/out" >&2; exit 1; }
    REPAIR_S=$SECS REPAIR_RSS=$RSS_MB
    same_content
    READ_S=$(awk -v a="$REFRESH_S" -v b="$EXTRACT_S" 'BEGIN { printf "%.3f", a - b }')
    printf '%-9s %-22s %9.2f %8s %9s\n' "$N" "plan, empty state" "$EXTRACT_S" 1.00 "$EXTRACT_RSS"
    printf '%-9s %-22s %9.2f %8s %9s\n' "$N" "plan (snapshot)" "$PLAN_S" "$(ratio "$PLAN_S" "$EXTRACT_S")" "$PLAN_RSS"
    printf '%-9s %-22s %9.2f %8s %9s\n' "$N" "plan --refresh" "$REFRESH_S" "$(ratio "$REFRESH_S" "$EXTRACT_S")" "$REFRESH_RSS"
    printf '%-9s %-22s %9.2f %8s %9s\n' "$N" "run --refresh (repair)" "$REPAIR_S" "$(ratio "$REPAIR_S" "$EXTRACT_S")" "$REPAIR_RSS"
    echo "refresh read (plan --refresh − plan with empty state) = ${READ_S}s = $(ratio "$READ_S" "$EXTRACT_S")x the source extraction (target ≤ 1)"
  fi

  # 1% incremental refresh: 1% of rows get a newer updated_at; only they
  # are read (index range scan on updated_at), diffed and upserted. After a
  # full first run of the cursor sync, ROUNDS rounds each update a different
  # 1% of the source. Per round, in alternating order so neither side always
  # finds the cache warmer, it times
  #   db floor — psql alone: \copy the changed rows out and upsert them into
  #              bench_db (a copy of bench_dst): the server's own work for
  #              the refresh, with no diff and no state;
  #   hoist    — bin/hoist run --sync incremental into bench_dst.
  # The mean over the rounds includes the runs that compact the state's
  # delta tables (see README, "Incremental runs").
  if [[ -n $HOIST ]] && want incremental; then
    empty_dst
    export HOIST_BENCH_STATE="$WORK/state-incr-$N"
    timed "$HOIST" run bench/postgres/spec.yaml --sync incremental --quiet
    CLI_FULL_S=$SECS
    psqlq -c "DROP TABLE IF EXISTS bench_db" -c "CREATE TABLE bench_db (LIKE bench_src INCLUDING ALL)" \
      -c "INSERT INTO bench_db SELECT * FROM bench_dst" -c "VACUUM ANALYZE bench_db" -c "VACUUM ANALYZE bench_dst"
    SETS="email = EXCLUDED.email, name = EXCLUDED.name, country = EXCLUDED.country, age = EXCLUDED.age,
      balance = EXCLUDED.balance, active = EXCLUDED.active, updated_at = EXCLUDED.updated_at,
      attrs = EXCLUDED.attrs, note = EXCLUDED.note"
    HOIST_TIMES=() DB_TIMES=() HOIST_RSS=0
    for ((round = 1; round <= ${ROUNDS:-10}; round++)); do
      MAXTS=$(psqlq -At -c "SELECT max(updated_at) FROM bench_src")
      psqlq -c "UPDATE bench_src SET updated_at = clock_timestamp(), note = 'changed in round $round'
        WHERE id % 100 = $round" -c "VACUUM ANALYZE bench_src"
      db_floor() {
        timed bash -c "psql -X -q '$HOIST_BENCH_URL' -c \"\\copy (SELECT * FROM bench_src WHERE updated_at > '$MAXTS' ORDER BY updated_at) to stdout\" |
          psql -X -q -v ON_ERROR_STOP=1 '$HOIST_BENCH_URL' -c 'CREATE TEMP TABLE s (LIKE bench_db)' -c '\\copy s from stdin' \
            -c 'INSERT INTO bench_db SELECT * FROM s ON CONFLICT (id) DO UPDATE SET $SETS'"
        DB_TIMES+=("$SECS")
      }
      hoist_incr() {
        timed "$HOIST" run bench/postgres/spec.yaml --sync incremental -o json
        grep -q "\"delivered\":$((N / 100))," "$WORK/out" || { echo "round $round: hoist did not deliver $((N / 100)) rows:" >&2; cat "$WORK/out" >&2; exit 1; }
        HOIST_TIMES+=("$SECS")
        if (( RSS_MB > HOIST_RSS )); then HOIST_RSS=$RSS_MB; fi
      }
      # Each timed step starts from a checkpoint, so neither pays for
      # writing out the pages the other dirtied (as a run every few minutes
      # finds the server: checkpoint_timeout is 5 minutes by default).
      psqlq -c CHECKPOINT
      if (( round % 2 )); then db_floor; psqlq -c CHECKPOINT; hoist_incr; else hoist_incr; psqlq -c CHECKPOINT; db_floor; fi
    done
    same_content
    stats() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1; s+=$1} END {printf "%.3f %.3f %.3f", a[1], a[int((NR+1)/2)], s/NR}'; }
    read -r H_MIN H_MED H_MEAN <<<"$(stats "${HOIST_TIMES[@]}")"
    read -r D_MIN D_MED D_MEAN <<<"$(stats "${DB_TIMES[@]}")"
    printf '%-9s %-22s %9.2f %8s %9s\n' "$N" "cli full (cursor sync)" "$CLI_FULL_S" 1.00 "-"
    # incremental ratios are shares of the cursor sync's full run (target < 2%)
    printf '%-9s %-22s %9.3f %8s %9s  (first round)\n' "$N" "cli incremental 1%" "${HOIST_TIMES[0]}" "$(pct "${HOIST_TIMES[0]}" "$CLI_FULL_S")" "$HOIST_RSS"
    printf '%-9s %-22s %9.3f %8s %9s  (median of %d; mean %.3f = %s)\n' "$N" "cli incremental 1%" "$H_MED" "$(pct "$H_MED" "$CLI_FULL_S")" "$HOIST_RSS" "${#HOIST_TIMES[@]}" "$H_MEAN" "$(pct "$H_MEAN" "$CLI_FULL_S")"
    printf '%-9s %-22s %9.3f %8s %9s  (median; psql copy out + upsert, no hoist; hoist = %sx it)\n' "$N" "db floor 1%" "$D_MED" "$(pct "$D_MED" "$CLI_FULL_S")" "-" "$(ratio "$H_MED" "$D_MED")"
    echo "rounds: hoist ${HOIST_TIMES[*]} | db floor ${DB_TIMES[*]}"
  fi
done
