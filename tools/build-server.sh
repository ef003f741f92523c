#!/usr/bin/env bash
# Builds one Redis or Valkey release with TLS into the server cache the
# tests use (.ci/cache/servers/<name>-<version>/bin, gitignored), for
# generating and checking its command table (tools/redis-acl-table.sh,
# tests/it/acl_table.rs) or running a suite on it (E2E_SERVER=<name>-<major.minor>).
# CI builds only the servers of .ci/install.d/45-servers.sh; this is for the
# other table versions (docs/servers.md says where each came from).
#
#   tools/build-server.sh NAME VERSION SOURCE
#
# SOURCE is one of
#   debian:PKG=DEBVERSION   Debian's source package (deb-src lists as in
#                           .ci/install.d/45-servers.sh); when the .dsc is not
#                           reachable, its upstream .orig tarball alone
#   git:GITDIR              the tag VERSION of a git repository (a clone of
#                           redis/redis or valkey-io/valkey), via git archive
# Idempotent: a cached build that answers --version with VERSION is kept.
set -euo pipefail
[ $# -eq 3 ] || { sed -n '2,17p' "$0" >&2; exit 2; }
name=$1 version=$2 source=$3
case $name in redis | valkey) ;; *) echo "NAME: redis or valkey" >&2; exit 2 ;; esac
cd "$(dirname "$0")/.."
prefix="$PWD/.ci/cache/servers/$name-$version"
if "$prefix/bin/$name-server" --version 2>/dev/null | grep -q "v=$version "; then
    echo "$name $version: cached in $prefix"
    exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
case $source in
debian:*)
    spec=${source#debian:}
    (cd "$work" && apt-get source -qq --download-only "$spec" >/dev/null 2>&1) || true
    if ls "$work"/*.dsc >/dev/null 2>&1; then
        (cd "$work" && { dpkg-source -x --skip-debianization ./*.dsc src >/dev/null 2>&1 ||
            dpkg-source -x ./*.dsc src >/dev/null; })
    elif ls "$work"/*.orig.tar.* >/dev/null 2>&1; then
        mkdir "$work/src"
        tar -xf "$work"/*.orig.tar.* -C "$work/src" --strip-components=1
    else
        echo "$spec: neither the .dsc nor the .orig tarball could be downloaded" >&2
        exit 1
    fi
    ;;
git:*)
    gitdir=${source#git:}
    mkdir "$work/src"
    git --git-dir="$gitdir" archive --format=tar "refs/tags/$version" | tar -x -C "$work/src"
    ;;
*) echo "SOURCE: debian:PKG=VERSION or git:GITDIR" >&2; exit 2 ;;
esac
cd "$work/src"
nice -n 10 make -j"$(nproc)" BUILD_TLS=yes USE_SYSTEMD=no >build.log 2>&1 ||
    { tail -40 build.log; exit 1; }
rm -rf "$prefix"
nice -n 10 make install PREFIX="$prefix" >>build.log 2>&1
"$prefix/bin/$name-server" --version
