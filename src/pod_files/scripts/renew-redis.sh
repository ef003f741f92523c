# ---- certificate renewal watcher (tls.source is not generated) ----
# Someone else renews the certificates (cert-manager, the service CA, the
# user); the kubelet swaps the mounted files atomically (a ..data symlink
# switch) and the pod-template hash cannot see it. Every TLS_WATCH_SECONDS
# this background loop compares the files with those Redis loaded and, when
# they changed, has Redis re-read certificate, key and CA together in one
# CONFIG SET (Redis >= 7.0.1), over the unix socket (no TLS: it works
# whatever the files hold). Open connections and replication links stay up.
# It ends with Redis.
SCRIPT=start-redis # log() names it; the watcher starts before the body sets it
tls_sum() { cat "$TLS_DIR/tls.crt" "$TLS_DIR/tls.key" "$TLS_DIR/ca.crt" 2>/dev/null | cksum; }
reload_tls() {
    _user=${RELOAD_CRED%%:*}; _pw=${RELOAD_CRED#*:}
    set -- CONFIG SET tls-cert-file "$TLS_DIR/tls.crt" tls-key-file "$TLS_DIR/tls.key" tls-ca-cert-file "$TLS_DIR/ca.crt"
    if [ -n "$RELOAD_CRED" ]; then
        if [ -n "$_user" ]; then set -- --user "$_user" "$@"; fi
        REDISCLI_AUTH=$(cat "$_pw") timeout "$CLI_TIMEOUT" "$CLI_BIN" --no-auth-warning -s "$RUN_DIR/redis.sock" "$@" 2>&1
    else
        timeout "$CLI_TIMEOUT" "$CLI_BIN" -s "$RUN_DIR/redis.sock" "$@" 2>&1
    fi
}
watch_tls() {
    _main=$1
    _loaded=$(tls_sum)
    while kill -0 "$_main" 2>/dev/null; do
        sleep "$TLS_WATCH_SECONDS"
        _now=$(tls_sum)
        if [ "$_now" = "$_loaded" ]; then continue; fi
        _r=$(reload_tls | tr -d '\r') || true
        if [ "$_r" = "OK" ]; then
            _loaded=$_now
            log "renewed certificate files loaded (CONFIG SET tls-cert-file tls-key-file tls-ca-cert-file)"
        else
            log "renewed certificate files not loaded yet (${_r:-no answer}); retrying"
        fi
    done
}
watch_tls $$ &
