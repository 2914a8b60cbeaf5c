#!/bin/sh
# Stand-in for `acme.sh --home DIR --renew -d D --ecc --force`: a certificate for
# D_ecc/D.key in D.cer and fullchain.cer, then the reload command stored in D.conf
# (Le_ReloadCmd, plain here) with CERT_KEY_PATH and CERT_FULLCHAIN_PATH, in D_ecc.
STANDIN_NAME=acme.sh
. "$(dirname "$0")/standin.sh"
home=$HOME/.acme.sh
domain=
ecc=
while [ $# -gt 0 ]; do
    case $1 in
    --home) home=$2 && shift ;;
    -d) domain=$2 && shift ;;
    --ecc) ecc=_ecc ;;
    esac
    shift
done
dir=$home/$domain$ecc
issue "$dir/$domain.key" "$dir/$domain.cer"
pause
cp "$dir/$domain.cer" "$dir/fullchain.cer"
reload=$(sed -n "s/^Le_ReloadCmd='\(.*\)'$/\1/p" "$dir/$domain.conf")
CERT_KEY_PATH=$dir/$domain.key CERT_FULLCHAIN_PATH=$dir/fullchain.cer
export CERT_KEY_PATH CERT_FULLCHAIN_PATH
cd "$dir" && sh -c "$reload"
