/**
 * Compiles every `@example` block of the packages' doc comments, so that the
 * examples cannot drift from the signatures they show.
 *
 * What is compiled: each `@example` in a `/** … *\/` comment of a non-test
 * `.ts` file under `packages/<name>/src` (`*.test.ts`, `*.test-d.ts` and
 * `src/test-support` are left out). An example runs to the next block tag
 * (`@returns`, `@throws`, …) or the end of the comment; when it holds a fenced
 * code block, only the fenced code is compiled.
 *
 * How: each example becomes a module of its own, placed (in memory only)
 * beside the file it documents, which sees, in this order of precedence:
 *   1. what the example itself declares or imports;
 *   2. every exported name of the file it sits in (so the examples of
 *      internal helpers compile too);
 *   3. every public name of the documented package;
 *   4. every public name of `bpfkit`, the package users install (so
 *      `MapType`, `u32`, `openSystem`… need no import anywhere);
 *   5. the placeholders below.
 * An example may import anything else itself: `node:*` modules, a
 * `@bpfkit/*` package, a sibling module by relative path (but see the
 * layering note below). All examples are type-checked together,
 * in one `ts.createProgram`, against the packages' TypeScript sources (the
 * `@bpfkit/source` export condition) with the options of
 * `tsconfig.base.json` (strict). Examples are fragments: top-level `await`
 * and `using` work; unused variables and imports are fine.
 *
 * Placeholders: the free identifiers declared in `PLACEHOLDERS` below, the
 * "you already have one" values that would be noise in every example:
 * `system` (a `System`), `map` (a `Map` of raw bytes) with `key` and `value`,
 * `prog` (a `Program`), the descriptors `fd`, `mapFd`, `progFd`, `linkFd`,
 * `btfFd`, the byte buffers `buf` and `packet`, `elf` (an `ElfFile`), `btf`
 * and `vmlinux` (a `Btf`), `fs` (`node:fs`) and `io` (a CLI's `CliIo`).
 * An example that needs anything else declares it in plain TypeScript the
 * reader sees, with its type, e.g. `declare const spec: ProgramSpec;` or
 * `declare const plan: StructOpsPlan, objectBtf: { fd: number };` (a
 * declaration of a placeholder's name shadows the placeholder).
 *
 * An example's imports are text in its package's source, which
 * `scripts/check-layers.mjs` reads: they may only name what the package may
 * import (nothing in `@bpfkit/core`, not even `node:*`).
 *
 * A failure is reported as `<file>:<line> @example: <diagnostic>`, the line
 * being the line of the doc comment the diagnostic points at.
 */
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '..');

/**
 * The placeholders every example may use without declaring them (see the
 * header). Keep this list short: an example that needs something else
 * declares it.
 */
const PLACEHOLDERS = `
import type { Map, Program, System } from '@bpfkit/core';
import type { Btf, ElfFile } from '@bpfkit/elf';
import type { CliIo } from './cli/main.js';
declare global {
  /** A backend: \`openSystem()\`, a \`NativeSystem\` or a \`MockSystem\`. */
  const system: System;
  /** A map of raw bytes, and a key and a value for it. */
  const map: Map;
  const key: Uint8Array;
  const value: Uint8Array;
  /** A loaded program. */
  const prog: Program;
  /** File descriptors: of any BPF object, of a map, a program, a link, a BTF object. */
  const fd: number;
  const mapFd: number;
  const progFd: number;
  const linkFd: number;
  const btfFd: number;
  /** Bytes: a buffer to encode into or decode from; a packet for a test run. */
  const buf: Uint8Array;
  const packet: Uint8Array;
  /** A parsed ELF object file, its BTF, and the kernel's BTF. */
  const elf: ElfFile;
  const btf: Btf;
  const vmlinux: Btf;
  /** \`node:fs\`. */
  const fs: typeof import('node:fs');
  /** Where a CLI command writes. */
  const io: CliIo;
}
export {};
`;

