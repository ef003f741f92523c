SCRIPT=start-redis
SELF=$(redis_host "${POD_NAME##*-}")
case "$POD_NAME" in
    "$REDIS_STS"-[0-9]*) ;;
    *) log "POD_NAME $POD_NAME is not a pod of StatefulSet $REDIS_STS"; exit 1 ;;
esac

# sentinel_replicas HOST: how many replicas a Sentinel knows for the master
# (0 when it does not answer). Without one it has nothing to promote.
sentinel_replicas() {
    resolves "$1" || { echo 0; return 0; }
    _n=$(cli "$1" "$SENTINEL_PORT" "$SENTINEL_CRED" SENTINEL master "$MASTER_NAME" | tr -d '\r' |
        awk 'p=="num-slaves"{n=$0} {p=$0} END{print n+0}')
    printf '%s\n' "${_n:-0}"
}

# 1. Who is the master? Ask every Sentinel. An answer naming this pod comes
#    from before this pod went down: wait (bounded) for the Sentinels to
#    fail over, so that a restarted master with stale or empty data rejoins
#    as a replica instead of overwriting the new master. No wait when no
#    Sentinel knows a replica of this pod: nothing can be promoted (a fresh
#    install, where the Sentinels already monitor pod 0 before it starts
#    and pod 1 waits for pod 0 to be Ready).
#    An answer naming a pod that cannot exist (removed by a scale-down:
#    ordinal at or above the count, or a name that does not resolve) is
#    never trusted: the Sentinels will fail over away from it, so it is
#    waited out like a self-naming answer, polling, never by resolving it.
MASTER=""
FAILOVER_WAIT_SECONDS=$(failover_wait_seconds)
deadline=$(( $(date +%s) + FAILOVER_WAIT_SECONDS ))
while :; do
    reached=0; self_named=0; gone_named=0; known_replicas=0; other=""; gone=""
    redis_count=$(pod_count redis)
    sentinel_count=$(pod_count sentinel)
    i=0
    while [ "$i" -lt "$sentinel_count" ]; do
        h=$(sentinel_host "$i")
        ans=$(sentinel_says "$h")
        if [ -n "$ans" ]; then
            reached=$((reached + 1))
            if [ "$ans" = "$SELF" ]; then
                self_named=$((self_named + 1))
                known_replicas=$((known_replicas + $(sentinel_replicas "$h")))
            elif ! usable_pod redis "$ans" "$redis_count"; then
                gone_named=$((gone_named + 1)); gone=$ans
            elif [ -z "$other" ]; then other=$ans; fi
        fi
        i=$((i + 1))
    done
    if [ -n "$other" ]; then MASTER=$other; log "Sentinel names $MASTER as master"; break; fi
    if [ "$reached" -eq 0 ]; then break; fi
    if [ "$gone_named" -eq 0 ] && [ "$known_replicas" -eq 0 ]; then
        MASTER=$SELF; log "Sentinels name this pod as master and know no replica to promote: starting as master"; break
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
        if [ "$self_named" -gt 0 ]; then
            MASTER=$SELF; log "Sentinels still name this pod as master after ${FAILOVER_WAIT_SECONDS}s: starting as master"
        else
            log "Sentinels still name $gone (no such pod) after ${FAILOVER_WAIT_SECONDS}s: asking the Redis pods"
        fi
        break
    fi
    if [ "$gone_named" -gt 0 ]; then
        log "Sentinels ($gone_named of $reached) name $gone, which is not a pod at the current count: waiting for failover"
    else
        log "Sentinels ($self_named of $reached) still name this pod as master: waiting for failover"
    fi
    sleep 2
done

# 2. No Sentinel knows: a Redis peer that is master, else pod 0.
if [ -z "$MASTER" ]; then
    MASTER=$(redis_master_peer "$SELF")
    if [ -n "$MASTER" ]; then
        log "no Sentinel knows the master; peer $MASTER reports role master"
    else
        MASTER=$(redis_host 0)
        log "no Sentinel or peer knows the master: initial layout, master is $MASTER"
    fi
fi
# Migration in (spec.migration): pod 0 of a topology no Sentinel monitors
# yet and without a master replicates from the source (migrate-redis.sh).
MASTER_PORT=$REDIS_PORT; MIGRATING=""
if [ "$MASTER" = "$SELF" ] && [ "$reached" -eq 0 ] && [ -f "$CONFIG_DIR/migrate-redis.sh" ]; then
    src=$(sh "$CONFIG_DIR/migrate-redis.sh" source-master) || { log "migration: the source's master is unknown; exiting to retry"; exit 1; }
    if [ -n "$src" ]; then
        MASTER=${src% *}; MASTER_PORT=${src#* }; MIGRATING=1
        log "migration: replicating from the source's master $MASTER:$MASTER_PORT"
    fi
fi

# 3. Runtime config: the generated redis.conf plus this pod's lines.
mkdir -p "$RUN_DIR"
umask 077
{
    conf_line "include $CONFIG_DIR/redis.conf"
    # Settings only some servers accept: those this binary does (gated.sh).
    gated_conf "$CONFIG_DIR/redis-gated.conf"
    conf_line "replica-announce-ip $SELF"
    # Depends on the pod count, read here so that scaling rolls nothing.
    n=$(pod_count redis)
    if [ "$n" -gt 1 ]; then conf_line "repl-diskless-sync-max-replicas $((n - 1))"; fi
    if [ "$MASTER" != "$SELF" ]; then
        valid_host "$MASTER" || { log "master name is not a host name; exiting"; exit 1; }
        wait_resolves "$MASTER" "$RESOLVE_WAIT_SECONDS" || log "master $MASTER does not resolve yet"
        conf_line "replicaof $MASTER $MASTER_PORT"
    fi
    case "$AUTH_MODE" in
        acl)
            # ACL users (users.rs); the default user is off.
            for f in admin-password replication-password sentinel-user-password app-password; do
                check_secret "$AUTH_DIR/$f"
            done
            conf_line "user default off"
            conf_line "user $ADMIN_USER on $(secret_arg "$AUTH_DIR/admin-password" '>') $ADMIN_RULES"
            conf_line "user $REPLICATION_USER on $(secret_arg "$AUTH_DIR/replication-password" '>') $REPLICATION_RULES"
            conf_line "user $SENTINEL_USER on $(secret_arg "$AUTH_DIR/sentinel-user-password" '>') $SENTINEL_RULES"
            conf_line "user $APP_USER on $(secret_arg "$AUTH_DIR/app-password" '>') $APP_USER_RULES"
            conf_line "masteruser $REPLICATION_USER"
            conf_line "masterauth $(secret_arg "$AUTH_DIR/replication-password")"
            ;;
        password)
            check_secret "$AUTH_DIR/redis-password"
            conf_line "requirepass $(secret_arg "$AUTH_DIR/redis-password")"
            conf_line "masterauth $(secret_arg "$AUTH_DIR/redis-password")"
            ;;
    esac
    if [ -n "$MIGRATING" ]; then sh "$CONFIG_DIR/migrate-redis.sh" conf || exit 1; fi
} > "$RUN_DIR/redis.conf"
if [ "$MASTER" = "$SELF" ]; then log "starting as master ($SELF)"; else log "starting as replica of $MASTER"; fi
if [ -n "$MIGRATING" ]; then REDIS_PID=$$ sh "$CONFIG_DIR/migrate-redis.sh" loop & fi
exec "$SERVER_BIN" "$RUN_DIR/redis.conf"
