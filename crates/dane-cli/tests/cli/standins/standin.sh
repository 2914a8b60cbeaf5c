#!/bin/sh
# Sourced by the stand-in ACME clients: logs the call, then behaves as STANDIN_RENEWAL says:
# ok (the default), fail (exit 1 before writing anything, as an ACME error does), hang
# (touch STANDIN_STARTED, then wait to be killed). STANDIN_SLOW: seconds to pause between
# the files a renewal writes (for the test that watches the MTA's files meanwhile).
set -eu
echo "$STANDIN_NAME $*" >>"$STANDIN_LOG"
case "${STANDIN_RENEWAL:-ok}" in
fail)
    echo "$STANDIN_NAME: renewal failed (stand-in)" >&2
    exit 1
    ;;
hang)
    : >"$STANDIN_STARTED"
    i=0
    while [ $i -lt 600 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    exit 1
    ;;
esac

# pause: the STANDIN_SLOW pause between two steps of a renewal.
pause() {
    sleep "${STANDIN_SLOW:-0}"
}

# issue KEY OUT: a certificate for KEY (self-signed: the stand-in CA), PEM in OUT.
issue() {
    openssl req -new -x509 -key "$1" -subj "/CN=stand-in" -days 2 -out "$2" 2>/dev/null
}