interface Example {
  /** The file, relative to the repository root. */
  file: string;
  /** The 1-based line of the first line of code in the file. */
  line: number;
  /** The package the file belongs to (its `name`), and the package's entry point. */
  packageName: string;
  entry: string;
  /** The example's code. */
  code: string;
}

/** The non-test `.ts` files under `dir`. */
function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'test-support' && entry.name !== 'node_modules') out.push(...sourceFiles(full));
    } else if (
      entry.name.endsWith('.ts') &&
      !entry.name.endsWith('.test.ts') &&
      !entry.name.endsWith('.test-d.ts') &&
      !entry.name.endsWith('.d.ts')
    ) {
      out.push(full);
    }
  }
  return out.sort();
}

/**
 * The `@example` blocks of `text`, each as its lines of code (the comment's
 * leading ` * ` removed) and the 0-based line of its first line in `text`.
 */
function extractExamples(text: string): { line: number; code: string }[] {
  const examples: { line: number; code: string }[] = [];
  for (const m of text.matchAll(/\/\*\*[\s\S]*?\*\//g)) {
    const firstLine = text.slice(0, m.index).split('\n').length - 1;
    const lines = m[0].split('\n').map((l, i, all) => {
      let s = l;
      if (i === 0) s = s.replace(/^\s*\/\*\*/, '');
      if (i === all.length - 1) s = s.replace(/\*\/\s*$/, '');
      return s.replace(/^\s*\* ?/, '');
    });
    for (let i = 0; i < lines.length; i++) {
      if (!/^\s*@example\b/.test(lines[i]!)) continue;
      let end = i + 1;
      while (end < lines.length && !/^\s*@\w/.test(lines[end]!)) end++;
      let body = lines.slice(i + 1, end);
      let start = i + 1;
      const fence = body.findIndex((l) => /^\s*```/.test(l));
      if (fence >= 0) {
        const close = body.findIndex((l, k) => k > fence && /^\s*```/.test(l));
        body = body.slice(fence + 1, close < 0 ? undefined : close);
        start += fence + 1;
      }
      while (body.length > 0 && body[0]!.trim() === '') {
        body.shift();
        start++;
      }
      while (body.length > 0 && body[body.length - 1]!.trim() === '') body.pop();
      examples.push({ line: firstLine + start, code: body.join('\n') });
      i = end - 1;
    }
  }
  return examples;
}

/** Every example of every package. */
function findExamples(): Example[] {
  const examples: Example[] = [];
  for (const dir of fs.readdirSync(path.join(root, 'packages')).sort()) {
    const pkgDir = path.join(root, 'packages', dir);
    const pkgJson = path.join(pkgDir, 'package.json');
    if (!fs.existsSync(pkgJson) || !fs.existsSync(path.join(pkgDir, 'src'))) continue;
    const packageName = (JSON.parse(fs.readFileSync(pkgJson, 'utf8')) as { name: string }).name;
    for (const file of sourceFiles(path.join(pkgDir, 'src'))) {
      for (const ex of extractExamples(fs.readFileSync(file, 'utf8'))) {
        examples.push({
          file: path.relative(root, file),
          line: ex.line + 1,
          packageName,
          entry: path.join(pkgDir, 'src', 'index.ts'),
          code: ex.code,
        });
      }
    }
  }
  return examples;
}

