#!/usr/bin/env bash
# MariaDB/MySQL → MariaDB/MySQL benchmark (make bench-mysql).
#
# For each size (200k and 2M rows by default) it generates the 10-column
# table of bench/postgres (same columns, MySQL types), then, ROUNDS times
# (default 3), times in turn — the order rotating each round, so neither
# side always finds the buffer pool warmer —
#   pipe     the native pipe: mariadb --batch --raw -N -e "SELECT * …" |
#            LOAD DATA LOCAL INFILE into an empty bench_dst;
#   replace  bin/hoist run bench/mysql/spec.yaml --sync replace;
#   upsert   bin/hoist run bench/mysql/spec.yaml --sync upsert,
# each into an empty bench_dst (hoist with empty state: a full load), and
# checks the destination equals the source. Ratios are against the same
# round's pipe. Peak RSS comes from /usr/bin/time -v ("Maximum resident
# set size"). The spec keeps every knob at its default; it is printed.
#
# Env: HOIST_BENCH_MYSQL (server URL, default mysql://root@127.0.0.1:3306),
#      BENCH_SIZES (default "200000 2000000"), ROUNDS (default 3),
#      HOIST_BIN (default: built from this tree).
set -euo pipefail
cd "$(dirname "$0")/../.."

SERVER=${HOIST_BENCH_MYSQL:-mysql://root@127.0.0.1:3306}
SERVER=${SERVER%/}
SIZES=${BENCH_SIZES:-"200000 2000000"}
ROUNDS=${ROUNDS:-3}
DB=hoist_bench
export HOIST_BENCH_URL="$SERVER/$DB"

# mysql://USER[:PASSWORD]@HOST[:PORT] → client options
re='^mysql://([^:@/]+)(:([^@/]*))?@([^:/]+)(:([0-9]+))?$'
[[ $SERVER =~ $re ]] || { echo "HOIST_BENCH_MYSQL must be mysql://USER[:PASSWORD]@HOST[:PORT]" >&2; exit 1; }
MYUSER=${BASH_REMATCH[1]} MYPASS=${BASH_REMATCH[3]} MYHOST=${BASH_REMATCH[4]} MYPORT=${BASH_REMATCH[6]:-3306}
CLIENT=$(command -v mariadb || command -v mysql) || { echo "the mariadb (or mysql) client is required" >&2; exit 1; }
export MYSQL_PWD=$MYPASS
myq() { "$CLIENT" -h "$MYHOST" -P "$MYPORT" -u "$MYUSER" --local-infile=1 "$@"; }

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"; myq -e "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1 || true' EXIT

if [[ ! -x /usr/bin/time ]]; then
  echo "installing GNU time for peak RSS" >&2
  apt-get install -y time >/dev/null
fi
HOIST=${HOIST_BIN:-}
if [[ -z $HOIST ]]; then
  HOIST=$WORK/hoist
  CGO_ENABLED=0 go build -tags minicore_disabled -o "$HOIST" ./cmd/hoist
fi

# timed CMD...: runs CMD under GNU time, sets SECS and RSS_MB.
timed() {
  local t0 t1
  t0=$(date +%s%N)
  /usr/bin/time -v -o "$WORK/time" "$@" >"$WORK/out" 2>"$WORK/err" || { cat "$WORK/err" "$WORK/out" >&2; return 1; }
  t1=$(date +%s%N)
  SECS=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
  RSS_MB=$(awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2/1024}' "$WORK/time")
}

empty_dst() {
  myq "$DB" -e "DROP TABLE IF EXISTS bench_dst; CREATE TABLE bench_dst LIKE bench_src"
}

same_content() {
  local diff
  diff=$(myq "$DB" -N -e "SELECT COUNT(*) FROM (SELECT * FROM bench_src EXCEPT ALL SELECT * FROM bench_dst) d;
    SELECT (SELECT COUNT(*) FROM bench_src) - (SELECT COUNT(*) FROM bench_dst)")
  [[ $(echo $diff) == "0 0" ]] || { echo "destination differs from source: $diff" >&2; exit 1; }
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

run_pipe() {
  empty_dst
  timed bash -c "MYSQL_PWD='$MYPASS' '$CLIENT' -h '$MYHOST' -P '$MYPORT' -u '$MYUSER' --batch --raw -N $DB -e 'SELECT * FROM bench_src' |
    MYSQL_PWD='$MYPASS' '$CLIENT' -h '$MYHOST' -P '$MYPORT' -u '$MYUSER' --local-infile=1 $DB -e \"LOAD DATA LOCAL INFILE '/dev/stdin' INTO TABLE bench_dst\""
  same_content
}

run_hoist() { # MODE
  empty_dst
  export HOIST_BENCH_STATE="$WORK/state-$1-$N-$round"
  timed "$HOIST" run bench/mysql/spec.yaml --sync "$1" -o json
  grep -q "\"delivered\":$N," "$WORK/out" || { echo "hoist $1 did not deliver $N rows:" >&2; cat "$WORK/out" >&2; exit 1; }
  same_content
}

myq -e "DROP DATABASE IF EXISTS $DB; CREATE DATABASE $DB CHARACTER SET utf8mb4"
echo "spec (bench/mysql/spec.yaml):"
sed -n '/^version/,$p' bench/mysql/spec.yaml
echo
printf '%-9s %-5s %-8s %9s %8s %9s\n' rows round run seconds ratio rss_mb
for N in $SIZES; do
  myq "$DB" -e "DROP TABLE IF EXISTS bench_src; CREATE TABLE bench_src (
      id BIGINT PRIMARY KEY, email VARCHAR(255), name VARCHAR(255), country VARCHAR(2), age INT,
      balance DECIMAL(12,2), active BOOLEAN, updated_at DATETIME(6), attrs JSON, note VARCHAR(64),
      KEY (updated_at));
    INSERT INTO bench_src SELECT seq, CONCAT('user', seq, '@example.com'), CONCAT('Name ', MD5(seq)),
      ELT(1 + seq % 6, 'US','DE','FR','JP','BR','IN'), 18 + seq % 70, ROUND((seq % 100000) * 1.37, 2),
      seq % 3 = 0, TIMESTAMP '2025-01-01 00:00:00' + INTERVAL seq SECOND,
      JSON_OBJECT('plan', ELT(1 + seq % 3, 'free','pro','team'), 'score', seq % 1000),
      SUBSTR(CONCAT(MD5(seq), MD5(seq + 1)), 1, 50)
      FROM seq_1_to_$N;
    ANALYZE TABLE bench_src" >/dev/null
  PIPE=() REPL=() UPS=() REPL_R=() UPS_R=() RSS_MAX=0
  for ((round = 1; round <= ROUNDS; round++)); do
    steps=(pipe replace upsert)
    for ((k = 0; k < (round - 1) % 3; k++)); do steps=("${steps[@]:1}" "${steps[0]}"); done
    for step in "${steps[@]}"; do
      case $step in
        pipe) run_pipe; P=$SECS; PIPE+=("$P"); RSS="-" ;;
        replace) run_hoist replace; REPL+=("$SECS"); RSS=$RSS_MB ;;
        upsert) run_hoist upsert; UPS+=("$SECS"); RSS=$RSS_MB ;;
      esac
      if [[ $RSS != "-" ]] && (( RSS > RSS_MAX )); then RSS_MAX=$RSS; fi
      eval "T_$step=$SECS R_$step=$RSS"
    done
    for step in pipe replace upsert; do
      eval "s=\$T_$step r=\$R_$step"
      printf '%-9s %-5s %-8s %9.2f %8s %9s\n' "$N" "$round" "$step" "$s" "$(ratio "$s" "$T_pipe")" "$r"
    done
    REPL_R+=("$(ratio "$T_replace" "$T_pipe")") UPS_R+=("$(ratio "$T_upsert" "$T_pipe")")
  done
  echo "$N rows, median of $ROUNDS: pipe $(median "${PIPE[@]}")s, replace $(median "${REPL[@]}")s ($(median "${REPL_R[@]}")x the pipe), upsert $(median "${UPS[@]}")s ($(median "${UPS_R[@]}")x the pipe), hoist peak RSS ${RSS_MAX} MB"
done
