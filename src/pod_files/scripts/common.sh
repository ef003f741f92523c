# ---- common helpers (redis-sentinel-fn) ----
# Rules for every start script (keep them when you add lines):
# - Settings are single-quoted by the generator (src/pod_files/mod.rs); in the
#   scripts, quote every expansion ("$VAR") unless word splitting is meant.
# - Write config lines with conf_line (printf '%s\n', refuses line breaks),
#   never echo: echo may interpret backslashes, and a line break in a value
#   would start a directive of its own.
# - A host name that comes from a peer (a Sentinel reply, INFO, ROLE) must
#   pass valid_host before it is used (replicaof, sentinel monitor, ...).
# - Only POSIX options of date and other tools: the Redis and Valkey images
#   are Debian (GNU) or Alpine (busybox); milliseconds come from now_ms.
log() { printf '%s %s: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$SCRIPT" "$*" >&2; }

# now_ms: milliseconds since the epoch. `date +%s%N` where date has %N
# (GNU; busybox built with it), which is not POSIX: elsewhere the local
# server's TIME (a round trip), else whole seconds from `date +%s`. For
# scripts that define me() (the local server).
now_ms() {
    _ms=$(date +%s%N 2>/dev/null) || _ms=""
    case "$_ms" in
        ''|*[!0-9]*) _ms=$(me TIME | awk 'NR == 1 { s = $1 } NR == 2 { printf "%d%03d\n", s, $1 / 1000 }') ;;
        *) _ms=${_ms%??????} ;;
    esac
    case "$_ms" in ''|*[!0-9]*) echo "$(( $(date +%s) * 1000 ))" ;; *) echo "$_ms" ;; esac
}

POD_NAME=${POD_NAME:-$(hostname)}
DOMAIN="$NAMESPACE.svc.$CLUSTER_DOMAIN"

redis_host() { printf '%s\n' "$REDIS_STS-$1.$REDIS_HEADLESS.$DOMAIN"; }
sentinel_host() { printf '%s\n' "$SENTINEL_STS-$1.$SENTINEL_HEADLESS.$DOMAIN"; }

NL='
'
CR=$(printf '\r')

# conf_line TEXT: writes TEXT as one config line; exits when TEXT holds a
# line break, which would start a directive of its own.
conf_line() {
    case "$1" in
        *"$NL"* | *"$CR"*) log "refusing to write a config line that holds a line break"; exit 1 ;;
    esac
    printf '%s\n' "$1"
}

# check_secret FILE: exits unless FILE holds a password that can be one
# config argument: not empty, no control character (a password from
# auth.existingSecret is the user's; a line break would start a directive).
# Trailing line breaks are dropped, as $(cat) drops them.
check_secret() {
    _cs=$(cat "$1") || { log "cannot read $1"; exit 1; }
    case "$_cs" in
        "") log "refusing the empty password in $1"; exit 1 ;;
        *[[:cntrl:]]*) log "refusing the password in $1: it holds a control character"; exit 1 ;;
    esac
    _cs=""
}

# secret_arg FILE [PREFIX]: PREFIX and the password in FILE as one
# double-quoted config argument, '\' and '"' escaped (redis.conf splits
# arguments like sdssplitargs), so spaces, quotes and '#' stay in the
# password. Call check_secret FILE first: this runs in $(...), where exit
# cannot stop the script.
secret_arg() { printf '"%s%s"' "${2:-}" "$(sed 's/[\\"]/\\&/g' "$1")"; }

# valid_host NAME: true when NAME is a DNS name (labels of 1-63 letters,
# digits and '-', not starting or ending with '-'; at most 253 characters)
# or an IPv4 or IPv6 address.
valid_host() {
    case "$1" in
        "" | *[!A-Za-z0-9.:-]*) return 1 ;;
        *:*:*)
            case "$1" in *[!0-9A-Fa-f:.]*) return 1 ;; esac
            [ "${#1}" -le 45 ] ;;
        *:*) return 1 ;;
        *)
            [ "${#1}" -le 253 ] || return 1
            case ".$1." in *..* | *.-* | *-.*) return 1 ;; esac
            printf '%s\n' "$1" | awk -F. '{for (i = 1; i <= NF; i++) if (length($i) > 63) bad = 1} END {exit bad}' ;;
    esac
}

