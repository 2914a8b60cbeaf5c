#!/usr/bin/env bash
# Builds the interop environment's DNS data at run time (called by dane_testenv::interop):
# a private root ".", the TLD "test." and one zone per scenario of
# fixtures/interop/scenarios.tsv, signed now by real signers with validity windows around
# the current time (ldns-signzone for most zones, dnssec-signzone for an NSEC3 one), with
# TLSA records computed from the fixture certificates by openssl pipelines (no dane code).
#
# Usage: build-zones.sh OUT_DIR PKI_DIR [BULK [SHARED]]
#   BULK (default 0): also bulk1.test .. bulkBULK.test, each signed, with an MX host and a
#   3 1 1 record, sharing the rsa (192.0.2.11) and ec (192.0.2.32) servers (for benchmarks).
#   SHARED (default 0): also shared1.test .. sharedSHARED.test, each signed, all with the
#   same four MX hosts mx1..mx4.provider.test (a hosting provider: mx1 and mx2 on the rsa
#   server, mx3 and mx4 on the ec server, each with a matching 3 1 1 record), for the probe
#   cache's benchmark and test (issue 27).
# Output:
#   OUT/zones/<zone>.zone      what NSD serves ("root.zone" is ".")
#   OUT/anchors/root.ds        the root KSK as a DS line (`dane --trust-anchor`, Unbound)
#   OUT/anchors/root.dnskey    the same key as a DNSKEY line (ldns-dane -k)
#   OUT/anchors/bind.conf      the same DS as BIND `trust-anchors { }` (delv -a)
#   OUT/root.hints             root hints for Unbound (ns.test. at the NSD address)
#   OUT/listeners.tsv          SERVER<TAB>ADDRESS<TAB>PORT: where each server must listen
#   OUT/addresses.txt          every address to put on the namespace's lo
#
# Addresses: 192.0.2.N and 2001:db8::N (documentation prefixes) exist only on the lo of
# the test's network namespace. NSD is at .53; each scenario host has its own N.
# Needs: ldnsutils, bind9-utils, openssl (scripts/install-test-deps).
set -euo pipefail

out=$1
pki=$2
bulk=${3:-0}
shared=${4:-0}
mkdir -p "$out/zones" "$out/anchors" "$out/keys" "$out/work"
work=$out/work
keys=$out/keys
NS4=192.0.2.53
NS6=2001:db8::53

# Validity windows around now (RFC 4034 section 3.1.5 YYYYMMDDHHmmSS, UTC).
stamp() { date -u -d "@$(( $(date -u +%s) + $1 ))" +%Y%m%d%H%M%S; }
INCEPTION=$(stamp -86400)              # a day ago
EXPIRATION=$(stamp $((30 * 86400)))    # in 30 days
OLD_INCEPTION=$(stamp $((-30 * 86400)))
OLD_EXPIRATION=$(stamp -86400)         # expired a day ago

hexof() { od -An -v -tx1 | tr -d ' \n'; }
# TLSA association data by openssl pipelines.
spki_der() { openssl x509 -in "$1" -noout -pubkey | openssl pkey -pubin -outform DER; }
cert_der() { openssl x509 -in "$1" -outform DER; }
tlsa_data() { # SELECTOR MTYPE PEM
  local input
  case $1 in
    0) input=cert_der ;;
    1) input=spki_der ;;
  esac
  case $2 in
    0) "$input" "$3" | hexof ;;
    1) "$input" "$3" | openssl dgst -sha256 -binary | hexof ;;
    2) "$input" "$3" | openssl dgst -sha512 -binary | hexof ;;
  esac
}
csr_spki_sha256() { openssl req -in "$1" -noout -pubkey | openssl pkey -pubin -outform DER | openssl dgst -sha256 -binary | hexof; }

RSA=$pki/leaf-rsa.pem
EC=$pki/leaf-ec.pem
EXPIRED=$pki/leaf-expired.pem
INTER=$pki/intermediate-ca.pem

: > "$out/listeners.tsv"
: > "$out/addresses.txt"
echo "$NS4" >> "$out/addresses.txt"
echo "$NS6" >> "$out/addresses.txt"

