#!/usr/bin/env bash
# Two hoist builds side by side on bench-postgres's table (make
# bench-postgres generates the same one): bench/postgres/compare.sh OLD NEW
# times `OLD run` and `NEW run` of bench/postgres/spec.yaml's replace and
# upsert syncs, ROUNDS rounds (default 3) in alternating order, each against
# the same round's psql copy pipe, into an empty bench_dst with empty state.
# A refactor that should cost nothing is checked with it: build the old
# commit in a worktree, e.g.
#   git worktree add --detach /tmp/old REV && (cd /tmp/old && go build -tags minicore_disabled -o /tmp/hoist-old ./cmd/hoist)
# Env: HOIST_BENCH_PG (server URL), BENCH_ROWS (default 2000000), ROUNDS.
set -euo pipefail
cd "$(dirname "$0")/../.."
OLD=${1:?usage: compare.sh OLD_BIN NEW_BIN} NEW=${2:?usage: compare.sh OLD_BIN NEW_BIN}
BASE=${HOIST_BENCH_PG:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}
N=${BENCH_ROWS:-2000000}
sep='?'; [[ $BASE == *\?* ]] && sep='&'
URL="${BASE}${sep}options=-csearch_path%3Dhoist_bench%20-cclient_min_messages%3Dwarning"
export HOIST_BENCH_URL=$URL HOIST_BENCH_OUT=${TMPDIR:-/tmp}
W=$(mktemp -d)
trap 'rm -rf "$W"; psql -X -q "$BASE" -c "DROP SCHEMA IF EXISTS hoist_bench CASCADE" >/dev/null 2>&1 || true' EXIT
psqlq() { psql -X -q -v ON_ERROR_STOP=1 "$URL" "$@"; }
. bench/postgres/table.sh
psql -X -q "$BASE" -c "DROP SCHEMA IF EXISTS hoist_bench CASCADE" -c "CREATE SCHEMA hoist_bench" >/dev/null 2>&1
gen_bench_src "$N"
empty() { psqlq -c "DROP TABLE IF EXISTS bench_dst" -c "CREATE TABLE bench_dst (LIKE bench_src INCLUDING ALL)"; }
# secs CMD...: prints CMD's wall seconds; its CPU seconds (user + system,
# steadier than wall time on a shared machine) go to $W/cpu.
secs() {
  local a b; a=$(date +%s%N)
  /usr/bin/time -f '%U %S' -o "$W/cpu.raw" "$@" >/dev/null 2>"$W/err" || { cat "$W/err" >&2; exit 1; }; b=$(date +%s%N)
  awk '{printf "%.2f", $1 + $2}' "$W/cpu.raw" >"$W/cpu"
  awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", (b - a) / 1e9 }'
}
pipe() { psql -X -q "$URL" -c '\copy (select * from bench_src) to stdout' | psql -X -q "$URL" -c '\copy bench_dst from stdin'; }
run() { HOIST_BENCH_STATE="$W/state-$RANDOM$RANDOM" "$1" run bench/postgres/spec.yaml --sync "$2" --quiet; }
echo "spec: bench/postgres/spec.yaml"; sed -n '/^syncs:/,$p' bench/postgres/spec.yaml
printf '%-6s %-8s %-4s %9s %9s %6s %7s\n' round mode bin seconds pipe ratio cpu_s
for ((r = 1; r <= ${ROUNDS:-3}; r++)); do
  empty; P=$(secs pipe)
  for m in replace upsert; do
    if ((r % 2)); then order="old new"; else order="new old"; fi
    for v in $order; do
      bin=$OLD; [[ $v == new ]] && bin=$NEW
      empty; S=$(secs run "$bin" "$m")
      printf '%-6s %-8s %-4s %9s %9s %6s %7s\n' "$r" "$m" "$v" "$S" "$P" "$(awk -v a="$S" -v b="$P" 'BEGIN { printf "%.2f", a / b }')" "$(cat "$W/cpu")"
    done
  done
done
