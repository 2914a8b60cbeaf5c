#!/usr/bin/env bash
# certbot: renewals keep the key (--reuse-key), so the published `3 1 1` keeps matching;
# a key rollover swaps in the key dane staged, and only once `dane rollover status` says
# every authoritative server has served its record for longer than the TTL.
#
# One-time setup (lineage NAME, e.g. mx.example.com):
#   certbot certonly --cert-name NAME -d mx1.example.com -d mx2.example.com \
#       --key-type ecdsa --reuse-key --deploy-hook "/usr/local/bin/certbot-hook.sh deploy"
#   install -d -m 700 /etc/dane
#   install -m 600 /etc/letsencrypt/live/NAME/privkey.pem /etc/dane/NAME.key
#   certbot-hook.sh stage          # creates /etc/dane/NAME.next.key, publishes current + next
#   certbot-hook.sh deploy         # the first copy of the pair for the MTA (DANE_MTA_KEY)
# and point the MTA at DANE_MTA_KEY/DANE_MTA_CERT, never at live/ (see below).
# cron (daily):
#   certbot renew --reuse-key -q   # routine renewals: the same key
#   certbot-hook.sh roll           # switches only when it is safe; a no-op otherwise
#
# certbot takes no private key from the command line (a CSR would take the renewal out of
# its hands), so `roll` puts the staged key into the file the lineage's live/privkey.pem
# points to and forces a renewal with --reuse-key, which makes the CSR from that file.
# Until the renewal ends, live/ pairs the old certificate with the next key: that is why
# the MTA reads its own copies, which the deploy hook installs only after the renewal
# succeeded and the pair is checked. If the renewal fails, or the hook is interrupted
# (SIGTERM, SIGINT, SIGHUP; after a SIGKILL, at the next run), the previous key goes back.
#
# Usage: certbot-hook.sh stage | roll | deploy
# Environment: see common.sh (DANE_DOMAIN, DANE_HOSTS, DANE_MTA_KEY, ...); CERTBOT_LINEAGE
# (NAME, default DANE_NAME); CERTBOT_DIR (certbot's --config-dir, default /etc/letsencrypt);
# certbot sets RENEWED_LINEAGE for the deploy hook.

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=common.sh
. "$here/common.sh"

LINEAGE=${CERTBOT_LINEAGE:-$DANE_NAME}
CERTBOT_DIR=${CERTBOT_DIR:-/etc/letsencrypt}
LIVE=$CERTBOT_DIR/live/$LINEAGE

case "${1:-}" in
stage)
    need_files "$CURRENT_KEY"
    dane_stage "$CURRENT_KEY" "$NEXT_KEY"
    ;;
roll)
    [[ -L "$LIVE/privkey.pem" ]] || fail 2 "$LIVE/privkey.pem: not certbot's live link"
    # The file certbot reads its key from (live/ links into archive/).
    keyfile=$(readlink -f "$LIVE/privkey.pem")
    roll_with_next_key certbot "$keyfile" "$LIVE/privkey.pem" "$LIVE/fullchain.pem" \
        certbot renew --config-dir "$CERTBOT_DIR" --cert-name "$LINEAGE" --reuse-key \
        --force-renewal -q
    ;;
deploy)
    # certbot's --deploy-hook, after every renewal: install the pair for the MTA, reload;
    # when the key changed, promote (after checking every MX address presents the new key).
    lineage=${RENEWED_LINEAGE:-$LIVE}
    dane_deploy "$lineage/privkey.pem" "$lineage/fullchain.pem"
    ;;
*)
    echo "usage: $0 stage | roll | deploy" >&2
    exit 2
    ;;
esac
