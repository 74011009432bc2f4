// The gateway through fhir-kit-client (npm, pinned in .ci/run): every interaction the client
// compatibility suite covers. Run by tests/api/clients.rs:
//   FHIR_KIT_CLIENT=<path to the package's dist/index.js> node fhir_kit_client.mjs BASE_URL
// (the package is ESM-only, so it is imported by path from target/clients/, never installed
// into the repository). Exits non-zero, naming the check, on the first failure.
import { pathToFileURL } from 'node:url';

const { Client } = await import(pathToFileURL(process.env.FHIR_KIT_CLIENT).href);
const baseUrl = process.argv[2];
const client = new Client({ baseUrl });
const MRN = 'urn:hbpc:test:fhir-kit-client';

function check(what, ok, detail = '') {
  if (!ok) {
    console.log(`fhir-kit-client: ${what} FAILED ${detail}`);
    process.exit(1);
  }
  console.log(`fhir-kit-client: ${what} ok`);
}

async function refused(promise) {
  try {
    await promise;
    return false;
  } catch (e) {
    return true;
  }
}

const entryIds = (bundle) => (bundle.entry || []).map((e) => e.resource.id).sort();
const entryTypes = (bundle) => (bundle.entry || []).map((e) => e.resource.resourceType).sort();

// metadata
const cs = await client.capabilityStatement();
check('metadata', cs.resourceType === 'CapabilityStatement' && cs.fhirVersion === '4.0.1');

// CRUD
const patient = await client.create({
  resourceType: 'Patient',
  body: { resourceType: 'Patient', name: [{ family: 'Kit' }], identifier: [{ system: MRN, value: 'p-1' }] },
});
const pid = patient.id;
const read = await client.read({ resourceType: 'Patient', id: pid });
check('create and read', read.name[0].family === 'Kit' && read.meta.versionId === '1');
const updated = await client.update({ resourceType: 'Patient', id: pid, body: { ...read, gender: 'male' } });
check('update', updated.gender === 'male' && updated.meta.versionId === '2');
const scratch = await client.create({ resourceType: 'Patient', body: { resourceType: 'Patient' } });
await client.delete({ resourceType: 'Patient', id: scratch.id });
check('delete', await refused(client.read({ resourceType: 'Patient', id: scratch.id })));

// conditional create (If-None-Exist) and conditional update (PUT Type?criteria)
const again = await client.create({
  resourceType: 'Patient',
  body: { resourceType: 'Patient', identifier: [{ system: MRN, value: 'p-1' }] },
  options: { headers: { 'If-None-Exist': `identifier=${MRN}|p-1` } },
});
check('conditional create', again.id === pid, JSON.stringify(again));
const body = { resourceType: 'Patient', identifier: [{ system: MRN, value: 'p-2' }] };
const c1 = await client.update({ resourceType: 'Patient', searchParams: { identifier: `${MRN}|p-2` }, body });
const c2 = await client.update({
  resourceType: 'Patient', searchParams: { identifier: `${MRN}|p-2` }, body: { ...body, active: true },
});
check('conditional update', c1.id === c2.id && c2.active === true && c2.meta.versionId === '2');

// PATCH: JSON Patch (the client's patch) and FHIRPath Patch (a raw request)
const jp = await client.patch({
  resourceType: 'Patient', id: pid,
  jsonPatch: [{ op: 'add', path: '/birthDate', value: '1939-09-09' }],
  options: { headers: { 'If-Match': 'W/"2"' } },
});
check('JSON Patch', jp.birthDate === '1939-09-09' && jp.meta.versionId === '3');
const fp = await client.request(`Patient/${pid}`, {
  method: 'PATCH',
  options: { headers: { 'Content-Type': 'application/fhir+json' } },
  body: {
    resourceType: 'Parameters',
    parameter: [{ name: 'operation', part: [
      { name: 'type', valueCode: 'delete' }, { name: 'path', valueString: 'Patient.gender' }] }],
  },
});
check('FHIRPath Patch', fp.gender === undefined && fp.meta.versionId === '4');
check('PATCH of the id refused', await refused(client.patch({
  resourceType: 'Patient', id: pid, jsonPatch: [{ op: 'replace', path: '/id', value: 'x' }],
})));

