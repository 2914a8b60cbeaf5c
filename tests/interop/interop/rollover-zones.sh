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
#   tsig.keymgr      the TSIG key as Knot's `keymgr -t roll-key hmac-sha256` printed it
#   tsig.key         the same key in BIND `tsig-keygen` format (nsupdate -k, dane --tsig-key)
#   tsig-ddns.key    the same key as BIND's `ddns-confgen` writes it (comments, update-policy)
#   tsig.knot        the same key as ALG:NAME:SECRET (the form of `nsupdate -y`; the Knot
#                    configuration is written from it)
#   tsig-two.conf    a Knot `key:` section with another key first, then this one
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

# The TSIG key (HMAC-SHA256, 256 random bits) made by Knot's `keymgr -t` (its output as
# printed), the same key in the forms BIND's tools and nsupdate -y write, and a wrong one
# under the same name.
"$KEYMGR" -t roll-key hmac-sha256 > "$roll/tsig.keymgr"
roll_secret=$(awk '$1 == "secret:" { print $2 }' "$roll/tsig.keymgr")
[ -n "$roll_secret" ] || { echo "rollover-zones.sh: keymgr -t printed no secret" >&2; exit 1; }
printf 'key "roll-key" {\n\talgorithm hmac-sha256;\n\tsecret "%s";\n};\n' "$roll_secret" > "$roll/tsig.key"
printf 'hmac-sha256:roll-key:%s\n' "$roll_secret" > "$roll/tsig.knot"
printf 'key "roll-key" {\n\talgorithm hmac-sha256;\n\tsecret "%s";\n};\n' "$(openssl rand -base64 32)" > "$roll/tsig-wrong.key"
# As ddns-confgen writes it: instructions in comments, an update-policy statement.
cat > "$roll/tsig-ddns.key" <<EOF
# To activate this key, place the following in named.conf, and
# in a separate keyfile on the system or systems from which nsupdate
# will be run:
key "roll-key" {
	algorithm hmac-sha256;
	secret "$roll_secret";
};

# Then, in the "zone" statement for the zone containing the
# name "roll.test", place an "update-policy" statement
# like this one, adjusted as needed for your preferred permissions:
update-policy {
	  grant roll-key zonesub ANY;
};
EOF
# A knot.conf key section with another key first: --tsig-key-name chooses.
{ echo "key:"
  echo "  - id: other-key"
  echo "    algorithm: hmac-sha512"
  echo "    secret: $(openssl rand -base64 64 | tr -d '\n')"
  awk '$1 != "key:" && $1 != "#"' "$roll/tsig.keymgr"
} > "$roll/tsig-two.conf"
chmod 600 "$roll"/tsig*

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

# --- zones for `dane rollover status`'s list of servers (issue 21), signed here and served
# by NSD at .53, each with MX mx.ZONE and the TLSA RRset at _25._tcp.mx holding leaf-ec's
# `3 1 1` and the fixture next key's (fixtures/pki/next.key), published long ago:
#   wide.test      17 name servers, ns and ns1..ns16.wide.test (all at NSD): more than
#                  dane's 16, so the 17th is never asked and status is never ready
#   ns-bogus.test  its apex NS RRset's RRSIG is corrupted after signing (bogus): the list
#                  of servers cannot be trusted, status indeterminate
#   blackhole.test its apex NS RRset adds ns2.blackhole.test at 127.0.0.13, where the
#                  environment's silent resolver (BrokenResolver::Silent) reads every query
#                  and never answers: the run must still end by its deadline
#   refuses.test   the same with ns2.refuses.test at 127.0.0.14 (BrokenResolver::Refused)
# The delegations from test. name only ns.ZONE (NSD), so resolution never waits on them;
# `dane rollover status` takes the zone's own NS RRset, validated.
ROLL_NEXT311="3 1 1 $(openssl pkey -in "$pki/next.key" -pubout -outform DER | openssl dgst -sha256 -binary | hexof)"
ROLL_EC311="3 1 1 $(tlsa_data 1 1 "$EC")"
roll_mx_zone() { # ZONE N: the apex (ns.ZONE at NSD), MX mx.ZONE at host N, both records
  apex "$1"
  echo "@ MX 10 mx.$1."
  echo "mx A 192.0.2.$2"
  echo "_25._tcp.mx TLSA $ROLL_EC311"
  echo "_25._tcp.mx TLSA $ROLL_NEXT311"
}
{ roll_mx_zone wide.test 85
  for i in $(seq 1 16); do echo "@ NS ns$i.wide.test."; echo "ns$i A $NS4"; echo "ns$i AAAA $NS6"; done
} > "$work/wide.test"
signed wide.test ECDSAP256SHA256
roll_mx_zone ns-bogus.test 86 > "$work/ns-bogus.test"
signed ns-bogus.test ECDSAP256SHA256
# Corrupt the signature of the apex NS RRset: its last field's first character changed.
f=$out/zones/ns-bogus.test.zone
awk '$1 == "ns-bogus.test." && $4 == "RRSIG" && $5 == "NS" { s = $NF; c = substr(s, 1, 1); $NF = (c == "A" ? "B" : "A") substr(s, 2); n++ } { print } END { if (n != 1) exit 1 }' "$f" > "$f.tmp" \
  || { echo "rollover-zones.sh: no apex NS RRSIG in ns-bogus.test" >&2; exit 1; }
mv "$f.tmp" "$f"
{ roll_mx_zone blackhole.test 87
  echo "@ NS ns2.blackhole.test."
  echo "ns2 A 127.0.0.13"
} > "$work/blackhole.test"
signed blackhole.test ECDSAP256SHA256
# refuses.test: as blackhole.test, its second server at 127.0.0.14, where the environment's
# refusing resolver (BrokenResolver::Refused) answers REFUSED to every query: `dane verify`
# reports it (ns-refuses-tlsa).
{ roll_mx_zone refuses.test 88
  echo "@ NS ns2.refuses.test."
  echo "ns2 A 127.0.0.14"
} > "$work/refuses.test"
signed refuses.test ECDSAP256SHA256
# notimp.test: its second server at 127.0.0.17, where dnsdist (started on demand:
# Interop::dnsdist_notimp) forwards every question to NSD but answers NOTIMP to TLSA
# questions, as some hosted DNS front-ends do (issue 23: ns-refuses-tlsa). MX mx.notimp.test
# at .32, Postfix "ec" (leaf-ec, whose 3 1 1 the zone holds): verified through NSD.
{ roll_mx_zone notimp.test 32
  echo "@ NS ns2.notimp.test."
  echo "ns2 A 127.0.0.17"
} > "$work/notimp.test"
signed notimp.test ECDSAP256SHA256
# expired-ns.test: its second server at 127.0.0.18, a second NSD started on demand
# (Interop::expired_server) that serves a copy signed with the same keys whose signatures
# expired a day ago (OUT/zones-expired/), as a secondary whose transfers stopped while the
# primary re-signs (issue 23: ns-rrsig-expires). MX at .32 as notimp.test.
{ roll_mx_zone expired-ns.test 32
  echo "@ NS ns2.expired-ns.test."
  echo "ns2 A 127.0.0.18"
} > "$work/expired-ns.test"
signed expired-ns.test ECDSAP256SHA256
mkdir -p "$out/zones-expired"
ldns_sign "$work/expired-ns.test" "$out/zones-expired/expired-ns.test.zone" expired-ns.test \
  "$OLD_INCEPTION" "$OLD_EXPIRATION" -- "$KSK" "$ZSK"
