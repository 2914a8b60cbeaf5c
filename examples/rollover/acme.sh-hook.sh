#!/usr/bin/env bash
# acme.sh: by default acme.sh renews with the domain key it has
# (~/.acme.sh/DOMAIN_ecc/DOMAIN.key), so the `3 1 1` keeps matching. Never issue with
# --always-force-new-domain-key for a DANE host: that makes a new key at every renewal,
# one no TLSA record names yet. The rollover uses a pre-generated key instead: dane stages
# it, and `roll` puts it in acme.sh's domain key file and forces a renewal only once
# `dane rollover status` says it is safe. A failed or interrupted renewal puts the previous
# key back.
#
# One-time setup (no --key-file/--fullchain-file: the reload command installs the MTA's
# copies, DANE_MTA_KEY and DANE_MTA_CERT, after checking the pair):
#   acme.sh --issue -d mx1.example.com -d mx2.example.com --keylength ec-256 ...
#   acme.sh --install-cert -d mx1.example.com --ecc \
#       --reloadcmd "/usr/local/bin/acme.sh-hook.sh deploy"
#   install -d -m 700 /etc/dane
#   install -m 600 ~/.acme.sh/mx1.example.com_ecc/mx1.example.com.key /etc/dane/NAME.key
#   acme.sh-hook.sh stage
#   acme.sh-hook.sh deploy         # the first copy of the pair for the MTA
# cron (daily), after acme.sh's own cron job:
#   acme.sh-hook.sh roll
#
# If the domain was issued with --always-force-new-domain-key, turn it off first:
# `acme.sh --renew -d DOMAIN --ecc --force` without it, or remove Le_ForceNewDomainKey
# from ~/.acme.sh/DOMAIN_ecc/DOMAIN.conf.
#
# Usage: acme.sh-hook.sh stage | roll | deploy
# Environment: common.sh; ACME_DOMAIN (acme.sh's main domain, default DANE_NAME),
# ACME_HOME (acme.sh's --home, default ~/.acme.sh), ACME_ECC (1: an ECC certificate, the
# default).

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=common.sh
. "$here/common.sh"

ACME_DOMAIN=${ACME_DOMAIN:-$DANE_NAME}
ACME_HOME=${ACME_HOME:-$HOME/.acme.sh}
if [[ "${ACME_ECC:-1}" == 1 ]]; then
    dir="$ACME_HOME/${ACME_DOMAIN}_ecc"
    ecc=(--ecc)
else
    dir="$ACME_HOME/$ACME_DOMAIN"
    ecc=()
fi
domain_key="$dir/$ACME_DOMAIN.key"
fullchain="$dir/fullchain.cer"

case "${1:-}" in
stage)
    need_files "$CURRENT_KEY"
    dane_stage "$CURRENT_KEY" "$NEXT_KEY"
    ;;
roll)
    if grep -q "^Le_ForceNewDomainKey='1'" "$dir/$ACME_DOMAIN.conf" 2>/dev/null; then
        fail 2 "$ACME_DOMAIN has --always-force-new-domain-key: acme.sh would make a key no TLSA record names; turn it off"
    fi
    roll_with_next_key acme.sh "$domain_key" "$domain_key" "$fullchain" \
        acme.sh --home "$ACME_HOME" --renew -d "$ACME_DOMAIN" "${ecc[@]}" --force
    ;;
deploy)
    # acme.sh's --reloadcmd (CERT_KEY_PATH and CERT_FULLCHAIN_PATH name its files):
    # install the pair for the MTA, reload; promote when the new key is the staged one.
    dane_deploy "${CERT_KEY_PATH:-$domain_key}" "${CERT_FULLCHAIN_PATH:-$fullchain}"
    ;;
*)
    echo "usage: $0 stage | roll | deploy" >&2
    exit 2
    ;;
esac
