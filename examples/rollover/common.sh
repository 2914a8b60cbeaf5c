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
#   DANE_TSIG_KEY   the TSIG key file for DANE_UPDATE (tsig-keygen or keymgr -t output);
#                   set both or neither
#   DANE_FLAGS      more flags for dane rollover status and promote (e.g. --resolver
#                   127.0.0.1; --service imaps for a certificate of another service)
#   DANE_MTA_KEY    the private key file the MTA reads (/etc/postfix/dane/mx.pem)
#   DANE_MTA_CERT   the certificate chain file the MTA reads. The same path as DANE_MTA_KEY:
#                   one file, the key then the chain (Postfix smtpd_tls_chain_files, Exim
#                   tls_certificate without tls_privatekey), replaced in one rename, so an
#                   MTA never reads a key with another key's certificate. Two paths: two
#                   renames, one right after the other (a process that opens the key before
#                   the first and the chain after the second reads a mismatched pair)
#   DANE_RELOAD     the command that makes the MTA load the new key and certificate
#                   (default: systemctl reload postfix)
#
# The MTA never reads the ACME client's files: the deploy step copies the renewed key and
# chain to DANE_MTA_KEY/DANE_MTA_CERT (as acme.sh's --install-cert does), after the
# renewal succeeded and after checking that the key is the certificate's and that a TLSA
# record names it (the current or the staged next key). Exit codes of the hooks: 0 done
# (or nothing to do yet), 1 a failure (nothing the MTA reads changed), 2 a configuration
# error found before anything changed, 128+N interrupted by signal N (the client's key
# file restored).

set -euo pipefail

_hook=$(basename "$0" .sh)

if [[ -r /etc/default/dane-rollover ]]; then
    # shellcheck disable=SC1091
    . /etc/default/dane-rollover
fi

# fail CODE MESSAGE: one line on stderr, then exit CODE.
fail() {
    echo "$_hook: $2" >&2
    exit "$1"
}

# The settings every action needs, checked before anything changes.
[[ -n "${DANE_DOMAIN:-}" ]] || fail 2 "set DANE_DOMAIN (the mail domain)"
[[ -n "${DANE_HOSTS:-}" ]] || fail 2 "set DANE_HOSTS (the MX host names of this certificate)"
DANE_KEY_DIR=${DANE_KEY_DIR:-/etc/dane}
read -r -a _hosts <<<"$DANE_HOSTS"
DANE_NAME=${DANE_NAME:-${_hosts[0]}}
DANE_KEY_TYPE=${DANE_KEY_TYPE:-p256}
DANE_MARGIN=${DANE_MARGIN:-1h}
DANE_UPDATE=${DANE_UPDATE:-}
DANE_TSIG_KEY=${DANE_TSIG_KEY:-}
DANE_RELOAD=${DANE_RELOAD:-systemctl reload postfix}
DANE_MTA_KEY=${DANE_MTA_KEY:-}
DANE_MTA_CERT=${DANE_MTA_CERT:-}
read -r -a DANE_EXTRA <<<"${DANE_FLAGS:-}"
read -r -a _reload <<<"$DANE_RELOAD"

CURRENT_KEY="$DANE_KEY_DIR/$DANE_NAME.key"
NEXT_KEY="$DANE_KEY_DIR/$DANE_NAME.next.key"

# The --update flags: both settings or neither (a half-configured update must not turn
# into a silent run without --update).
UPDATE_ARGS=()
if [[ -n "$DANE_UPDATE" && -z "$DANE_TSIG_KEY" ]]; then
    fail 2 "DANE_UPDATE is set ($DANE_UPDATE) but DANE_TSIG_KEY is not: set the TSIG key file"
elif [[ -z "$DANE_UPDATE" && -n "$DANE_TSIG_KEY" ]]; then
    fail 2 "DANE_TSIG_KEY is set but DANE_UPDATE is not: set the primary to send updates to"
elif [[ -n "$DANE_UPDATE" ]]; then
    [[ -r "$DANE_TSIG_KEY" ]] || fail 2 "DANE_TSIG_KEY $DANE_TSIG_KEY: not a readable file"
    UPDATE_ARGS=(--update "$DANE_UPDATE" --tsig-key "$DANE_TSIG_KEY")