// search paging by following `next`
for (let i = 0; i < 5; i += 1) {
  await client.create({
    resourceType: 'Observation',
    body: { resourceType: 'Observation', status: 'final', code: { text: `fatigue ${i}` }, subject: { reference: `Patient/${pid}` } },
  });
}
let page = await client.search({ resourceType: 'Observation', searchParams: { subject: `Patient/${pid}`, _count: 2 } });
const seen = [];
let pages = 0;
while (page) {
  pages += 1;
  seen.push(...entryIds(page));
  page = await client.nextPage({ bundle: page });
}
check('paging', pages === 3 && new Set(seen).size === 5, `${pages} pages, ${seen}`);

// _include and _revinclude
const plan = await client.create({
  resourceType: 'CarePlan',
  body: { resourceType: 'CarePlan', status: 'active', intent: 'plan', subject: { reference: `Patient/${pid}` } },
});
const inc = await client.search({ resourceType: 'CarePlan', searchParams: { _id: plan.id, _include: 'CarePlan:subject' } });
check('_include', JSON.stringify(entryTypes(inc)) === '["CarePlan","Patient"]', JSON.stringify(entryTypes(inc)));
const rev = await client.search({ resourceType: 'Patient', searchParams: { _id: pid, _revinclude: 'CarePlan:subject' } });
check('_revinclude', JSON.stringify(entryTypes(rev)) === '["CarePlan","Patient"]', JSON.stringify(entryTypes(rev)));

// transaction and batch
const tx = await client.transaction({ body: { resourceType: 'Bundle', type: 'transaction', entry: [
  { fullUrl: 'urn:uuid:3c1d2e52-3c67-4b8a-9d54-000000000003',
    resource: { resourceType: 'Patient', name: [{ family: 'Tx' }] }, request: { method: 'POST', url: 'Patient' } },
  { resource: { resourceType: 'Goal', lifecycleStatus: 'active', description: { text: 'comfort' },
      subject: { reference: 'urn:uuid:3c1d2e52-3c67-4b8a-9d54-000000000003' } },
    request: { method: 'POST', url: 'Goal' } }] } });
check('transaction', tx.type === 'transaction-response' && tx.entry.every((e) => e.response.status.startsWith('201')));
const batch = await client.batch({ body: { resourceType: 'Bundle', type: 'batch', entry: [
  { resource: { resourceType: 'Patient' }, request: { method: 'POST', url: 'Patient' } },
  { resource: { resourceType: 'Patient', gender: 'robot' }, request: { method: 'POST', url: 'Patient' } }] } });
const statuses = batch.entry.map((e) => e.response.status);
check('batch', batch.type === 'batch-response' && statuses[0].startsWith('201') && statuses[1].startsWith('4'), JSON.stringify(statuses));

// history
const history = await client.history({ resourceType: 'Patient', id: pid });
const versions = history.entry.map((e) => e.resource.meta.versionId);
check('history', history.type === 'history' && JSON.stringify(versions) === '["4","3","2","1"]', JSON.stringify(versions));

// compartment search
const comp = await client.compartmentSearch({
  resourceType: 'CarePlan', compartment: { resourceType: 'Patient', id: pid },
});
check('compartment search', JSON.stringify(entryIds(comp)) === JSON.stringify([plan.id]), JSON.stringify(entryIds(comp)));

// $validate
const outcome = await client.operation({
  name: '$validate', resourceType: 'Patient', input: { resourceType: 'Patient', gender: 'robot' },
});
check('$validate', outcome.resourceType === 'OperationOutcome' && outcome.issue.some((i) => i.severity === 'error'));
console.log('fhir-kit-client: all checks passed');
