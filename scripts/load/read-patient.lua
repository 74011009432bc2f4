-- Read by id of a random loaded patient (scripts/load/search.sh).
local n = tonumber(os.getenv("REFERRALS") or "1000")
math.randomseed(os.time() + math.floor(os.clock() * 1e6))
request = function()
  return wrk.format("GET", "/fhir/Patient/pat-" .. math.random(0, n - 1))
end
