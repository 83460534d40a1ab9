#!/bin/sh
# Installs what sgd needs to build, run and test, from Debian's packages only.
# Idempotent: packages already present are skipped, so a second run costs ~1 s.
# Usage: scripts/deps.sh [run|test|bench]   (test adds the test tools; bench the peers measured)
set -eu
want="${1:-run}"
pkgs="g++ cmake ninja-build make libboost1.81-dev rapidjson-dev prometheus-cpp-dev libcaf-dev libssl-dev ca-certificates"
if [ "$want" = test ] || [ "$want" = bench ]; then
  # haproxy and nginx-light: the [deploy] tests run deploy/haproxy.cfg and deploy/nginx.conf
  pkgs="$pkgs catch2 curl openssl prometheus haproxy nginx-light"
  # the proxy conformance suite: Debian's python3 with h11, a strict HTTP/1.1 parser that shares
  # nothing with Beast; clang-15 + libFuzzer for the parser and relay fuzz targets
  pkgs="$pkgs python3 python3-h11 clang-15 libfuzzer-15-dev"
  # the cluster tests run one controller with its clock skewed (libfaketime via LD_PRELOAD)
  pkgs="$pkgs libfaketime"
fi
if [ "$want" = bench ]; then
  pkgs="$pkgs wrk util-linux procps valgrind"
  # bench/registry: a 3-member etcd as the peer, strace to make fdatasync cost 2 ms on both
  pkgs="$pkgs etcd-server etcd-client strace"
fi
missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  if [ "$(id -u)" != 0 ]; then SUDO=sudo; else SUDO=; fi
  echo "deps: installing$missing"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q
  # --no-install-recommends keeps prometheus from pulling in exporters; never libboost-dev (1.74 would replace 1.81)
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing
fi
