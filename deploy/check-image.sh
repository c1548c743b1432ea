#!/usr/bin/env bash
# Checks what the container image holds without a docker daemon: the
# linux/amd64 binary of a goreleaser snapshot (dist/) must be static
# (CGO_ENABLED=0) and must run on a filesystem holding nothing else, as on
# distroless/static (which adds only CA certificates, tzdata and
# /etc/passwd) or scratch: `hoist version`, then a small files → files sync,
# chrooted into a folder with only /hoist, /tmp and the spec, as the
# image's nonroot user (65532). Run by make release-snapshot.
set -euo pipefail
dist=${1:-dist}
bin=$(ls "$dist"/hoist_linux_amd64*/hoist 2>/dev/null | head -1)
[[ -n $bin ]] || { echo "check-image: no linux/amd64 hoist in $dist" >&2; exit 1; }

settings=$(go version -m "$bin")
grep -q 'CGO_ENABLED=0' <<<"$settings" || { echo "check-image: $bin is not built with CGO_ENABLED=0" >&2; exit 1; }
grep -q -- '-tags=minicore_disabled' <<<"$settings" || { echo "check-image: $bin lacks -tags minicore_disabled" >&2; exit 1; }
echo "check-image: $bin is static (CGO_ENABLED=0, -tags minicore_disabled)"

if [[ $(id -u) != 0 ]] || ! command -v chroot >/dev/null; then
	echo "check-image: not root (or no chroot): the empty-filesystem run is skipped" >&2
	exit 0
fi
root=$(mktemp -d "${TMPDIR:-/tmp}/hoist-rootfs.XXXXXX")
trap 'rm -rf "$root"' EXIT
chmod 0755 "$root"
install -m 0755 "$bin" "$root/hoist"
install -d -m 1777 "$root/tmp"
install -d -o 65532 -g 65532 "$root/work"
printf 'id,email\n1,a@x.example\n2,b@x.example\n' >"$root/work/people.csv"
cat >"$root/work/hoist.yaml" <<'YAML'
version: 1
connections:
  in: {type: files, path: ., format: csv}
  out: {type: files, path: out, format: jsonl}
syncs:
  - name: people
    source: {connection: in, path: people.csv}
    destination: {connection: out, object: people, mode: upsert, primary_key: [id]}
YAML
chown -R 65532:65532 "$root/work"
chroot_bin=$(command -v chroot)
in_image() { (cd "$root" && env -i TMPDIR=/tmp "$chroot_bin" --userspec=65532:65532 "$root" "$@"); }
in_image /hoist version
out=$(cd "$root/work" && env -i TMPDIR=/tmp "$chroot_bin" --userspec=65532:65532 "$root" /hoist run /work/hoist.yaml --output json)
echo "check-image: run in the empty filesystem: $out"
grep -q '"status":"ok"' <<<"$out" && grep -q '"delivered":2' <<<"$out" || { echo "check-image: the sync did not deliver its 2 rows" >&2; exit 1; }
[[ $(wc -l <"$root/work/out/people.jsonl") == 2 ]] || { echo "check-image: out/people.jsonl does not hold 2 rows" >&2; exit 1; }
echo "check-image: ok"
