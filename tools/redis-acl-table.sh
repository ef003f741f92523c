#!/bin/sh
# Prints the command and ACL category table of a real server, in the form of
# src/spec/acl_tables/<server>-<major.minor>.txt (src/spec/acl_commands.rs
# reads those files): a header line naming the server and version, the ACL
# categories as `@name` lines in `ACL CAT` order, then every command and
# `container|subcommand` of `COMMAND LIST`, lower case, sorted.
# BIN_DIR: where the server's binaries are (valkey-server / valkey-cli when
# there, else redis-server / redis-cli; default: the ones on PATH).
#
#   sh tools/redis-acl-table.sh .ci/cache/servers/valkey-9.1.2/bin \
#       > src/spec/acl_tables/valkey-9.1.txt
#
# tests/it/acl_table.rs `every_table_is_what_its_server_says` runs this on every
# server binary present (Debian's redis-server, the builds in
# .ci/cache/servers: .ci/install.d/45-servers.sh, tools/build-server.sh) and
# compares the output with the table file of that version.
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
printf '# %s %s: ACL CAT (@ lines), COMMAND LIST (sorted); tools/redis-acl-table.sh\n' "$kind" "$version"
"$cli" -s "$dir/r.sock" ACL CAT | tr -d '\r' | sed 's/^/@/'
"$cli" -s "$dir/r.sock" COMMAND LIST | tr -d '\r' | tr '[:upper:]' '[:lower:]' | LC_ALL=C sort
