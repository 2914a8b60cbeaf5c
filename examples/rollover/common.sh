#!/usr/bin/env bash
# Settings and helpers shared by the ACME client recipes in this directory. Source it; do
# not run it. Every value can be set in the environment or in /etc/default/dane-rollover
# (sourced when present).
#
#   DANE_DOMAIN     the mail domain whose MX hosts serve this certificate (example.com)
#   DANE_HOSTS      the MX host names the certificate is for, space separated
#                   (mx1.example.com mx2.example.com); one TLSA RRset each
#   DANE_KEY_DIR    where dane keeps its copies of the keys (/etc/dane): NAME.key is the
#                   current key, NAME.next.key the staged next key, NAME.next.key.rollover.json
#                   the state `dane rollover status` keeps
#   DANE_NAME       NAME above (default: the first of DANE_HOSTS)
#   DANE_KEY_TYPE   p256 (default), rsa2048, rsa3072 (what the CA issues for)
#   DANE_MARGIN     added to the TLSA TTL before the switch is safe (default 1h)
#   DANE_UPDATE     the zone's primary for RFC 2136 updates (ADDR[:PORT]); empty: print
#                   the records and let the operator publish them
#   DANE_TSIG_KEY   the TSIG key file for DANE_UPDATE (tsig-keygen or keymgr -t output)
#   DANE_FLAGS      more flags for dane rollover status and promote (e.g. --resolver
#                   127.0.0.1; --service imaps for a certificate of another service)
#   DANE_RELOAD     the command that makes the MTA load the new key and certificate
#                   (default: systemctl reload postfix)

set -euo pipefail

if [[ -r /etc/default/dane-rollover ]]; then
    # shellcheck disable=SC1091
    . /etc/default/dane-rollover
fi

: "${DANE_DOMAIN:?set DANE_DOMAIN (the mail domain)}"
: "${DANE_HOSTS:?set DANE_HOSTS (the MX host names of this certificate)}"
DANE_KEY_DIR=${DANE_KEY_DIR:-/etc/dane}
read -r -a _hosts <<<"$DANE_HOSTS"
DANE_NAME=${DANE_NAME:-${_hosts[0]}}
DANE_KEY_TYPE=${DANE_KEY_TYPE:-p256}
DANE_MARGIN=${DANE_MARGIN:-1h}
DANE_UPDATE=${DANE_UPDATE:-}
DANE_TSIG_KEY=${DANE_TSIG_KEY:-}
DANE_RELOAD=${DANE_RELOAD:-systemctl reload postfix}
read -r -a DANE_EXTRA <<<"${DANE_FLAGS:-}"

CURRENT_KEY="$DANE_KEY_DIR/$DANE_NAME.key"
NEXT_KEY="$DANE_KEY_DIR/$DANE_NAME.next.key"

# The --update flags, when a primary is configured.
update_flags() {
    if [[ -n "$DANE_UPDATE" ]]; then
        printf '%s\n' --update "$DANE_UPDATE" --tsig-key "${DANE_TSIG_KEY:?set DANE_TSIG_KEY}"
    fi
}

# dane_stage CURRENT_KEY_FILE [more stage flags]: stage the next key (created when missing,
# never overwritten) and publish current + next at every host.
dane_stage() {
    local current=$1
    shift
    local host
    mapfile -t upd < <(update_flags)
    for host in "${_hosts[@]}"; do
        dane rollover stage --key "$current" --next-key "$NEXT_KEY" \
            --key-type "$DANE_KEY_TYPE" --name "$host" "${upd[@]}" "$@"
    done
}

# dane_ready: exit 0 only when every authoritative server of every host's TLSA zone has
# served the next key's record for longer than the TTL plus the margin.
dane_ready() {
    dane rollover status "$DANE_DOMAIN" --next-key "$NEXT_KEY" --margin "$DANE_MARGIN" \
        --check-only "${DANE_EXTRA[@]}"
}

# dane_promote: after the MTA presents the next key everywhere: next becomes current,
# a new next key is staged, and (with DANE_UPDATE) the RRset is changed at the primary:
# the new next added, the old current removed.
dane_promote() {
    mapfile -t upd < <(update_flags)
    dane rollover promote "$DANE_DOMAIN" --key "$CURRENT_KEY" --next-key "$NEXT_KEY" \
        --key-type "$DANE_KEY_TYPE" --margin "$DANE_MARGIN" "${upd[@]}" "${DANE_EXTRA[@]}"
}

# install_key SRC DST: copy a key into the ACME client's key file atomically, mode 0600.
install_key() {
    local src=$1 dst=$2 tmp
    tmp=$(mktemp "$(dirname "$dst")/.dane-key.XXXXXX")
    chmod 600 "$tmp"
    cat "$src" >"$tmp"
    mv -f "$tmp" "$dst"
}

# renew_with_next_key CLIENT KEY_FILE COMMAND...: put the staged next key into KEY_FILE, the
# file the ACME client reads its key from, and run COMMAND, the renewal that reuses it. When
# the renewal fails the current key goes back (the served certificate is still the current
# key's) and the hook exits 1. Call it as a plain command, not in `if` or `||`: there bash
# turns off `set -e` inside it, and a failed backup would go unnoticed.
renew_with_next_key() {
    local client=$1 keyfile=$2 backup
    shift 2
    backup=$(mktemp "$DANE_KEY_DIR/.$client-key.XXXXXX")
    cat "$keyfile" >"$backup"
    install_key "$NEXT_KEY" "$keyfile"
    if ! "$@"; then
        install_key "$backup" "$keyfile"
        rm -f "$backup"
        echo "$client-hook: renewal failed; the current key is back in place" >&2
        exit 1
    fi
    rm -f "$backup"
}

# dane_deploy KEY_FILE: the client's deploy hook, after a renewal: reload the MTA, and when
# the certificate's key (KEY_FILE) is the staged next key, promote.
dane_deploy() {
    $DANE_RELOAD
    if cmp -s "$1" "$NEXT_KEY"; then
        dane_promote
    fi
}
