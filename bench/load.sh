#!/usr/bin/env bash
# Load test of fdxd with wrk: builds fdxd, starts `fdxd serve --demo` on a
# free loopback port with a fresh database (a SQLite file in a temporary
# directory, or with --db postgres a new PostgreSQL database), gets a
# refresh token through the real login flow (bench/cmd/flow), then runs wrk
# against the refresh grant, the JWKS, discovery, the FDX /accounts and a
# 100-row transactions page, and
# prints a summary table against the issues' targets. Everything it starts
# (and the PostgreSQL database it made) is stopped or dropped on exit. See
# bench/README.md.
#
# Usage: bash bench/load.sh [--db sqlite|postgres]
#   --db postgres (or DB=postgres): the server runs on PostgreSQL at
#   FDXD_BENCH_POSTGRES, else FDXD_TEST_POSTGRES, else
#   postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable (a user
#   that may create databases; bash .ci/postgres.sh provides one), with a
#   pool of DB_MAX_CONNS connections (default: fdxd's).
#
# Environment: DB (sqlite), ENDPOINTS ("refresh jwks discovery accounts
# transactions"),
# DURATION (20s), CONNECTIONS (32), THREADS (2), WARMUP (3s),
# RUNS (1: runs per endpoint, the table shows the median), BENCH (1: also
# run the code-exchange and RS256 Go benchmarks and print their ratio),
# STRICT (0: 1 makes a missed target exit 1).
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"

DURATION="${DURATION:-20s}"
CONNECTIONS="${CONNECTIONS:-32}"
THREADS="${THREADS:-2}"
WARMUP="${WARMUP:-3s}"
RUNS="${RUNS:-1}"
BENCH="${BENCH:-1}"
STRICT="${STRICT:-0}"
DB="${DB:-sqlite}"
ENDPOINTS="${ENDPOINTS:-refresh jwks discovery accounts transactions}"
DB_MAX_CONNS="${DB_MAX_CONNS:-}"

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'load.sh: %s\n' "$*" >&2; exit 1; }

while [ $# -gt 0 ]; do
  case "$1" in
    --db) [ $# -ge 2 ] || die "--db needs sqlite or postgres"; DB="$2"; shift 2 ;;
    --db=*) DB="${1#--db=}"; shift ;;
    *) die "unknown argument $1 (usage: bash bench/load.sh [--db sqlite|postgres])" ;;
  esac
done
case "$DB" in
  sqlite|postgres) ;;
  *) die "--db $DB: use sqlite or postgres" ;;
esac

export PATH="$PATH:/usr/local/go/bin"
command -v go >/dev/null || die "no Go toolchain on PATH"
if ! command -v wrk >/dev/null; then
  [ "$(id -u)" = 0 ] || die "wrk is missing: apt-get install wrk (as root)"
  say "installing wrk"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
fi
command -v curl >/dev/null || die "curl is missing"

tmp="$(mktemp -d)"
server_pid=""
pg_admin=""
pg_name=""
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  if [ -n "$pg_name" ]; then
    psql -q -X "$pg_admin" -c "DROP DATABASE IF EXISTS $pg_name WITH (FORCE)" >/dev/null 2>&1 ||
      printf 'load.sh: could not drop the database %s\n' "$pg_name" >&2
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say "building fdxd and the flow helper"
go build -o "$tmp/fdxd" ./cmd/fdxd
go build -o "$tmp/flow" ./bench/cmd/flow

# Free ports: bind port 0, read it, release it.
free_port() {
  python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])' 2>/dev/null ||
    echo $(( 20000 + RANDOM % 20000 ))
}
port="$(free_port)"
admin_port="$(free_port)"
issuer="http://127.0.0.1:$port"

