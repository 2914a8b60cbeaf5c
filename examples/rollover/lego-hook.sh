#!/usr/bin/env bash
# lego: `lego renew --reuse-key` renews with the key it has
# (.lego/certificates/DOMAIN.key), so the `3 1 1` keeps matching. For a rollover the key
# dane staged goes into that file, and a forced renewal with --reuse-key makes the CSR
# from it, only once `dane rollover status` says it is safe. A failed or interrupted
# renewal puts the previous key back; the MTA reads its own copies (DANE_MTA_KEY,
# DANE_MTA_CERT), installed by the renew hook after the renewal succeeded.
#
# One-time setup:
#   lego --path /etc/lego --email admin@example.com --domains mx1.example.com \
#       --domains mx2.example.com --key-type ec256 --dns ... run
#   install -d -m 700 /etc/dane
#   install -m 600 /etc/lego/certificates/mx1.example.com.key /etc/dane/NAME.key
#   lego-hook.sh stage
#   lego-hook.sh deploy            # the first copy of the pair for the MTA
# cron (daily):
#   lego --path /etc/lego --domains ... --dns ... renew --reuse-key \
#       --renew-hook "/usr/local/bin/lego-hook.sh deploy"
#   lego-hook.sh roll
#
# Usage: lego-hook.sh stage | roll | deploy
# Environment: common.sh; LEGO_PATH (default /etc/lego), LEGO_DOMAIN (lego's first domain,
# default DANE_NAME), LEGO_ARGS (the account and challenge flags: --email ... --dns ...).

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=common.sh
. "$here/common.sh"

LEGO_PATH=${LEGO_PATH:-/etc/lego}
LEGO_DOMAIN=${LEGO_DOMAIN:-$DANE_NAME}
read -r -a lego_args <<<"${LEGO_ARGS:-}"
domain_key="$LEGO_PATH/certificates/$LEGO_DOMAIN.key"
# lego's .crt holds the certificate and its issuers (unless --no-bundle).
domain_crt="$LEGO_PATH/certificates/$LEGO_DOMAIN.crt"

case "${1:-}" in
stage)
    need_files "$CURRENT_KEY"
    dane_stage "$CURRENT_KEY" "$NEXT_KEY"
    ;;
roll)
    domains=()
    for host in "${_hosts[@]}"; do
        domains+=(--domains "$host")
    done
    # --days 100000: renew now, whatever the certificate's age.
    roll_with_next_key lego "$domain_key" "$domain_key" "$domain_crt" \
        lego --path "$LEGO_PATH" "${lego_args[@]}" "${domains[@]}" renew --reuse-key \
        --days 100000 --renew-hook "$0 deploy"
    ;;
deploy)
    # lego's --renew-hook (LEGO_CERT_KEY_PATH and LEGO_CERT_PATH name the new files):
    # install the pair for the MTA, reload; promote when the key is the staged one.
    dane_deploy "${LEGO_CERT_KEY_PATH:-$domain_key}" "${LEGO_CERT_PATH:-$domain_crt}"
    ;;
*)
    echo "usage: $0 stage | roll | deploy" >&2
    exit 2
    ;;
esac
