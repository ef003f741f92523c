#!/bin/sh
# Prints a command and ACL category table of src/spec/acl_commands.rs from a
# real server: `COMMAND LIST` (commands and container|subcommand pairs) and
# `ACL CAT`. BIN_DIR: where the server's binaries are (valkey-server /
# valkey-cli are used when there, else redis-server / redis-cli; default:
# the ones on PATH). The constants are named after the server and its
# version: COMMANDS_REDIS_8_0, CATEGORIES_VALKEY_9_1, ...
#
#   sh tools/redis-acl-table.sh .ci/cache/servers/valkey-9.1.2/bin > /tmp/table.rs
#
# The Redis 7.2 and 7.4 additions in that file are recorded by hand from
# Redis' own command definitions (src/commands/*.json at the 7.2.6 and
# 7.4.1 tags); tests/it/acl_table.rs checks every table against the server
# E2E_SERVER names.
set -eu
bin=${1:-}
server=redis-server; cli=redis-cli
if [ -n "$bin" ]; then
    if [ -x "$bin/valkey-server" ]; then server=$bin/valkey-server; cli=$bin/valkey-cli
    else server=$bin/redis-server; cli=$bin/redis-cli; fi
fi
dir=$(mktemp -d)
trap '"$cli" -s "$dir/r.sock" shutdown nosave >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT
"$server" --port 0 --unixsocket "$dir/r.sock" --save '' --appendonly no \
    --daemonize yes --pidfile "$dir/r.pid" --logfile "$dir/r.log" >/dev/null
i=0
until "$cli" -s "$dir/r.sock" ping >/dev/null 2>&1; do
    i=$((i + 1)); [ "$i" -lt 100 ] || { echo "$server did not start" >&2; exit 1; }
    sleep 0.1
done
info=$("$cli" -s "$dir/r.sock" INFO server | tr -d '\r')
version=$(printf '%s\n' "$info" | sed -n 's/^valkey_version://p')
kind=Valkey
if [ -z "$version" ]; then
    version=$(printf '%s\n' "$info" | sed -n 's/^redis_version://p'); kind=Redis
fi
suffix=$(printf '%s_%s' "$kind" "$version" | tr 'a-z' 'A-Z' | cut -d. -f1-2 | tr . _)
printf '/// Commands of %s %s (`COMMAND LIST`, sorted).\n' "$kind" "$version"
printf 'pub const COMMANDS_%s: &[&str] = &[\n' "$suffix"
"$cli" -s "$dir/r.sock" COMMAND LIST | tr "[:upper:]" "[:lower:]" | LC_ALL=C sort | sed 's/.*/    "&",/'
printf '];\n\n'
printf '/// ACL categories of %s %s (`ACL CAT`).\n' "$kind" "$version"
printf 'pub const CATEGORIES_%s: &[&str] = &[\n' "$suffix"
"$cli" -s "$dir/r.sock" ACL CAT | sed 's/.*/    "&",/'
printf '];\n'
