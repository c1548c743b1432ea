#!/usr/bin/env bash
# Postgres → Postgres benchmark of issue 3 (make bench-postgres).
#
# For each size (200k and 2M rows by default) it generates the 10-column
# table, times psql's COPY pipe as the baseline, then times hoist with mode
# replace and mode upsert into an empty table, and a 1% incremental refresh
# through the cursor. Each hoist figure is measured twice when possible:
#   driver — bench/postgres/main.go, hoist's own source and destination
#            driven directly (no diff, no state);
#   cli    — bin/hoist run spec.yaml (the whole pipeline), if bin/hoist exists.
# Peak RSS comes from /usr/bin/time -v ("Maximum resident set size").
#
# Env: HOIST_BENCH_PG (server URL, default local trust auth),
#      BENCH_SIZES (default "200000 2000000").
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

# timed CMD...: runs CMD under GNU time, sets SECS and RSS_MB.
timed() {
  /usr/bin/time -v -o "$WORK/time" "$@" >"$WORK/out" 2>"$WORK/err" || { cat "$WORK/err" "$WORK/out" >&2; return 1; }
  SECS=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$WORK/time")
  RSS_MB=$(awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2/1024}' "$WORK/time")
}

empty_dst() {
  psqlq -c "DROP TABLE IF EXISTS bench_dst" -c "CREATE TABLE bench_dst (LIKE bench_src INCLUDING ALL)"
}

same_content() {
  local diff
  diff=$(psqlq -At -c "SELECT count(*) FROM (SELECT * FROM bench_src EXCEPT ALL SELECT * FROM bench_dst) d" \
                   -c "SELECT (SELECT count(*) FROM bench_src) - (SELECT count(*) FROM bench_dst)")
  [[ $(echo $diff) == "0 0" ]] || { echo "destination differs from source: $diff" >&2; exit 1; }
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

psql -X -q "$BASE" -c "DROP SCHEMA IF EXISTS $SCHEMA CASCADE" -c "CREATE SCHEMA $SCHEMA" >/dev/null 2>&1

printf '%-9s %-22s %9s %8s %9s\n' rows run seconds ratio rss_mb
for N in $SIZES; do
  # jsonb has no equality operator for EXCEPT: keep attrs as jsonb but the
  # check compares rows, which works since jsonb does have one (json not).
  psqlq -c "DROP TABLE IF EXISTS bench_src" -c "CREATE TABLE bench_src (
      id bigint PRIMARY KEY, email text, name text, country text, age int,
      balance numeric(12,2), active bool, updated_at timestamptz, attrs jsonb, note text)" \
    -c "INSERT INTO bench_src SELECT g, 'user' || g || '@example.com', 'Name ' || md5(g::text),
      (ARRAY['US','DE','FR','JP','BR','IN'])[1 + g % 6], 18 + g % 70, round((g % 100000) * 1.37, 2),
      g % 3 = 0, '2025-01-01 00:00:00+00'::timestamptz + g * interval '1 second',
      jsonb_build_object('plan', (ARRAY['free','pro','team'])[1 + g % 3], 'score', g % 1000),
      substr(md5(g::text) || md5((g + 1)::text), 1, 50)
      FROM generate_series(1, $N) g" \
    -c "CREATE INDEX ON bench_src (updated_at)" -c "VACUUM ANALYZE bench_src"

  # Baseline: psql's COPY pipe (text format) into an empty table.
  empty_dst
  timed bash -c "psql -X -q '$HOIST_BENCH_URL' -c '\\copy (select * from bench_src) to stdout' | psql -X -q '$HOIST_BENCH_URL' -c '\\copy bench_dst from stdin'"
  BASE_S=$SECS
  printf '%-9s %-22s %9.2f %8s %9s\n' "$N" "psql copy pipe" "$BASE_S" 1.00 "-"
  same_content

  for MODE in replace upsert; do
    empty_dst
    timed "$WORK/pgbench" -url "$HOIST_BENCH_URL" -mode "$MODE"
    printf '%-9s %-22s %9.2f %8s %9s\n' "$N" "driver $MODE" "$SECS" "$(ratio "$SECS" "$BASE_S")" "$RSS_MB"
    same_content
    if [[ -n $HOIST ]]; then
      empty_dst
      export HOIST_BENCH_STATE="$WORK/state-$MODE-$N"
      if timed "$HOIST" run bench/postgres/spec.yaml --sync "$MODE" --quiet; then
        printf '%-9s %-22s %9.2f %8s %9s\n' "$N" "cli $MODE" "$SECS" "$(ratio "$SECS" "$BASE_S")" "$RSS_MB"
        same_content
      else
        echo "cli $MODE failed (see above)" >&2
      fi
    fi
  done

  # 1% incremental refresh: 1% of rows get a newer updated_at; only they
  # are read (index range scan on updated_at) and upserted.
  FULL_S=$BASE_S
  MAXTS=$(psqlq -At -c "SELECT to_char(max(updated_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM bench_src")
  if [[ -n $HOIST ]]; then
    empty_dst
    export HOIST_BENCH_STATE="$WORK/state-incr-$N"
    timed "$HOIST" run bench/postgres/spec.yaml --sync incremental --quiet
    CLI_FULL_S=$SECS
  fi
  psqlq -c "UPDATE bench_src SET updated_at = now(), note = 'changed' WHERE id % 100 = 0" -c "VACUUM ANALYZE bench_src"
  timed "$WORK/pgbench" -url "$HOIST_BENCH_URL" -mode upsert -cursor updated_at -after "$MAXTS"
  ROWS=$(grep -o 'rows=[0-9]*' "$WORK/out")
  printf '%-9s %-22s %9.2f %8s %9s  (%s, ratio vs psql full copy)\n' "$N" "driver incremental 1%" "$SECS" "$(ratio "$SECS" "$FULL_S")" "$RSS_MB" "$ROWS"
  if [[ -n $HOIST ]]; then
    timed "$HOIST" run bench/postgres/spec.yaml --sync incremental --quiet
    printf '%-9s %-22s %9.2f %8s %9s  (ratio vs cli full run %.2fs)\n' "$N" "cli incremental 1%" "$SECS" "$(ratio "$SECS" "$CLI_FULL_S")" "$RSS_MB" "$CLI_FULL_S"
    same_content
  fi
done
