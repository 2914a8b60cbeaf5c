#!/bin/bash
# Times dane verify per output format (issue 26): live against the interop environment
# (DNS, STARTTLS and handshakes to every address) and replayed from evidence (validation
# only), so the cost of drawing the picture is seen against both; then Graphviz alone on
# the same pictures (and on an empty graph: its start-up), to say where svg/html's cost is.
# CPU is user+sys of the N runs, children (Graphviz's dot) included. Run as root inside
# the interop environment:
#   target/debug/examples/interop-shell bash benches/picture.sh
D=${DANE_BIN:-target/debug/dane}
N=${N:-10}
echo "load at start: $(cut -d' ' -f1-3 /proc/loadavg)"
for domain in twomx.test cname-orig.test; do
  for format in json dot svg html json dot svg html; do
    /usr/bin/time -f "live $domain $format: user %U s sys %S s wall %e s ($N runs)" bash -c \
      "for i in \$(seq $N); do $D verify $domain -4 --allow-private --trust-anchor \"$DANE_INTEROP_ANCHOR\" --format $format > /dev/null; done" 2>&1 | tail -1
  done
done
for scenario in twomx.test cname-orig.test; do
  for format in json dot svg html json dot svg html; do
    /usr/bin/time -f "replay $scenario $format: user %U s sys %S s wall %e s ($N runs)" bash -c \
      "for i in \$(seq $N); do $D verify --evidence fixtures/interop/evidence/$scenario.json --format $format > /dev/null; done" 2>&1 | tail -1
  done
done
tmp=$(mktemp -d)
echo 'digraph dane {}' > "$tmp/empty.dot"
for scenario in twomx.test cname-orig.test; do
  $D verify --evidence fixtures/interop/evidence/$scenario.json --format dot > "$tmp/$scenario.dot"
done
for picture in empty twomx.test cname-orig.test; do
  /usr/bin/time -f "graphviz alone $picture: user %U s sys %S s wall %e s ($N runs)" bash -c \
    "for i in \$(seq $N); do dot -Tsvg $tmp/$picture.dot > /dev/null; done" 2>&1 | tail -1
done
rm -r "$tmp"
echo "load at end: $(cut -d' ' -f1-3 /proc/loadavg)"
