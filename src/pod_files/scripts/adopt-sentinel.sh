SCRIPT=adopt-sentinel
# Migration in (spec.migration; docs/migrating.md): beside a Sentinel that
# started without a monitored master because no Redis pod of this topology
# was master (they replicate from the source). Polls the Redis pods; once
# one reports role master (the cut-over promoted it), this Sentinel starts
# monitoring it with the settings start-sentinel.sh writes, passwords
# through stdin. Until then it monitors nothing: it never sees, judges or
# reconfigures the source or the old deployment. Polls every second during
# the sync (the cut-over file every 100 ms); once the cut-over is asked,
# pod 0 every 100 ms: clients that move to this topology find no master
# until it adopts one.
me() { cli localhost "$SENTINEL_PORT" "$SENTINEL_CRED" "$@" | tr -d '\r'; }
cutover_asked() { [ "$({ tr -d ' \r\n' < "$TOPOLOGY_DIR/migration-cutover"; } 2>/dev/null)" = yes ]; }
n=0
while kill -0 "$SENTINEL_PID" 2>/dev/null; do
    # Once the cut-over is asked: pod 0 (the one it promotes) every 100 ms,
    # the rest every second; before: everything every second.
    full=1
    if cutover_asked && [ $((n % 10)) -ne 0 ]; then full=""; fi
    n=$((n + 1))
    if [ -n "$full" ]; then
        known=$(me SENTINEL get-master-addr-by-name "$MASTER_NAME" | sed -n 1p)
        if [ -n "$known" ]; then log "already monitoring $MASTER_NAME at $known"; exit 0; fi
    fi
    MASTER=""
    p0=$(redis_host 0)
    if resolves "$p0" && cli "$p0" "$REDIS_PORT" "$REDIS_CRED" INFO replication | tr -d '\r' | grep -qx 'role:master'; then
        MASTER=$p0
    fi
    if [ -z "$MASTER" ] && [ -n "$full" ]; then MASTER=$(redis_master_peer ""); fi
    if [ -n "$MASTER" ] && valid_host "$MASTER"; then
        QUORUM=$(topology_value sentinel-quorum 0)
        if [ "$QUORUM" -eq 0 ]; then QUORUM=$(( $(pod_count sentinel) / 2 + 1 )); fi
        # One session: the monitor (clients are answered from here on),
        # then its timing and credentials (passwords through stdin).
        r=$({
            printf 'SENTINEL MONITOR %s %s %s %s\n' "$MASTER_NAME" "$MASTER" "$REDIS_PORT" "$QUORUM"
            printf 'SENTINEL SET %s down-after-milliseconds %s failover-timeout %s parallel-syncs %s\n' \
                "$MASTER_NAME" "$DOWN_AFTER_MILLISECONDS" "$FAILOVER_TIMEOUT" "$PARALLEL_SYNCS"
            case "$AUTH_MODE" in
                acl)
                    printf 'SENTINEL SET %s auth-user %s\n' "$MASTER_NAME" "$SENTINEL_USER"
                    printf 'SENTINEL SET %s auth-pass %s\n' "$MASTER_NAME" "$(secret_arg "$AUTH_DIR/sentinel-user-password")" ;;
                password)
                    printf 'SENTINEL SET %s auth-pass %s\n' "$MASTER_NAME" "$(secret_arg "$AUTH_DIR/redis-password")" ;;
            esac
        } | me)
        if [ "$(printf '%s\n' "$r" | sed -n 1p)" != OK ]; then log "SENTINEL MONITOR $MASTER refused: $(printf '%s\n' "$r" | sed -n 1p)"; sleep 1; continue; fi
        if printf '%s\n' "$r" | grep -qv '^OK$'; then log "SENTINEL SET for $MASTER_NAME: $(printf '%s' "$r" | tr '\n' ' ')"; fi
        log "cut-over seen: Redis pod $MASTER is master; monitoring it as $MASTER_NAME (quorum $QUORUM); clock (ms since the epoch): adopted $(now_ms)"
        exit 0
    fi
    # During the sync a second between polls, but the ask ends the wait
    # within 100 ms (a wait of a whole second delayed the adoption of a
    # pod 0 promoted soon after the ask).
    w=0
    while [ "$w" -lt 10 ]; do
        sleep 0.1; w=$((w + 1))
        if cutover_asked; then break; fi
    done
done
