SCRIPT=prestop-redis
# preStop hook of a Redis pod: a master hands over before it stops.
# 0. Pick one target replica (see below), make it the one Sentinel
#    prefers and wait, while writes still flow, for the moment in
#    Sentinel's INFO reads of it that makes the failover quickest.
# 1. Pause writes (CLIENT PAUSE WRITE, in one transaction with a read of
#    the replication offset) and wait until every online replica applied
#    the stream up to that offset: every write this master answered is then
#    on every replica, so whichever one Sentinel promotes has all of them
#    (WAIT 1 alone would not do: the replica that acknowledged a write may
#    not be the one promoted). Paused writers wait; nothing new is answered.
# 2. SENTINEL FAILOVER (forced: no vote, no down-after wait) through the
#    Sentinel chosen before the pause.
# 3. Once the replica that Sentinel promotes reports role master
#    (promoted from this master's history) and the Sentinel names it
#    (bounded: released earlier, clients would ask the Sentinel, be sent
#    back here, get READONLY and have to ask again), follow it (REPLICAOF),
#    close the paused clients' connections (they ask Sentinel again; a
#    write that still reaches this pod is refused with READONLY, never
#    accepted) and unpause: this pod never answers another write as master.
# 4. Wait until this pod's link to the new master is up, then return:
#    kubelet sends SIGTERM and Redis stops as a replica.
# Everything is bounded by HANDOVER_SECONDS (less than the pod's
# terminationGracePeriodSeconds); on failure the writes resume and Sentinel
# fails over after down-after-milliseconds as it would without this hook.
SELF=$(redis_host "${POD_NAME##*-}")
DEADLINE=$(( $(date +%s) + HANDOVER_SECONDS ))
me() { cli localhost "$REDIS_PORT" "$ADMIN_CRED" "$@" | tr -d '\r'; }
field() { printf '%s\n' "$2" | sed -n "s/^$1://p"; }
in_time() { [ "$(date +%s)" -lt "$DEADLINE" ]; }
give_up() {
    kill ${named_pid:-} ${seen_pid:-} 2>/dev/null || true
    me CLIENT UNPAUSE >/dev/null
    if [ -n "${ping_period:-}" ]; then me CONFIG SET repl-ping-replica-period "$ping_period" >/dev/null; fi
    restore_priorities
    log "$*; writes resumed, Sentinel fails over by itself"
    exit 1
}

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

