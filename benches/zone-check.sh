#!/usr/bin/env bash
# `dane zone check` against the offline zone checkers on the same signed zones, side by
# side in one run: ldns-verify-zone (ldnsutils), dnssec-verify (bind9-utils), kzonecheck
# (knot-dnssecutils) and validns when installed. Generates a zone of RRSETS A RRsets and
# signs it with ldns-signzone per variant (ECDSA P-256 NSEC; NSEC3 with no salt and 0 extra
# iterations; RSASHA256 2048-bit NSEC), checks that every tool accepts it, then records
# wall time, CPU time (user+sys) and peak RSS (/usr/bin/time) of each.
# Uses the worktree's release build (target/release/dane, built here with -j 2), or DANE_BIN.
# Usage: benches/zone-check.sh [RRSETS] [VARIANTS...]
#   e.g. benches/zone-check.sh 200000 p256-nsec p256-nsec3 rsa2048-nsec
# Environment: ZONE_DIR=DIR keeps the signed zones there and reuses them on the next run
# (signing 200,000 RRsets with RSA takes minutes); RUNS=N times each tool N times (default
# 1); TOOLS="dane ldns bind knot validns" limits the tools (dane alone for the 1,000,000-RRset
# zone, e.g.).
# Prints a markdown table for BENCHMARKS.md, with the machine's load before and after.
set -euo pipefail
cd "$(dirname "$0")/.."
RRSETS=${1:-200000}
shift || true
VARIANTS=("${@:-p256-nsec}")
[ ${#VARIANTS[@]} -gt 0 ] || VARIANTS=(p256-nsec)
for cmd in ldns-keygen ldns-signzone /usr/bin/time; do
  command -v "$cmd" >/dev/null || { echo "zone-check.sh: $cmd missing" >&2; exit 1; }
done
if [ -z "${DANE_BIN:-}" ]; then
  cargo build --release --locked -p dane-cli -j 2 --quiet
fi
DANE=${DANE_BIN:-target/release/dane}
RUNS=${RUNS:-1}
TOOLS=${TOOLS:-dane ldns bind knot validns}
ZONE=bench.test
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
zones=${ZONE_DIR:-$work}
mkdir -p "$zones"

# The unsigned zone: apex SOA and NS, then RRSETS names with one A record each.
{
  printf '$ORIGIN %s.\n$TTL 3600\n@ SOA ns1 hostmaster 1 7200 3600 1209600 3600\n@ NS ns1\nns1 A 192.0.2.1\n' "$ZONE"
  awk -v n="$RRSETS" 'BEGIN { for (i = 0; i < n; i++) printf "h%d A 192.0.%d.%d\n", i, int(i / 250) % 250, i % 250 + 1 }'
} > "$work/unsigned"
want() { [[ " $TOOLS " == *" $1 "* ]]; }

# sign VARIANT: the signed zone's path (reused from ZONE_DIR when made before).
sign() {
  local out="$zones/$1-$RRSETS.zone"
  if [ -s "$out" ]; then echo "$out"; return; fi
  local alg bits=256 opts=()
  case $1 in
    p256-nsec) alg=ECDSAP256SHA256 ;;
    p256-nsec3) alg=ECDSAP256SHA256; opts=(-n -t 0) ;;
    rsa2048-nsec) alg=RSASHA256; bits=2048 ;;
    *) echo "zone-check.sh: unknown variant $1" >&2; exit 2 ;;
  esac
  local ksk zsk
  ksk=$(cd "$work" && ldns-keygen -a "$alg" -b "$bits" -k "$ZONE.")
  zsk=$(cd "$work" && ldns-keygen -a "$alg" -b "$bits" "$ZONE.")
  (cd "$work" && ldns-signzone -o "$ZONE." -e 20370101000000 "${opts[@]}" -f "$1.zone" unsigned "$ksk" "$zsk")
  mv "$work/$1.zone" "$out.tmp" && mv "$out.tmp" "$out"
  echo "$out"
}

declare -a NAMES CMDS
tools() { # FILE: the commands that check it
  NAMES=() CMDS=()
  want dane && { NAMES+=("dane zone check"); CMDS+=("$DANE zone check $1 --origin $ZONE"); }
  want ldns && command -v ldns-verify-zone >/dev/null && { NAMES+=("ldns-verify-zone"); CMDS+=("ldns-verify-zone $1"); }
  want bind && command -v dnssec-verify >/dev/null && { NAMES+=("dnssec-verify"); CMDS+=("dnssec-verify -q -o $ZONE $1"); }
  want knot && command -v kzonecheck >/dev/null && { NAMES+=("kzonecheck -d on"); CMDS+=("kzonecheck -d on -o $ZONE $1"); }
  # validns 0.8 cannot build ECDSA keys with OpenSSL 3: RSA variants only. Its default
  # checks (signatures on 2 threads, the NSEC chain); -p all would add policies the zone
  # fails by design ("at least two NS records per name").
  if want validns && command -v validns >/dev/null && [[ $2 == rsa* ]]; then
    NAMES+=("validns -n 2"); CMDS+=("validns -n 2 -z $ZONE. $1")
  fi
}

echo "machine: $(nproc) cores; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| zone | tool | wall (s) | CPU user+sys (s) | peak RSS (MB) | load after |"
echo "|---|---|---|---|---|---|"
for v in "${VARIANTS[@]}"; do
  file=$(sign "$v")
  size=$(awk -v b="$(stat -c %s "$file")" 'BEGIN { printf "%.1f", b / 1048576 }')
  tools "$file" "$v"
  for run in $(seq "$RUNS"); do
    for i in "${!CMDS[@]}"; do
      # Every tool must accept the zone before its speed means anything.
      if ! out=$(/usr/bin/time -f '%e %U %S %M' -o "$work/time" ${CMDS[$i]} 2>&1); then
        echo "REJECTED: ${NAMES[$i]} on $v: $(printf '%s' "$out" | tail -3)" >&2
        exit 1
      fi
      read -r wall user sys rss < "$work/time"
      cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')
      echo "| $v, $RRSETS RRsets, $size MB | ${NAMES[$i]} (run $run) | $wall | $cpu | $(( rss / 1024 )) | $(cut -d' ' -f1 /proc/loadavg) |"
    done
  done
done
echo
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