# host_records NAME N SERVER [v4|v6|both] [SERVER6]: A/AAAA lines for NAME (relative or
# absolute, printed as given), and the listener rows: SERVER listens on 192.0.2.N:25 and
# SERVER6 (default SERVER) on [2001:db8::N]:25. PORT is 25 unless SERVER is nginx.
host_records() {
  local name=$1 n=$2 server=$3 fam=${4:-both} server6=${5:-$3} port=25
  [ "$server" = nginx ] && port=443
  if [ "$fam" != v6 ]; then
    echo "$name A 192.0.2.$n"
    printf '%s\t%s\t%s\n' "$server" "192.0.2.$n" "$port" >> "$out/listeners.tsv"
    echo "192.0.2.$n" >> "$out/addresses.txt"
  fi
  if [ "$fam" != v4 ]; then
    echo "$name AAAA 2001:db8::$n"
    printf '%s\t%s\t%s\n' "$server6" "2001:db8::$n" "$port" >> "$out/listeners.tsv"
    echo "2001:db8::$n" >> "$out/addresses.txt"
  fi
}

# apex ZONE: SOA, NS and the name server's addresses.
apex() {
  cat <<EOF
\$ORIGIN $1.
\$TTL 300
@ SOA ns.$1. hostmaster.$1. 1 7200 3600 1209600 300
@ NS ns.$1.
ns A $NS4
ns AAAA $NS6
EOF
}

# ldns_key ZONE ALG [ksk] [BITS]: a new key; prints its base path.
ldns_key() {
  local zone=$1 alg=$2 kind=${3:-zsk} bits=${4:-2048} flags=() base
  [ "$kind" = ksk ] && flags=(-k)
  mkdir -p "$keys/$zone"
  local origin="$zone."
  [ "$zone" = root ] && origin=.
  base=$(cd "$keys/$zone" && ldns-keygen -a "$alg" -b "$bits" "${flags[@]}" "$origin")
  rm -f "$keys/$zone/$base.ds"
  echo "$keys/$zone/$base"
}

ds_of() { ldns-key2ds -n -f -2 "$1.key" | sed -E 's/[[:space:]]+/ /g'; }

