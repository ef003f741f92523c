SCRIPT=migrate-redis
# Migration in (spec.migration; docs/migrating.md). Redis pod 0 of a topology
# with no master yet replicates from the source's master; the other pods
# replicate from pod 0 as usual. Called by start-redis.sh:
#   source-master  prints "HOST PORT" of the source's master (exit 1: unknown;
#                  nothing printed: the cut-over was done here already)
#   conf           prints the redis.conf lines of a replica of the source
#   loop           runs beside Redis (REDIS_PID): follows the source's master
#                  when a Sentinel source fails over, writes the migration
#                  state to $STATUS_FILE and the log, and hands the master
#                  over once the topology ConfigMap says migration-cutover: yes
#   status         prints the state now, for kubectl exec (report below)
MARKER="$DATA_DIR/migration-cutover-done"
me() { cli localhost "$REDIS_PORT" "$ADMIN_CRED" "$@" | tr -d '\r'; }
field() { printf '%s\n' "$2" | sed -n "s/^$1://p"; }

# src_cli HOST PORT CREDENTIAL ARGS...: like cli, with the source's TLS
# settings (its CA) instead of this topology's.
src_cli() {
    _h=$1; _p=$2; _cred=$3; shift 3
    _user=${_cred%%:*}; _pw=${_cred#*:}
    if [ -n "$_cred" ] && [ -r "$_pw" ]; then
        if [ -n "$_user" ]; then set -- --user "$_user" "$@"; fi
        REDISCLI_AUTH=$(cat "$_pw") timeout "$CLI_TIMEOUT" "$CLI_BIN" $SOURCE_TLS_ARGS --no-auth-warning -h "$_h" -p "$_p" "$@" 2>/dev/null | tr -d '\r'
    else
        timeout "$CLI_TIMEOUT" "$CLI_BIN" $SOURCE_TLS_ARGS -h "$_h" -p "$_p" "$@" 2>/dev/null | tr -d '\r'
    fi
}

# source_master: "HOST PORT" of the source's master, asked of the source's
# Sentinels (the first that answers with a host name) or the standalone
# address; empty when none answers.
source_master() {
    if [ "$SOURCE_KIND" = standalone ]; then printf '%s %s\n' "$SOURCE_HOST" "$SOURCE_PORT"; return 0; fi
    for _s in $SOURCE_SENTINELS; do
        _ans=$(src_cli "${_s%/*}" "${_s##*/}" "$SOURCE_SENTINEL_CRED" SENTINEL get-master-addr-by-name "$SOURCE_MASTER_NAME")
        _mh=$(printf '%s\n' "$_ans" | sed -n 1p); _mp=$(printf '%s\n' "$_ans" | sed -n 2p)
        case "$_mp" in '' | *[!0-9]*) continue ;; esac
        if valid_host "$_mh"; then printf '%s %s\n' "$_mh" "$_mp"; return 0; fi
    done
}

# Settings read at run time: the cut-over switch (topology ConfigMap).
cutover_asked() { [ "$({ tr -d ' \r\n' < "$TOPOLOGY_DIR/migration-cutover"; } 2>/dev/null)" = yes ]; }

# status TEXT: the migration state, for the log (when it changes) and the
# readiness probe / kubectl exec (cat $STATUS_FILE).
status() {
    printf '%s %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$1" > "$STATUS_FILE.tmp" && mv "$STATUS_FILE.tmp" "$STATUS_FILE"
    _class=${1%% *}
    if [ "$_class" != "${last_class:-}" ]; then log "$1"; last_class=$_class; fi
}

