-- GET an FDX URL (/fdx/v6/accounts, a transactions page) with a bearer
-- access token, as an aggregator reads the FDX API. The token comes from the environment that bench/load.sh
-- sets; it is never printed.
dofile(os.getenv("FDXD_BENCH_DIR") .. "/summary.lua")

wrk.headers["Authorization"] = "Bearer " .. os.getenv("FDXD_BENCH_ACCESS_TOKEN")
