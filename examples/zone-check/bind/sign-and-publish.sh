#!/bin/sh
# Signs a zone with BIND's dnssec-signzone, checks it with named-checkzone and then with
# `dane zone check`, and publishes it (an atomic rename over the zone file named loads)
# only when both pass. A failed stage leaves the published zone as it was.
#
#   sign-and-publish.sh ZONE UNSIGNED KEYDIR PUBLISHED [dane zone check options...]
#
# e.g. sign-and-publish.sh example.com db.example.com /etc/bind/keys \
#          /var/lib/bind/db.example.com.signed --expire-within 3d \
#          --cert /etc/ssl/mx-next.pem --for _25._tcp.mx.example.com
#
# RNDC_RELOAD=yes also runs `rndc reload ZONE` after publishing. Exit: 0 published, else
# the failing stage's status (dane zone check: 1 errors, 2 bad input, 4 warnings with
# --strict). Tested by crates/dane-cli/tests/cli/zone_xfr.rs (bind_sign_and_publish_gate).
set -eu
[ $# -ge 4 ] || { echo "usage: $0 ZONE UNSIGNED KEYDIR PUBLISHED [dane zone check options]" >&2; exit 2; }
zone=$1 unsigned=$2 keydir=$3 published=$4
shift 4
DANE=${DANE:-dane}
# The work file next to the published one: the rename is atomic on the same file system.
work=$(mktemp "$(dirname "$published")/.sign-and-publish.XXXXXX")
trap 'rm -f "$work"' EXIT INT TERM
# -S: smart signing (the keys in KEYDIR by their timing metadata); 30 days of validity.
dnssec-signzone -q -S -K "$keydir" -d "$(dirname "$published")" -o "$zone" -e +2592000 \
    -f "$work" "$unsigned" >/dev/null
# BIND's own load checks (what named would refuse), on the signed text.
named-checkzone -q -k fail -n fail "$zone" "$work"
# DNSSEC and DANE: the signatures, the chain, the TLSA records against what is deployed.
"$DANE" zone check "$work" --origin "$zone" "$@"
chmod 0644 "$work"
mv -f "$work" "$published"
trap - EXIT INT TERM
if [ "${RNDC_RELOAD:-}" = yes ]; then rndc reload "$zone"; fi
