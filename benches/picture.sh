#!/bin/bash
# Times dane verify per output format (issue 26): live against the interop environment
# (DNS, STARTTLS and handshakes to every address) and replayed from evidence (validation
# only), so the cost of drawing the picture is seen against both.
D=${DANE_BIN:-target/debug/dane}
N=${N:-10}
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
