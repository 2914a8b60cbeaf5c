#!/bin/bash
# What asking every authoritative server adds per domain, with a dane that asks each
# RRset's zone servers in a pass of its own (DANE_OLD) and one that finds each zone's
# servers once per check and asks each address the zone's SOA once (DANE_NEW), issue 23.
# Times dane scan over the bulk domains with --no-each-server and --each-server, three
# rounds alternating the binaries, then counts the send system calls of one run of each
# (strace; DNS questions and probe writes alike: the probes are the same in both runs, so
# the difference between the binaries is the server questions), then dane verify roll.test.
OLD=${DANE_OLD:?the dane binary before the per-zone merge}
NEW=${DANE_NEW:-target/debug/dane}
scan() { "$1" scan -4 --allow-private --trust-anchor "$DANE_INTEROP_ANCHOR" "$2" "$DANE_INTEROP_BULK"; }
for round in 1 2 3; do
  for bin in "$OLD" "$NEW"; do
    for mode in --no-each-server --each-server; do
      echo "== round $round scan $mode $bin"
      /usr/bin/time -f "wall %e s user %U s sys %S s maxrss %M KB" bash -c "$(declare -f scan); scan '$bin' $mode" > /tmp/nsbench-merged.out 2>/tmp/nsbench-merged.err
      tail -1 /tmp/nsbench-merged.err; grep -c '"verdict":"verified"' /tmp/nsbench-merged.out
    done
  done
done
for bin in "$OLD" "$NEW"; do
  for mode in --no-each-server --each-server; do
    echo "== sends: scan $mode $bin"
    strace -f -qq -c -e trace=sendto,sendmsg,sendmmsg,write,writev -o /tmp/nsbench-merged.strace bash -c "$(declare -f scan); scan '$bin' $mode" > /dev/null 2>&1
    awk '$NF ~ /^(sendto|sendmsg|sendmmsg)$/ {n += $4} END {print "send calls", n}' /tmp/nsbench-merged.strace
  done
done
for bin in "$OLD" "$NEW" "$OLD" "$NEW"; do
  echo "== verify roll.test $bin"
  /usr/bin/time -f "wall %e s user %U s sys %S s" "$bin" verify roll.test --allow-private --trust-anchor "$DANE_INTEROP_ANCHOR" > /dev/null 2>/tmp/nsbench-merged-v.err
  tail -1 /tmp/nsbench-merged-v.err
done
for bin in "$OLD" "$NEW"; do
  echo "== sends: verify roll.test $bin"
  strace -f -qq -c -e trace=sendto,sendmsg,sendmmsg -o /tmp/nsbench-merged.strace "$bin" verify roll.test --allow-private --trust-anchor "$DANE_INTEROP_ANCHOR" > /dev/null 2>&1
  awk '$NF ~ /^(sendto|sendmsg|sendmmsg)$/ {n += $4} END {print "send calls", n}' /tmp/nsbench-merged.strace
done