/** The names a snippet declares or imports at its top level (they win over the automatic imports). */
function topLevelNames(sf: ts.SourceFile): Set<string> {
  const names = new Set<string>();
  const addBinding = (b: ts.BindingName) => {
    if (ts.isIdentifier(b)) names.add(b.text);
    else for (const e of b.elements) if (!ts.isOmittedExpression(e)) addBinding(e.name);
  };
  for (const st of sf.statements) {
    if (ts.isVariableStatement(st)) for (const d of st.declarationList.declarations) addBinding(d.name);
    else if (ts.isImportDeclaration(st) && st.importClause) {
      const c = st.importClause;
      if (c.name) names.add(c.name.text);
      if (c.namedBindings) {
        if (ts.isNamespaceImport(c.namedBindings)) names.add(c.namedBindings.name.text);
        else for (const e of c.namedBindings.elements) names.add(e.name.text);
      }
    } else if (ts.isImportEqualsDeclaration(st)) names.add(st.name.text);
    else if (
      (ts.isFunctionDeclaration(st) ||
        ts.isClassDeclaration(st) ||
        ts.isInterfaceDeclaration(st) ||
        ts.isTypeAliasDeclaration(st) ||
        ts.isEnumDeclaration(st) ||
        ts.isModuleDeclaration(st)) &&
      st.name &&
      ts.isIdentifier(st.name)
    ) {
      names.add(st.name.text);
    }
  }
  return names;
}

function compilerOptions(): ts.CompilerOptions {
  const configPath = path.join(root, 'tsconfig.base.json');
  const config = ts.readConfigFile(configPath, (p) => ts.sys.readFile(p));
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, root, undefined, configPath);
  return {
    ...parsed.options,
    noEmit: true,
    declaration: false,
    declarationMap: false,
    sourceMap: false,
    // Tests and examples see the packages' sources, not their builds.
    customConditions: ['@bpfkit/source'],
    // Any example may import any package, as a user of them all would.
    paths: {
      bpfkit: [path.join(root, 'packages/bpfkit/src/index.ts')],
      '@bpfkit/*': [path.join(root, 'packages/*/src/index.ts')],
    },
    // Fragments: the automatic imports name types and values alike.
    verbatimModuleSyntax: false,
    noUnusedLocals: false,
    noUnusedParameters: false,
    allowUnreachableCode: true,
  };
}

const options = compilerOptions();
const baseHost = ts.createCompilerHost(options, true);
/** The snippets (and the placeholders), by file name: they exist only here. */
const virtual = new Map<string, string>();
/** Parsed files, shared by every program this test makes. */
const parsed = new Map<string, ts.SourceFile>();
const resolutions = ts.createModuleResolutionCache(root, (f) => f, options);
const host: ts.CompilerHost = {
  ...baseHost,
  fileExists: (f) => virtual.has(f) || baseHost.fileExists(f),
  readFile: (f) => virtual.get(f) ?? baseHost.readFile(f),
  getSourceFile(fileName, languageVersion, onError) {
    const text = virtual.get(fileName);
    if (text !== undefined) return ts.createSourceFile(fileName, text, languageVersion, true);
    let sf = parsed.get(fileName);
    if (!sf) {
      sf = baseHost.getSourceFile(fileName, languageVersion, onError);
      if (sf) parsed.set(fileName, sf);
    }
    return sf;
  },
  resolveModuleNameLiterals: (literals, containingFile, redirected, opts, containingSourceFile) =>
    literals.map((l) =>
      ts.resolveModuleName(
        l.text,
        containingFile,
        opts,
        host,
        resolutions,
        redirected,
        ts.getModeForUsageLocation(containingSourceFile, l, opts),
      ),
    ),
};

/** The exported names of each package entry and documented file, found once. */
const exportNames = new Map<string, string[]>();

/** The umbrella package, whose names every example may use. */
const umbrella = path.join(root, 'packages/bpfkit/src/index.ts');

function learnExports(files: readonly string[]): void {
  const missing = files.filter((f) => !exportNames.has(f));
  if (missing.length === 0) return;
  const program = ts.createProgram(missing, options, host);
  const checker = program.getTypeChecker();
  for (const file of missing) {
    const sf = program.getSourceFile(file);
    const symbol = sf && checker.getSymbolAtLocation(sf);
    exportNames.set(
      file,
      symbol
        ? checker
            .getExportsOfModule(symbol)
            .map((s) => s.name)
            .filter((n) => n !== 'default')
        : [],
    );
  }
}

