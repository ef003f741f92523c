# ---- settings only some servers accept (redis-sentinel-fn) ----
# The ConfigMaps change before the pods roll: during a server upgrade, or
# with the StatefulSet rolled back to the old image, a container restarted
# in place runs an older binary than the configuration was rendered for.
# redis.conf and sentinel.conf hold what every supported server accepts; a
# setting that needs a server version is in the *-gated.conf file, written
# here only when the binary this pod runs meets its condition.
# RUNNING_SERVER: the server and version the binary reports ("valkey 9.1.2",
# "redis 7.0.15"; empty when --version says nothing usable). redis-sentinel
# is the same binary in Sentinel mode.
RUNNING_SERVER=$("$SERVER_BIN" --version 2>/dev/null |
    awk '{ for (i = 2; i <= NF; i++) if ($i ~ /^v=[0-9]/) { print tolower($1), substr($i, 3); exit } }') || RUNNING_SERVER=""

# server_meets SERVER>=MAJOR.MINOR: the running server is SERVER at that
# version or later.
server_meets() {
    printf '%s\n' "$RUNNING_SERVER" | awk -v want="$1" '
        { split(want, w, ">="); split(w[2], need, "."); split($2, have, ".") }
        $1 == w[1] && (have[1] + 0 > need[1] + 0 || (have[1] + 0 == need[1] + 0 && have[2] + 0 >= need[2] + 0)) { ok = 1 }
        END { exit !ok }'
}

# gated_conf FILE: the lines of FILE meant for the running server, as config
# lines. A line is CONDITION DIRECTIVE: SERVER>=MAJOR.MINOR (written when the
# server meets it) or !SERVER>=MAJOR.MINOR (written when it does not);
# comments and empty lines are skipped. Each line left out is logged. A
# missing FILE holds nothing.
gated_conf() {
    [ -e "$1" ] || return 0
    while IFS= read -r _gl || [ -n "$_gl" ]; do
        case "$_gl" in '' | '#'*) continue ;; esac
        _gc=${_gl%% *}; _gd=${_gl#* }
        case "$_gc" in
            '!'*) if server_meets "${_gc#!}"; then _gk=""; else _gk=1; fi ;;
            *) if server_meets "$_gc"; then _gk=1; else _gk=""; fi ;;
        esac
        if [ -n "$_gk" ]; then
            conf_line "$_gd"
        else
            log "not written for ${RUNNING_SERVER:-an unknown server} (condition $_gc): $_gd"
        fi
    done < "$1"
}