fi
[[ -d "$DANE_KEY_DIR" ]] || fail 2 "DANE_KEY_DIR $DANE_KEY_DIR: not a directory"
command -v dane >/dev/null || fail 2 "dane: not found on PATH"

# need_files FILE...: each exists, is readable and not empty.
need_files() {
    local f
    for f in "$@"; do
        [[ -r "$f" && -s "$f" ]] || fail 2 "$f: missing, unreadable or empty"
    done
}

# need_commands COMMAND...: each is on PATH.
need_commands() {
    local c
    for c in "$@"; do
        command -v "$c" >/dev/null || fail 2 "$c: not found on PATH"
    done
}

# need_mta: the files the MTA reads are configured, in existing directories, and the
# reload command and openssl (the pair check) are there.
need_mta() {
    [[ -n "$DANE_MTA_KEY" ]] || fail 2 "set DANE_MTA_KEY (the key file the MTA reads)"
    [[ -n "$DANE_MTA_CERT" ]] || fail 2 "set DANE_MTA_CERT (the certificate file the MTA reads)"
    local f
    for f in "$DANE_MTA_KEY" "$DANE_MTA_CERT"; do
        [[ -d "$(dirname "$f")" ]] || fail 2 "$f: its directory does not exist"
    done
    [[ ${#_reload[@]} -gt 0 ]] || fail 2 "DANE_RELOAD is empty"
    need_commands openssl "${_reload[0]}"
}

# Temporary files removed on every exit.
_tmp_files=()
trap 'rm -f "${_tmp_files[@]}"' EXIT

# tmp_beside FILE: a new empty file, mode 0600, in FILE's directory (renamed over FILE later).
tmp_beside() {
    local t
    t=$(mktemp "$(dirname "$1")/.dane-tmp.XXXXXX")
    _tmp_files+=("$t")
    printf '%s\n' "$t"
}

# pubkey_of_key FILE / pubkey_of_cert FILE: the SubjectPublicKeyInfo (PEM) of the first
# private key / certificate in FILE; empty when there is none.
pubkey_of_key() {
    openssl pkey -in "$1" -passin pass: -pubout 2>/dev/null </dev/null || true
}
pubkey_of_cert() {
    openssl x509 -in "$1" -noout -pubkey 2>/dev/null </dev/null || true
}

# same_key A B: the private keys in A and B are the same key.
same_key() {
    local a b
    a=$(pubkey_of_key "$1")
    b=$(pubkey_of_key "$2")
    [[ -n "$a" && "$a" == "$b" ]]
}

# pair_matches KEY CERT: the certificate (the first in CERT) is for the key in KEY.
pair_matches() {
    local k c
    k=$(pubkey_of_key "$1")
    c=$(pubkey_of_cert "$2")
    [[ -n "$k" && "$k" == "$c" ]]
}

# keep_owner_mode DST TMP: TMP gets DST's owner, group and mode when DST exists (an MTA
# reading the key as a group keeps reading it), else keeps mode 0600 (a key) or gets
# DEFAULT_MODE (third argument).
keep_owner_mode() {
    if [[ -e "$1" ]]; then
        chown --reference="$1" "$2" || fail 1 "cannot give $2 the owner of $1"
        chmod --reference="$1" "$2"
    elif [[ -n "${3:-}" ]]; then
        chmod "$3" "$2"
    fi
}

# install_copy SRC DST: copy SRC over DST atomically (a temporary file beside DST, renamed).
install_copy() {
    local tmp
    tmp=$(tmp_beside "$2")
    cat "$1" >"$tmp"
    keep_owner_mode "$2" "$tmp"
    mv -f "$tmp" "$2"
}

# install_mta_pair KEY CHAIN: the deploy step. Copies the client's key and full chain to
# the files the MTA reads, after checking the pair on the copies themselves (what was
# checked is what is installed). A mismatched pair changes nothing and fails.
install_mta_pair() {
    local key=$1 chain=$2 tk tc
    pair_matches "$key" "$chain" ||
        fail 1 "the key $key is not the key of the certificate in $chain: the MTA keeps its files"
    if [[ "$DANE_MTA_KEY" -ef "$DANE_MTA_CERT" || "$DANE_MTA_KEY" == "$DANE_MTA_CERT" ]]; then
        tk=$(tmp_beside "$DANE_MTA_KEY")
        cat "$key" "$chain" >"$tk"
        keep_owner_mode "$DANE_MTA_KEY" "$tk"
        pair_matches "$tk" "$tk" || fail 1 "the copy $tk does not hold a matching pair"
        mv -f "$tk" "$DANE_MTA_KEY"
    else
        tk=$(tmp_beside "$DANE_MTA_KEY")
        tc=$(tmp_beside "$DANE_MTA_CERT")
        cat "$key" >"$tk"
        cat "$chain" >"$tc"
        keep_owner_mode "$DANE_MTA_KEY" "$tk"
        keep_owner_mode "$DANE_MTA_CERT" "$tc" 644
        pair_matches "$tk" "$tc" || fail 1 "the copies $tk and $tc are not a matching pair"
        mv -f "$tk" "$DANE_MTA_KEY"
        mv -f "$tc" "$DANE_MTA_CERT"
    fi
}

# dane_stage CURRENT_KEY_FILE NEXT_KEY_FILE [more stage flags]: stage the next key (created
# when missing, never overwritten) and publish current + next at every host.
dane_stage() {
    local current=$1 next=$2 host
    shift 2
    for host in "${_hosts[@]}"; do
        dane rollover stage --key "$current" --next-key "$next" \
            --key-type "$DANE_KEY_TYPE" --name "$host" "${UPDATE_ARGS[@]}" "$@"
    done
}

# ready_or_exit NEXT_KEY_FILE: return when every authoritative server of every host's TLSA
# zone has served the next key's record for longer than the TTL plus the margin. Otherwise
# exit: 0 while waiting (the normal case, nothing to do yet), dane's code when blocked (1)
# or indeterminate (3), which someone should look at, and the error's code when dane could
# not run (2: bad flags or files). Nothing has changed at that point. A plain `status`
# (not --check-only, which reads the state file and records nothing) records when each
# server first served the record, which the waiting time and promote --require-ready count
# from; its report goes to stderr.
ready_or_exit() {
    local st=0
    dane rollover status "$DANE_DOMAIN" --next-key "$1" --margin "$DANE_MARGIN" \
        "${DANE_EXTRA[@]}" >&2 || st=$?
    case $st in
    0) return 0 ;;
    5) exit 0 ;;
    1 | 3) echo "$_hook: not switching keys (dane rollover status exit $st)" >&2 ;;
    *) echo "$_hook: dane rollover status failed (exit $st); nothing changed" >&2 ;;
    esac
    exit "$st"
}

