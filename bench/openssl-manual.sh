#!/usr/bin/env bash
# The procedure users follow by hand today, as the benchmark's reference:
# one CA and three certificates (redis, sentinel, client) with RSA-2048
# keys, using openssl genpkey, req and x509 -req. Only the certificates:
# the Secrets, ConfigMaps, Services and StatefulSets that redis-sentinel-fn
# also writes are not part of it.
#
#   bench/openssl-manual.sh [OUTDIR]     (default: a temporary directory)
set -euo pipefail
out="${1:-$(mktemp -d)}"
mkdir -p "$out"
cd "$out"
name=cache
ns=cache

openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out ca.key 2>/dev/null
openssl req -x509 -new -key ca.key -sha256 -days 3650 \
    -subj "/O=redis-sentinel-fn/CN=$name-ca.$ns" \
    -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
    -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" \
    -out ca.crt

for role in redis sentinel client; do
    case "$role" in
    client)
        sans="DNS:$name-client"
        eku="clientAuth"
        ;;
    *)
        svc="$name-$role"
        sans="DNS:$svc,DNS:$svc.$ns,DNS:$svc.$ns.svc,DNS:$svc.$ns.svc.cluster.local"
        sans="$sans,DNS:*.$svc-headless.$ns.svc,DNS:*.$svc-headless.$ns.svc.cluster.local"
        sans="$sans,DNS:localhost,IP:127.0.0.1,IP:::1"
        eku="serverAuth,clientAuth"
        ;;
    esac
    cat >"$role.ext" <<EOF
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=$eku
subjectAltName=$sans
EOF
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$role.key" 2>/dev/null
    openssl req -new -key "$role.key" -subj "/O=redis-sentinel-fn/CN=$name-$role" -out "$role.csr"
    openssl x509 -req -in "$role.csr" -CA ca.crt -CAkey ca.key -CAcreateserial \
        -sha256 -days 365 -extfile "$role.ext" -out "$role.crt" 2>/dev/null
done
