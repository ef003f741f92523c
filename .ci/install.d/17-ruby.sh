#!/usr/bin/env bash
# Ruby and redis-rb (Debian's ruby and ruby-redis, redis-rb 4.8): the Ruby
# client tests/it/consumers.rs reads the 3scale Secrets with, as apisonator and
# porta (both Ruby) read them. Idempotent: installs only what is missing.
set -euo pipefail
need=()
for pkg in ruby ruby-redis; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
if [ "${#need[@]}" -gt 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
ruby -e 'require "redis"; require "openssl"; puts "ruby #{RUBY_VERSION}, redis-rb #{Redis::VERSION}"'