const placeholdersFile = path.join(root, 'packages/bpfkit/src/__doc_example_placeholders__.ts');
virtual.set(placeholdersFile, PLACEHOLDERS);

/**
 * The module an example becomes: its code, then (imports are hoisted, and
 * going last keeps the example's line numbers) the names it may use.
 */
function snippetOf(ex: Example): string {
  const file = path.join(root, ex.file);
  const own = topLevelNames(ts.createSourceFile('example.ts', ex.code, ts.ScriptTarget.Latest));
  const taken = new Set(own);
  const pick = (names: readonly string[]) => names.filter((n) => !taken.has(n) && taken.add(n));
  const fromFile = pick(exportNames.get(file)!);
  const fromPackage = pick(exportNames.get(ex.entry)!);
  const fromUmbrella = pick(exportNames.get(umbrella)!);
  const lines = [ex.code, 'export {};'];
  if (fromFile.length > 0) lines.push(`import { ${fromFile.join(', ')} } from './${path.basename(file, '.ts')}.js';`);
  if (fromPackage.length > 0) lines.push(`import { ${fromPackage.join(', ')} } from '${ex.packageName}';`);
  if (fromUmbrella.length > 0) lines.push(`import { ${fromUmbrella.join(', ')} } from 'bpfkit';`);
  return `${lines.join('\n')}\n`;
}

/**
 * Type-checks `examples` in one program; returns one message per
 * diagnostic, `<file>:<line> @example: <message>`.
 */
function checkExamples(examples: readonly Example[]): string[] {
  const files = new Set([umbrella]);
  for (const ex of examples) files.add(path.join(root, ex.file)).add(ex.entry);
  learnExports([...files]);

  const snippets = new Map<string, Example>();
  for (const ex of examples) {
    const file = path.join(root, ex.file);
    const name = path.join(path.dirname(file), `${path.basename(file, '.ts')}.example-${ex.line}.ts`);
    virtual.set(name, snippetOf(ex));
    snippets.set(name, ex);
  }
  const program = ts.createProgram([placeholdersFile, ...snippets.keys()], options, host);
  for (const name of snippets.keys()) virtual.delete(name);

  const text = (d: ts.Diagnostic) => ts.flattenDiagnosticMessageText(d.messageText, '\n');
  const messages = program.getOptionsDiagnostics().map((d) => `options: ${text(d)}`);
  for (const d of ts.getPreEmitDiagnostics(program, program.getSourceFile(placeholdersFile))) messages.push(`placeholders: ${text(d)}`);
  for (const [name, ex] of snippets) {
    const sf = program.getSourceFile(name)!;
    for (const d of [...program.getSyntacticDiagnostics(sf), ...program.getSemanticDiagnostics(sf)]) {
      const line = d.start === undefined ? 0 : sf.getLineAndCharacterOfPosition(d.start).line;
      messages.push(`${ex.file}:${ex.line + line} @example: ${text(d)}`);
    }
  }
  return messages;
}

describe('@example blocks', () => {
  const examples = findExamples();

  it('are found in every package', () => {
    expect(examples.length).toBeGreaterThan(300);
    expect(new Set(examples.map((ex) => ex.packageName)).size).toBe(8);
  });

  it('compile against the packages they document', () => {
    expect(checkExamples(examples)).toEqual([]);
  }, 60_000);

  it('are reported by file and line when they do not compile', () => {
    const ex = examples.find((e) => e.file === path.join('packages', 'core', 'src', 'errors.ts'))!;
    // The drift this test was written for: update() takes the flag itself, not an options object.
    const broken = { ...ex, code: `${ex.code}\nmap.update(key, value, { flag: 'noexist' });` };
    const messages = checkExamples([broken]);
    expect(messages).toHaveLength(1);
    expect(messages[0]).toContain(`${ex.file}:${ex.line + ex.code.split('\n').length} @example: Argument of type '{ flag: string; }'`);
  }, 60_000);
});
