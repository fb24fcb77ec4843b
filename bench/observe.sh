#!/usr/bin/env bash
# What observability costs in throughput: two `fdxd serve --demo` side by
# side, one as shipped (metrics, charts, alerts and request records on) and
# one with --observe-requests=false, loaded in turn by wrk on the refresh
# grant and the FDX /accounts list. The runs alternate (on, off, off, on, …)
# so that other work on the machine weighs on both alike; the table shows
# the median of each and the cost (1 - on/off), and the CPU time each
# server spent per request (from /proc, which other work on the machine
# moves far less than throughput). Everything it starts is stopped on exit.
# See bench/README.md for the machine.
#
# Environment: ROUNDS (6 runs per endpoint and mode), DURATION (5s),
# CONNECTIONS (32), THREADS (2), WARMUP (3s).
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"

ROUNDS="${ROUNDS:-6}"
DURATION="${DURATION:-5s}"
CONNECTIONS="${CONNECTIONS:-32}"
THREADS="${THREADS:-2}"
WARMUP="${WARMUP:-3s}"

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'observe.sh: %s\n' "$*" >&2; exit 1; }
export PATH="$PATH:/usr/local/go/bin"
for tool in go wrk curl python3; do command -v "$tool" >/dev/null || die "$tool is missing"; done

tmp="$(mktemp -d)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do
    kill -TERM "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say "building fdxd and the flow helper"
go build -o "$tmp/fdxd" ./cmd/fdxd
go build -o "$tmp/flow" ./bench/cmd/flow

freeport() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
client_id="demo-aggregator"
client_secret="demo-aggregator-secret"
export FDXD_BENCH_BASIC="$(printf '%s:%s' "$client_id" "$client_secret" | base64 | tr -d '\n')"
export FDXD_BENCH_DIR="$root/bench"

# start MODE FLAGS...: a demo server in its own directory; sets $issuer_MODE.
start() {
  local mode="$1" port admin; shift
  port="$(freeport)"; admin="$(freeport)"
  mkdir -p "$tmp/$mode"
  (cd "$tmp/$mode" && exec "$tmp/fdxd" serve --demo --addr "127.0.0.1:$port" --admin-addr "127.0.0.1:$admin" \
    --db "$tmp/$mode/fdxd.db" --client-rate-limit -1 "$@" >"$tmp/$mode/demo.txt" 2>"$tmp/$mode/serve.log") &
  pids+=($!)
  printf -v "pid_$mode" '%s' "$!"
  printf -v "issuer_$mode" '%s' "http://127.0.0.1:$port"
  printf -v "admin_$mode" '%s' "http://127.0.0.1:$admin"
  for _ in $(seq 1 150); do
    curl -fsS -o /dev/null "http://127.0.0.1:$port/.well-known/openid-configuration" 2>/dev/null && return 0
    sleep 0.2
  done
  die "fdxd serve ($mode) did not answer"
}

# tokens MODE: a refresh token through the login form, and an access token.
tokens() {
  local issuer="$1" rt at
  rt="$(printf '%s\n%s\n' "$client_secret" "demo-password" |
    "$tmp/flow" -issuer "$issuer" -client-id "$client_id" -redirect-uri "http://127.0.0.1:8787/callback" -username demo)"
  at="$(curl -fsS -X POST -H "Authorization: Basic $FDXD_BENCH_BASIC" \
    --data "grant_type=refresh_token&refresh_token=$rt" "$issuer/token" |
    python3 -c 'import json,sys;print(json.load(sys.stdin)["access_token"])')"
  printf '%s %s\n' "$rt" "$at"
}

say "starting two demo servers: observability on, and --observe-requests=false"
start on
start off --observe-requests=false
read -r rt_on at_on <<<"$(tokens "$issuer_on")"
read -r rt_off at_off <<<"$(tokens "$issuer_off")"

cat >"$tmp/accounts.lua" <<'EOF'
dofile(os.getenv("FDXD_BENCH_DIR") .. "/summary.lua")
wrk.headers["Authorization"] = "Bearer " .. os.getenv("FDXD_BENCH_ACCESS_TOKEN")
EOF