# The image's server binaries, looked up once: Valkey's own names when the
# image has them (Debian's valkey packages ship only valkey-*; the redis-*
# names come from a compat package or from Valkey's make install), else
# Redis's. Every script calls "$SERVER_BIN", "$SENTINEL_BIN", "$CLI_BIN".
server_bin() {
    if command -v "valkey-$1" >/dev/null 2>&1; then printf 'valkey-%s\n' "$1"; else printf 'redis-%s\n' "$1"; fi
}
# shellcheck disable=SC2034 # read by the start and renewal scripts, not by every script
SERVER_BIN=$(server_bin server)
# shellcheck disable=SC2034 # read by the start and renewal scripts, not by every script
SENTINEL_BIN=$(server_bin sentinel)
CLI_BIN=$(server_bin cli)

# cli HOST PORT CREDENTIAL ARGS...: one bounded $CLI_BIN call.
# CREDENTIAL is USER:PASSWORD_FILE (empty USER: the default user), or empty.
cli() {
    _h=$1; _p=$2; _cred=$3; shift 3
    _user=${_cred%%:*}; _pw=${_cred#*:}
    if [ -n "$_cred" ] && [ -r "$_pw" ]; then
        if [ -n "$_user" ]; then set -- --user "$_user" "$@"; fi
        REDISCLI_AUTH=$(cat "$_pw") timeout "$CLI_TIMEOUT" "$CLI_BIN" $CLI_TLS_ARGS --no-auth-warning -h "$_h" -p "$_p" "$@" 2>/dev/null
    else
        timeout "$CLI_TIMEOUT" "$CLI_BIN" $CLI_TLS_ARGS -h "$_h" -p "$_p" "$@" 2>/dev/null
    fi
}

# resolves NAME: true when NAME has an address.
resolves() { getent hosts "$1" >/dev/null 2>&1; }

# topology_value KEY DEFAULT: a number from the topology ConfigMap. It is
# not part of the pod-template hash (scaling restarts nothing), so the
# kubelet may still show a running pod the count from before a scale.
topology_value() {
    _tv=$({ tr -d ' \r\n' < "$TOPOLOGY_DIR/$1"; } 2>/dev/null) || _tv=""
    case "$_tv" in ''|0?*|*[!0-9]*) echo "$2" ;; *) echo "$_tv" ;; esac
}

# pod_count redis|sentinel: how many pods of the component can exist now:
# the count in the topology ConfigMap, raised by the pods that already
# resolve beyond it (a scale-up the kubelet has not shown this pod yet).
pod_count() {
    case "$1" in
        redis) _pc=$(topology_value redis-replicas 0); _pc_host=redis_host ;;
        *) _pc=$(topology_value sentinel-replicas 0); _pc_host=sentinel_host ;;
    esac
    _pc_k=0
    while [ "$_pc_k" -lt 100 ] && resolves "$($_pc_host "$_pc")"; do
        _pc=$((_pc + 1)); _pc_k=$((_pc_k + 1))
    done
    echo "$_pc"
}

# pod_ordinal HOST STS HEADLESS: the ordinal of HOST if it is the DNS name of
# a pod of StatefulSet STS under HEADLESS, else nothing.
pod_ordinal() {
    _po=${1%".$3.$DOMAIN"}
    [ "$_po" != "$1" ] || return 0
    _po=${_po#"$2-"}
    case "$_po" in ''|0?*|*[!0-9]*) return 0 ;; esac
    echo "$_po"
}

# usable_pod redis|sentinel HOST [COUNT]: HOST names a pod of the component
# that can exist at the current count (ordinal below it) and resolves. An
# answer naming anything else (a pod removed by a scale-down, a name from
# another topology) is never trusted, and never waited for.
usable_pod() {
    case "$1" in
        redis) _up=$(pod_ordinal "$2" "$REDIS_STS" "$REDIS_HEADLESS") ;;
        *) _up=$(pod_ordinal "$2" "$SENTINEL_STS" "$SENTINEL_HEADLESS") ;;
    esac
    [ -n "$_up" ] || return 1
    [ "$_up" -lt "${3:-$(pod_count "$1")}" ] || return 1
    resolves "$2"
}