db_args=(--db "$tmp/fdxd.db")
db_label="SQLite (modernc, WAL) in $tmp"
if [ "$DB" = postgres ]; then
  command -v psql >/dev/null || die "psql is missing (Debian: postgresql-client)"
  pg_admin="${FDXD_BENCH_POSTGRES:-${FDXD_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}}"
  psql -q -X "$pg_admin" -c 'SELECT 1' >/dev/null 2>&1 ||
    die "no PostgreSQL answers at the admin URL (set FDXD_BENCH_POSTGRES, or run: bash .ci/postgres.sh)"
  name="fdxd_bench_$$_$RANDOM"
  psql -q -X "$pg_admin" -c "CREATE DATABASE $name" >/dev/null || die "CREATE DATABASE $name failed"
  pg_name="$name"
  # The same URL with the new database as its path.
  db_url="$(printf '%s' "$pg_admin" | sed -E "s#^(postgres(ql)?://[^/?]*)(/[^?]*)?#\1/$pg_name#")"
  db_args=(--db "$db_url")
  if [ -n "$DB_MAX_CONNS" ]; then db_args+=(--db-max-conns "$DB_MAX_CONNS"); fi
  # Replicas share the key-encryption key through the environment; a
  # throwaway one for this run.
  FDXD_KEY_ENCRYPTION_KEY="$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')"
  export FDXD_KEY_ENCRYPTION_KEY
  db_label="PostgreSQL $(psql -X -At "$pg_admin" -c 'SHOW server_version' | cut -d' ' -f1), database $pg_name, pool ${DB_MAX_CONNS:-default}"
fi

say "starting fdxd serve --demo on $issuer ($DB; per-client rate limit off)"
# The per-client rate limit (default 1000 req/s per client) is switched off:
# a single client at full speed would otherwise measure the limiter's 503s,
# not the server's capacity. Logging stays at the default (info, one JSON
# line per request), written to a file as in production, and so do request
# records, metrics and the admin listener (on a port of its own, unloaded).
(cd "$tmp" && exec ./fdxd serve --demo --addr "127.0.0.1:$port" --admin-addr "127.0.0.1:$admin_port" \
  "${db_args[@]}" --client-rate-limit -1 >"$tmp/demo.txt" 2>"$tmp/serve.log") &
server_pid=$!
for _ in $(seq 1 150); do
  curl -fsS -o /dev/null "$issuer/.well-known/openid-configuration" 2>/dev/null && break
  kill -0 "$server_pid" 2>/dev/null || { tail -n 20 "$tmp/serve.log" >&2; die "fdxd serve exited"; }
  sleep 0.2
done
curl -fsS -o /dev/null "$issuer/.well-known/openid-configuration" || die "fdxd serve did not answer discovery"

say "signing the demo user in through the login form for a refresh token"
client_id="demo-aggregator"
client_secret="demo-aggregator-secret"
FDXD_BENCH_REFRESH_TOKEN="$(printf '%s\n%s\n' "$client_secret" "demo-password" |
  "$tmp/flow" -issuer "$issuer" -client-id "$client_id" -redirect-uri "http://127.0.0.1:8787/callback" -username demo)"
FDXD_BENCH_BASIC="$(printf '%s:%s' "$client_id" "$client_secret" | base64 | tr -d '\n')"
FDXD_BENCH_DIR="$root/bench"
export FDXD_BENCH_REFRESH_TOKEN FDXD_BENCH_BASIC FDXD_BENCH_DIR
status="$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Basic $FDXD_BENCH_BASIC" \
  --data "grant_type=refresh_token&refresh_token=$FDXD_BENCH_REFRESH_TOKEN" "$issuer/token")"
[ "$status" = 200 ] || die "a single refresh answered $status"

# access_token: a fresh access token (from a refresh) for the FDX load.
access_token() {
  curl -fsS -X POST -H "Authorization: Basic $FDXD_BENCH_BASIC" \
    --data "grant_type=refresh_token&refresh_token=$FDXD_BENCH_REFRESH_TOKEN" "$issuer/token" |
    sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p'
}

# server_cpu_ticks prints the CPU time fdxd has used (user + system, in
# clock ticks).
server_cpu_ticks() { awk '{print $14 + $15}' "/proc/$server_pid/stat"; }
clk_tck="$(getconf CLK_TCK)"

