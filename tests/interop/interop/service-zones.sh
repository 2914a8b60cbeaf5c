# Sourced by build-zones.sh (uses its helpers apex, signed, delegate, tlsa_data, ldns-read-zone
# and its variables out, RSA, EC, RSA311): the zones of the service scenarios
# (fixtures/interop/services.tsv): SRV records (RFC 6186 for the mail services, RFC 6120
# for XMPP) with TLSA records at the SRV targets' ports (RFC 7673), served by Dovecot
# (IMAP, POP3), Postfix (submission, smtps), Prosody (XMPP) and nginx (HTTPS).
#
# Servers (tests/interop/src/interop/services.rs starts them):
#   .40  mail: dovecot (143, 993, 110, 995; SNI mail.sni.test -> leaf-ec, else leaf-rsa)
#        and postfix rsa (587, 465; SNI mail.sni.test -> leaf-ec, else leaf-rsa)
#   .41  xmpp: prosody (5222, 5269; leaf-rsa)
#   .42  mail without TLS: dovecot-notls (143, 110), postfix notls (587)
#   .43  xmpp without TLS: prosody-notls (5222, 5269)
#   .44  mail with two keys at once: dovecot-dual (143, 993; leaf-rsa and leaf-ec, picked
#        by the client's signature algorithms: issue 23)
#   .34  nginx (443; SNI www.sni.test -> leaf-ec, else leaf-rsa: build-zones.sh's https.test)

EC311="3 1 1 $(tlsa_data 1 1 "$EC")"

# svc_host NAME N SERVER:PORT...: A/AAAA for NAME at 192.0.2.N / 2001:db8::N, and the
# listener rows (each SERVER listens on both addresses at its PORT).
svc_host() {
  local name=$1 n=$2 sp
  shift 2
  echo "$name A 192.0.2.$n"
  echo "$name AAAA 2001:db8::$n"
  for a in "192.0.2.$n" "2001:db8::$n"; do
    echo "$a" >> "$out/addresses.txt"
    for sp in "$@"; do
      printf '%s\t%s\t%s\n' "${sp%%:*}" "$a" "${sp##*:}" >> "$out/listeners.tsv"
    done
  done
}

MAIL_SERVERS=(dovecot:143 dovecot:993 dovecot:110 dovecot:995 rsa:587 rsa:465)
NOTLS_SERVERS=(dovecot-notls:143 dovecot-notls:110 notls:587)

# srv_set ZONE MAIL XMPP [plain]: the eight SRV records of ZONE, the mail services at
# MAIL, XMPP at XMPP (absolute names). With "plain", the implicit-TLS services (imaps,
# pop3s, submissions) point at the plaintext ports (143, 110, 587) of the same host.
srv_set() {
  local mail=$2 xmpp=$3 imaps=993 pop3s=995 smtps=465
  if [ "${4:-}" = plain ]; then imaps=143 pop3s=110 smtps=587; fi
  cat <<EOS
_imap._tcp SRV 0 1 143 $mail
_imaps._tcp SRV 0 1 $imaps $mail
_pop3._tcp SRV 0 1 110 $mail
_pop3s._tcp SRV 0 1 $pop3s $mail
_submission._tcp SRV 0 1 587 $mail
_submissions._tcp SRV 0 1 $smtps $mail
_xmpp-client._tcp SRV 0 1 5222 $xmpp
_xmpp-server._tcp SRV 0 1 5269 $xmpp
EOS
}

# tlsa_set MAIL XMPP RDATA: RDATA at every port of the mail and xmpp targets (relative).
tlsa_set() {
  local p
  for p in 143 993 110 995 587 465; do echo "_$p._tcp.$1 TLSA $3"; done
  for p in 5222 5269; do echo "_$p._tcp.$2 TLSA $3"; done
}

# svc-ok.test: every service verified (3 1 1 of leaf-rsa, which the servers present).
{ apex svc-ok.test
  srv_set svc-ok.test mail.svc-ok.test. xmpp.svc-ok.test.
  svc_host mail 40 "${MAIL_SERVERS[@]}"
  svc_host xmpp 41 prosody:5222 prosody:5269
  tlsa_set mail xmpp "$RSA311"
} > "$work/svc-ok.test"
signed svc-ok.test ECDSAP256SHA256

# svc-mismatch.test: the same servers; the TLSA records are of leaf-ec's key.
{ apex svc-mismatch.test
  srv_set svc-mismatch.test mail.svc-mismatch.test. xmpp.svc-mismatch.test.
  echo "mail A 192.0.2.40"; echo "mail AAAA 2001:db8::40"
  echo "xmpp A 192.0.2.41"; echo "xmpp AAAA 2001:db8::41"
  tlsa_set mail xmpp "$EC311"
} > "$work/svc-mismatch.test"
signed svc-mismatch.test ECDSAP256SHA256

