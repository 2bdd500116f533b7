#!/usr/bin/env node
// The public surface of every published package, on purpose: API Extractor
// reads each package's built declarations (dist/index.d.ts) and writes
// `packages/<name>/api/<name>.api.md`, a review file committed with the code.
//
//   node scripts/api-report.mjs           # rewrite the reports (after `pnpm build`)
//   node scripts/api-report.mjs --check   # CI: fail when a report differs from the code
//
// A change to what users import then shows in review as a diff of that file.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import { Extractor, ExtractorConfig } from '@microsoft/api-extractor';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const check = process.argv.includes('--check');
const only = process.argv.slice(2).filter((a) => !a.startsWith('--'));

/** Published packages: every workspace package under packages/ that is not private. */
function packages() {
  const dir = path.join(root, 'packages');
  return fs
    .readdirSync(dir)
    .filter((name) => fs.existsSync(path.join(dir, name, 'package.json')))
    .filter((name) => JSON.parse(fs.readFileSync(path.join(dir, name, 'package.json'), 'utf8')).private !== true)
    .filter((name) => only.length === 0 || only.includes(name))
    .sort();
}

/** Messages that describe the surface go into the report; documentation style is typedoc's business. */
const messages = {
  compilerMessageReporting: { default: { logLevel: 'warning' } },
  extractorMessageReporting: {
    default: { logLevel: 'warning', addToApiReportFile: true },
    // Release tags (@public/@beta) are not used: everything exported is public.
    'ae-missing-release-tag': { logLevel: 'none', addToApiReportFile: false },
    // A type reachable from the surface but not exported by name is part of the surface: listed, not fatal.
    'ae-forgotten-export': { logLevel: 'none', addToApiReportFile: true },
    'ae-internal-missing-underscore': { logLevel: 'none', addToApiReportFile: false },
    // Undocumented members are typedoc's concern; listing them here with source lines would churn on every edit.
    'ae-undocumented': { logLevel: 'none', addToApiReportFile: false },
    // {@link} targets are checked by typedoc (the docs build fails on a broken one).
    'ae-unresolved-link': { logLevel: 'none', addToApiReportFile: false },
  },
  tsdocMessageReporting: { default: { logLevel: 'none', addToApiReportFile: false } },
};

let failed = 0;
for (const name of packages()) {
  const projectFolder = path.join(root, 'packages', name);
  const entry = path.join(projectFolder, 'dist', 'index.d.ts');
  if (!fs.existsSync(entry)) {
    console.error(`api-report: ${name}: ${path.relative(root, entry)} is missing: run \`pnpm build\` first`);
    failed++;
    continue;
  }
  const reportFolder = path.join(projectFolder, 'api');
  fs.mkdirSync(reportFolder, { recursive: true });
  const temp = fs.mkdtempSync(path.join(fs.realpathSync(process.env.TMPDIR ?? '/tmp'), 'bpfkit-api-'));
  try {
    const config = ExtractorConfig.prepare({
      configObjectFullPath: path.join(projectFolder, 'api-extractor.json'), // virtual: the config is this object
      packageJsonFullPath: path.join(projectFolder, 'package.json'),
      configObject: {
        projectFolder,
        mainEntryPointFilePath: entry,
        compiler: { tsconfigFilePath: path.join(projectFolder, 'tsconfig.json') },
        apiReport: { enabled: true, reportFolder, reportTempFolder: temp, reportFileName: '<unscopedPackageName>' },
        docModel: { enabled: false },
        dtsRollup: { enabled: false },
        tsdocMetadata: { enabled: false },
        newlineKind: 'lf',
        messages,
      },
    });
    const result = Extractor.invoke(config, {
      localBuild: !check,
      showVerboseMessages: false,
      messageCallback: (m) => {
        // The report diff printed below says more than API Extractor's advice to copy a file that is about to be removed.
        if (m.messageId === 'console-api-report-not-copied') m.handled = true;
        // Which compiler API Extractor bundles, and that it differs from the workspace's, is not news about the code.
        if (m.messageId === 'console-preamble' || m.messageId === 'console-compiler-version-notice') m.handled = true;
      },
    });
    const report = path.relative(root, config.reportFilePath);
    if (!result.succeeded || (check && result.apiReportChanged)) {
      failed++;
      // Show what changed before the temporary report goes away.
      if (check && result.apiReportChanged)
        spawnSync('diff', ['-u', config.reportFilePath, config.reportTempFilePath], { stdio: 'inherit' });
      console.error(
        check && result.apiReportChanged
          ? `api-report: ${name}: the public API differs from ${report}: run \`node scripts/api-report.mjs\` and commit the report`
          : `api-report: ${name}: ${result.errorCount} errors, ${result.warningCount} warnings`,
      );
    } else console.log(`api-report: ${name}: ${result.apiReportChanged ? 'updated' : 'unchanged'} ${report}`);
  } finally {
    fs.rmSync(temp, { recursive: true, force: true });
  }
}
process.exit(failed > 0 ? 1 : 0);