# conf_lines: this pod as a replica of the source: the source's
# credentials; never a candidate for the old deployment's Sentinels
# (replica-priority 0); replication over plain text or with the source's CA.
conf_lines() {
    if [ -n "$SOURCE_CRED" ]; then
        check_secret "${SOURCE_CRED#*:}"
        conf_line "masteruser \"${SOURCE_CRED%%:*}\""
        conf_line "masterauth $(secret_arg "${SOURCE_CRED#*:}")"
    else
        conf_line 'masteruser ""'
        conf_line 'masterauth ""'
    fi
    conf_line "replica-priority 0"
    if [ -z "$SOURCE_CA" ]; then
        conf_line "tls-replication no"
    else
        # The source's CA beside this topology's: replication is the only
        # client connection this pod makes to a server of the old CA.
        cat "$TLS_DIR/ca.crt" "$SOURCE_CA" > "$RUN_DIR/migration-ca.crt" || exit 1
        conf_line "tls-ca-cert-file $RUN_DIR/migration-ca.crt"
    fi
}

# restore: back to this topology's settings once promoted (what
# start-redis.sh writes for a pod that is not migrating), passwords through
# stdin, never the command line.
restore() {
    if [ -n "$TARGET_CRED" ]; then
        { printf 'CONFIG SET masteruser "%s"\n' "${TARGET_CRED%%:*}"
          printf 'CONFIG SET masterauth %s\n' "$(secret_arg "${TARGET_CRED#*:}")"; } | me >/dev/null
    fi
    me CONFIG SET replica-priority 100 >/dev/null
    if [ -n "$TARGET_TLS" ]; then
        me CONFIG SET tls-replication yes tls-ca-cert-file "$TLS_DIR/ca.crt" >/dev/null
    fi
}

# measure: the link to the source as pod 0 sees it now ($info: pod 0's INFO
# replication, $host/$port: the master it replicates from): sets $behind
# (the source master's master_repl_offset minus pod 0's slave_repl_offset)
# and $state, the line the status file, the log and `status` show.
measure() {
    src=$(field master_repl_offset "$(src_cli "$host" "$port" "$SOURCE_CRED" INFO replication)")
    mine=$(field slave_repl_offset "$info")
    behind=$(( ${src:-0} - ${mine:-0} )); [ "$behind" -ge 0 ] || behind=0
    shown=$behind
    if [ -z "$src" ]; then behind=999999999999; shown=unknown; fi
    state="link=$(field master_link_status "$info") sync_in_progress=$(field master_sync_in_progress "$info") lag=$(field master_last_io_seconds_ago "$info")s bytes_behind=$shown source=$host:$port"
    # Not in sync: whether this server can load the source's RDB at all.
    mismatch=""
    if [ "$(field master_link_status "$info")" != up ] || [ "$(field master_sync_in_progress "$info")" != 0 ]; then
        mismatch=$(rdb_mismatch "$host" "$port")
    fi
}

# server_of INFO: "Redis 8.0.6" or "Valkey 9.1.2" from INFO server (Valkey
# also reports a fixed redis_version for old clients: its own
# valkey_version first); empty when INFO did not answer.
server_of() {
    _sv=$(field valkey_version "$1")
    if [ -n "$_sv" ]; then echo "Valkey $_sv"; return 0; fi
    _sv=$(field redis_version "$1")
    if [ -n "$_sv" ]; then echo "Redis $_sv"; fi
}

# rdb_row "KIND X.Y.Z": the row of RDB_TABLE of that release (rendered from
# the function's server knowledge, kind-MAJOR.MINOR:WRITES:SENDS_OLDER:
# READS:READS_RELAXED:TAKERS); empty when the function does not know it.
rdb_row() {
    _rk=$(printf '%s' "${1%% *}" | tr 'A-Z' 'a-z')
    _rv=$(printf '%s' "${1#* }" | awk -F. '{print $1 "." $2}')
    for _rr in $RDB_TABLE; do
        case "$_rr" in "$_rk-$_rv:"*) echo "$_rr"; return 0 ;; esac
    done
}

# in_formats F RANGES: whether RDB format F is one of RANGES (1-11,80).
in_formats() {
    printf '%s\n' "$2" | tr ',' '\n' | awk -F- -v f="$1" '{ hi = ($2 == "") ? $1 : $2; if (f + 0 >= $1 + 0 && f + 0 <= hi + 0) ok = 1 } END { exit !ok }'
}

# rdb_why SOURCE THIS RELAXED: why THIS server cannot load the RDB that a
# master of SOURCE sends it in a full sync ("Redis 8.0.6", "Valkey 9.1.2";
# RELAXED: yes when this server runs with rdb-version-check relaxed): the source
# sends its own format, or SENDS_OLDER to a server whose own format is
# older. Nothing printed when it can, or when either release is unknown.
rdb_why() {
    _ws=$(rdb_row "$1"); _wt=$(rdb_row "$2")
    if [ -z "$_ws" ] || [ -z "$_wt" ]; then return 0; fi
    _wf=$(printf '%s' "$_ws" | cut -d: -f2)
    if [ "$(printf '%s' "$_wt" | cut -d: -f2)" -lt "$_wf" ]; then _wf=$(printf '%s' "$_ws" | cut -d: -f3); fi
    if [ "$3" = yes ]; then _wr=$(printf '%s' "$_wt" | cut -d: -f5); else _wr=$(printf '%s' "$_wt" | cut -d: -f4); fi
    if in_formats "$_wf" "$_wr"; then return 0; fi
    _takers=$(printf '%s' "$_ws" | cut -d: -f6 | tr ',' '\n' | sed 's/^redis-/Redis /; s/^valkey-/Valkey /' | awk '{ printf "%s%s", (NR > 1 ? ", " : ""), $0 }')
    echo "the source runs $1, which sends this server RDB format $_wf in a full sync; this server, $2, reads formats $(printf '%s' "$_wr" | sed 's/^1-/up to /; s/,/ and /g') and cannot load it: every full sync fails and nothing is replicated. Move to a server that can take a $1 source ($_takers): spec.image with that version in its tag; and set migration.source.server and migration.source.version so that the render checks the pair (a replica may be newer than its master, never older)"
}

# rdb_mismatch HOST PORT: rdb_why for the source's master at HOST:PORT and
# this server, from their INFO server (nothing when the source does not
# answer it).
rdb_mismatch() {
    _src=$(server_of "$(src_cli "$1" "$2" "$SOURCE_CRED" INFO server)")
    if [ -z "$_src" ]; then return 0; fi
    if [ -z "${self_server:-}" ]; then self_server=$(server_of "$(me INFO server)"); fi
    # The running server's own setting: written only where the binary has
    # it (a gated setting, redis-gated.conf); Redis does not know it.
    case "$(me CONFIG GET rdb-version-check | sed -n 2p)" in
        relaxed) _relaxed=yes ;;
        *) _relaxed=no ;;
    esac
    rdb_why "$_src" "$self_server" "$_relaxed"
}

