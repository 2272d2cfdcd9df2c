#!/usr/bin/env bash
# Installs the real servers the tests start (PostgreSQL, Chromium) from Debian's packages when missing.
# Run as root on a fresh machine; elsewhere it only says what is missing (the tests then skip, or fail under CI=true).
set -euo pipefail

missing=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
# /usr/sbin is not on every PATH, hence the explicit path first.
[ -x /usr/sbin/slapd ] || command -v slapd >/dev/null 2>&1 || missing+=(slapd)
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
# tests/deploy checks deploy/nginx.conf with `nginx -t` (nothing is started).
[ -x /usr/sbin/nginx ] || command -v nginx >/dev/null 2>&1 || missing+=(nginx)
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "Tests need these Debian packages: ${missing[*]} (sudo apt-get install --no-install-recommends ${missing[*]})" >&2
  exit 0
fi

# Keep apt from starting the packaged daemons: the tests start their own, on 127.0.0.1 only.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod +x "$policy" && created_policy=1
fi
trap 'if [ "$created_policy" -eq 1 ]; then rm -f "$policy"; fi' EXIT

echo "Installing test servers: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
