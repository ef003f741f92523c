# ---- certificate renewal (the files change under a running Sentinel) ----
# The kubelet swaps the mounted files atomically (certificates renewed
# outside the function; or any certificates, on an image that reloads them
# itself, for a binary that does not). Sentinel cannot reload TLS (no CONFIG SET in Sentinel mode), so
# this script stays in charge of redis-sentinel and restarts it on its own
# rewritten config when the files change, one Sentinel at a time and never
# below quorum:
# - Sentinel i restarts only in its time slot: (now / TLS_RESTART_SLOT_SECONDS)
#   % SENTINEL_REPLICAS = i, so no two restart together;
# - and only when at least peers_needed peers answer, have been up for
#   TLS_PEER_MIN_UP_SECONDS and see the master as ok (quorum and a majority
#   of Sentinels remain while it restarts); otherwise it waits.
tls_sum() { cat "$TLS_DIR/tls.crt" "$TLS_DIR/tls.key" "$TLS_DIR/ca.crt" 2>/dev/null | cksum; }
ORDINAL=${POD_NAME##*-}
# peers_ready: peer Sentinels that are up long enough and see the master ok.
peers_ready() {
    _ok=0; _i=0
    while [ "$_i" -lt "$SENTINEL_REPLICAS" ]; do
        _h=$(sentinel_host "$_i")
        if [ "$_i" != "$ORDINAL" ] && resolves "$_h"; then
            _up=$(cli "$_h" "$SENTINEL_PORT" "$SENTINEL_CRED" INFO | tr -d '\r' |
                awk -F: -v min="$TLS_PEER_MIN_UP_SECONDS" '$1=="uptime_in_seconds"{u=$2} /^master0:/ && /status=ok/{m=1} END{print (u>=min && m) ? 1 : 0}')
            _ok=$((_ok + ${_up:-0}))
        fi
        _i=$((_i + 1))
    done
    echo "$_ok"
}
# peers_needed: peer Sentinels that must be ready before this one restarts:
# enough for the quorum and a majority while it is down (at most every
# peer). From the topology ConfigMap, read each time: a scale changes it
# without restarting this pod.
peers_needed() {
    _pn=$(pod_count sentinel)
    _pq=$(topology_value sentinel-quorum 0)
    if [ "$_pq" -lt $((_pn / 2 + 1)) ]; then _pq=$((_pn / 2 + 1)); fi
    if [ "$_pq" -gt $((_pn - 1)) ]; then _pq=$((_pn - 1)); fi
    echo "$_pq"
}
SENTINEL_PID=""
start_sentinel() { "$SENTINEL_BIN" "$RUN_DIR/sentinel.conf" & SENTINEL_PID=$!; }
stop_sentinel() {
    kill -TERM "$SENTINEL_PID" 2>/dev/null || true
    wait "$SENTINEL_PID" 2>/dev/null || true
}
trap 'stop_sentinel; exit 0' TERM INT
LOADED=$(tls_sum)
log "watching the certificate files: Sentinel restarts (in its slot) when they change"
start_sentinel
PENDING=0
while kill -0 "$SENTINEL_PID" 2>/dev/null; do
    if [ "$PENDING" -eq 1 ]; then sleep 1 & else sleep "$TLS_WATCH_SECONDS" & fi
    wait $! || true
    NOW=$(tls_sum)
    if [ "$NOW" = "$LOADED" ]; then PENDING=0; continue; fi
    if [ "$PENDING" -eq 0 ]; then log "certificate files changed: restarting in this Sentinel's slot"; PENDING=1; fi
    if [ $(( $(date +%s) / TLS_RESTART_SLOT_SECONDS % SENTINEL_REPLICAS )) -ne "$ORDINAL" ]; then continue; fi
    READY=$(peers_ready)
    NEEDED=$(peers_needed)
    if [ "$READY" -lt "$NEEDED" ]; then
        log "renewed certificate waits: $READY of $NEEDED peer Sentinels ready"
        continue
    fi
    log "restarting Sentinel to load the renewed certificate ($READY peers ready)"
    LOADED=$NOW
    PENDING=0
    stop_sentinel
    start_sentinel
done
wait "$SENTINEL_PID"