# refusal: why a cut-over would be refused now (nothing printed: it would
# start). The test the cut-over makes before it pauses the source; `status`
# shows the same.
refusal() {
    if [ -n "$mismatch" ]; then echo "$mismatch"
    elif [ "$(field master_link_status "$info")" != up ]; then echo "link to the source $host:$port is down"
    elif [ "$(field master_sync_in_progress "$info")" != 0 ]; then echo "full sync from $host:$port in progress"
    elif [ "$behind" -gt "$CUTOVER_MAX_BEHIND" ]; then echo "$behind bytes behind the source (at most $CUTOVER_MAX_BEHIND)"
    fi
}

# cutover HOST PORT: writes paused on the source master, this pod gets
# every byte (offsets equal), is promoted, and the old master is left
# refusing every write (min-replicas-to-write it cannot reach); then writes
# resume (pod 0's own settings are restored after). Refused (nothing
# promoted) unless in sync.
cutover() {
    why=$(refusal)
    if [ -n "$why" ]; then status "cut-over refused: $why"; return 1; fi
    t0=$(now_ms)
    # One session: the pause, then the source's offset, final once paused
    # (a paused master neither writes nor pings its replicas).
    r=$(printf 'CLIENT PAUSE %s WRITE\nINFO replication\n' "$PAUSE_MS" | src_cli "$1" "$2" "$SOURCE_CRED")
    first=$(printf '%s\n' "$r" | sed -n 1p)
    [ "$first" = OK ] || { status "cut-over refused: the source refused CLIENT PAUSE (${first:-no answer}); its user needs +client|pause"; return 1; }
    want=$(field master_repl_offset "$r"); got=""; n=0
    while [ "$n" -lt 60 ]; do
        got=$(field slave_repl_offset "$(me INFO replication)")
        if [ -n "$want" ] && [ "$want" = "$got" ]; then break; fi
        n=$((n + 1)); sleep 0.05
        # Asked again only when it cannot be final (unknown, or pod 0 past it).
        if [ -z "$want" ] || [ "${got:-0}" -gt "$want" ]; then
            want=$(field master_repl_offset "$(src_cli "$1" "$2" "$SOURCE_CRED" INFO replication)")
        fi
    done
    if [ -z "$want" ] || [ "$want" != "$got" ]; then
        src_cli "$1" "$2" "$SOURCE_CRED" CLIENT UNPAUSE >/dev/null
        status "cut-over refused: offsets did not meet within 3 s (source ${want:-?}, here ${got:-?}); writes resumed"
        return 1
    fi
    # One session (two settings: Redis 6.2 sets one per CONFIG SET).
    r=$(printf 'CONFIG SET min-replicas-max-lag 10\nCONFIG SET min-replicas-to-write 1000000\n' | src_cli "$1" "$2" "$SOURCE_CRED")
    if [ "$r" != "OK${NL}OK" ]; then
        src_cli "$1" "$2" "$SOURCE_CRED" CLIENT UNPAUSE >/dev/null
        status "cut-over refused: the source refused CONFIG SET min-replicas-to-write ($(printf '%s' "${r:-no answer}" | tr '\n' ' ')); its user needs +config|set, or the old master would stay writable"
        return 1
    fi
    me REPLICAOF NO ONE >/dev/null
    tp=$(now_ms)
    src_cli "$1" "$2" "$SOURCE_CRED" CLIENT UNPAUSE >/dev/null
    t1=$(now_ms)
    printf 'source %s:%s offset %s\n' "$1" "$2" "$want" > "$MARKER"
    # After the pause: these only matter once pod 0 is someone's replica.
    restore
    status "cut-over done: promoted at offset $want of $1:$2, writes paused $(( t1 - t0 )) ms; the old master now refuses writes (NOREPLICAS); clock (ms since the epoch): paused $t0, promoted $tp, unpaused $t1"
}

