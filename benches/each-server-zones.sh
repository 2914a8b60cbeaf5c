#!/bin/bash
# Times dane scan --each-server over the bulk domains and dane verify roll.test, with a
# dane that asks the servers of the TLSA zones only (DANE_OLD) and one that also asks those
# of the MX and address zones (DANE_NEW), alternating (issue 23).
OLD=${DANE_OLD:?the dane binary before the MX and address zones}
NEW=${DANE_NEW:-target/debug/dane}
for bin in "$OLD" "$NEW" "$OLD" "$NEW"; do
  echo "== scan --each-server $bin"
  /usr/bin/time -f "wall %e s user %U s sys %S s maxrss %M KB" "$bin" scan -4 --allow-private --trust-anchor "$DANE_INTEROP_ANCHOR" --each-server "$DANE_INTEROP_BULK" > /tmp/nsbench-zones-scan.out 2>/tmp/nsbench-zones-scan.err
  tail -1 /tmp/nsbench-zones-scan.err; grep -c '"verdict":"verified"' /tmp/nsbench-zones-scan.out
done
for bin in "$OLD" "$NEW" "$OLD" "$NEW"; do
  echo "== verify roll.test $bin"
  /usr/bin/time -f "wall %e s user %U s sys %S s" "$bin" verify roll.test --allow-private --trust-anchor "$DANE_INTEROP_ANCHOR" > /dev/null 2>/tmp/nsbench-zones-v.err
  tail -1 /tmp/nsbench-zones-v.err
done
