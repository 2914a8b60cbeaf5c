#!/usr/bin/env bash
# dehydrated: with PRIVATE_KEY_ROLLOVER="yes" dehydrated keeps the next key itself,
# certs/DOMAIN/privkey.roll.pem, and a renewal with PRIVATE_KEY_RENEW="yes" switches to it
# (and makes a new roll key). dane publishes that roll key's `3 1 1` beside the current
# one, and the renewals that switch keys run only once `dane rollover status` says it is
# safe; the others keep the key.
#
# dehydrated's config (its config file is shell, so the environment can override it):
#   PRIVATE_KEY_ROLLOVER="yes"
#   PRIVATE_KEY_RENEW="${PRIVATE_KEY_RENEW:-yes}"
#   HOOK=/usr/local/bin/dehydrated-hook.sh
# One-time setup, after the first certificate:
#   dehydrated-hook.sh stage   # creates privkey.roll.pem if dehydrated has not, publishes
# cron (daily), instead of `dehydrated -c`:
#   dehydrated-hook.sh cron
#
# dehydrated moves its own key files, so no `dane rollover promote` here: after a switch
# the deploy_cert hook publishes the new current + new roll key and retires the old key's
# record (--retire-key), after checking with `dane verify` that every MX address presents
# the new key.
#
# Usage: dehydrated-hook.sh stage | cron, and dehydrated's hook calls (deploy_cert, ...).
# Environment: common.sh; DEHYDRATED_CERTDIR (default /etc/dehydrated/certs), DEHYDRATED
# (the dehydrated command, default dehydrated).

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=common.sh
. "$here/common.sh"

CERTDIR=${DEHYDRATED_CERTDIR:-/etc/dehydrated/certs}/$DANE_NAME
DEHYDRATED=${DEHYDRATED:-dehydrated}
roll_key="$CERTDIR/privkey.roll.pem"

case "${1:-}" in
stage)
    # Stage dehydrated's roll key (dane creates it, 0600, when dehydrated has not yet).
    mapfile -t upd < <(update_flags)
    for host in "${_hosts[@]}"; do
        dane rollover stage --key "$CERTDIR/privkey.pem" --next-key "$roll_key" \
            --key-type "$DANE_KEY_TYPE" --name "$host" "${upd[@]}"
    done
    ;;
cron)
    if dane rollover status "$DANE_DOMAIN" --next-key "$roll_key" --margin "$DANE_MARGIN" \
        --check-only "${DANE_EXTRA[@]}"; then
        "$DEHYDRATED" -c
    else
        # Not safe to switch: renew (when due) keeping the key.
        PRIVATE_KEY_RENEW=no "$DEHYDRATED" -c
    fi
    ;;
deploy_cert)
    # deploy_cert DOMAIN KEYFILE CERTFILE FULLCHAINFILE CHAINFILE TIMESTAMP
    keyfile=$3
    $DANE_RELOAD
    # The key before this one, kept by dehydrated as privkey-TIMESTAMP.pem.
    old=$(find "$CERTDIR" -name 'privkey-*.pem' -printf '%T@ %p\n' | sort -rn | sed -n 2p | cut -d' ' -f2-)
    if [[ -n "$old" ]] && ! cmp -s "$old" "$keyfile"; then
        # The key changed: once every address presents it, publish new current + new roll
        # key, and retire the old key's record.
        if dane verify "$DANE_DOMAIN" --key "$keyfile" "${DANE_EXTRA[@]}" >/dev/null; then
            mapfile -t upd < <(update_flags)
            for host in "${_hosts[@]}"; do
                dane rollover stage --key "$keyfile" --next-key "$roll_key" --name "$host" \
                    --retire-key "$old" "${upd[@]}"
            done
        else
            echo "dehydrated-hook: $DANE_DOMAIN does not verify with the new key yet; run the stage step by hand" >&2
        fi
    fi
    ;;
*)
    # The other dehydrated hook calls (deploy_challenge, clean_challenge, ...) are not ours.
    exit 0
    ;;
esac
