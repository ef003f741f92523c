#!/usr/bin/env bash
# The real-server suites on today's servers besides Debian's Redis 7.0.15
# (which the main test run uses): Valkey 9.1.2 and Redis 8.0.6, built and
# cached by .ci/install.d/45-servers.sh. E2E_SERVER points the harness at
# the cached build (tests/it/harness/server.rs). The suites are modules of
# the one integration-test binary `it`: a filter names a test by its module
# path (`test(=day2::...)`). On each server:
# - acl_table: the command table against the real server;
# - e2e_topology tls_topology: bring-up, TLS, failover, restarts (Valkey
#   as an image with only the valkey-* names: E2E_VALKEY_NAMES_ONLY=1);
# - partition: the isolated master (no acknowledged write lost), the
#   Sentinel partitions and restarts (one Sentinel cut off must not fail
#   the master over), the master choice; the two scenarios that take a
#   minute each (a pod back with a new address, Sentinels restarted around
#   a partition) run on Redis 7.0.15 only, to keep CI under 45 minutes
#   (they passed on both servers when measured: docs/servers.md);
# - e2e_sources the_server_reloads_through_the_kubelet_swap (Valkey only;
#   about 10 s): Valkey 9.1's own certificate reload (tls-auto-reload-interval,
#   which replaces the watcher and the Sentinel restarts there) through the
#   kubelet's ..data switch, in server and Sentinel mode;
# - day2 rollouts_hand_over_without_loss: the three rollouts with the
#   continuous acknowledged writer (the auth/TLS-mode and scaling variants
#   run on Redis 7.0.15 only: they exercise our scripts, not the server).
# - day2_rotation rotation_and_renewal_without_a_roll (Valkey only; about
#   60 s): generated certificates reach Valkey 9.1 pods (the default image)
#   through the kubelet and the server's own reload, with no roll, while the
#   acknowledged writer runs. In the main run (Redis 7.0.15) it checks that
#   both steps roll.
# - migration a_source_moves_to_a_newer_server (Redis 8.0 only; about 40 s):
#   a running Redis 8.0.6 moved into a Valkey 9.1.2 topology (RDB format 12,
#   read through the gated rdb-version-check relaxed) with the acknowledged
#   writer; the main run moves Redis 7.0.15 there.
# The server upgrades (Redis 7.0.15 -> Valkey 9.1.2 and -> Redis 8.0.6)
# are day2's server_upgrade_is_a_rollout, in the main run.
# Timings per suite are printed (docs/servers.md has the measured ones).
set -euo pipefail
cd "$(dirname "$0")/../.."
run() { # SERVER LABEL ARGS...: one suite on one server, timed
    local server=$1 label=$2; shift 2
    local start=$SECONDS
    E2E_SERVER=$server cargo nextest run --locked --no-fail-fast "$@"
    echo "server-matrix: $server $label: $((SECONDS - start)) s"
}
for server in valkey-9.1 redis-8.0; do
    names=0
    [ "${server%%-*}" = valkey ] && names=1
    run "$server" acl_table --test it -E 'test(/^acl_table::/)'
    E2E_VALKEY_NAMES_ONLY=$names run "$server" e2e_topology --test it -E 'test(=e2e_topology::tls_topology)'
    if [ "$names" = 1 ]; then
        run "$server" tls_reload --test it -E 'test(=e2e_sources::the_server_reloads_through_the_kubelet_swap)'
        run "$server" rotation_without_a_roll --test it -E 'test(=day2_rotation::rotation_and_renewal_without_a_roll)'
    fi
    run "$server" partition --test it \
        -E 'test(=partition::isolated_master_loses_no_acknowledged_write) | test(=partition::sentinel_partitions_and_restarts) | test(=partition::master_choice_follows_the_replicas)'
    run "$server" day2 --test it -E 'test(=day2::rollouts_hand_over_without_loss)'
    if [ "$names" = 0 ]; then
        run "$server" migration_to_valkey --test it -E 'test(=migration::a_source_moves_to_a_newer_server)'
    fi
done