# svc-nostarttls.test: usable records, servers that offer no STARTTLS (and, for the
# implicit-TLS services, SRV records naming a plaintext port).
{ apex svc-nostarttls.test
  srv_set svc-nostarttls.test mail.svc-nostarttls.test. xmpp.svc-nostarttls.test. plain
  svc_host mail 42 "${NOTLS_SERVERS[@]}"
  svc_host xmpp 43 prosody-notls:5222 prosody-notls:5269
  tlsa_set mail xmpp "$RSA311"
} > "$work/svc-nostarttls.test"
signed svc-nostarttls.test ECDSAP256SHA256

# svc-bogus.test: the good servers; every TLSA RDATA changed after signing (bogus).
{ apex svc-bogus.test
  srv_set svc-bogus.test mail.svc-bogus.test. xmpp.svc-bogus.test.
  echo "mail A 192.0.2.40"; echo "mail AAAA 2001:db8::40"
  echo "xmpp A 192.0.2.41"; echo "xmpp AAAA 2001:db8::41"
  tlsa_set mail xmpp "$RSA311"
} > "$work/svc-bogus.test"
signed svc-bogus.test ECDSAP256SHA256
f=$out/zones/svc-bogus.test.zone
first=${RSA311:6:2}
repl=$(printf '%02x' $(( (16#$first + 1) % 256 )))
sed -i -E "s/^(_[0-9]+\._tcp\.[a-z]+\.svc-bogus\.test\.[[:space:]]+[0-9]+[[:space:]]+IN[[:space:]]+TLSA[[:space:]]+3 1 1 )$first/\1$repl/" "$f"
[ "$(grep -c "TLSA[[:space:]]*3 1 1 $repl" "$f")" -eq 8 ] || { echo "service-zones.sh: svc-bogus tampering failed" >&2; exit 1; }

# svc-insecure.test: an unsigned delegation whose SRV records name the good, signed
# targets (with valid TLSA): an insecure SRV RRset, so DANE applies to no target
# (RFC 7673 section 3.1).
{ apex svc-insecure.test
  srv_set svc-insecure.test mail.svc-ok.test. xmpp.svc-ok.test.
} > "$work/svc-insecure.test"
ldns-read-zone "$work/svc-insecure.test" > "$out/zones/svc-insecure.test.zone"
delegate svc-insecure.test

# svc-dual-one.test, svc-dual-both.test: IMAP (143, 993) at dovecot-dual, which holds an
# RSA and an ECDSA key at once; TLSA for the RSA key only (senders that negotiate ECDSA
# fail), and for both (issue 23). Not in services.tsv: tests/e2e multicert.rs judges them
# per key algorithm and compares with openssl s_client -sigalgs.
DUAL_SERVERS=(dovecot-dual:143 dovecot-dual:993)
for z in svc-dual-one.test svc-dual-both.test; do
  { apex "$z"
    echo "_imap._tcp SRV 0 1 143 mail.$z."
    echo "_imaps._tcp SRV 0 1 993 mail.$z."
    if [ "$z" = svc-dual-one.test ]; then
      svc_host mail 44 "${DUAL_SERVERS[@]}"
    else
      echo "mail A 192.0.2.44"; echo "mail AAAA 2001:db8::44"
    fi
    for p in 143 993; do
      echo "_$p._tcp.mail TLSA $RSA311"
      if [ "$z" = svc-dual-both.test ]; then echo "_$p._tcp.mail TLSA $EC311"; fi
    done
  } > "$work/$z"
  signed "$z" ECDSAP256SHA256
done

# sni.test: one server, two certificates chosen by SNI. mail.sni.test (Dovecot
# local_name, Postfix tls_server_sni_maps) and www.sni.test (nginx server_name) get
# leaf-ec, any other name leaf-rsa; the records are of leaf-ec. sni-other.test's targets
# are other.sni.test and www.sni-other.test: same servers, same records, but their names
# select leaf-rsa, which the records do not match.
{ apex sni.test
  echo "_imap._tcp SRV 0 1 143 mail.sni.test."
  echo "_submission._tcp SRV 0 1 587 mail.sni.test."
  echo "mail A 192.0.2.40"; echo "mail AAAA 2001:db8::40"
  echo "other A 192.0.2.40"; echo "other AAAA 2001:db8::40"
  echo "www A 192.0.2.34"; echo "www AAAA 2001:db8::34"
  for o in _143._tcp.mail _587._tcp.mail _143._tcp.other _587._tcp.other _443._tcp.www; do
    echo "$o TLSA $EC311"
  done
} > "$work/sni.test"
signed sni.test ECDSAP256SHA256
{ apex sni-other.test
  echo "_imap._tcp SRV 0 1 143 other.sni.test."
  echo "_submission._tcp SRV 0 1 587 other.sni.test."
  echo "www A 192.0.2.34"; echo "www AAAA 2001:db8::34"
  echo "_443._tcp.www TLSA $EC311"
} > "$work/sni-other.test"
signed sni-other.test ECDSAP256SHA256
