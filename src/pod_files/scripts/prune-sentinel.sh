SCRIPT=prune-sentinel
# Runs beside Sentinel (started by start-sentinel.sh, same container).
# Sentinel never forgets a replica or a peer Sentinel: after a scale-down the
# removed pods stay listed (s_down, disconnected) forever, and stale peers
# raise the majority a failover needs. `SENTINEL RESET` forgets them, but a
# careless reset wipes the replica list of a Sentinel that must fail over
# next (-failover-abort-no-good-slave). This loop resets only
#  - when this Sentinel lists a replica or peer that cannot exist any more
#    (ordinal at or above the current count, or a name unresolvable for
#    GONE_AFTER_SECONDS: a pod recreated by a rollout resolves again sooner);
#  - when the master is a live pod, not down, and no failover is in progress;
#  - when at least one promotable replica (link up, not down) remains, which
#    the reset Sentinel rediscovers at once from the master;
#  - one Sentinel at a time, in ordinal order: every lower-ordinal Sentinel
#    that answers must already list none of these entries and know again
#    every healthy replica and peer this one knows (it has reset and
#    rediscovered), as the Redis documentation asks ("one at a time,
#    waiting in between");
# and applies the quorum of the topology ConfigMap with `SENTINEL SET`.
# The same careful reset also forgets stale master-down votes: peers
# flagged `master_down` (their "the master is down" answer to this
# Sentinel) in every round for STALE_VOTE_SECONDS while the master was
# healthy, at the same address and config epoch, all along. Redis
# expires such an answer after 5 s; Valkey 9 keeps it until this Sentinel
# sees the master down again (valkey-io/valkey#2763 returns early from
# sentinelAskPrimaryStateToOtherSentinels before the expiry), and then
# counts it at once: one Sentinel cut off alone reaches o_down with the
# votes of a past failover, starts one, and wins it when it comes back.
# SENTINEL RESET is the only command that forgets them.
set +e
SENTINEL_PID=${SENTINEL_PID:-$PPID}
ME=${POD_NAME##*-}
SELF=$(sentinel_host "$ME")
STATE="$RUN_DIR/prune-unresolved"
: > "$STATE"
LAST_NOTE=""
# "host:since" of every peer seen with a master-down vote in every round
# since `since` while the master was healthy; MASTER_KEY is the master's
# address and config epoch of the previous round.
VOTE_SINCE=""
MASTER_KEY=""
# Peers whose master-down votes are stale (see the top).
OLD_VOTES=""

# note MESSAGE: logs MESSAGE unless it repeats the previous note.
note() {
    if [ "$1" != "$LAST_NOTE" ]; then log "$1"; LAST_NOTE=$1; fi
}

# field KEY: the value of KEY in a key/value reply read on stdin.
field() { awk -v k="$1" 'NR%2==1{key=$0; next} key==k{print; exit}'; }

# entries HOST replicas|sentinels: one "host flags link" line per replica or
# peer Sentinel that HOST lists; fails when HOST does not answer.
entries() {
    _en=$(cli "$1" "$SENTINEL_PORT" "$SENTINEL_CRED" SENTINEL "$2" "$MASTER_NAME") || return 1
    _en=$(printf '%s\n' "$_en" | tr -d '\r')
    case "$_en" in ''|name*) ;; *) return 1 ;; esac
    printf '%s\n' "$_en" | awk 'NR%2==1{k=$0; next}
        k=="name"{if (n) print ip, fl, ln; n=1; ip="-"; fl="-"; ln="-"}
        k=="ip"{ip=$0} k=="flags"{fl=$0} k=="master-link-status"{ln=$0}
        END{if (n) print ip, fl, ln}'
}

# track_unresolved < HOSTS (one a line): remembers since when each host does
# not resolve.
track_unresolved() {
    _tu=""
    while read -r _h; do
        [ -n "$_h" ] || continue
        if ! resolves "$_h"; then
            _s=$(awk -v h="$_h" '$1==h{print $2; exit}' "$STATE")
            _tu="$_tu$_h ${_s:-$NOW}
"
        fi
    done
    printf '%s' "$_tu" > "$STATE"
}