# 0. One replica to hand over to (`target`), made the only one Sentinel
#    prefers (replica-priority), while writes still flow:
#    - the lowest ordinal above this pod whose link to this master is up:
#      under the StatefulSet RollingUpdate (highest ordinal first) those
#      are already replaced, and the lowest of them is the last-but-one pod
#      the next rollout reaches, so that rollout hands over once;
#    - else the lowest ordinal below (this pod is the highest: the first a
#      rollout replaces, or the first a scale-down removes; a scale-down
#      removes the highest ordinals, so never hand over upwards then).
ord=${POD_NAME##*-}
linked_to_me() {
    [ "$(cli "$1" "$REDIS_PORT" "$ADMIN_CRED" INFO replication | tr -d '\r' |
        awk -F: '$1=="role"{r=$2} $1=="master_host"{m=$2} $1=="master_link_status"{l=$2}
            END{print r "," m "," l}')" = "slave,$SELF,up" ]
}
target=""
for i in $(seq $((ord + 1)) $((REDIS_REPLICAS - 1))) $(seq 0 $((ord - 1))); do
    h=$(redis_host "$i")
    if resolves "$h" && linked_to_me "$h"; then target=$h; break; fi
done
set_priorities() { # PRIORITY_FOR_TARGET
    i=0
    while [ "$i" -lt "$REDIS_REPLICAS" ]; do
        h=$(redis_host "$i")
        if [ "$i" != "$ord" ] && resolves "$h"; then
            prio=$DEFAULT_PRIORITY
            if [ "$h" = "$target" ]; then prio=$1; fi
            # Best effort: Sentinel's own REPLICAOF transaction on a
            # replica closes normal connections (CLIENT KILL TYPE normal).
            cli "$h" "$REDIS_PORT" "$ADMIN_CRED" CONFIG SET replica-priority "$prio" >/dev/null || true
        fi
        i=$((i + 1))
    done
}
restore_priorities() { [ -z "$target" ] || set_priorities "$DEFAULT_PRIORITY"; }
# The leader's view of the target: "<priority> <ms since its last INFO>".
target_view() {
    cli "$leader" "$SENTINEL_PORT" "$SENTINEL_CRED" SENTINEL replicas "$MASTER_NAME" | tr -d '\r' |
        awk -v t="$target" -v p="$PREFERRED_PRIORITY" '
            NR % 2 == 1 {k=$0; next}
            k=="name" {n++} k=="ip" {ip[n]=$0} k=="slave-priority" {pr[n]=$0} k=="info-refresh" {ir[n]=$0}
            END{others=0; for (j=1; j<=n; j++) if (ip[j]!=t && pr[j]+0>0 && pr[j]+0<=p+0) others++
                for (j=1; j<=n; j++) if (ip[j]==t) print (others ? "other" : pr[j]), ir[j]+0}'
}
# Sentinel reads priorities from INFO (every 10 s) and, during a failover,
# reads a replica's INFO once a second counted from its last read: it sees
# the promotion (and names the new master) at the first read after its
# REPLICAOF NO ONE, which it sends two timer ticks (at most 0.2 s) after
# SENTINEL FAILOVER. So SENTINEL FAILOVER should reach the leader when its
# last read of the target is about PHASE_GOAL_MS old (never more than
# PHASE_LATEST_MS): its next read then comes right after the promotion
# instead of a second later (a read due at once when the failover starts
# shows no promotion yet). Between the pause below and that command come
# three round trips (the pause, the replicas' offsets, the command); on a
# busy node each takes 0.1-0.3 s, so the hook measures one (each view it
# asks for) and pauses earlier in the phase: at ALIGN_MS at most, at
# PHASE_GOAL_MS less three round trips when they are slow. It waits for a
# fresh read (bounded, writes still flow) with the target preferred.
# align_with_sentinel: sets aligned, aligned_at and at (the read's age
# then) when done; rtt is the last round trip; `early` the pause's
# measured duration after a missed phase.
aligned=""; aligned_at=0; at=0; rtt=0; early=0
align_with_sentinel() {
    aligned=""
    wait_until=$(( $(date +%s) + PRIORITY_WAIT_SECONDS ))
    while [ "$(date +%s)" -lt "$wait_until" ]; do
        _a=$(now_ms)
        read -r view_priority view_read <<EOF
$(target_view)
EOF
        set -- "${view_priority:-}" "${view_read:-}"
        rtt=$(( $(now_ms) - _a ))
        d=$(( 3 * rtt )); [ "$early" -le "$d" ] || d=$early
        goal=$(( PHASE_GOAL_MS - d )); [ "$goal" -le "$ALIGN_MS" ] || goal=$ALIGN_MS
        # Never stricter than one poll: a fresh read is caught, not waited
        # for ten seconds more.
        latest=$(( PHASE_LATEST_MS - d )); [ "$latest" -ge $(( rtt + 100 )) ] || latest=$(( rtt + 100 ))
        if [ "${1:-}" = "$PREFERRED_PRIORITY" ] && [ "${2:-9999}" -le "$latest" ]; then
            at=$2
            if [ "$2" -lt "$goal" ]; then
                sleep "$(printf '%d.%03d' $(( (goal - $2) / 1000 )) $(( (goal - $2) % 1000 )))"; at=$goal
            fi
            aligned=yes; aligned_at=$(now_ms)
            return 0
        fi
        sleep 0.05
    done
}

# 1. pause, then every replica has every write. The pause and the read of
#    the replication offset are one transaction: no write is answered after
#    that offset. Not WAIT: while writes are paused Redis does not ask its
#    replicas for their offsets, so WAIT would wait for their once-a-second
#    report; each replica's INFO says at once how much it has applied.
#    The same transaction stops this master's PING to its replicas
#    (`repl-ping-replica-period`, restored if the handover fails): a PING
#    is written to the replication stream even while writes are paused,
#    and one sent after the promotion, before this pod follows, leaves the
#    other replicas ahead of the new master, so they need a full resync and
#    the new master has no replica to acknowledge writes for seconds.
# behind: how many online replicas have not applied the stream up to
# `offset` (all asked at once).
behind() {
    for h in $online; do
        (
            o=$(field slave_repl_offset "$(cli "$h" "$REDIS_PORT" "$ADMIN_CRED" INFO replication | tr -d '\r')")
            case "$o" in ''|*[!0-9]*) echo late ;; *) [ "$o" -ge "$offset" ] || echo late ;; esac
        ) &
    done | { grep -c late || true; }
}
pause_and_sync() {
    t0=$(now_ms)
    out=$(printf 'MULTI\nCONFIG SET repl-ping-replica-period %s\nCLIENT PAUSE %s WRITE\nINFO replication\nEXEC\n' \
        "$NO_PING_SECONDS" "$(( DEADLINE * 1000 - t0 ))" | me)
    offset=$(field master_repl_offset "$out")
    case "$offset" in
        ''|*[!0-9]*) give_up "pausing writes failed: $(printf '%s' "$out" | head -n 3 | tr '\n' ' ')" ;;
    esac
    online=$(printf '%s\n' "$out" | awk -F'[:=,]' '/^slave[0-9]+:/ {h=""; s=""
        for (j = 2; j < NF; j += 2) { if ($j == "ip") h = $(j + 1); if ($j == "state") s = $(j + 1) }
        if (s == "online" && h != "") print h}')
    replicas=$(printf '%s\n' "$online" | { grep -c . || true; })
    late=$(behind)
    while [ "$late" -gt 0 ] && [ $(( $(now_ms) - t0 )) -lt "$SYNC_WAIT_MS" ]; do
        sleep 0.01
        late=$(behind)
    done
    if [ "$late" -gt 0 ]; then
        log "writes paused; $late of $replicas replicas had not applied every write within ${SYNC_WAIT_MS}ms"
    else
        log "writes paused; all $replicas replicas applied every write (offset $offset) in $(( $(now_ms) - t0 ))ms"
    fi
}

