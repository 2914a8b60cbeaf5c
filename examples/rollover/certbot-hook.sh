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
# cron (daily):
#   certbot renew --reuse-key -q   # routine renewals: the same key
#   certbot-hook.sh roll           # switches only when it is safe; a no-op otherwise
#
# certbot takes no private key from the command line (a CSR would take the renewal out of
# its hands), so `roll` puts the staged key into the lineage's current private key file
# and forces a renewal with --reuse-key, which makes the CSR from that file. If the renewal
# fails, the previous key is put back.
#
# Usage: certbot-hook.sh stage | roll | deploy
# Environment: see common.sh (DANE_DOMAIN, DANE_HOSTS, ...); CERTBOT_LINEAGE (NAME,
# default DANE_NAME); certbot sets RENEWED_LINEAGE for the deploy hook.

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=common.sh
. "$here/common.sh"

LINEAGE=${CERTBOT_LINEAGE:-$DANE_NAME}
LIVE=/etc/letsencrypt/live/$LINEAGE

case "${1:-}" in
stage)
    dane_stage "$CURRENT_KEY"
    ;;
roll)
    # Not safe yet (waiting, blocked, indeterminate): keep the current key.
    if ! dane_ready; then
        exit 0
    fi
    # The file certbot reads its key from (live/ links into archive/).
    keyfile=$(readlink -f "$LIVE/privkey.pem")
    renew_with_next_key certbot "$keyfile" \
        certbot renew --cert-name "$LINEAGE" --reuse-key --force-renewal -q
    ;;
deploy)
    # certbot's --deploy-hook, after every renewal: reload the MTA; when the key changed,
    # promote (after checking every MX address presents the new key).
    dane_deploy "$(readlink -f "${RENEWED_LINEAGE:-$LIVE}/privkey.pem")"
    ;;
*)
    echo "usage: $0 stage | roll | deploy" >&2
    exit 2
    ;;
esac
