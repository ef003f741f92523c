SCRIPT=adopt-sentinel
# Migration in (spec.migration; docs/migrating.md): beside a Sentinel that
# started without a monitored master because no Redis pod of this topology
# was master (they replicate from the source). Polls the Redis pods; once
# one reports role master (the cut-over promoted it), this Sentinel starts
# monitoring it with the settings start-sentinel.sh writes, passwords
# through stdin. Until then it monitors nothing: it never sees, judges or
# reconfigures the source or the old deployment. Polls four times a second:
# clients that move to this topology find no master until it adopts one.
me() { cli localhost "$SENTINEL_PORT" "$SENTINEL_CRED" "$@" | tr -d '\r'; }
while kill -0 "$SENTINEL_PID" 2>/dev/null; do
    known=$(me SENTINEL get-master-addr-by-name "$MASTER_NAME" | sed -n 1p)
    if [ -n "$known" ]; then log "already monitoring $MASTER_NAME at $known"; exit 0; fi
    MASTER=$(redis_master_peer "")
    if [ -n "$MASTER" ] && valid_host "$MASTER"; then
        QUORUM=$(topology_value sentinel-quorum 0)
        if [ "$QUORUM" -eq 0 ]; then QUORUM=$(( $(pod_count sentinel) / 2 + 1 )); fi
        r=$(me SENTINEL MONITOR "$MASTER_NAME" "$MASTER" "$REDIS_PORT" "$QUORUM")
        if [ "$r" != OK ]; then log "SENTINEL MONITOR $MASTER refused: $r"; sleep 1; continue; fi
        {
            printf 'SENTINEL SET %s down-after-milliseconds %s failover-timeout %s parallel-syncs %s\n' \
                "$MASTER_NAME" "$DOWN_AFTER_MILLISECONDS" "$FAILOVER_TIMEOUT" "$PARALLEL_SYNCS"
            case "$AUTH_MODE" in
                acl)
                    printf 'SENTINEL SET %s auth-user %s\n' "$MASTER_NAME" "$SENTINEL_USER"
                    printf 'SENTINEL SET %s auth-pass %s\n' "$MASTER_NAME" "$(secret_arg "$AUTH_DIR/sentinel-user-password")" ;;
                password)
                    printf 'SENTINEL SET %s auth-pass %s\n' "$MASTER_NAME" "$(secret_arg "$AUTH_DIR/redis-password")" ;;
            esac
        } | me >/dev/null
        log "cut-over seen: Redis pod $MASTER is master; monitoring it as $MASTER_NAME (quorum $QUORUM)"
        exit 0
    fi
    sleep 0.25
done
