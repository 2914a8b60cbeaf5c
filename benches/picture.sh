#!/bin/bash
# CPU of dane verify per output format (issue 26): live against the interop environment
# (DNS, STARTTLS and handshakes to every address) and replayed from evidence (validation
# only), so the cost of drawing the picture is seen against both; then Graphviz alone on
# the same pictures and on an empty graph (its start-up), what svg cost when Graphviz
# laid it out.
#
# Each run's CPU is perf stat's task-clock (user+sys, children included: svg and html are
# drawn in-process since the in-process layout, so there are none; `graphviz ... alone`
# is what a `dot -Tsvg` of the same DOT costs, the way svg was made before); the formats are
# interleaved round by round, so a load spike from other work on the machine hits them
# alike, and the summary gives each format's mean and median over the R rounds against
# json's. Run as root inside the interop environment, with the release build (what users
# run; DANE_BIN names the binary, target/debug/dane by default):
#   cargo build --release -p dane-cli --bin dane
#   DANE_BIN=target/release/dane target/debug/examples/interop-shell bash benches/picture.sh
D=${DANE_BIN:-target/debug/dane}
R=${R:-30}
out=$(mktemp)
cpu() { # LABEL COMMAND...: one line "LABEL MS" into $out
  local label=$1; shift
  perf stat -x, -e task-clock -o "$out.one" -- "$@" > /dev/null 2>&1
  echo "$label $(grep task-clock "$out.one" | cut -d, -f1)" >> "$out"
}
echo "load at start: $(cut -d' ' -f1-3 /proc/loadavg)"
dir=$(mktemp -d)
echo 'digraph dane {}' > "$dir/empty.dot"
for scenario in twomx.test cname-orig.test; do
  $D verify --evidence fixtures/interop/evidence/$scenario.json --format dot > "$dir/$scenario.dot"
done
for i in $(seq "$R"); do
  for domain in twomx.test cname-orig.test; do
    for format in json dot svg html; do
      cpu "live $domain $format" $D verify $domain -4 --allow-private \
        --trust-anchor "$DANE_INTEROP_ANCHOR" --format $format
      cpu "replay $domain $format" $D verify \
        --evidence fixtures/interop/evidence/$domain.json --format $format
    done
  done
  for picture in empty twomx.test cname-orig.test; do
    cpu "graphviz $picture alone" dot -Tsvg "$dir/$picture.dot"
  done
done
echo "load at end: $(cut -d' ' -f1-3 /proc/loadavg)"
sort -k1,1 -k2,2 -k3,3 -s "$out" | awk '
  { key = $1 " " $2 " " $3; v[key, ++n[key]] = $4; sum[key] += $4 }
  END {
    for (key in n) {
      m = n[key]
      for (i = 1; i <= m; i++) s[i] = v[key, i]
      for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (s[j] < s[i]) { t = s[i]; s[i] = s[j]; s[j] = t }
      med = (m % 2) ? s[(m + 1) / 2] : (s[m / 2] + s[m / 2 + 1]) / 2
      mean[key] = sum[key] / m; median[key] = med; runs[key] = m
    }
    for (key in n) {
      split(key, k, " ")
      base = k[1] " " k[2] " json"
      rel = (k[1] != "graphviz" && (base in mean)) ? sprintf(" (%+.0f%% mean, %+.0f%% median)", 100 * (mean[key] / mean[base] - 1), 100 * (median[key] / median[base] - 1)) : ""
      printf "%s: mean %.1f ms, median %.1f ms%s, %d runs\n", key, mean[key], median[key], rel, runs[key]
    }
  }' | sort
rm -r "$dir" "$out" "$out.one"