ping_period=$(me CONFIG GET repl-ping-replica-period | sed -n 2p)
case "$ping_period" in ''|*[!0-9]*) ping_period=10 ;; esac
if [ -n "$target" ]; then set_priorities "$PREFERRED_PRIORITY"; fi
attempt=1
while :; do
    if [ -n "$target" ]; then
        align_with_sentinel
        if [ -n "$aligned" ]; then
            log "target $target: Sentinel $leader prefers it; pausing at its INFO read's age ${at}ms (round trip ${rtt}ms)"
        else
            log "target $target: Sentinel $leader did not show it preferred within ${PRIORITY_WAIT_SECONDS}s"
        fi
    else
        log "no replica linked to this master: Sentinel picks one"
    fi
    pause_and_sync
    [ -n "$aligned" ] || break
    # The read's age when SENTINEL FAILOVER arrives (the pause's round
    # trip stands for the command's). Past PHASE_LATEST_MS the phase is
    # missed (a second more for the clients): resume the writes, align
    # again once, pausing that much earlier.
    spent=$(( $(now_ms) - aligned_at ))
    age=$(( at + spent + rtt ))
    if [ "$age" -le "$PHASE_LATEST_MS" ] || [ "$attempt" -ge 2 ] || [ $(( DEADLINE - $(date +%s) )) -lt $(( PRIORITY_WAIT_SECONDS + 10 )) ]; then
        break
    fi
    me CLIENT UNPAUSE >/dev/null
    log "the leader's read of $target would be ${age}ms old at SENTINEL FAILOVER: writes resumed, aligning again"
    early=$(( spent + rtt ))
    attempt=$((attempt + 1))
done

# 2. forced failover
t2=$(now_ms)
ans=$(cli "$leader" "$SENTINEL_PORT" "$SENTINEL_CRED" SENTINEL FAILOVER "$MASTER_NAME" | tr -d '\r')
case "$ans" in
    OK|INPROG*) log "Sentinel $leader: SENTINEL FAILOVER $MASTER_NAME: $ans" ;;
    *) give_up "Sentinel $leader refused SENTINEL FAILOVER: ${ans:-no answer}" ;;
esac

# Right after the command (started before, their start-up delayed the pause
# and the command on a busy node), two watchers, each on one connection asking every
# 20 ms (`-r`/`-i`: no TLS handshake a poll, which takes 0.1-0.3 s on a
# busy node and delayed the release by as much; grep reads what arrives
# and stops at the first match): the first host other than this pod the
# leader names (it names the promoted replica once its INFO shows the
# promotion), and the target's promotion from this master's history (its
# master_replid2 is this master's replid).
named_file="$RUN_DIR/handover-named"
seen="$RUN_DIR/handover-promoted"
rm -f "$named_file" "$seen"
# watch FILE HOST PORT CRED GREP_ARGS -- COMMAND...: FILE gets the first
# line of COMMAND's replies that `grep -m 1 -x GREP_ARGS` selects.
watch() (
    set -f # the patterns are words, not file names
    _f=$1 _h=$2 _p=$3 _c=$4; shift 4
    _g=""
    while [ "$1" != -- ]; do _g="$_g $1"; shift; done
    shift
    CLI_TIMEOUT=5
    while in_time && [ ! -s "$_f" ]; do
        _r=$(cli "$_h" "$_p" "$_c" -r 1000000 -i 0.02 "$@" | grep -m 1 -x $_g | tr -d '\r')
        if [ -n "$_r" ]; then printf '%s\n' "$_r" > "$_f.tmp" && mv "$_f.tmp" "$_f"; fi
        sleep 0.02
    done
)
# Not this pod, not a port number (the reply's second line).
watch "$named_file" "$leader" "$SENTINEL_PORT" "$SENTINEL_CRED" -v -e "$SELF" -e "$SELF$CR" -e '[0-9]*' -e "[0-9]*$CR" -- \
    SENTINEL get-master-addr-by-name "$MASTER_NAME" &
