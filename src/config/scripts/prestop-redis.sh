SCRIPT=prestop-redis
# preStop hook of a Redis pod: a master hands over before it stops.
# 0. Make Sentinel prefer a replica the rollout has already replaced (see
#    below), while writes still flow.
# 1. Pause writes (CLIENT PAUSE WRITE, in one transaction with a marker
#    PUBLISH) and WAIT until every connected replica acknowledged the
#    marker: every write this master answered before the pause is then on
#    every replica, so whichever one Sentinel promotes has all of them
#    (WAIT 1 alone would not do: the replica that acknowledged a write may
#    not be the one promoted). Paused writers wait; nothing new is answered.
# 2. SENTINEL FAILOVER (forced: no vote, no down-after wait) through the
#    Sentinel chosen before the pause.
# 3. Once the replica that Sentinel promotes reports role master
#    (promoted from this master's history), follow it (REPLICAOF), close
#    the paused clients' connections (they ask Sentinel again: a write that
#    reaches this pod before the Sentinel names the new master is refused
#    with READONLY, never accepted) and unpause: this pod never answers
#    another write as master. Then wait until the Sentinel names it.
# 4. Wait until this pod's link to the new master is up, then return:
#    kubelet sends SIGTERM and Redis stops as a replica.
# Everything is bounded by HANDOVER_SECONDS (less than the pod's
# terminationGracePeriodSeconds); on failure the writes resume and Sentinel
# fails over after down-after-milliseconds as it would without this hook.
log() { echo "$(date -u +%H:%M:%S.%3N) $SCRIPT: $*" >&2; }
SELF=$(redis_host "${POD_NAME##*-}")
DEADLINE=$(( $(date +%s) + HANDOVER_SECONDS ))
me() { cli localhost "$REDIS_PORT" "$ADMIN_CRED" "$@" | tr -d '\r'; }
field() { printf '%s\n' "$2" | sed -n "s/^$1://p"; }
in_time() { [ "$(date +%s)" -lt "$DEADLINE" ]; }
give_up() { me CLIENT UNPAUSE >/dev/null; restore_priorities; log "$*; writes resumed, Sentinel fails over by itself"; exit 1; }

info=$(me INFO replication)
role=$(field role "$info")
if [ "$role" != master ]; then log "role ${role:-unknown}: nothing to hand over"; exit 0; fi
replicas=$(field connected_slaves "$info")
if [ "${replicas:-0}" -eq 0 ]; then log "master without replicas: nothing to hand over to"; exit 0; fi
replid=$(field master_replid "$info")

# The Sentinel to ask: the first that names this pod (before pausing, so
# that the pause lasts as short as possible).
leader=""
i=0
while [ "$i" -lt "$SENTINEL_REPLICAS" ] && [ -z "$leader" ]; do
    h=$(sentinel_host "$i")
    if [ "$(sentinel_says "$h")" = "$SELF" ]; then leader=$h; fi
    i=$((i + 1))
done
if [ -z "$leader" ]; then log "no Sentinel names this pod as master: nothing to hand over"; exit 0; fi

