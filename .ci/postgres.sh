#!/usr/bin/env bash
# Makes sure a PostgreSQL answers on 127.0.0.1 (port 5432, or FDXD_PG_PORT)
# for the tests, and prints the URL to export as FDXD_TEST_POSTGRES on
# stdout (and nothing else there; progress goes to stderr):
#
#   export FDXD_TEST_POSTGRES="$(bash .ci/postgres.sh)"
#
# A server that already answers is used as it is (user postgres, trust
# auth). Otherwise Debian's postgresql is installed when missing and a
# throwaway cluster is started as the postgres user (initdb refuses root)
# with trust auth on 127.0.0.1 only; it keeps running for the tests. Any
# failure stops the script with a message and a non-zero status.
set -euo pipefail

port="${FDXD_PG_PORT:-5432}"
url="postgres://postgres@127.0.0.1:${port}/postgres?sslmode=disable"

say() { printf 'postgres.sh: %s\n' "$*" >&2; }
die() { say "FAILED: $*"; exit 1; }

server_bindir() {
  # The newest installed server version.
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

answers() {
  local isready
  isready="$(command -v pg_isready || true)"
  [ -n "$isready" ] || isready="$(server_bindir)/pg_isready"
  [ -x "$isready" ] && "$isready" -q -h 127.0.0.1 -p "$port" -t 5
}

if answers; then
  say "a PostgreSQL answers on 127.0.0.1:${port}; using it"
  echo "$url"
  exit 0
fi

bindir="$(server_bindir)"
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
  [ "$(id -u)" = 0 ] || die "nothing answers on 127.0.0.1:${port} and installing postgresql needs root"
  say "nothing answers on 127.0.0.1:${port}; installing Debian's postgresql"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update >&2 || die "apt-get update"
  apt-get install -y postgresql >&2 || die "apt-get install -y postgresql"
  # The package may have started its own cluster on the port.
  if answers; then
    say "the installed package's cluster answers on 127.0.0.1:${port}; using it"
    echo "$url"
    exit 0
  fi
  bindir="$(server_bindir)"
  [ -n "$bindir" ] && [ -x "$bindir/initdb" ] || die "postgresql installed but no initdb under /usr/lib/postgresql/*/bin"
fi

# A throwaway cluster owned by postgres (or by the caller when not root).
run_as_owner() {
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || die "there is no postgres user to run the cluster as"
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}
datadir="$(mktemp -d /tmp/fdxd-postgres.XXXXXX)"
if [ "$(id -u)" = 0 ]; then chown postgres: "$datadir"; fi
chmod 700 "$datadir"
say "starting a throwaway cluster in ${datadir} on 127.0.0.1:${port}"
run_as_owner "$bindir/initdb" -D "$datadir/data" -U postgres -A trust -E UTF8 --locale=C --no-sync >"$datadir/initdb.log" 2>&1 \
  || { tail -n 20 "$datadir/initdb.log" >&2; die "initdb"; }
run_as_owner "$bindir/pg_ctl" -D "$datadir/data" -l "$datadir/server.log" -w -t 60 \
  -o "-c listen_addresses=127.0.0.1 -c port=${port} -c unix_socket_directories=${datadir} -c fsync=off -c max_connections=200" \
  start >&2 || { tail -n 20 "$datadir/server.log" >&2; die "the cluster did not start"; }
for _ in $(seq 1 30); do
  answers && break
  sleep 1
done
answers || { tail -n 20 "$datadir/server.log" >&2; die "the cluster started but does not answer on 127.0.0.1:${port}"; }
say "throwaway cluster up; stop it with: runuser -u postgres -- $bindir/pg_ctl -D $datadir/data stop -m fast"
echo "$url"
