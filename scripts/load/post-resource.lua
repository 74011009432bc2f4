-- POST one resource file as it is, to compare with single-resource create benchmarks:
--   BODY=fixtures/referral-separate/04-patient-patient.json \
--     wrk -t1 -c8 -d8s --latency -s scripts/load/post-resource.lua http://127.0.0.1:8080/fhir/Patient
local f = assert(io.open(os.getenv("BODY") or "fixtures/referral-separate/04-patient-patient.json", "r"))
local body = f:read("*a")
f:close()

wrk.method = "POST"
wrk.body = body
wrk.headers["Content-Type"] = "application/fhir+json"
wrk.headers["Prefer"] = "return=minimal"
