-- Shared by the wrk scripts of bench/load.sh: one machine-readable line
-- per run, so the script does not parse wrk's human output.
-- FDXD_RESULT <requests/s> <p50 ms> <p99 ms> <requests> <non-2xx> <socket errors>
function done(summary, latency, requests)
  local seconds = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format("FDXD_RESULT %.1f %.3f %.3f %d %d %d\n",
    summary.requests / seconds,
    latency:percentile(50) / 1000,
    latency:percentile(99) / 1000,
    summary.requests,
    e.status,
    e.connect + e.read + e.write + e.timeout))
end
