#!/bin/sh
# The gate behind a hidden primary named that signs with dnssec-policy (named.conf): takes
# the signed zone named made (its raw file and journal, as named-compilezone reads them),
# checks it with named-checkzone and then with `dane zone check`, and publishes it (an
# atomic rename over the zone file of the server the secondaries follow, then RELOAD) only
# when both pass. A failed stage leaves the published zone as it was, no work file behind,
# and RELOAD not run, so no secondary is notified of the version.
#
#   gate-and-publish.sh ZONE SIGNED PUBLISHED [dane zone check options...]
#
# e.g. gate-and-publish.sh example.com /var/cache/bind/db.example.com.signed \
#          /srv/dns/db.example.com.signed --expire-within 3d \
#          --cert /etc/ssl/mx-next.pem --for _25._tcp.mx.example.com
#
# Environment:
#   AXFR=ADDR:PORT    also check the zone as named serves it, transferred by
#                     `dane zone check --axfr` (what a secondary would get), with
#   TSIG_KEY=FILE     the key allowed to transfer (gate-key in named.conf);
#   RELOAD=COMMAND    run by sh after publishing, e.g. 'nsd-control reload example.com' or
#                     'rndc -s 192.0.2.1 reload example.com': the public primary loads the
#                     new file and notifies its secondaries.
# Exit: 0 published, else the failing stage's status (named-compilezone/named-checkzone 1;
# dane zone check: 1 errors, 2 bad input, 3 transfer failed, 4 warnings with --strict).
# Tested by crates/dane-cli/tests/cli/zone_recipes.rs (bind_dnssec_policy_gate).
set -eu
[ $# -ge 3 ] || { echo "usage: $0 ZONE SIGNED PUBLISHED [dane zone check options]" >&2; exit 2; }
zone=$1 signed=$2 published=$3
shift 3
DANE=${DANE:-dane}
# The work file next to the published one: the rename is atomic on the same file system.
work=$(mktemp "$(dirname "$published")/.gate-and-publish.XXXXXX")
trap 'rm -f "$work"' EXIT INT TERM
# named's signed zone as text: the raw file with its journal applied (-j), the version
# named serves.
named-compilezone -q -j -f raw -F text -o "$work" "$zone" "$signed"
# BIND's own load checks (what a named secondary would refuse), on that text.
named-checkzone -q -k fail -n fail "$zone" "$work"
# DNSSEC and DANE: the signatures, the chain, the TLSA records against what is deployed.
"$DANE" zone check "$work" --origin "$zone" "$@"
if [ -n "${AXFR:-}" ]; then
    "$DANE" zone check --axfr "$AXFR" --tsig-key "${TSIG_KEY:?TSIG_KEY is needed with AXFR}" \
        --origin "$zone" "$@"
fi
chmod 0644 "$work"
mv -f "$work" "$published"
trap - EXIT INT TERM
if [ -n "${RELOAD:-}" ]; then sh -c "$RELOAD"; fi
