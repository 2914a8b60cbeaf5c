#!/bin/sh
# Signs a zone offline with Knot's kzonesign, checks the signed zone with
# `dane zone check`, and publishes it (an atomic rename over the file knotd serves, then
# `knotc zone-reload`) only when the check passes. A failed stage leaves the published zone
# as it was, and no work file behind.
#
#   kzonesign-and-publish.sh ZONE SIGNER_CONF PUBLISHED [dane zone check options...]
#
# e.g. kzonesign-and-publish.sh example.com /etc/knot/kzonesign.conf \
#          /var/lib/knot/example.com.zone.signed --expire-within 3d \
#          --cert /etc/ssl/mx-next.pem --for _25._tcp.mx.example.com
#
# SIGNER_CONF (kzonesign.conf) names the unsigned zone file, the KASP database and the
# policy. Environment:
#   KNOTC_CONF=FILE   the configuration of the knotd that serves PUBLISHED
#                     (serve-signed.conf): before signing, `knotc zone-backup +kaspdb`
#                     saves the zone and its keys under BACKUP_DIR; if the gate then
#                     refuses the zone, `knotc zone-restore +kaspdb` puts the keys back
#                     (a key kzonesign created or rolled for the refused version is
#                     forgotten); after publishing, `knotc zone-reload ZONE`.
#   BACKUP_DIR=DIR    where the backups go (default: PUBLISHED's directory); one new
#                     subdirectory per run, created by knotd (its user must be able to
#                     write DIR). The backups hold private keys; they are kept (the
#                     last good state to go back to), for the operator to prune.
#   ROLLOVER=yes      kzonesign -r: allow key rollovers (the key-changing step).
#   SIGN_TIME=UNIX    kzonesign -t: sign as at this time (seconds since the epoch).
# Exit: 0 published, else the failing stage's status (dane zone check: 1 errors, 2 bad
# input, 4 warnings with --strict). Tested by crates/dane-cli/tests/cli/zone_recipes.rs
# (knot_kzonesign_pipeline).
set -eu
[ $# -ge 3 ] || { echo "usage: $0 ZONE SIGNER_CONF PUBLISHED [dane zone check options]" >&2; exit 2; }
zone=$1 signer_conf=$2 published=$3
shift 3
DANE=${DANE:-dane}
pubdir=$(dirname "$published")
knotc_conf=${KNOTC_CONF:-}

# The work directory next to the published file: the rename is atomic on the same file
# system.
work=$(mktemp -d "$pubdir/.kzonesign-and-publish.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM

backup=
if [ -n "$knotc_conf" ]; then
    backup=${BACKUP_DIR:-$pubdir}/$zone-$(date -u +%Y%m%dT%H%M%SZ)-$$
    # -b: wait until knotd has written the backup.
    knotc -b -c "$knotc_conf" zone-backup "$zone" +backupdir "$backup" +kaspdb >/dev/null
fi

set -- "$@" --origin "$zone"
sign_opts=
[ "${ROLLOVER:-}" = yes ] && sign_opts=-r
rc=0
# kzonesign's report ("Next signing: UNIX": run this again before then) goes to stderr.
if [ -n "${SIGN_TIME:-}" ]; then
    kzonesign -c "$signer_conf" -o "$work" $sign_opts -t "$SIGN_TIME" "$zone" >&2 || rc=$?
else
    kzonesign -c "$signer_conf" -o "$work" $sign_opts "$zone" >&2 || rc=$?
fi
signed=
if [ "$rc" -eq 0 ]; then
    # kzonesign writes one file, named as the zone file in SIGNER_CONF.
    for f in "$work"/*; do signed=$f; done
    # DNSSEC and DANE: the signatures, the chain, the TLSA records against what is deployed.
    "$DANE" zone check "$signed" "$@" || rc=$?
fi
if [ "$rc" -ne 0 ]; then
    if [ -n "$backup" ]; then
        # The keys as they were before this run; the published zone was never touched.
        knotc -b -c "$knotc_conf" zone-restore "$zone" +backupdir "$backup" \
            +kaspdb +nozonefile +notimers +nocatalog >/dev/null
        echo "$0: $zone not published; keys restored from $backup" >&2
    else
        echo "$0: $zone not published" >&2
    fi
    exit "$rc"
fi
chmod 0644 "$signed"
mv -f "$signed" "$published"
if [ -n "$knotc_conf" ]; then
    knotc -b -c "$knotc_conf" zone-reload "$zone" >/dev/null
fi