# ldns_sign SRC OUT ZONE INCEPTION EXPIRATION [ldns-signzone options] -- KEYBASES...
ldns_sign() {
  local src=$1 dst=$2 zone=$3 inc=$4 exp=$5
  shift 5
  local opts=()
  while [ $# -gt 0 ] && [ "$1" != -- ]; do opts+=("$1"); shift; done
  shift
  ldns-signzone -o "$zone." -i "$inc" -e "$exp" "${opts[@]}" -f "$dst" "$src" "$@" \
    2> >(grep -v -e 'NSEC3 iterations larger' -e 'nsec3-guidance' >&2)
}

deleg=()   # NS + glue + DS lines for test.

# delegate ZONE [DS...]
delegate() {
  local zone=$1
  shift
  deleg+=("$zone. NS ns.$zone." "ns.$zone. A $NS4" "ns.$zone. AAAA $NS6")
  local d
  for d in "$@"; do deleg+=("$d"); done
}

# signed ZONE ALG [ldns-signzone options]: signs $work/ZONE (KSK + ZSK) into zones/ and
# delegates it; the key bases are left in KSK and ZSK (globals: no subshell, so the
# delegation is recorded).
signed() {
  local zone=$1 alg=$2
  shift 2
  KSK=$(ldns_key "$zone" "$alg" ksk)
  ZSK=$(ldns_key "$zone" "$alg" zsk)
  ldns_sign "$work/$zone" "$out/zones/$zone.zone" "$zone" "$INCEPTION" "$EXPIRATION" "$@" -- "$KSK" "$ZSK"
  delegate "$zone" "$(ds_of "$KSK")"
}

# splice BASE DONOR OWNER TYPE: replace the RRSIG(s) covering OWNER/TYPE in BASE by DONOR's
# (as fixtures/dns/generate.sh does).
splice() {
  local base=$1 donor=$2 owner=$3 type=$4
  awk -v o="$owner" -v t="$type" -v donor="$donor" '
    BEGIN { while ((getline l < donor) > 0) { split(l, f, /[ \t]+/); if (tolower(f[1]) == o && f[4] == "RRSIG" && f[5] == t) repl = repl l "\n" } }
    { split($0, f, /[ \t]+/) }
    tolower(f[1]) == o && f[4] == "RRSIG" && f[5] == t { if (!done) { printf "%s", repl; done = 1 } next }
    { print }
    END { if (repl == "" || !done) { print "splice: no RRSIG " t " at " o > "/dev/stderr"; exit 1 } }
  ' "$base" > "$base.tmp"
  mv "$base.tmp" "$base"
}

# simple_mx ZONE N SERVER ALG TLSA-LINES...: MX mx.ZONE at host N on SERVER, the given
# TLSA RDATA lines at _25._tcp.mx, signed with ALG (NSEC).
simple_mx() {
  local zone=$1 n=$2 server=$3 alg=$4
  shift 4
  { apex "$zone"
    echo "@ MX 10 mx.$zone."
    host_records mx "$n" "$server"
    local t
    for t in "$@"; do echo "_25._tcp.mx TLSA $t"; done
  } > "$work/$zone"
  signed "$zone" "$alg"
}

RSA311="3 1 1 $(tlsa_data 1 1 "$RSA")"

# --- DANE-EE variants (mostly the rsa server: leaf-rsa + intermediate; ee312 on the
# ed25519 server, ee300 on the p384 one) ---------------------------------------------------
simple_mx ee311.test 11 rsa ECDSAP256SHA256 "$RSA311"
simple_mx ee301.test 15 rsa RSASHA256 "3 0 1 $(tlsa_data 0 1 "$RSA")"
simple_mx ee312.test 16 ed25519 ED25519 "3 1 2 $(tlsa_data 1 2 "$pki/leaf-ed25519.pem")"
simple_mx ee300.test 17 p384 ECDSAP256SHA256 "3 0 0 $(tlsa_data 0 0 "$pki/leaf-p384.pem")"
simple_mx nomatch.test 14 rsa ECDSAP256SHA256 "3 1 1 $(tlsa_data 1 1 "$EC")"
simple_mx rollover.test 18 rsa ED25519 "$RSA311" "3 1 1 $(csr_spki_sha256 "$pki/next.csr")"
simple_mx usage1.test 30 rsa ECDSAP256SHA256 "1 1 1 $(tlsa_data 1 1 "$RSA")" "0 1 1 $(tlsa_data 1 1 "$pki/root-ca.pem")"
simple_mx ecdsa.test 32 ec ECDSAP256SHA256 "3 1 1 $(tlsa_data 1 1 "$EC")"
simple_mx expired-leaf.test 33 expired ECDSAP256SHA256 "3 1 1 $(tlsa_data 1 1 "$EXPIRED")"
simple_mx nostarttls.test 29 notls ECDSAP256SHA256 "$RSA311"

# --- DANE-TA: 2 1 1 on the intermediate --------------------------------------------------
# ta-good.test's MX is mx1.example.test, the leaf's DNS name (RFC 7672 section 3.2.3).
{ apex example.test
  host_records mx1 12 rsa
  echo "_25._tcp.mx1 TLSA 2 1 1 $(tlsa_data 1 1 "$INTER")"
} > "$work/example.test"
signed example.test ED25519
{ apex ta-good.test; echo "@ MX 10 mx1.example.test."; } > "$work/ta-good.test"
signed ta-good.test ECDSAP256SHA256
# ta-badname.test: same record, but the leaf's name is neither the MX host nor the domain.
simple_mx ta-badname.test 13 rsa ECDSAP256SHA256 "2 1 1 $(tlsa_data 1 1 "$INTER")"

# --- broken TLSA RRsets ---------------------------------------------------------------
# tlsa-expired: the TLSA RRSIG comes from a signing run whose window ended a day ago.
{ apex tlsa-expired.test; echo "@ MX 10 mx.tlsa-expired.test."; host_records mx 19 rsa
  echo "_25._tcp.mx TLSA $RSA311"; } > "$work/tlsa-expired.test"
signed tlsa-expired.test ECDSAP256SHA256
ldns_sign "$work/tlsa-expired.test" "$work/tlsa-expired.old" tlsa-expired.test "$OLD_INCEPTION" "$OLD_EXPIRATION" -- "$KSK" "$ZSK"
splice "$out/zones/tlsa-expired.test.zone" "$work/tlsa-expired.old" _25._tcp.mx.tlsa-expired.test. TLSA
# tlsa-tampered: the TLSA RDATA edited after signing (first digest octet changed).
simple_mx tlsa-tampered.test 20 rsa ECDSAP256SHA256 "$RSA311"
f=$out/zones/tlsa-tampered.test.zone
first=${RSA311:6:2}
repl=$(printf '%02x' $(( (16#$first + 1) % 256 )))
sed -i -E "s/^(_25\._tcp\.mx\.tlsa-tampered\.test\.[[:space:]]+[0-9]+[[:space:]]+IN[[:space:]]+TLSA[[:space:]]+3 1 1 )$first/\1$repl/" "$f"
grep -q "TLSA[[:space:]]*3 1 1 $repl" "$f" || { echo "build-zones.sh: tampering failed" >&2; exit 1; }

# --- insecure: an unsigned delegation (no DS in test.) ---------------------------------
{ apex insecure.test
  echo "@ MX 10 mx.insecure.test."
  host_records mx 21 rsa
  echo "_25._tcp.mx TLSA $RSA311"
  # mx2.insecure.test: the unsigned host that unsigned-host.test (signed) points to.
  host_records mx2 31 rsa
  echo "_25._tcp.mx2 TLSA $RSA311"
} > "$work/insecure.test"
ldns-read-zone "$work/insecure.test" > "$out/zones/insecure.test.zone"
delegate insecure.test
{ apex unsigned-host.test; echo "@ MX 10 mx2.insecure.test."; } > "$work/unsigned-host.test"
signed unsigned-host.test ECDSAP256SHA256

# --- secure, no TLSA: NSEC3 by dnssec-signzone, NSEC by ldns-signzone -------------------
{ apex nsec3-notlsa.test; echo "@ MX 10 mx.nsec3-notlsa.test."; host_records mx 22 rsa; } > "$work/nsec3-notlsa.test"
mkdir -p "$keys/nsec3-notlsa.test"
kdir=$keys/nsec3-notlsa.test
ksk=$(dnssec-keygen -q -K "$kdir" -a RSASHA256 -b 2048 -f KSK -n ZONE nsec3-notlsa.test)
dnssec-keygen -q -K "$kdir" -a RSASHA256 -b 2048 -n ZONE nsec3-notlsa.test > /dev/null
dnssec-signzone -q -S -K "$kdir" -d "$kdir" -3 aabbccdd -H 0 -o nsec3-notlsa.test. \
  -s "$INCEPTION" -e "$EXPIRATION" -f "$out/zones/nsec3-notlsa.test.zone" "$work/nsec3-notlsa.test" > /dev/null
delegate nsec3-notlsa.test "$(dnssec-dsfromkey -2 "$kdir/$ksk.key" | sed -E 's/[[:space:]]+/ /g')"
{ apex nsec-notlsa.test; echo "@ MX 10 mx.nsec-notlsa.test."; host_records mx 23 rsa; } > "$work/nsec-notlsa.test"
signed nsec-notlsa.test ECDSAP256SHA256

# --- CNAME'd MX hosts (RFC 7672 section 2.2.2), targets in targets.test (NSEC3, ldns) ----
{ apex targets.test
  host_records a 24 rsa
  echo "_25._tcp.a TLSA $RSA311"
  host_records b 25 rsa
} > "$work/targets.test"
signed targets.test ECDSAP256SHA256 -n -t 0 -s 0a0b
{ apex cname-target.test; echo "@ MX 10 mx.cname-target.test."; echo "mx CNAME a.targets.test."; } > "$work/cname-target.test"
signed cname-target.test ECDSAP256SHA256
{ apex cname-orig.test; echo "@ MX 10 mx.cname-orig.test."; echo "mx CNAME b.targets.test."
  echo "_25._tcp.mx TLSA $RSA311"; } > "$work/cname-orig.test"
signed cname-orig.test ECDSAP256SHA256

# --- several hosts / addresses ------------------------------------------------------------
{ apex twomx.test
  echo "@ MX 10 mx1.twomx.test."
  echo "@ MX 20 mx2.twomx.test."
  host_records mx1 26 rsa
  echo "_25._tcp.mx1 TLSA $RSA311"
  host_records mx2 27 rsa
  echo "_25._tcp.mx2 TLSA 3 1 1 $(tlsa_data 1 1 "$EC")"
} > "$work/twomx.test"
signed twomx.test ECDSAP256SHA256
# split.test: mx has 192.0.2.28 on the rsa server and 2001:db8::28 on the ec server.
{ apex split.test; echo "@ MX 10 mx.split.test."; host_records mx 28 rsa both ec
  echo "_25._tcp.mx TLSA $RSA311"; } > "$work/split.test"
signed split.test ECDSAP256SHA256

# --- two certificates at one address (issue 23) ------------------------------------------
# The dual Postfix holds leaf-rsa and leaf-ec (smtpd_tls_chain_files with two key+chain
# pairs) and picks one by the client's signature algorithms. dual-one.test publishes the
# RSA key's 3 1 1 only (senders that negotiate ECDSA fail: partial), dual-both.test both.
simple_mx dual-one.test 35 dual ECDSAP256SHA256 "$RSA311"
simple_mx dual-both.test 36 dual ECDSAP256SHA256 "$RSA311" "3 1 1 $(tlsa_data 1 1 "$EC")"
# https-dual.test: nginx with two ssl_certificate (RSA and ECDSA) for www.https-dual.test,
# and the RSA key's 3 1 1 only.
{ apex https-dual.test; host_records www 37 nginx; echo "_443._tcp.www TLSA $RSA311"; } > "$work/https-dual.test"
signed https-dual.test ECDSAP256SHA256

# --- HTTPS (RFC 7671), no MX ---------------------------------------------------------------
{ apex https.test; host_records www 34 nginx; echo "_443._tcp.www TLSA $RSA311"; } > "$work/https.test"
signed https.test ECDSAP256SHA256

# --- nonexistent: null MX (RFC 7505); nxdomain.test is simply not in test. -----------------
{ apex nullmx.test; echo "@ MX 0 ."; } > "$work/nullmx.test"
signed nullmx.test ECDSAP256SHA256

# --- indeterminate: lame.test is delegated (with a DS) to 192.0.2.99, where no server
# listens, so every lookup below it fails (SERVFAIL): neither secure nor provably not.
ksk=$(ldns_key lame.test ECDSAP256SHA256 ksk)
deleg+=("lame.test. NS ns.lame.test." "ns.lame.test. A 192.0.2.99" "$(ds_of "$ksk")")
echo "192.0.2.99" >> "$out/addresses.txt"

# --- private-mx.test (issue 22): a signed MX host on loopback, link-local, RFC 1918, CGNAT
# and IPv6 link-local addresses (127.0.0.1 is the namespace's own loopback, where the SRV
# test of tests/e2e/tests/e2e/private_targets.rs listens on 587; the others lead nowhere).
# dane refuses to probe them unless --allow-private; not in scenarios.tsv (no other tool is
# pointed at it).
{ apex private-mx.test
  echo "@ MX 10 mx.private-mx.test."
  for a in 127.0.0.1 169.254.169.254 10.0.0.1 100.64.0.1; do echo "mx A $a"; done
  echo "mx AAAA fe80::1"
  echo "_25._tcp.mx TLSA $RSA311"
  # The same host as a signed SRV target with a TLSA record at its registered port: the
  # exporter and `verify --service submission` connect there only with --allow-private.
  echo "_submission._tcp SRV 0 1 587 mx.private-mx.test."
  echo "_587._tcp.mx TLSA $RSA311"
} > "$work/private-mx.test"
signed private-mx.test ECDSAP256SHA256

# --- bulk: N domains sharing two servers and one key pair (owner rewritten per zone) -----
if [ "$bulk" -gt 0 ]; then
  bksk=$(ldns_key bulk ECDSAP256SHA256 ksk)
  bzsk=$(ldns_key bulk ECDSAP256SHA256 zsk)
  EC311="3 1 1 $(tlsa_data 1 1 "$EC")"
  mkdir -p "$keys/bulk-zones"
  : > "$out/bulk.txt"
  for i in $(seq 1 "$bulk"); do
    zone=bulk$i.test
    if [ $((i % 2)) -eq 1 ]; then n=11 rr=$RSA311; else n=32 rr=$EC311; fi
    { apex "$zone"; echo "@ MX 10 mx.$zone."; echo "mx A 192.0.2.$n"; echo "mx AAAA 2001:db8::$n"
      echo "_25._tcp.mx TLSA $rr"; } > "$work/$zone"
    k=$keys/bulk-zones/$zone
    for role in ksk zsk; do
      base=$bksk; [ $role = zsk ] && base=$bzsk
      sed -E "s/^bulk\./$zone./" "$base.key" > "$k.$role.key"
      cp "$base.private" "$k.$role.private"
    done
    ldns_sign "$work/$zone" "$out/zones/$zone.zone" "$zone" "$INCEPTION" "$EXPIRATION" -- "$k.ksk" "$k.zsk"
    delegate "$zone" "$(ds_of "$k.ksk")"
    echo "$zone" >> "$out/bulk.txt"
  done
fi

# --- shared: N domains behind one provider's four MX hosts (issue 27) ----------------------
: > "$out/shared.txt"
if [ "$shared" -gt 0 ]; then
  EC311="3 1 1 $(tlsa_data 1 1 "$EC")"
  { apex provider.test
    for h in 1 2 3 4; do
      if [ "$h" -le 2 ]; then n=11 rr=$RSA311; else n=32 rr=$EC311; fi
      echo "mx$h A 192.0.2.$n"; echo "mx$h AAAA 2001:db8::$n"; echo "_25._tcp.mx$h TLSA $rr"
    done; } > "$work/provider.test"
  signed provider.test ECDSAP256SHA256
  sksk=$(ldns_key shared ECDSAP256SHA256 ksk)
  szsk=$(ldns_key shared ECDSAP256SHA256 zsk)
  mkdir -p "$keys/shared-zones"
  for i in $(seq 1 "$shared"); do
    zone=shared$i.test
    { apex "$zone"
      for h in 1 2 3 4; do echo "@ MX $((h * 10)) mx$h.provider.test."; done; } > "$work/$zone"
    k=$keys/shared-zones/$zone
    for role in ksk zsk; do
      base=$sksk; [ $role = zsk ] && base=$szsk
      sed -E "s/^shared\./$zone./" "$base.key" > "$k.$role.key"
      cp "$base.private" "$k.$role.private"
    done
    ldns_sign "$work/$zone" "$out/zones/$zone.zone" "$zone" "$INCEPTION" "$EXPIRATION" -- "$k.ksk" "$k.zsk"
    delegate "$zone" "$(ds_of "$k.ksk")"
    echo "$zone" >> "$out/shared.txt"
  done
fi

# --- services other than SMTP to MX: SRV, Dovecot, Postfix submission, Prosody -------------
# shellcheck source=service-zones.sh
. "$(dirname "$0")/service-zones.sh"

# --- the rollover zone (issue 14): signed online by Knot, not by this script ---------------
# shellcheck source=rollover-zones.sh
. "$(dirname "$0")/rollover-zones.sh"

# --- the TLD and the root -------------------------------------------------------------------
{ apex test; printf '%s\n' "${deleg[@]}"; } > "$work/test"
signed test ECDSAP256SHA256
test_ds=$(ds_of "$KSK")
rksk=$(ldns_key root RSASHA256 ksk 2048)
rzsk=$(ldns_key root RSASHA256 zsk 2048)
cat > "$work/root" <<EOF
\$ORIGIN .
\$TTL 300
. SOA ns.test. hostmaster.test. 1 1800 900 604800 300
. NS ns.test.
test. NS ns.test.
ns.test. A $NS4
ns.test. AAAA $NS6
$test_ds
EOF
ldns-signzone -o . -i "$INCEPTION" -e "$EXPIRATION" -f "$out/zones/root.zone" "$work/root" "$rksk" "$rzsk"

# --- anchors and hints ------------------------------------------------------------------------
ds_of "$rksk" > "$out/anchors/root.ds"
sed -E 's/;.*$//; s/[[:space:]]+/ /g; s/ $//' "$rksk.key" | grep -v '^$' > "$out/anchors/root.dnskey"
read -r tag alg dtype digest < <(awk '{ for (i = 1; i <= NF; i++) if ($i == "DS") { print $(i+1), $(i+2), $(i+3), $(i+4); exit } }' "$out/anchors/root.ds")
cat > "$out/anchors/bind.conf" <<EOF
trust-anchors {
  . static-ds $tag $alg $dtype "$digest";
};
EOF
cat > "$out/root.hints" <<EOF
. 3600000 NS ns.test.
ns.test. 3600000 A $NS4
EOF
sort -u -o "$out/addresses.txt" "$out/addresses.txt"
rm -rf "$work"