# gone redis|sentinel HOST COUNT: HOST was a pod of the component that no
# longer exists. Names that are not pod names of this topology are left alone.
gone() {
    case "$1" in
        redis) _g=$(pod_ordinal "$2" "$REDIS_STS" "$REDIS_HEADLESS") ;;
        *) _g=$(pod_ordinal "$2" "$SENTINEL_STS" "$SENTINEL_HEADLESS") ;;
    esac
    [ -n "$_g" ] || return 1
    [ "$_g" -ge "$3" ] && return 0
    resolves "$2" && return 1
    _s=$(awk -v h="$2" '$1==h{print $2; exit}' "$STATE")
    [ -n "$_s" ] && [ $((NOW - _s)) -ge "$GONE_AFTER_SECONDS" ]
}

# lists LIST NAME: LIST (space-separated) holds NAME.
lists() { case " $1 " in *" $2 "*) return 0 ;; esac; return 1; }

# knows_all REPLICA_LINES PEER_LINES EXCEPT: those lines name every healthy
# replica and every healthy peer (but EXCEPT) this Sentinel knows, plus this
# Sentinel, and none of the stale entries.
knows_all() {
    _r=$(printf '%s\n' "$1" | awk '{printf "%s ", $1}')
    _p=$(printf '%s\n' "$2" | awk '{printf "%s ", $1}')
    for _h in $STALE; do
        if lists "$_r $_p" "$_h"; then return 1; fi
    done
    if [ -n "$OLD_VOTES" ] && printf '%s\n' "$2" | awk '$2 ~ /master_down/ {f=1} END {exit !f}'; then
        return 1
    fi
    for _h in $HEALTHY_REPLICAS; do lists "$_r" "$_h" || return 1; done
    for _h in $HEALTHY_PEERS "$SELF"; do
        [ "$_h" = "$3" ] || lists "$_p" "$_h" || return 1
    done
}

# my_turn: every lower-ordinal Sentinel that answers has forgotten the stale
# entries and rediscovered the healthy ones (it reset before this one).
my_turn() {
    _j=0
    while [ "$_j" -lt "$ME" ]; do
        _peer=$(sentinel_host "$_j")
        if resolves "$_peer" && _pr=$(entries "$_peer" replicas) && _ps=$(entries "$_peer" sentinels); then
            if ! knows_all "$_pr" "$_ps" "$_peer"; then
                note "stale entries ($STALE$OLD_VOTES): waiting for Sentinel $_peer to forget them first"
                return 1
            fi
        fi
        _j=$((_j + 1))
    done
}

