SCRIPT=start-sentinel
SELF=$(sentinel_host "${POD_NAME##*-}")
case "$POD_NAME" in
    "$SENTINEL_STS"-[0-9]*) ;;
    *) log "POD_NAME $POD_NAME is not a pod of StatefulSet $SENTINEL_STS"; exit 1 ;;
esac

# 1. The current master: from a peer Sentinel, else from a Redis pod that
#    reports role master, else pod 0 (the same initial target everywhere,
#    so that Sentinels never start split). A peer naming a pod that cannot
#    exist (removed by a scale-down) is not trusted: the peers will fail
#    over away from it; wait for that (bounded, polling), or for a Redis pod
#    that reports role master.
MASTER=""
deadline=""
while :; do
    gone=""
    redis_count=$(pod_count redis)
    sentinel_count=$(pod_count sentinel)
    i=0
    while [ "$i" -lt "$sentinel_count" ]; do
        h=$(sentinel_host "$i")
        if [ "$h" != "$SELF" ]; then
            ans=$(sentinel_says "$h")
            if [ -n "$ans" ] && usable_pod redis "$ans" "$redis_count"; then
                MASTER=$ans; log "peer Sentinel $h names $MASTER as master"; break
            elif [ -n "$ans" ]; then gone=$ans; fi
        fi
        i=$((i + 1))
    done
    if [ -n "$MASTER" ] || [ -z "$gone" ]; then break; fi
    MASTER=$(redis_master_peer "")
    if [ -n "$MASTER" ]; then log "peers name $gone (no such pod); Redis pod $MASTER reports role master"; break; fi
    if [ -z "$deadline" ]; then deadline=$(( $(date +%s) + $(failover_wait_seconds) )); fi
    if [ "$(date +%s)" -ge "$deadline" ]; then log "peers still name $gone (no such pod): giving up waiting"; break; fi
    log "peer Sentinels name $gone, which is not a pod at the current count: waiting for failover"
    sleep 2
done
if [ -z "$MASTER" ]; then
    MASTER=$(redis_master_peer "")
    if [ -n "$MASTER" ]; then log "Redis pod $MASTER reports role master"; fi
fi
ADOPT=""
if [ -z "$MASTER" ] && [ -f "$CONFIG_DIR/adopt-sentinel.sh" ]; then
    # Migration in (spec.migration): no new pod is master before the
    # cut-over; monitor nothing until one is (adopt-sentinel.sh).
    ADOPT=1; MASTER=none
    log "migration: no Redis pod is master yet; starting without a monitored master"
fi
if [ -z "$MASTER" ]; then
    MASTER=$(redis_host 0)
    log "no peer knows the master: monitoring the initial master $MASTER"
fi

if [ -n "$ADOPT" ]; then
    mkdir -p "$RUN_DIR"
    umask 077
    {
        cat "$CONFIG_DIR/sentinel.conf"
        gated_conf "$CONFIG_DIR/sentinel-gated.conf"
        conf_line "sentinel myid $(printf '%s' "$SELF" | sha1sum | cut -c1-40)"
        conf_line "sentinel announce-ip $SELF"
        conf_line "sentinel announce-port $SENTINEL_PORT"
        if [ -n "$AUTH_MODE" ]; then
            check_secret "$AUTH_DIR/sentinel-password"
            conf_line "requirepass $(secret_arg "$AUTH_DIR/sentinel-password")"
        fi
    } > "$RUN_DIR/sentinel.conf"
    SENTINEL_PID=$$ sh "$CONFIG_DIR/adopt-sentinel.sh" &
else
if ! valid_host "$MASTER"; then
    log "master name is not a host name; exiting to retry"
    exit 1
fi

# 2. Sentinel refuses a monitor target that does not resolve.
if ! wait_resolves "$MASTER" "$RESOLVE_WAIT_SECONDS"; then
    log "master $MASTER does not resolve after ${RESOLVE_WAIT_SECONDS}s; exiting to retry"
    exit 1
fi

# 3. Writable config: Sentinel rewrites its config file.
mkdir -p "$RUN_DIR"
umask 077
QUORUM=$(topology_value sentinel-quorum 0)
if [ "$QUORUM" -eq 0 ]; then QUORUM=$(( $(pod_count sentinel) / 2 + 1 )); fi
MYID=$(printf '%s' "$SELF" | sha1sum | cut -c1-40)
{
    cat "$CONFIG_DIR/sentinel.conf"
    # Settings only some servers accept: those this binary does (gated.sh).
    gated_conf "$CONFIG_DIR/sentinel-gated.conf"
    conf_line "sentinel myid $MYID"
    conf_line "sentinel announce-ip $SELF"
    conf_line "sentinel announce-port $SENTINEL_PORT"
    conf_line "sentinel monitor $MASTER_NAME $MASTER $REDIS_PORT $QUORUM"
    # Every other existing Redis pod is a known replica: Sentinel learns
    # replicas only from the master's INFO, so a former master back from a
    # partition after every Sentinel restarted would otherwise stay a master
    # no one demotes. Pods not created yet (a fresh install) are left out:
    # start-redis.sh reads a known replica as one Sentinel could promote.
    i=0; n=$(pod_count redis)
    while [ "$i" -lt "$n" ]; do
        h=$(redis_host "$i")
        if [ "$h" != "$MASTER" ] && resolves "$h"; then conf_line "sentinel known-replica $MASTER_NAME $h $REDIS_PORT"; fi
        i=$((i + 1))
    done
    conf_line "sentinel down-after-milliseconds $MASTER_NAME $DOWN_AFTER_MILLISECONDS"
    conf_line "sentinel failover-timeout $MASTER_NAME $FAILOVER_TIMEOUT"
    conf_line "sentinel parallel-syncs $MASTER_NAME $PARALLEL_SYNCS"
    case "$AUTH_MODE" in
        acl)
            check_secret "$AUTH_DIR/sentinel-user-password"
            conf_line "sentinel auth-user $MASTER_NAME $SENTINEL_USER"
            conf_line "sentinel auth-pass $MASTER_NAME $(secret_arg "$AUTH_DIR/sentinel-user-password")"
            ;;
        password)
            check_secret "$AUTH_DIR/redis-password"
            conf_line "sentinel auth-pass $MASTER_NAME $(secret_arg "$AUTH_DIR/redis-password")"
            ;;
    esac
    if [ -n "$AUTH_MODE" ]; then
        check_secret "$AUTH_DIR/sentinel-password"
        conf_line "requirepass $(secret_arg "$AUTH_DIR/sentinel-password")"
    fi
} > "$RUN_DIR/sentinel.conf"
log "starting Sentinel $SELF monitoring $MASTER_NAME at $MASTER"
fi
# 4. Beside Sentinel (same container, a child of the Sentinel process after
#    the exec): the prune loop, which forgets removed pods and applies the
#    quorum. It ends when Sentinel does.
SENTINEL_PID=$$ sh "$CONFIG_DIR/prune-sentinel.sh" &
exec "$SENTINEL_BIN" "$RUN_DIR/sentinel.conf"