# run NAME URL SCRIPT: warm up, then RUNS measured runs; prints the median
# run's "rps p50 p99 requests non2xx errors cpu_us_per_request". The CPU
# fdxd spent per request hardly depends on what else the machine runs, so
# it still means something when req/s and latencies are disturbed.
run() {
  local name="$1" url="$2" script="$3" out i before after
  say "$name: warm-up $WARMUP, then $RUNS x $DURATION at $CONNECTIONS connections ($THREADS wrk threads)"
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"$WARMUP" -s "$script" "$url" >/dev/null
  : >"$tmp/$name.runs"
  for i in $(seq 1 "$RUNS"); do
    before="$(server_cpu_ticks)"
    out="$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s "$script" "$url")"
    after="$(server_cpu_ticks)"
    printf '%s\n' "$out" >"$tmp/$name.$i.txt"
    printf '%s\n' "$out" | sed -n 's/^FDXD_RESULT //p' |
      awk -v t=$(( after - before )) -v hz="$clk_tck" '{printf "%s %.0f\n", $0, ($4 > 0 ? t * 1e6 / hz / $4 : 0)}' >>"$tmp/$name.runs"
  done
  sort -n -k1,1 "$tmp/$name.runs" | sed -n "$(( (RUNS + 1) / 2 ))p"
}

load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
declare -A result
for endpoint in $ENDPOINTS; do
  case "$endpoint" in
    refresh) result[refresh]="$(run refresh "$issuer/token" bench/refresh.lua)" ;;
    jwks) result[jwks]="$(run jwks "$issuer/jwks" bench/get.lua)" ;;
    discovery) result[discovery]="$(run discovery "$issuer/.well-known/openid-configuration" bench/get.lua)" ;;
    accounts)
      # A token minted now outlives the runs (15 min by default).
      FDXD_BENCH_ACCESS_TOKEN="$(access_token)"
      [ -n "$FDXD_BENCH_ACCESS_TOKEN" ] || die "no access token for the /accounts load"
      export FDXD_BENCH_ACCESS_TOKEN
      result[accounts]="$(run accounts "$issuer/fdx/v6/accounts" bench/accounts.lua)" ;;
    transactions)
      # A 100-row page of the demo's first deposit account over the last
      # year (the default window is shorter and holds fewer).
      FDXD_BENCH_ACCESS_TOKEN="$(access_token)"
      [ -n "$FDXD_BENCH_ACCESS_TOKEN" ] || die "no access token for the transactions load"
      export FDXD_BENCH_ACCESS_TOKEN
      deposit="$(curl -fsS -H "Authorization: Bearer $FDXD_BENCH_ACCESS_TOKEN" "$issuer/fdx/v6/accounts?limit=100" |
        tr '{' '\n' | sed -n 's/.*"accountCategory":"DEPOSIT_ACCOUNT".*"accountId":"\([^"]*\)".*/\1/p' | head -n 1)"
      [ -n "$deposit" ] || die "the demo user has no deposit account"
      page="$issuer/fdx/v6/accounts/$deposit/transactions?limit=100&startTime=$(date -u -d '-360 days' +%F)&endTime=$(date -u +%F)"
      rows="$(curl -fsS -H "Authorization: Bearer $FDXD_BENCH_ACCESS_TOKEN" "$page" | grep -o '"transactionId"' | wc -l)"
      [ "$rows" = 100 ] || die "a 100-row page of account $deposit holds $rows transactions"
      result[transactions]="$(run transactions "$page" bench/accounts.lua)" ;;
    *) die "ENDPOINTS: unknown endpoint $endpoint (refresh, jwks, discovery, accounts, transactions)" ;;
  esac
done

missed=0
row() { # name result min_rps max_p99_ms(or -) target_text
  local name="$1" rps p50 p99 n non2xx errs cpu verdict="met"
  read -r rps p50 p99 n non2xx errs cpu <<<"$2"
  if awk -v r="$rps" -v m="$3" 'BEGIN{exit !(r < m)}'; then verdict="MISSED"; fi
  if [ "$4" != "-" ] && awk -v p="$p99" -v m="$4" 'BEGIN{exit !(p > m)}'; then verdict="MISSED"; fi
  if [ "$non2xx" != 0 ] || [ "$errs" != 0 ]; then verdict="ERRORS"; fi
  [ "$verdict" = met ] || missed=1
  printf '%-12s %7.0f %9.2f %9.2f %10d %8d %7d %9s   %-28s %s\n' "$name" "$rps" "$p50" "$p99" "$n" "$non2xx" "$errs" "$cpu" "$5" "$verdict"
}

