-- Searches for the 50 referrals scripts/load/search-fresh.sh posted last (MRN-K1 … MRN-K50):
-- by MRN, and the HIE's care-plan search with its chain, filter and include.
math.randomseed(os.time() + math.floor(os.clock() * 1e6))
local mrn = "http%3A%2F%2Fhospital.example.org%2Ffhir%2Fsid%2Fmrn%7CMRN-K"
request = function()
  local i = math.random(1, 50)
  if math.random() < 0.5 then
    return wrk.format("GET", "/fhir/Patient?identifier=" .. mrn .. i)
  end
  return wrk.format("GET", "/fhir/CarePlan?patient.identifier=" .. mrn .. i ..
    "&status=active&_include=CarePlan:care-team")
end
