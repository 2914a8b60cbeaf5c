#!/bin/sh
# Fail a deployment when the TLSA records in the zone repository would not authenticate
# the certificate about to be deployed (and the certificates served now): a DANE rollover
# pre-check for CI. Keeps the JSON report of `dane verify` for the pipeline's artefacts.
#
# usage: dane-precheck.sh DOMAIN TLSA_FILE NEW_CERT_PEM [REPORT_JSON]
#   DOMAIN        the mail domain (its MX hosts are checked), e.g. example.com
#   TLSA_FILE     the TLSA records as the zone repository has them (zone-file lines)
#   NEW_CERT_PEM  the chain about to be deployed (leaf first)
#   REPORT_JSON   where to write the report (default dane-report.json)
# environment:
#   DANE        the dane binary (default: dane on PATH)
#   DANE_FLAGS  extra flags for dane verify, e.g. "--resolver 192.0.2.53 --warn-days 14"
#
# Exit status: 0 when the candidate TLSA set authenticates both the certificates served now
# and the new one at every host DANE covers (rollover-ready); otherwise dane verify's exit
# status (1 failure, 2 bad input, 3 indeterminate, 4 not protected), or 1 when the check
# passed but the set is not rollover-ready.
#
# dane verify --tlsa --cert also connects to the current servers (port 25 for SMTP) to see
# the certificates they serve now; on a runner that cannot reach them, use --cert alone
# (the new certificate against the records published now, no connection).
set -eu

if [ "$#" -lt 3 ] || [ "$#" -gt 4 ]; then
    echo "usage: $0 DOMAIN TLSA_FILE NEW_CERT_PEM [REPORT_JSON]" >&2
    exit 2
fi
domain=$1
tlsa=$2
cert=$3
report=${4:-dane-report.json}
dane=${DANE:-dane}

status=0
# shellcheck disable=SC2086 # DANE_FLAGS is a list of flags, split on purpose
"$dane" verify "$domain" --tlsa "$tlsa" --cert "$cert" --require-dane --format json \
    ${DANE_FLAGS:-} >"$report" || status=$?

if [ "$status" -ne 0 ]; then
    echo "dane-precheck: $domain: dane verify exited $status; see $report" >&2
    "$dane" verify "$domain" --tlsa "$tlsa" --cert "$cert" --require-dane --format nagios \
        ${DANE_FLAGS:-} >&2 || true
    exit "$status"
fi
if ! grep -q '"rollover_ready": true' "$report"; then
    echo "dane-precheck: $domain: the TLSA set in $tlsa does not cover both the served and the new certificate; see $report" >&2
    exit 1
fi
echo "dane-precheck: $domain: rollover-ready ($tlsa covers the served certificates and $cert)"
