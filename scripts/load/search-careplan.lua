-- The HIE search of issue #6 for a random loaded patient (scripts/load/search.sh).
local n = tonumber(os.getenv("REFERRALS") or "1000")
math.randomseed(os.time() + math.floor(os.clock() * 1e6))
request = function()
  local i = math.random(0, n - 1)
  return wrk.format("GET", "/fhir/CarePlan?patient.identifier=http%3A%2F%2Fhospital.example%2Fmrn%7CMRN-" .. i ..
    "&status=active&_include=CarePlan:care-team")
end