loop() {
    last_log=0
    while kill -0 "$REDIS_PID" 2>/dev/null; do
        info=$(me INFO replication)
        if [ "$(field role "$info")" = master ]; then status "cut-over done: this pod is the master"; return 0; fi
        host=$(field master_host "$info"); port=$(field master_port "$info")
        if [ "$SOURCE_KIND" = sentinel ]; then
            now=$(source_master)
            if [ -n "$now" ] && [ "$now" != "$host $port" ] && [ -n "$host" ]; then
                log "the source's Sentinels name ${now% *}:${now#* } as master (was $host:$port): following"
                me REPLICAOF "${now% *}" "${now#* }" >/dev/null
                sleep 1; continue
            fi
        fi
        measure
        if [ -n "$mismatch" ]; then
            status "rdb-mismatch $state; $mismatch"
        else
            case "$state" in
                link=up\ sync_in_progress=0*) status "in-sync $state" ;;
                link=up*) status "syncing $state" ;;
                *) ans=$(src_cli "$host" "$port" "$SOURCE_CRED" PING | sed -n 1p | cut -c1-120)
                   case "$ans" in NOAUTH* | WRONGPASS* | NOPERM*) ans="$ans (the source refuses the credentials of migration.source.auth)" ;; esac
                   status "link-down $state; the source answers PING with: ${ans:-nothing (unreachable)}" ;;
            esac
        fi
        if cutover_asked; then
            if cutover "$host" "$port"; then return 0; fi
        elif [ $(( $(date +%s) - last_log )) -ge 30 ]; then
            log "$state${mismatch:+; $mismatch}"; last_log=$(date +%s)
        fi
        sleep 1
    done
}

