#!/usr/bin/env bash
# Does a Valkey build reload certificates renewed the way the kubelet
# renews a mounted Secret (`tls-auto-reload-interval`)? The files are
# symlinks through `..data` to a timestamped directory; a renewal writes a
# new directory and switches `..data` in one rename, then removes the old
# one. The probe runs valkey-server and valkey-sentinel on such a directory,
# renews twice (a new leaf from the same CA, then a new CA and leaf) and
# times, for each, how long until a fresh TLS handshake (openssl s_client,
# verified against the CA of that step) gets the new certificate, and
# checks a new valkey-cli --tls connection with the new CA.
# docs/servers.md has the figures; tests/it/e2e_sources.rs proves the same
# on the whole topology.
#
#   tools/tls-reload-probe.sh .ci/cache/servers/valkey-9.1.2/bin [INTERVAL]
set -euo pipefail
bin=${1:?BIN_DIR with valkey-server, valkey-sentinel, valkey-cli}
interval=${2:-1}
dir=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$dir"; }
trap cleanup EXIT
tls=$dir/tls
mkdir -p "$tls"

ca() { # NAME: a CA key and certificate
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
        -subj "/CN=$1" -keyout "$dir/$1.key" -out "$dir/$1.crt" 2>/dev/null
}
leaf() { # CA SERIAL OUTDIR: a localhost certificate, key and ca.crt in OUTDIR
    mkdir -p "$3"
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=localhost \
        -keyout "$3/tls.key" -out "$dir/leaf.csr" 2>/dev/null
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n' >"$dir/ext"
    openssl x509 -req -in "$dir/leaf.csr" -CA "$dir/$1.crt" -CAkey "$dir/$1.key" \
        -set_serial "0x$2" -days 1 -extfile "$dir/ext" -out "$3/tls.crt" 2>/dev/null
    cp "$dir/$1.crt" "$3/ca.crt"
    chmod 600 "$3/tls.key"
}
swap() { # STAMP: the kubelet's atomic switch of ..data to STAMP
    local old
    old=$(readlink "$tls/..data" || true)
    ln -s "$1" "$tls/..data_tmp"
    mv -T "$tls/..data_tmp" "$tls/..data"
    for f in tls.crt tls.key ca.crt; do [ -L "$tls/$f" ] || ln -s "..data/$f" "$tls/$f"; done
    if [ -n "$old" ]; then rm -rf "${tls:?}/$old"; fi
}
serial() { # PORT CA: the serial a fresh verified handshake gets ("" if none)
    openssl s_client -connect "127.0.0.1:$1" -verify_return_error -CAfile "$2" \
        -verify_hostname localhost </dev/null 2>/dev/null |
        openssl x509 -noout -serial 2>/dev/null | sed 's/serial=//' || true
}
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

ca ca1
leaf ca1 0A "$tls/..2026_01"
swap ..2026_01
common=(--tls-cert-file "$tls/tls.crt" --tls-key-file "$tls/tls.key"
    --tls-ca-cert-file "$tls/ca.crt" --tls-auth-clients no --tls-replication yes
    --tls-auto-reload-interval "$interval")
sport=$(port)
"$bin/valkey-server" --port 0 --tls-port "$sport" --save '' --appendonly no "${common[@]}" \
    >"$dir/server.log" 2>&1 &
pids+=($!)
tport=$(port)
printf 'port 0\ntls-port %s\ntls-cert-file %s/tls.crt\ntls-key-file %s/tls.key\ntls-ca-cert-file %s/ca.crt\ntls-auth-clients no\ntls-replication yes\ntls-auto-reload-interval %s\ndir %s\n' \
    "$tport" "$tls" "$tls" "$tls" "$interval" "$dir" >"$dir/sentinel.conf"
"$bin/valkey-sentinel" "$dir/sentinel.conf" >"$dir/sentinel.log" 2>&1 &
pids+=($!)
for p in "$sport" "$tport"; do
    for _ in $(seq 100); do [ "$(serial "$p" "$dir/ca1.crt")" = 0A ] && break; sleep 0.1; done
    [ "$(serial "$p" "$dir/ca1.crt")" = 0A ] || { cat "$dir"/*.log; echo "no TLS on $p" >&2; exit 1; }
done
"$bin/valkey-server" --version
echo "tls-auto-reload-interval $interval; both serve serial 0A"

renew() { # LABEL CA SERIAL STAMP
    leaf "$2" "$3" "$tls/$4"
    local start end
    start=$(date +%s.%N)
    swap "$4"
    for mode in server:"$sport" sentinel:"$tport"; do
        local p=${mode#*:} got=""
        for _ in $(seq 300); do
            got=$(serial "$p" "$dir/$2.crt")
            [ "$got" = "$3" ] && break
            sleep 0.1
        done
        end=$(date +%s.%N)
        [ "$got" = "$3" ] || { tail -5 "$dir"/*.log; echo "$1: ${mode%%:*} still serves ${got:-nothing verifiable}" >&2; exit 1; }
        printf '%s: %s serves serial %s %.1f s after the ..data switch\n' "$1" "${mode%%:*}" "$3" \
            "$(echo "$end - $start" | bc)"
    done
    "$bin/valkey-cli" --tls --cacert "$dir/$2.crt" -h localhost -p "$sport" PING | grep -q PONG
    "$bin/valkey-cli" --tls --cacert "$dir/$2.crt" -h localhost -p "$tport" PING | grep -q PONG
    echo "$1: new valkey-cli --tls connections to both verify against $2"
}
renew "leaf renewal" ca1 0B ..2026_02
ca ca2
renew "CA change" ca2 0C ..2026_03
for f in server sentinel; do
    printf '%s log: %s reloads\n' "$f" "$(grep -c 'TLS materials reloaded successfully' "$dir/$f.log")"
done
