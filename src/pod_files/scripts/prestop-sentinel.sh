SCRIPT=prestop-sentinel
# preStop hook of a Sentinel: do not leave while a failover is in progress
# (it may be the leader: the failover would stall until failover-timeout),
# nor while no peer Sentinel names the master this one names (its
# knowledge would leave with it). Bounded by HANDOVER_SECONDS.
SELF=$(sentinel_host "${POD_NAME##*-}")
if [ "$SENTINEL_REPLICAS" -le 1 ]; then log "no peer Sentinel to wait for"; exit 0; fi
DEADLINE=$(( $(date +%s) + HANDOVER_SECONDS ))
t0=$(date +%s)
while [ "$(date +%s)" -lt "$DEADLINE" ]; do
    flags=$(cli localhost "$SENTINEL_PORT" "$SENTINEL_CRED" SENTINEL master "$MASTER_NAME" | tr -d '\r' |
        awk 'p=="flags"{print} {p=$0}')
    case "$flags" in
        *failover_in_progress*) why="failover in progress" ;;
        "") log "this Sentinel does not answer: nothing to keep"; exit 0 ;;
        *)
            mine=$(sentinel_says localhost)
            i=0
            while [ "$i" -lt "$SENTINEL_REPLICAS" ]; do
                h=$(sentinel_host "$i")
                if [ "$h" != "$SELF" ] && [ "$(sentinel_says "$h")" = "$mine" ]; then
                    log "peer $h also names $mine: leaving after $(( $(date +%s) - t0 ))s"
                    exit 0
                fi
                i=$((i + 1))
            done
            why="no peer names $mine yet"
            ;;
    esac
    sleep 0.2
done
log "leaving after ${HANDOVER_SECONDS}s: $why"