named_pid=$!
seen_pid=""
if [ -n "$target" ]; then
    watch "$seen" "$target" "$REDIS_PORT" "$REDIS_CRED" -e "master_replid2:$replid" -e "master_replid2:$replid$CR" -- \
        INFO replication &
    seen_pid=$!
fi
stop_watching() {
    kill $named_pid $seen_pid 2>/dev/null || true
}

# 3. wait for the promoted replica to be master (the Sentinel promotes it
#    a few timer ticks after the command and names it once its INFO shows
#    the promotion), then for the Sentinel to name it; then follow it and
#    release the clients. The target is asked directly (one round trip a
#    poll: the paused clients wait for it); every fifth poll, or without a
#    target, the Sentinel says which replica it promotes (flag `promoted`,
#    or the master it names).
promoted_from_me() {
    p=$(cli "$1" "$REDIS_PORT" "$REDIS_CRED" INFO replication | tr -d '\r')
    [ "$(field role "$p")" = master ] && [ "$(field master_replid2 "$p")" = "$replid" ]
}
sentinel_pick() {
    _pick=$(cli "$leader" "$SENTINEL_PORT" "$SENTINEL_CRED" SENTINEL replicas "$MASTER_NAME" | tr -d '\r' |
        awk 'NR % 2 == 1 {k=$0; next} k=="ip"{ip=$0} k=="flags" && $0 ~ /promoted/ {print ip}' | sed -n 1p)
    if [ -z "$_pick" ]; then
        _pick=$(cli "$leader" "$SENTINEL_PORT" "$SENTINEL_CRED" SENTINEL get-master-addr-by-name "$MASTER_NAME" | tr -d '\r' | sed -n 1p)
    fi
    printf '%s\n' "$_pick"
}
new=""; named=""; polls=0
fast=""
_w=$(( $(now_ms) + NAME_WAIT_MS + 1500 ))
while [ "$(now_ms)" -lt "$_w" ] && in_time; do
    if [ -s "$named_file" ]; then
        fast=$(sed -n 1p "$named_file")
        # The target's promotion is seen at about the same time.
        if [ "$fast" != "$target" ] || [ -e "$seen" ] || [ "$(now_ms)" -ge $(( _w - NAME_WAIT_MS )) ]; then break; fi
    fi
    sleep 0.01
done
if [ -n "$fast" ] && valid_host "$fast" && { { [ "$fast" = "$target" ] && [ -e "$seen" ]; } || promoted_from_me "$fast"; }; then
    new=$fast; named=yes; promoted=$(now_ms)
fi
stop_watching
while [ -z "$new" ] && in_time; do
    polls=$((polls + 1))
    if [ -n "$target" ] && [ $((polls % 5)) -ne 0 ]; then h=$target; else h=$(sentinel_pick); fi
    if [ -n "$h" ] && [ "$h" != "$SELF" ] && promoted_from_me "$h"; then new=$h; fi
    [ -n "$new" ] || sleep 0.01
done
[ -n "$new" ] || give_up "no replica was promoted within ${HANDOVER_SECONDS}s"
if [ -z "$named" ]; then
    promoted=$(now_ms)
    while [ $(( $(now_ms) - promoted )) -lt "$NAME_WAIT_MS" ] && in_time; do
        if [ "$(sentinel_says "$leader")" = "$new" ]; then named=yes; break; fi
        sleep 0.01
    done
fi
# One connection, in this order (CLIENT KILL spares the connection that
# sends it): replica first, so an unpaused write is refused, never answered.
# Sent in one write (`--pipe`): Redis runs the four in one go, where one
# round trip each let the paused clients wait 0.3-0.5 s longer on a busy
# node.
printf 'REPLICAOF %s %s\r\nCLIENT KILL TYPE normal\r\nCLIENT KILL TYPE pubsub\r\nCLIENT UNPAUSE\r\n' "$new" "$REDIS_PORT" |
    cli localhost "$REDIS_PORT" "$ADMIN_CRED" --pipe >/dev/null || true
t1=$(now_ms)
if [ -n "$named" ]; then
    log "$new promoted and named by Sentinel $leader $(( t1 - t2 ))ms after SENTINEL FAILOVER (polls $polls): following it; clients released"
else
    log "$new promoted (poll $polls), not named by Sentinel $leader within ${NAME_WAIT_MS}ms: following it; clients released"
    until [ "$(sentinel_says "$leader")" = "$new" ] || ! in_time; do sleep 0.05; done
    log "Sentinel $leader names $new"
fi

# 4. this pod is a replica of the new master
until [ "$(field master_link_status "$(me INFO replication)")" = up ] || ! in_time; do sleep 0.05; done
rm -f "$seen"
restore_priorities
log "handover to $new done: writes were paused $(( t1 - t0 ))ms; link $(field master_link_status "$(me INFO replication)")"