prune_round() {
    NOW=$(date +%s)
    master=$(cli localhost "$SENTINEL_PORT" "$SENTINEL_CRED" SENTINEL master "$MASTER_NAME" | tr -d '\r')
    flags=$(printf '%s\n' "$master" | field flags)
    [ -n "$flags" ] || return 0
    key="$(printf '%s\n' "$master" | field ip)/$(printf '%s\n' "$master" | field config-epoch)"
    if [ "$flags" != master ] || [ "$key" != "$MASTER_KEY" ]; then VOTE_SINCE=""; fi
    MASTER_KEY=$key
    redis_count=$(pod_count redis)
    sentinel_count=$(pod_count sentinel)

    # The quorum follows the topology ConfigMap without a restart.
    want=$(topology_value sentinel-quorum 0)
    if [ "$want" -eq 0 ]; then want=$((sentinel_count / 2 + 1)); fi
    quorum=$(printf '%s\n' "$master" | field quorum)
    if [ "$quorum" != "$want" ] &&
        cli localhost "$SENTINEL_PORT" "$SENTINEL_CRED" SENTINEL SET "$MASTER_NAME" quorum "$want" | grep -q '^OK'; then
        log "quorum $quorum -> $want (topology ConfigMap)"
    fi

    replicas=$(entries localhost replicas) || return 0
    peers=$(entries localhost sentinels) || return 0
    track_unresolved <<EOF
$(printf '%s\n%s\n' "$replicas" "$peers" | awk 'NF{print $1}')
EOF
    STALE=""; HEALTHY_REPLICAS=""; HEALTHY_PEERS=""; OLD_VOTES=""; votes=""
    while read -r h f l; do
        [ -n "$h" ] || continue
        if gone redis "$h" "$redis_count"; then STALE="$STALE $h"
        elif [ "$f" = slave ] && [ "$l" = ok ]; then HEALTHY_REPLICAS="$HEALTHY_REPLICAS $h"; fi
    done <<EOF
$replicas
EOF
    while read -r h f l; do
        [ -n "$h" ] || continue
        if gone sentinel "$h" "$sentinel_count"; then STALE="$STALE $h"; continue; fi
        case "$f" in
            sentinel) HEALTHY_PEERS="$HEALTHY_PEERS $h" ;;
            sentinel,master_down)
                HEALTHY_PEERS="$HEALTHY_PEERS $h"
                if [ "$flags" = master ]; then
                    _since=""
                    for _v in $VOTE_SINCE; do [ "${_v%:*}" != "$h" ] || _since=${_v##*:}; done
                    votes="$votes $h:${_since:-$NOW}"
                    if [ $((NOW - ${_since:-$NOW})) -ge "$STALE_VOTE_SECONDS" ]; then OLD_VOTES="$OLD_VOTES $h"; fi
                fi
                ;;
        esac
    done <<EOF
$peers
EOF
    VOTE_SINCE=$votes
    if [ -z "$STALE$OLD_VOTES" ]; then LAST_NOTE=""; return 0; fi

    case ",$flags," in
        *,s_down,*|*,o_down,*|*,failover_in_progress,*|*,promoted,*)
            note "stale entries ($STALE): not resetting while the master is $flags"; return 0 ;;
    esac
    mhost=$(printf '%s\n' "$master" | field ip)
    if ! usable_pod redis "$mhost" "$redis_count"; then
        note "stale entries ($STALE): not resetting while the master $mhost is not a live pod (failover first)"; return 0
    fi
    if [ "$redis_count" -gt 1 ] && [ -z "$HEALTHY_REPLICAS" ]; then
        note "stale entries ($STALE): not resetting, no promotable replica would remain"; return 0
    fi
    my_turn || return 0

    if [ -n "$STALE" ]; then
        log "forgetting removed pods ($STALE): SENTINEL RESET $MASTER_NAME (keeps$HEALTHY_REPLICAS$HEALTHY_PEERS)"
    else
        log "forgetting stale master-down votes of$OLD_VOTES (kept ${STALE_VOTE_SECONDS}s or more with the master healthy): SENTINEL RESET $MASTER_NAME (keeps$HEALTHY_REPLICAS$HEALTHY_PEERS)"
    fi
    cli localhost "$SENTINEL_PORT" "$SENTINEL_CRED" SENTINEL RESET "$MASTER_NAME" >/dev/null
    # Until this Sentinel knows the healthy replicas and peers again, the
    # next one waits (my_turn); wait here too, bounded.
    _until=$((NOW + 30))
    while [ "$(date +%s)" -lt "$_until" ]; do
        sleep 1
        if _rr=$(entries localhost replicas) && _rp=$(entries localhost sentinels) && knows_all "$_rr" "$_rp" "$SELF"; then
            log "rediscovered$HEALTHY_REPLICAS$HEALTHY_PEERS after the reset"; LAST_NOTE=""; return 0
        fi
    done
    log "not every healthy replica and peer is known again 30s after the reset"
}

while kill -0 "$SENTINEL_PID" 2>/dev/null; do
    sleep "$PRUNE_INTERVAL_SECONDS"
    prune_round
done