# dane_promote: after the MTA presents the next key everywhere: next becomes current,
# a new next key is staged, and (with DANE_UPDATE) the RRset is changed at the primary:
# the new next added, the old current removed. --require-ready: refused when the switch
# came before `status` would have said ready.
dane_promote() {
    dane rollover promote "$DANE_DOMAIN" --key "$CURRENT_KEY" --next-key "$NEXT_KEY" \
        --key-type "$DANE_KEY_TYPE" --margin "$DANE_MARGIN" --require-ready \
        "${UPDATE_ARGS[@]}" "${DANE_EXTRA[@]}"
}

# The roll in progress, for the signal trap: the client's key file, the backup of it,
# the client's key and chain as read now, and the renewal's PID.
_roll_keyfile='' _roll_backup='' _roll_key='' _roll_chain='' _roll_pid=''

# roll_undo WHY: put the previous key back in the client's key file unless the client's
# own pair already matches (the renewal completed: its new certificate is the next key's).
roll_undo() {
    [[ -n "$_roll_backup" && -e "$_roll_backup" ]] || return 0
    if pair_matches "$_roll_key" "$_roll_chain" && ! same_key "$_roll_key" "$_roll_backup"; then
        echo "$_hook: $1; the renewal had completed: the client holds the next key's certificate; run '$0 deploy' to install it" >&2
    else
        install_copy "$_roll_backup" "$_roll_keyfile"
        echo "$_hook: $1; the previous key is back in $_roll_keyfile" >&2
    fi
    rm -f "$_roll_backup"
    if ! pair_matches "$_roll_key" "$_roll_chain"; then
        echo "$_hook: the client's key $_roll_key and certificate $_roll_chain do not match: repair the client's files before the next roll (the MTA's files are unchanged)" >&2
    fi
}