# cputicks PID: user + system CPU time of the process, in clock ticks.
cputicks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz="$(getconf CLK_TCK)"

# load MODE ENDPOINT SECONDS: one wrk run; prints "rps p99 cpu-µs/request".
load() {
  local mode="$1" endpoint="$2" d="$3" issuer rt at url script pid t0 t1
  issuer="issuer_$mode"; rt="rt_$mode"; at="at_$mode"; pid="pid_$mode"
  export FDXD_BENCH_REFRESH_TOKEN="${!rt}" FDXD_BENCH_ACCESS_TOKEN="${!at}"
  case "$endpoint" in
    refresh) url="${!issuer}/token"; script="$root/bench/refresh.lua" ;;
    accounts) url="${!issuer}/fdx/v6/accounts"; script="$tmp/accounts.lua" ;;
  esac
  t0="$(cputicks "${!pid}")"
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"$d" --latency -s "$script" "$url" | sed -n 's/^FDXD_RESULT //p' >"$tmp/run"
  t1="$(cputicks "${!pid}")"
  awk -v t="$((t1 - t0))" -v hz="$hz" '{ if ($5 != 0 || $6 != 0) { print "errors: " $0 > "/dev/stderr"; exit 1 }
    print $1, $3, 1e6 * t / hz / $4 }' "$tmp/run"
}

load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
for endpoint in refresh accounts; do
  say "$endpoint: warm-up, then $ROUNDS x $DURATION per mode, alternating"
  load on "$endpoint" "$WARMUP" >/dev/null
  load off "$endpoint" "$WARMUP" >/dev/null
  : >"$tmp/$endpoint.on"; : >"$tmp/$endpoint.off"
  for i in $(seq 1 "$ROUNDS"); do
    if [ $((i % 2)) = 1 ]; then order="on off"; else order="off on"; fi
    for mode in $order; do
      load "$mode" "$endpoint" "$DURATION" >>"$tmp/$endpoint.$mode"
    done
  done
done

median() { sort -n -k"$2","$2" "$1" | awk -v k="$2" '{v[NR]=$k} END {print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }
echo
echo "load average before: $load_before; after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "$(nproc) cores shared by both servers (one loaded at a time) and wrk; $CONNECTIONS connections; median of $ROUNDS alternating ${DURATION} runs"
echo
printf '%-9s %10s %10s %7s %11s %11s %12s %12s %8s\n' endpoint "on req/s" "off req/s" cost "on p99 ms" "off p99 ms" \
  "on CPU µs" "off CPU µs" "CPU +"
for endpoint in refresh accounts; do
  on="$(median "$tmp/$endpoint.on" 1)"; off="$(median "$tmp/$endpoint.off" 1)"
  con="$(median "$tmp/$endpoint.on" 3)"; coff="$(median "$tmp/$endpoint.off" 3)"
  printf '%-9s %10.0f %10.0f %6.1f%% %11.2f %11.2f %12.1f %12.1f %7.1f%%\n' "$endpoint" "$on" "$off" \
    "$(awk -v a="$on" -v b="$off" 'BEGIN{print 100*(1-a/b)}')" \
    "$(median "$tmp/$endpoint.on" 2)" "$(median "$tmp/$endpoint.off" 2)" "$con" "$coff" \
    "$(awk -v a="$con" -v b="$coff" 'BEGIN{print 100*(a/b-1)}')"
done
echo
echo "CPU µs: the server's user + system time per request served (the record writer's included)"
for endpoint in refresh accounts; do
  for mode in on off; do
    echo "runs $endpoint $mode (req/s, CPU µs): $(awk '{printf "%.0f/%.0f ", $1, $3}' "$tmp/$endpoint.$mode")"
  done
done
curl -fsS "$admin_on/metrics" | grep -E '^fdxd_request_records_(written|dropped|write_failures)_total' | sed 's/^/on server: /'