echo
echo "load average before: $load_before; after: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine skews the figures)"
echo "fdxd load test: $(nproc) cores shared by fdxd and wrk; $CONNECTIONS connections, $THREADS wrk threads, $DURATION per run, median of $RUNS run(s)"
echo "database: $db_label"
echo "per-client rate limit off (--client-rate-limit -1): this measures capacity, not the limiter"
echo
printf '%-12s %7s %9s %9s %10s %8s %7s %9s   %-28s %s\n' endpoint req/s "p50 ms" "p99 ms" requests non-2xx errors "cpu us/r" target verdict
if [ -n "${result[refresh]:-}" ]; then row refresh "${result[refresh]}" 4500 15 ">= 4500 req/s, p99 <= 15 ms"; fi
if [ -n "${result[jwks]:-}" ]; then row jwks "${result[jwks]}" 20000 - ">= 20000 req/s"; fi
if [ -n "${result[discovery]:-}" ]; then row discovery "${result[discovery]}" 20000 - ">= 20000 req/s"; fi
if [ -n "${result[accounts]:-}" ]; then row accounts "${result[accounts]}" 12500 10 ">= 12500 req/s, p99 <= 10 ms"; fi
if [ -n "${result[transactions]:-}" ]; then row transactions "${result[transactions]}" 4000 - ">= 4000 req/s (100 rows)"; fi

if [ "$BENCH" = 1 ]; then
  # Stop the server first: the Go benchmarks should have the machine.
  kill -TERM "$server_pid"; wait "$server_pid" || die "fdxd serve did not exit cleanly"
  server_pid=""
  echo
  say "Go benchmarks: code exchange next to RSA-2048 signing alone (median of 5)"
  go test ./internal/oauth -run '^$' -bench '^Benchmark(CodeExchange|SignRS256)$' -count 5 >"$tmp/bench.txt"
  # median BENCH FIELD: the median of a column (3: ns/op, 5: cpu-ns/op).
  median() { grep -E "^Benchmark$1-[0-9]+[[:space:]]" "$tmp/bench.txt" | awk -v f="$2" '{print $f}' | sort -n | sed -n 3p; }
  echo
  echo "ratio = sign / exchange: the share of the signing-only rate that code exchange reaches. The verdict reads the"
  echo "CPU ratio (what each costs the machine: capacity); wall time also moves with whatever else the machine runs."
  printf '%-16s %12s %12s %6s %14s %14s %6s   %s\n' "" "exchange ns" "sign ns" ratio "exchange cpu" "sign cpu" ratio "target >= 0.70"
  for mode in "inproc serial:CodeExchange/inproc:SignRS256/serial" "inproc parallel:CodeExchange/inproc-parallel:SignRS256/parallel" \
              "http parallel:CodeExchange/http-parallel:SignRS256/parallel"; do
    IFS=: read -r label ex sg <<<"$mode"
    e="$(median "$ex" 3)"; s="$(median "$sg" 3)"; ec="$(median "$ex" 5)"; sc="$(median "$sg" 5)"
    ratio="$(awk -v e="$e" -v s="$s" 'BEGIN{printf "%.2f", s/e}')"
    cpu_ratio="$(awk -v e="$ec" -v s="$sc" 'BEGIN{printf "%.2f", s/e}')"
    verdict=met
    awk -v r="$cpu_ratio" 'BEGIN{exit !(r < 0.70)}' && { verdict=MISSED; missed=1; }
    printf '%-16s %12s %12s %6s %14s %14s %6s   %s\n' "$label" "$e" "$s" "$ratio" "$ec" "$sc" "$cpu_ratio" "$verdict"
  done
fi

if [ "$missed" = 1 ] && [ "$STRICT" = 1 ]; then
  exit 1
fi