# report: the migration state now, for a person (`kubectl exec ... --
# sh /etc/redis/config/migrate-redis.sh status`): the link, lag and bytes
# behind measured afresh, whether a cut-over would be accepted now (the
# test the cut-over makes) and the loop's last line.
report() {
    info=$(me INFO replication)
    [ -n "$info" ] || { echo "no answer from Redis on this pod"; return 1; }
    if [ "$(field role "$info")" = master ]; then
        echo "role master: cut-over done$( [ -f "$MARKER" ] && printf ' (%s)' "$(cat "$MARKER")")"
    else
        host=$(field master_host "$info"); port=$(field master_port "$info")
        measure
        echo "$state"
        if cutover_asked; then asked="asked (migration.cutover: true)"; else asked="not asked (migration.cutover: false)"; fi
        why=$(refusal)
        echo "cut-over: $asked; ${why:+would be refused now: }${why:-would be accepted now}"
    fi
    if [ -r "$STATUS_FILE" ]; then echo "loop: $(cat "$STATUS_FILE")"; fi
}

# moved_on HOST PORT: a Redis pod of this topology whose data has a
# replication history the source master's has not (its replication id is
# neither of the source's): the cut-over was done and this pod has lost its
# data directory (and the marker) since. Prints why (naming that pod); exit
# 1 when there is none. A peer that holds data while the source does not
# answer INFO cannot be compared: never re-replicate on a guess.
moved_on() {
    _src=$(src_cli "$1" "$2" "$SOURCE_CRED" INFO replication)
    _ids=" $(field master_replid "$_src") $(field master_replid2 "$_src") "
    _i=1; _n=$(pod_count redis)
    while [ "$_i" -lt "$_n" ]; do
        _h=$(redis_host "$_i")
        if resolves "$_h"; then
            _p=$(cli "$_h" "$REDIS_PORT" "$REDIS_CRED" INFO replication | tr -d '\r')
            _id=$(field master_replid "$_p"); _off=$(field master_repl_offset "$_p")
            case "$_off" in '' | *[!0-9]*) _off=0 ;; esac
            if [ -n "$_id" ] && [ "$_off" -gt 0 ]; then
                case "$_ids" in
                    "   ") echo "$_h holds data and the source does not answer INFO, so their histories cannot be compared: not replicating from the source on a guess; retrying"; return 0 ;;
                    *" $_id "*) ;;
                    *) echo "$_h holds writes made after the cut-over (its replication id is not the source's) and this pod has no data: not replicating from the source again, not starting as an empty master; make $_h master (REPLICAOF NO ONE) and this pod follows it"; return 0 ;;
                esac
            fi
        fi
        _i=$((_i + 1))
    done
    return 1
}

case "${1:-}" in
    source-master)
        if [ -f "$MARKER" ]; then exit 0; fi
        m=$(source_master)
        if [ -z "$m" ]; then
            up=0
            for s in $SOURCE_SENTINELS; do
                if [ "$(src_cli "${s%/*}" "${s##*/}" "$SOURCE_SENTINEL_CRED" PING)" = PONG ]; then up=$((up + 1)); fi
            done
            if [ "$up" -gt 0 ]; then
                log "$up source Sentinel(s) answer but name no master $SOURCE_MASTER_NAME (migration.source.sentinel.masterName): not replicating from anything"
            else
                log "no source Sentinel answers (unreachable, or migration.source.sentinel.auth refused): not replicating from anything"
            fi
            exit 1
        fi
        if why=$(moved_on "${m% *}" "${m#* }"); then log "$why"; exit 1; fi
        printf '%s\n' "$m" ;;
    conf) conf_lines ;;
    loop) loop ;;
    status) report ;;
    *) log "usage: migrate-redis.sh source-master|conf|loop|status"; exit 2 ;;
esac
