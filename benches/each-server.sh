#!/bin/bash
# Times dane scan over the bulk domains and dane verify roll.test, each with and without
# asking every authoritative server (issue 23).
D=${DANE_BIN:-target/debug/dane}
for mode in --no-each-server --each-server --no-each-server --each-server; do
  echo "== scan $mode"
  /usr/bin/time -f "wall %e s user %U s sys %S s maxrss %M KB" $D scan -4 --allow-private --trust-anchor "$DANE_INTEROP_ANCHOR" $mode "$DANE_INTEROP_BULK" > /tmp/nsbench-scan$mode.out 2>/tmp/nsbench-scan$mode.err
  tail -1 /tmp/nsbench-scan$mode.err; grep -c '"verdict":"verified"' /tmp/nsbench-scan$mode.out
done
for mode in --no-each-server --each-server --no-each-server --each-server; do
  echo "== verify roll.test $mode"
  /usr/bin/time -f "wall %e s user %U s sys %S s" $D verify roll.test -4 --allow-private --trust-anchor "$DANE_INTEROP_ANCHOR" $mode > /dev/null 2>/tmp/nsbench-v.err
  tail -1 /tmp/nsbench-v.err
done
