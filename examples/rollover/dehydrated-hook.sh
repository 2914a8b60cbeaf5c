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
#   dehydrated-hook.sh deploy_cert DOMAIN certs/DOMAIN/privkey.pem '' certs/DOMAIN/fullchain.pem
#                              # the first copy of the pair for the MTA (DANE_MTA_KEY)
# cron (daily), instead of `dehydrated -c`:
#   dehydrated-hook.sh cron
#
# dehydrated moves its own key files, so no `dane rollover promote` here. The MTA reads its
# own copies (DANE_MTA_KEY, DANE_MTA_CERT): deploy_cert installs them after checking that
# the key is the certificate's and is either the key the MTA has or the roll key `cron`
# found ready (a switch made outside `cron`, before the roll key's record was safe, is
# refused and the MTA keeps its files). After a switch it publishes the new current + new
# roll key and retires the old key's record (--retire-key), once `dane verify` says every
# MX address presents the new key.
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
# The roll key's public key, written by `cron` when the switch is safe: the key deploy_cert
# may install in the MTA besides the one it has.
ready_pub="$DANE_KEY_DIR/.$DANE_NAME.dehydrated-ready.pub"

case "${1:-}" in
stage)
    # Stage dehydrated's roll key (dane creates it, 0600, when dehydrated has not yet).
    need_files "$CERTDIR/privkey.pem"
    dane_stage "$CERTDIR/privkey.pem" "$roll_key"
    ;;
cron)
    need_mta
    need_commands "$DEHYDRATED"
    need_files "$roll_key"
    st=0
    dane rollover status "$DANE_DOMAIN" --next-key "$roll_key" --margin "$DANE_MARGIN" \
        "${DANE_EXTRA[@]}" >&2 || st=$?
    if [[ $st -eq 0 ]]; then
        tmp=$(tmp_beside "$ready_pub")
        pubkey_of_key "$roll_key" >"$tmp"
        [[ -s "$tmp" ]] || fail 2 "$roll_key: not a private key openssl reads"
        mv -f "$tmp" "$ready_pub"
        run_interruptible "$DEHYDRATED" -c
    else
        # Not safe to switch (or dane failed): renew when due, keeping the key, then say
        # why there was no switch (exit 0 only while waiting).
        rm -f "$ready_pub"
        PRIVATE_KEY_RENEW=no run_interruptible "$DEHYDRATED" -c
        if [[ $st -ne 5 ]]; then
            fail "$st" "no key switch: dane rollover status exit $st"
        fi
    fi
    ;;
deploy_cert)
    # deploy_cert DOMAIN KEYFILE CERTFILE FULLCHAINFILE CHAINFILE TIMESTAMP
    keyfile=${3:-} fullchain=${5:-}
    need_mta
    need_files "$keyfile" "$fullchain"
    new_pub=$(pubkey_of_key "$keyfile")
    old_pub=
    if [[ -e "$DANE_MTA_KEY" ]]; then
        old_pub=$(pubkey_of_key "$DANE_MTA_KEY")
        if [[ "$new_pub" != "$old_pub" && "$new_pub" != "$(cat "$ready_pub" 2>/dev/null)" ]]; then
            fail 1 "the renewed key $keyfile is neither the MTA's key nor the roll key found ready: its TLSA record may not be safe yet; the MTA keeps its files"
        fi
    fi
    install_mta_pair "$keyfile" "$fullchain"
    "${_reload[@]}"
    if [[ -n "$old_pub" && "$new_pub" != "$old_pub" ]]; then
        rm -f "$ready_pub"
        # The key before this one, kept by dehydrated as privkey-TIMESTAMP.pem.
        old=$(find "$CERTDIR" -name 'privkey-*.pem' -printf '%T@ %p\n' | sort -rn | sed -n 2p | cut -d' ' -f2-)
        [[ -n "$old" && "$(pubkey_of_key "$old")" == "$old_pub" ]] ||
            fail 1 "switched keys, but dehydrated's previous key file is not the MTA's old key: run the stage step by hand"
        # Once every address presents the new key: publish new current + new roll key, and
        # retire the old key's record.
        dane verify "$DANE_DOMAIN" --key "$keyfile" "${DANE_EXTRA[@]}" >/dev/null ||
            fail 1 "$DANE_DOMAIN does not verify with the new key yet; run the stage step by hand"
        dane_stage "$keyfile" "$roll_key" --retire-key "$old"
    fi
    ;;
*)
    # The other dehydrated hook calls (deploy_challenge, clean_challenge, ...) are not ours.
    exit 0
    ;;
esac
