SCRIPT=ready-redis
# Readiness of a Redis pod (short and bounded: one local INFO, at most
# three Sentinels asked, CLI_TIMEOUT each). A replica is ready when it is in
# sync: link to its master up, no full sync in progress, not loading. A
# master is ready when the Sentinels name it (the first that answers), or
# when no Sentinel answers (a fresh install before the Sentinels run).
CLI_TIMEOUT=1
info=$(cli localhost "$REDIS_PORT" "$REDIS_CRED" INFO replication persistence | tr -d '\r')
field() { printf '%s\n' "$info" | sed -n "s/^$1://p"; }
not_ready() { echo "not ready: $*"; exit 1; }
[ -n "$info" ] || not_ready "no answer"
[ "$(field loading)" = 0 ] || not_ready "loading its data set"
case "$(field role)" in
    slave)
        [ "$(field master_link_status)" = up ] || not_ready "link to $(field master_host) down"
        [ "$(field master_sync_in_progress)" = 0 ] || not_ready "full sync from $(field master_host) in progress"
        ;;
    master)
        SELF=$(redis_host "${POD_NAME##*-}")
        asked=0
        i=0
        while [ "$i" -lt "$SENTINEL_REPLICAS" ] && [ "$asked" -lt 3 ]; do
            h=$(sentinel_host "$i")
            if resolves "$h"; then
                asked=$((asked + 1))
                ans=$(sentinel_says "$h")
                if [ -n "$ans" ]; then
                    [ "$ans" = "$SELF" ] || not_ready "role master, but Sentinel $h names $ans"
                    exit 0
                fi
            fi
            i=$((i + 1))
        done
        ;;
    *) not_ready "role $(field role)" ;;
esac
