#!/usr/bin/env bash
# Merges the part files of a sharded `dane scan` (Slurm array tasks, Kubernetes Indexed Job
# pods) into one NDJSON file in input order, after checking that every target line of the
# input has exactly one result (docs/cluster.md).
#
#   merge.sh TARGETS MERGED PART...
#
# A target line is a line of TARGETS that is not blank once a `#` comment is removed, as
# `dane scan` reads it; each result carries its input line number (`line`). The check fails
# (exit 1, nothing written) when a line has no result (a shard not finished, or a bad line
# that dane skipped and named in its log), when a line has more than one (a part given
# twice, parts of two runs mixed), when a result names a line that is not a target line of
# TARGETS (another input), or when a part has a line that is not a result (a write cut by a
# kill: run that shard again, its --resume redoes it). Otherwise MERGED is written through
# a temporary file in its directory and renamed into place, and a summary goes to stderr.
# Exit status: 0 merged, 1 check failed, 2 usage or I/O error. Needs jq.
set -euo pipefail
export LC_ALL=C

usage() {
  echo "merge.sh: $*" >&2
  echo "usage: merge.sh TARGETS MERGED PART..." >&2
  exit 2
}

[ $# -ge 3 ] || usage "expected a target list, the merged file and at least one part"
targets=$1
merged=$2
shift 2
[ -r "$targets" ] || usage "$targets: cannot read"
command -v jq > /dev/null || usage "needs jq"
for part in "$@"; do
  [ -r "$part" ] || usage "$part: cannot read"
done

work=$(mktemp -d)
tmp=$(dirname -- "$merged")/.$(basename -- "$merged").merge.$$
trap 'rm -rf "$work" "$tmp"' EXIT

# The target lines: comments cut at `#` and CR line ends removed, as dane reads them.
awk '{ sub(/\r$/, ""); sub(/#.*/, "") } /[^ \t\v\f]/ { print NR }' "$targets" > "$work/expected"

# Every result as "LINE<TAB>JSON" (JSON escapes tabs, so the first tab ends the number);
# a line that is not a result with a positive integer `line` is "BAD".
bad=0
for part in "$@"; do
  if [ -s "$part" ] && [ -n "$(tail -c 1 "$part")" ]; then
    echo "merge.sh: $part: the last line has no newline (a write cut by a kill): run that shard again" >&2
    bad=1
  fi
  jq -R -r 'try (fromjson | .line | if type == "number" and . >= 1 and . == floor
              then tostring else error("no line number") end) catch "BAD"' "$part" > "$work/lines"
  if ! awk -v part="$part" '$0 == "BAD" {
        printf "merge.sh: %s:%d: not a dane scan result\n", part, NR > "/dev/stderr"; bad = 1 }
      END { exit bad }' "$work/lines"; then
    bad=1
  fi
  paste "$work/lines" "$part" >> "$work/results"
done
: >> "$work/results"

cut -f 1 "$work/results" | grep -v '^BAD$' | sort -n > "$work/got" || true
uniq -d "$work/got" > "$work/twice"
sort -u -n "$work/got" > "$work/once"
comm -23 <(sort "$work/expected") <(sort "$work/once") | sort -n > "$work/missing"
comm -13 <(sort "$work/expected") <(sort "$work/once") | sort -n > "$work/extra"

report() { # FILE WHAT: names the first lines of FILE
  local n
  n=$(wc -l < "$1")
  if [ "$n" -gt 0 ]; then
    echo "merge.sh: $n target line(s) $2: $(head -n 10 "$1" | paste -s -d ' ')$([ "$n" -gt 10 ] && echo ' ...')" >&2
    bad=1
  fi
}
report "$work/missing" "of $targets have no result"
report "$work/twice" "have more than one result"
report "$work/extra" "have a result but are not target lines of $targets"
if [ "$bad" -ne 0 ]; then
  echo "merge.sh: not merged: $merged left as it was" >&2
  exit 1
fi

sort -s -n -k 1,1 "$work/results" | cut -f 2- > "$tmp"
mv -f -- "$tmp" "$merged"
echo "merge.sh: $(wc -l < "$work/expected") target line(s), each with exactly one result, from $# part(s) into $merged" >&2
