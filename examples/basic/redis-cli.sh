# file: redis-cli.sh
: "${TLS:=/etc/redis-client/tls}" "${AUTH:=/etc/redis-client/auth}"
: "${SENTINEL:=cache-sentinel.cache.svc.cluster.local}" "${MASTER_NAME:=cache}"
tls="--tls --cacert $TLS/ca.crt --cert $TLS/tls.crt --key $TLS/tls.key"
# 1. Which pod is the master? (Sentinel's own password, no user name)
set -- $(REDISCLI_AUTH="$(cat "$AUTH/sentinel-password")" redis-cli $tls --no-auth-warning \
    -h "$SENTINEL" -p 26379 SENTINEL get-master-addr-by-name "$MASTER_NAME")
echo "master: $1:$2"
# 2. Write to it as the application user (the certificate covers the name Sentinel gave)
REDISCLI_AUTH="$(cat "$AUTH/app-password")" redis-cli $tls --no-auth-warning \
    --user "$(cat "$AUTH/app-username")" -h "$1" -p "$2" SET greeting hello
