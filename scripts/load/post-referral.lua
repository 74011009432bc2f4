-- POST the referral transaction Bundle; each request carries its own placer and MRN identifiers,
-- so every Bundle creates new resources instead of matching the previous one.
local path = os.getenv("BUNDLE") or "fixtures/referral-transaction.json"
local f = assert(io.open(path, "r"))
local template = f:read("*a")
f:close()
local counter = 0
local thread_tag = tostring(math.random(1, 1e9))

wrk.method = "POST"
wrk.path = "/fhir"
wrk.headers["Content-Type"] = "application/fhir+json"
wrk.headers["Prefer"] = "return=minimal"

request = function()
  counter = counter + 1
  local tag = thread_tag .. "-" .. counter
  local body = template:gsub("REF%-2026%-000417", "REF-" .. tag):gsub("MRN%-448210", "MRN-" .. tag)
  return wrk.format(nil, nil, nil, body)
end