# wait_resolves NAME SECONDS: waits until NAME resolves, at most SECONDS.
wait_resolves() {
    _n=0
    until resolves "$1"; do
        _n=$((_n + 1))
        if [ "$_n" -ge "$2" ]; then return 1; fi
        sleep 1
    done
}

# sentinel_says HOST: the master host a Sentinel names (empty if none, or
# if the answer is not a host name).
sentinel_says() {
    resolves "$1" || return 0
    _ans=$(cli "$1" "$SENTINEL_PORT" "$SENTINEL_CRED" SENTINEL get-master-addr-by-name "$MASTER_NAME" | tr -d '\r' | sed -n 1p)
    if [ -n "$_ans" ] && ! valid_host "$_ans"; then log "ignoring $1: its answer is not a host name"; return 0; fi
    printf '%s\n' "$_ans"
}

# failover_wait_seconds: how long Sentinels may take to fail over, from the
# first Sentinel that answers (down-after-milliseconds + failover-timeout),
# plus a margin; 75 when none answers.
failover_wait_seconds() {
    _i=0; _fw_n=$(pod_count sentinel)
    while [ "$_i" -lt "$_fw_n" ]; do
        _h=$(sentinel_host "$_i")
        if resolves "$_h"; then
            _ms=$(cli "$_h" "$SENTINEL_PORT" "$SENTINEL_CRED" SENTINEL master "$MASTER_NAME" | tr -d '\r' |
                awk 'p=="down-after-milliseconds"||p=="failover-timeout"{t+=$0} {p=$0} END{print t+0}')
            if [ "${_ms:-0}" -gt 0 ]; then echo $((_ms / 1000 + 10)); return 0; fi
        fi
        _i=$((_i + 1))
    done
    echo 75
}

# redis_master_peer EXCLUDE: the Redis pod (other than EXCLUDE) that is the
# master, asked directly; empty if none reports role master. Several can: a
# master back from a partition keeps role master until Sentinel demotes it
# (and still counts its dead replica links as connected). The replicas
# decide: the master most of them replicate from with the link up wins; on
# a tie, the one promoted from the other's history (its master_replid2 is
# the other's master_replid); then the lowest ordinal.
redis_master_peer() {
    _seen=""
    _i=0; _mp_n=$(pod_count redis)
    while [ "$_i" -lt "$_mp_n" ]; do
        _h=$(redis_host "$_i")
        if [ "$_h" != "$1" ] && resolves "$_h"; then
            _seen="$_seen$(cli "$_h" "$REDIS_PORT" "$REDIS_CRED" INFO replication | tr -d '\r' |
                awk -F: -v h="$_h" '$1=="role"{r=$2} $1=="master_host"{m=$2} $1=="master_link_status"{l=$2}
                    $1=="master_replid"{id=$2} $1=="master_replid2"{id2=$2}
                    END{if (r=="master") print "M", h, id, id2; else if (r=="slave" && l=="up") print "V", m}')
"
        fi
        _i=$((_i + 1))
    done
    printf '%s' "$_seen" | awk '$1=="M"{n++; host[n]=$2; id[n]=$3; id2[n]=$4} $1=="V"{votes[$2]++}
        END{b=0; for (k=1; k<=n; k++) {
                if (b==0) {b=k; continue}
                vk=votes[host[k]]+0; vb=votes[host[b]]+0
                if (vk>vb || (vk==vb && id2[k]==id[b])) b=k
            }
            if (b) print host[b]}'
}
# The pod counts when the script starts (topology ConfigMap raised by DNS),
# for scripts that need them once; long waits call pod_count again.
# shellcheck disable=SC2034 # read by the preStop, readiness and renewal scripts
REDIS_REPLICAS=$(pod_count redis)
# shellcheck disable=SC2034 # read by the preStop, readiness and renewal scripts
SENTINEL_REPLICAS=$(pod_count sentinel)
# ---- end of common helpers ----
