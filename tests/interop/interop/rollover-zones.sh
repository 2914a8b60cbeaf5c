# Sourced by build-zones.sh (uses its helpers host_records, tlsa_data and its variables out,
# deleg): the rollover zone roll.test (issue 14, `dane rollover`), which is NOT signed here
# and NOT served by NSD: a Knot DNS primary signs it online and takes RFC 2136 updates
# authenticated by TSIG, and a Knot secondary copies it only when the test says so
# (tests/interop/src/interop/rollover.rs starts both, and Postfix "roll").
#
# Servers:
#   .81  ns1.roll.test: Knot primary (automatic signing, a CSK made here by keymgr; updates
#        with the TSIG key roll-key; no NOTIFY to the secondary)
#   .82  ns2.roll.test: Knot secondary (SOA refresh 2 h: it lags until `knotc zone-refresh`)
#   .83  mx1.roll.test and .84 mx2.roll.test: Postfix "roll" on 25, presenting the current
#        key (a P-256 key made here, a self-signed certificate), until the test switches it
# Also `_submission._tcp SRV 0 1 25 smtp.roll.test.` with `smtp CNAME mx2`: `dane rollover
# --service submission` finds mx2's TLSA owner through the SRV target and the CNAME. And
# mx3 (mx1's address, no MX names it) whose TLSA owner is an alias, `_25._tcp.mx3 CNAME
# _dane.roll.test.`: `dane rollover status --host mx3.roll.test` follows it to the record.
#
# Output (OUT/rollover/):
#   roll.test.zone   the unsigned zone the primary loads (TTL 300 everywhere)
#   kasp/            Knot's KASP database with the zone's key (keymgr)
#   current.key      the current key (PKCS#8 PEM), current.pem its certificate
#   tsig.key         the TSIG key in BIND `tsig-keygen` format (nsupdate -k, dane --tsig-key)
#   tsig.knot        the same key as ALG:NAME:SECRET (the form of `knsupdate -y`; the Knot
#                    configuration is written from it)
#   tsig-wrong.key   the same key name with another secret (the primary refuses it: BADSIG)
# and the delegation with its DS in test. (appended to deleg).
# Needs: knot (keymgr), openssl.

roll=$out/rollover
mkdir -p "$roll"
command -v keymgr >/dev/null 2>&1 || [ -x /usr/sbin/keymgr ] || {
  echo "rollover-zones.sh: keymgr is not installed: run scripts/install-test-deps (or apt-get install knot)" >&2
  exit 1
}
KEYMGR=$(command -v keymgr || echo /usr/sbin/keymgr)

# The current key and a certificate for it naming both MX hosts.
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$roll/current.key" 2>/dev/null
chmod 600 "$roll/current.key"
openssl req -x509 -new -key "$roll/current.key" -subj /CN=mx1.roll.test -days 30 \
  -addext "subjectAltName=DNS:mx1.roll.test,DNS:mx2.roll.test" -out "$roll/current.pem" 2>/dev/null
ROLL_CURRENT="3 1 1 $(tlsa_data 1 1 "$roll/current.pem")"

# The TSIG key (HMAC-SHA256, 256 random bits), and a wrong one under the same name.
roll_secret=$(openssl rand -base64 32)
printf 'key "roll-key" {\n\talgorithm hmac-sha256;\n\tsecret "%s";\n};\n' "$roll_secret" > "$roll/tsig.key"
printf 'hmac-sha256:roll-key:%s\n' "$roll_secret" > "$roll/tsig.knot"
printf 'key "roll-key" {\n\talgorithm hmac-sha256;\n\tsecret "%s";\n};\n' "$(openssl rand -base64 32)" > "$roll/tsig-wrong.key"
chmod 600 "$roll/tsig.key" "$roll/tsig.knot" "$roll/tsig-wrong.key"

# The zone's key: one ECDSA P-256 CSK, published and active now; its DS goes into test.
"$KEYMGR" -D "$roll/kasp" roll.test. generate algorithm=ECDSAP256SHA256 ksk=yes zsk=yes >/dev/null
roll_ds=$("$KEYMGR" -D "$roll/kasp" roll.test. ds | awk '$2 == "DS" && $5 == 2' | sed -E 's/[[:space:]]+/ /g')
[ -n "$roll_ds" ] || { echo "rollover-zones.sh: keymgr printed no SHA-256 DS" >&2; exit 1; }

{ cat <<EOF
\$ORIGIN roll.test.
\$TTL 300
@ SOA ns1.roll.test. hostmaster.roll.test. 1 7200 3600 1209600 300
@ NS ns1.roll.test.
@ NS ns2.roll.test.
ns1 A 192.0.2.81
ns1 AAAA 2001:db8::81
ns2 A 192.0.2.82
ns2 AAAA 2001:db8::82
@ MX 10 mx1.roll.test.
@ MX 20 mx2.roll.test.
_submission._tcp SRV 0 1 25 smtp.roll.test.
smtp CNAME mx2.roll.test.
EOF
  host_records mx1 83 roll
  host_records mx2 84 roll
  echo "_25._tcp.mx1 TLSA $ROLL_CURRENT"
  echo "_25._tcp.mx2 TLSA $ROLL_CURRENT"
  echo "mx3 A 192.0.2.83"
  echo "_25._tcp.mx3 CNAME _dane.roll.test."
  echo "_dane TLSA $ROLL_CURRENT"
} > "$roll/roll.test.zone"
printf '%s\n' 192.0.2.81 2001:db8::81 192.0.2.82 2001:db8::82 >> "$out/addresses.txt"

deleg+=("roll.test. NS ns1.roll.test." "roll.test. NS ns2.roll.test."
  "ns1.roll.test. A 192.0.2.81" "ns1.roll.test. AAAA 2001:db8::81"
  "ns2.roll.test. A 192.0.2.82" "ns2.roll.test. AAAA 2001:db8::82"
  "$roll_ds")