# 0. Prefer the replicas this rollout has already replaced: under the
#    StatefulSet RollingUpdate (highest ordinal first) those are the higher
#    ordinals; promoting a lower one would cost a second handover when the
#    rollout reaches it. They get a lower replica-priority, the others the
#    default; Sentinel reads priorities from INFO (every 10 s), so wait
#    (bounded, writes still flow) until the Sentinel's view has them.
ord=${POD_NAME##*-}
preferred=0
i=0
while [ "$i" -lt "$REDIS_REPLICAS" ]; do
    h=$(redis_host "$i")
    if [ "$i" != "$ord" ] && resolves "$h"; then
        prio=$DEFAULT_PRIORITY
        if [ "$i" -gt "$ord" ]; then prio=$PREFERRED_PRIORITY; fi
        if [ "$(cli "$h" "$REDIS_PORT" "$ADMIN_CRED" CONFIG SET replica-priority "$prio" | tr -d '\r')" = OK ] &&
            [ "$prio" = "$PREFERRED_PRIORITY" ]; then preferred=$((preferred + 1)); fi
    fi
    i=$((i + 1))
done
seen_preferred() {
    cli "$leader" "$SENTINEL_PORT" "$SENTINEL_CRED" SENTINEL replicas "$MASTER_NAME" | tr -d '\r' |
        awk -v p="$PREFERRED_PRIORITY" 'prev=="slave-priority" && $0==p {n++} {prev=$0} END{print n+0}'
}
if [ "$preferred" -gt 0 ]; then
    wait_until=$(( $(date +%s) + PRIORITY_WAIT_SECONDS ))
    until [ "$(seen_preferred)" -ge "$preferred" ] || [ "$(date +%s)" -ge "$wait_until" ]; do sleep 0.5; done
    log "Sentinel $leader sees $(seen_preferred) of $preferred replicas already replaced by the rollout as preferred"
fi
restore_priorities() {
    i=$((ord + 1))
    while [ "$i" -lt "$REDIS_REPLICAS" ]; do
        h=$(redis_host "$i")
        if resolves "$h"; then cli "$h" "$REDIS_PORT" "$ADMIN_CRED" CONFIG SET replica-priority "$DEFAULT_PRIORITY" >/dev/null; fi
        i=$((i + 1))
    done
}

# 1. pause, then every replica has every write
t0=$(date +%s)
out=$(printf 'MULTI\nPUBLISH %s %s\nCLIENT PAUSE %s WRITE\nEXEC\nWAIT %s %s\n' \
    "$HANDOVER_CHANNEL" "$SELF" "$(( (DEADLINE - t0) * 1000 ))" "$replicas" "$SYNC_WAIT_MS" | me)
acked=$(printf '%s\n' "$out" | tail -n 1)
case "$acked" in
    ''|*[!0-9]*) give_up "pausing writes failed: $(printf '%s' "$out" | tr '\n' ' ')" ;;
esac
if [ "$acked" -lt "$replicas" ]; then
    log "writes paused; only $acked of $replicas replicas confirmed every write within ${SYNC_WAIT_MS}ms"
else
    log "writes paused; all $replicas replicas have every write"
fi

# 2. forced failover
ans=$(cli "$leader" "$SENTINEL_PORT" "$SENTINEL_CRED" SENTINEL FAILOVER "$MASTER_NAME" | tr -d '\r')
case "$ans" in
    OK|INPROG*) log "Sentinel $leader: SENTINEL FAILOVER $MASTER_NAME: $ans" ;;
    *) give_up "Sentinel $leader refused SENTINEL FAILOVER: ${ans:-no answer}" ;;
esac

# 3. follow the promoted replica as soon as it is master (the Sentinel
#    flags it `promoted` when it selects it, and names it once its INFO
#    shows the promotion, up to a second later), release the clients
new=""
polls=0
while [ -z "$new" ] && in_time; do
    polls=$((polls + 1))
    h=$(cli "$leader" "$SENTINEL_PORT" "$SENTINEL_CRED" SENTINEL replicas "$MASTER_NAME" | tr -d '\r' |
        awk 'prev=="ip"{ip=$0} prev=="flags" && $0 ~ /promoted/ {print ip} {prev=$0}' | sed -n 1p)
    if [ -z "$h" ]; then
        h=$(cli "$leader" "$SENTINEL_PORT" "$SENTINEL_CRED" SENTINEL get-master-addr-by-name "$MASTER_NAME" | tr -d '\r' | sed -n 1p)
    fi
    if [ -n "$h" ] && [ "$h" != "$SELF" ]; then
        p=$(cli "$h" "$REDIS_PORT" "$REDIS_CRED" INFO replication | tr -d '\r')
        if [ "$(field role "$p")" = master ] && [ "$(field master_replid2 "$p")" = "$replid" ]; then
            new=$h
        fi
    fi
    [ -n "$new" ] || sleep 0.02
done
[ -n "$new" ] || give_up "no replica was promoted within ${HANDOVER_SECONDS}s"
me REPLICAOF "$new" "$REDIS_PORT" >/dev/null
me CLIENT KILL TYPE normal >/dev/null
me CLIENT KILL TYPE pubsub >/dev/null
me CLIENT UNPAUSE >/dev/null
log "$new promoted (poll $polls): following it; clients released"
until [ "$(sentinel_says "$leader")" = "$new" ] || ! in_time; do sleep 0.05; done
log "Sentinel $leader names $new"

# 4. this pod is a replica of the new master
until [ "$(field master_link_status "$(me INFO replication)")" = up ] || ! in_time; do sleep 0.05; done
restore_priorities
log "handover to $new done in $(( $(date +%s) - t0 ))s; link $(field master_link_status "$(me INFO replication)")"