# _on_signal NAME NUMBER: stop the renewal, undo, exit 128+NUMBER.
_on_signal() {
    trap '' INT TERM HUP
    if [[ -n "$_roll_pid" ]]; then
        kill -TERM "$_roll_pid" 2>/dev/null || true
        wait "$_roll_pid" 2>/dev/null || true
    fi
    roll_undo "interrupted by SIG$1"
    exit $((128 + $2))
}

# run_interruptible COMMAND...: run COMMAND in the background and wait for it, so that a
# signal to this hook is handled at once (bash runs a trap only after the foreground
# command ends): the trap stops COMMAND, undoes a roll in progress, and exits 128+N.
# Returns COMMAND's exit status.
run_interruptible() {
    local st=0
    trap '_on_signal TERM 15' TERM
    trap '_on_signal INT 2' INT
    trap '_on_signal HUP 1' HUP
    "$@" &
    _roll_pid=$!
    wait "$_roll_pid" || st=$?
    _roll_pid=
    return "$st"
}

# roll_with_next_key CLIENT KEYFILE KEY CHAIN COMMAND...: the switch. KEYFILE is the file
# the client reads its key from (put the next key there), KEY and CHAIN the client's key
# and full chain as the deploy step reads them. Checks every file first, finishes what an
# interrupted run left (a backup beside the keys), waits for `status` to say ready, then
# puts the staged next key into KEYFILE and runs COMMAND, the renewal that reuses it (its
# deploy hook installs the MTA's copies). A failed or interrupted renewal puts the previous
# key back; the MTA's files change only in the deploy step, after the renewal succeeded.
roll_with_next_key() {
    local client=$1 st=0 next_pub
    _roll_keyfile=$2 _roll_key=$3 _roll_chain=$4
    shift 4
    need_mta
    need_commands "$1"
    need_files "$CURRENT_KEY" "$NEXT_KEY" "$_roll_keyfile" "$_roll_chain"
    _roll_backup="$DANE_KEY_DIR/.$DANE_NAME.$client-key.backup"
    roll_undo "an earlier roll was interrupted"
    ready_or_exit "$NEXT_KEY"
    # The next key as it is now: the deploy step's promote stages a new one at NEXT_KEY.
    next_pub=$(pubkey_of_key "$NEXT_KEY")
    [[ -n "$next_pub" ]] || fail 2 "$NEXT_KEY: not a private key openssl reads"
    trap '_on_signal TERM 15' TERM
    trap '_on_signal INT 2' INT
    trap '_on_signal HUP 1' HUP
    install_copy "$_roll_keyfile" "$_roll_backup"
    install_copy "$NEXT_KEY" "$_roll_keyfile"
    run_interruptible "$@" || st=$?
    if [[ $st -ne 0 ]]; then
        roll_undo "the renewal failed (exit $st)"
        exit 1
    fi
    if ! pair_matches "$_roll_key" "$_roll_chain" || [[ "$(pubkey_of_key "$_roll_key")" != "$next_pub" ]]; then
        roll_undo "the renewal succeeded but the client's certificate is not the next key's"
        exit 1
    fi
    rm -f "$_roll_backup"
    trap - INT TERM HUP
    [[ -e "$DANE_MTA_CERT" && "$(pubkey_of_cert "$DANE_MTA_CERT")" == "$next_pub" ]] ||
        fail 1 "renewed with the next key, but $DANE_MTA_CERT is not its certificate: is '$0 deploy' the client's deploy hook?"
}

# dane_deploy KEY CHAIN: the client's deploy hook, after a renewal. The key must be one a
# TLSA record names (the current or the staged next key): then its pair goes to the MTA's
# files, the MTA reloads, and when it is the next key, promote.
dane_deploy() {
    local key=$1 chain=$2
    need_mta
    need_files "$key" "$chain" "$CURRENT_KEY" "$NEXT_KEY"
    if ! same_key "$key" "$CURRENT_KEY" && ! same_key "$key" "$NEXT_KEY"; then
        fail 1 "the renewed key $key is neither $CURRENT_KEY nor $NEXT_KEY: no TLSA record names it; the MTA keeps its files (renew with the key reused)"
    fi
    install_mta_pair "$key" "$chain"
    "${_reload[@]}"
    if same_key "$key" "$NEXT_KEY"; then
        dane_promote
    fi
}
