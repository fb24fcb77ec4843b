-- The refresh_token grant with client_secret_basic, as an aggregator
-- refreshes. The credentials and the refresh token come from the
-- environment that bench/load.sh sets; they are never printed.
dofile(os.getenv("FDXD_BENCH_DIR") .. "/summary.lua")

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic " .. os.getenv("FDXD_BENCH_BASIC")
wrk.body = "grant_type=refresh_token&refresh_token=" .. os.getenv("FDXD_BENCH_REFRESH_TOKEN")
