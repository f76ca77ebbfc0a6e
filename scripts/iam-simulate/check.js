#!/usr/bin/env node
// Evaluates the request cases that `pipewright iam cases --env ENV` writes with
// @cloud-copilot/iam-simulate, an IAM policy simulator none of us wrote: every request a
// role's flows need must be Allowed (identity policies together with the generated
// bucket or key policy), every neighbouring request must be denied.
//   pipewright iam cases --env dev > cases.json && node scripts/iam-simulate/check.js cases.json
// Exit 0: all cases as expected; 1: a case decided otherwise (listed); 2: usage or a
// simulator validation error (a malformed case is a bug, not a pass).
'use strict'
const fs = require('fs')
const { runSimulation, runUnsafeSimulation, anonymousPrincipal } = require('@cloud-copilot/iam-simulate')

// iam-simulate 0.1.173 matches variable context keys only when the variable follows a
// '/' (aws:PrincipalTag/x), so it drops kms:EncryptionContext:<key>, which KMS documents
// for Decrypt/Encrypt/GenerateDataKey. Such a case is validated by runSimulation first
// (action, resource type, policies) and then decided by runUnsafeSimulation, which keeps
// every context key as given. Any other dropped key is an error in the case.
const VARIABLE_KEY = /^kms:encryptioncontext:/i
// The unsafe path names a resource policy only when it arrives validated (0.1.173 reads
// its name from the metadata); iam-policy is iam-simulate's own dependency.
const { createValidatedPolicy, validateResourcePolicy } = require('@cloud-copilot/iam-policy')

async function main() {
  const file = process.argv[2]
  if (!file || process.argv.length > 3) {
    console.error('usage: check.js CASES.json')
    return 2
  }
  let cases
  try {
    cases = JSON.parse(fs.readFileSync(file, 'utf8'))
  } catch (e) {
    console.error(`check.js: cannot read ${file}: ${e.message}`)
    return 2
  }
  const env = `${cases.pipeline}/${cases.environment} (${cases.partition}, ${cases.region})`
  let wrong = 0
  let errors = 0
  let unsafe = 0
  const rows = []
  for (const role of cases.roles) {
    let allowed = 0
    let denied = 0
    for (const c of role.cases) {
      // A trust or outsider case is asked by another principal: the role's own policies do
      // not apply, unless the case says that principal's account allows it the same
      // (own_policies). "anonymous" is an unsigned request.
      const simulation = {
        request: {
          principal: c.principal === 'anonymous' ? anonymousPrincipal : c.principal || role.principal,
          action: c.action,
          resource: { resource: c.resource, accountId: c.resource_account },
          contextVariables: c.context,
        },
        identityPolicies: c.principal && !c.own_policies ? [] : role.identity_policies,
        serviceControlPolicies: [],
        resourceControlPolicies: [],
      }
      if (c.resource_policy) {
        simulation.resourcePolicy = cases.resource_policies[c.resource_policy]
      }
      const r = await runSimulation(simulation, {})
      const what = `${role.role}: ${c.expect} ${c.action} on ${c.resource} (${c.flow}: ${c.kind})`
      if (r.resultType !== 'single') {
        errors++
        console.log(`ERROR ${what}: ${JSON.stringify(r.errors || r.resultType)}`)
        continue
      }
      const ignored = r.result.ignoredContextKeys || []
      const unknown = ignored.filter((k) => !VARIABLE_KEY.test(k))
      if (unknown.length) {
        errors++
        console.log(`ERROR ${what}: context keys not valid for the action: ${unknown.join(', ')}`)
        continue
      }
      let decision = r.overallResult
      if (ignored.length) {
        const unsafeSim = { ...simulation }
        if (simulation.resourcePolicy) {
          unsafeSim.resourcePolicy = createValidatedPolicy(simulation.resourcePolicy, validateResourcePolicy, {
            name: c.resource_policy,
          })
        }
        decision = runUnsafeSimulation(unsafeSim, {})
        unsafe++
      }
      const ok = c.expect === 'allowed' ? decision === 'Allowed' : decision !== 'Allowed'
      if (!ok) {
        wrong++
        console.log(`WRONG ${what}: ${decision} ${JSON.stringify(c.context)}`)
      } else if (c.expect === 'allowed') {
        allowed++
      } else {
        denied++
      }
    }
    rows.push([role.role, role.actions_granted, allowed, denied])
  }
  console.log(`iam-simulate over ${env}`)
  console.log('role | actions granted | requests proven allowed | neighbours proven denied')
  for (const r of rows) console.log(r.join(' | '))
  for (const s of cases.skipped) console.log(`skipped: ${s}`)
  if (cases.boundary) {
    console.log(`note: the permissions boundary ${cases.boundary} is named by the spec, not generated; it is not evaluated`)
  }
  console.log(`${unsafe} case(s) decided with the encryption context kept (see VARIABLE_KEY)`)
  console.log(`${wrong} wrong decision(s), ${errors} simulator error(s)`)
  return errors ? 2 : wrong ? 1 : 0
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(e)
    process.exit(2)
  },
)
