#!/bin/sh
# Prints the Redis 7.0 command and ACL category table of
# src/spec/acl_commands.rs from a real redis-server (the one on PATH):
# `COMMAND LIST` (commands and container|subcommand pairs) and `ACL CAT`.
# The 7.2 and 7.4 additions in that file are recorded by hand from Redis'
# own command definitions (src/commands/*.json at the 7.2.6 and 7.4.1 tags).
#
#   sh tools/redis-acl-table.sh > /tmp/table.rs   # then compare with the file
set -eu
dir=$(mktemp -d)
trap 'redis-cli -s "$dir/r.sock" shutdown nosave >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT
redis-server --port 0 --unixsocket "$dir/r.sock" --save '' --appendonly no \
    --daemonize yes --pidfile "$dir/r.pid" --logfile "$dir/r.log" >/dev/null
i=0
until redis-cli -s "$dir/r.sock" ping >/dev/null 2>&1; do
    i=$((i + 1)); [ "$i" -lt 100 ] || { echo "redis-server did not start" >&2; exit 1; }
    sleep 0.1
done
version=$(redis-cli -s "$dir/r.sock" INFO server | tr -d '\r' | sed -n 's/^redis_version://p')
printf '/// Commands of Redis %s (`COMMAND LIST`, sorted).\n' "$version"
printf 'pub const COMMANDS_7_0: &[&str] = &[\n'
redis-cli -s "$dir/r.sock" COMMAND LIST | LC_ALL=C sort | sed 's/.*/    "&",/'
printf '];\n\n'
printf '/// ACL categories of Redis %s (`ACL CAT`).\n' "$version"
printf 'pub const CATEGORIES: &[&str] = &[\n'
redis-cli -s "$dir/r.sock" ACL CAT | sed 's/.*/    "&",/'
printf '];\n'
