-- GET the URL wrk was given (JWKS, discovery).
dofile(os.getenv("FDXD_BENCH_DIR") .. "/summary.lua")
