#!/usr/bin/env bash
# Pipeline benchmark (make bench): Parquet → SQLite (replace, upsert) and
# Parquet → Parquet (replace) at 100k and 1M rows, through the built binary.
# For each run it prints rows, wall seconds, rows/s and peak RSS, then per
# case the ratio peak RSS(largest)/peak RSS(smallest) against the 1.5× target.
#
# Peak RSS is the kernel's maxrss of the hoist process, read with GNU time
# (/usr/bin/time -f %M, in KB). Wall time is the whole process (start-up,
# extract, diff, load, state commit), not only the sync's duration_ms.
#
# Environment:
#   HOIST         binary to measure (default bin/hoist, built by make build)
#   BENCH_SIZES   row counts, smallest first (default "100000 1000000"); with three
#                 or more, the last two also show whether memory is flat past 1M
#   BENCH_CASES   cases to run (default "sqlite-replace sqlite-upsert parquet-replace")
#   BENCH_KEEP=1  keep the temp folder (data, specs, logs) and print its path
#   BENCH_STRICT=1  exit 1 when a ratio misses its target
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
hoist=${HOIST:-$root/bin/hoist}
sizes=(${BENCH_SIZES:-100000 1000000})
cases=(${BENCH_CASES:-sqlite-replace sqlite-upsert parquet-replace})
target_ratio=1.5

die() { echo "bench: $*" >&2; exit 1; }

[[ -x $hoist ]] || die "$hoist not found: run make build first"
command -v jq >/dev/null || die "jq is needed to read the JSON reports"
if [[ ! -x /usr/bin/time ]]; then
	# GNU time reports the peak RSS of a child; bash's time keyword does not.
	echo "bench: /usr/bin/time missing, installing GNU time" >&2
	{ apt-get install -y time >/dev/null 2>&1 || { apt-get update >/dev/null 2>&1 && apt-get install -y time >/dev/null 2>&1; }; } ||
		die "cannot install GNU time (apt-get install -y time)"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/hoist-bench.XXXXXX")
cleanup() {
	if [[ ${BENCH_KEEP:-} == 1 ]]; then
		echo "bench: kept $work" >&2
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT

# measure FILE CMD...: runs CMD with GNU time; FILE gets "wall_seconds peak_kb".
measure() {
	local out=$1
	shift
	/usr/bin/time -f '%e %M' -o "$out" "$@"
}

echo "building generator" >&2
(cd "$root" && go build -tags minicore_disabled -o "$work/gen" ./bench/pipeline/gen)

declare -A gen_kb
for n in "${sizes[@]}"; do
	echo "generating $n rows" >&2
	measure "$work/gen-$n.time" "$work/gen" -rows "$n" -out "$work/customers-$n.parquet"
	gen_kb[$n]=$(cut -d' ' -f2 "$work/gen-$n.time")
done

# write_spec CASE N DIR: a one-sync spec reading customers-N.parquet.
write_spec() {
	local case=$1 n=$2 dir=$3 dest
	case $case in
	sqlite-replace)
		dest="      connection: db
      object: customers
      mode: replace
      create_table: true" ;;
	sqlite-upsert)
		# a fresh state and a fresh (empty) table: every row is an add, so
		# this measures extract + sort/diff + changeset + load + snapshot commit
		dest="      connection: db
      object: customers
      mode: upsert
      primary_key: [id]
      create_table: true" ;;
	parquet-replace)
		dest="      connection: out
      object: customers
      mode: replace" ;;
	*) die "unknown case $case" ;;
	esac
	mkdir -p "$dir/out"
	# batch_size and concurrency stay at their defaults: what a user gets.
	cat >"$dir/spec.yaml" <<EOF
version: 1
state: file://$dir/state
connections:
  export:
    type: files
    path: $work/customers-$n.parquet
    format: parquet
  db:
    type: sqlite
    path: $dir/out/bench.db
  out:
    type: files
    path: $dir/out
    format: parquet
syncs:
  - name: customers
    source:
      connection: export
    destination:
$dest
EOF
}

declare -A rss_kb
results=()
for c in "${cases[@]}"; do
	for n in "${sizes[@]}"; do
		dir="$work/$c-$n"
		write_spec "$c" "$n" "$dir"
		echo "running $c at $n rows" >&2
		# the spec, once per case, so a figure can be reproduced
		[[ $n == "${sizes[0]}" ]] && sed 's/^/    /' "$dir/spec.yaml" >&2
		t0=$EPOCHREALTIME
		if ! measure "$dir/time" "$hoist" run "$dir/spec.yaml" --output json --log-format json \
			>"$dir/report.json" 2>"$dir/log"; then
			cat "$dir/report.json" "$dir/log" >&2
			die "$c at $n rows failed"
		fi
		t1=$EPOCHREALTIME
		status=$(jq -r .status "$dir/report.json")
		delivered=$(jq -r .delivered "$dir/report.json")
		[[ $status == ok && $delivered == "$n" ]] ||
			die "$c at $n rows: status $status, delivered $delivered (want ok, $n)"
		# wall from EPOCHREALTIME: GNU time's %e has only 10 ms resolution
		wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
		kb=$(cut -d' ' -f2 "$dir/time")
		rss_kb[$c/$n]=$kb
		results+=("$(awk -v c="$c" -v n="$n" -v w="$wall" -v kb="$kb" 'BEGIN {
			printf "%-16s %10d %9.2f %12.0f %12.1f", c, n, w, (w > 0 ? n / w : 0), kb / 1024 }')")
		rm -rf "$dir/out" # keep the disk use of a 1M run from adding up
	done
done

echo
echo "hoist pipeline benchmark — $(nproc) cores, $(uname -sm), GNU time maxrss"
printf '%-16s %10s %9s %12s %12s\n' case rows wall_s rows/s peak_rss_MB
printf '%s\n' "${results[@]}"

small=${sizes[0]}
large=${sizes[-1]}
echo
printf 'peak RSS ratio %s/%s rows (target <= %s)' "$large" "$small" "$target_ratio"
if ((${#sizes[@]} > 2)); then
	# past the smallest size, memory should be flat: this is the growth left
	prev=${sizes[-2]}
	printf ', and %s/%s rows' "$large" "$prev"
fi
echo
fail=0
for c in "${cases[@]}"; do
	line=$(awk -v a="${rss_kb[$c/$large]}" -v b="${rss_kb[$c/$small]}" -v t="$target_ratio" 'BEGIN {
		r = a / b; printf "%.3f %s", r, (r <= t ? "ok" : "MISS") }')
	[[ $line == *ok ]] || fail=1
	if ((${#sizes[@]} > 2)); then
		line+=$(awk -v a="${rss_kb[$c/$large]}" -v b="${rss_kb[$c/$prev]}" 'BEGIN { printf "   %.3f", a / b }')
	fi
	printf '  %-16s %s\n' "$c" "$line"
done
echo
printf 'generator peak RSS: '
for n in "${sizes[@]}"; do printf '%s rows %.1f MB  ' "$n" "$(awk -v kb="${gen_kb[$n]}" 'BEGIN { print kb / 1024 }')"; done
echo
# A miss is reported above; BENCH_STRICT=1 also turns it into a failing exit.
if [[ $fail == 1 && ${BENCH_STRICT:-} == 1 ]]; then
	exit 1
fi
