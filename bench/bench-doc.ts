/**
 * What the benchmarks share for their records in docs/benchmarks.md: the machine line, and the
 * replacement of a benchmark's block between `<!-- bench:NAME:start -->` and `<!-- bench:NAME:end -->`
 * (appended at the end of the file the first time).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from './installed-cli.js';

/** CPU model, cores, memory and Node version, as the records name the machine. */
export function machineLine(): string {
  return `${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`;
}

/** The block's markers, for callers that read what a block held before. */
export function blockPattern(name: string): RegExp {
  return new RegExp(`<!-- bench:${name}:start -->([\\s\\S]*?)<!-- bench:${name}:end -->`);
}

/** Replaces (or appends) benchmark `name`'s block of docs/benchmarks.md with `body` between its markers. */
export function writeDocBlock(name: string, body: string): void {
  const docPath = join(repoRoot, 'docs', 'benchmarks.md');
  if (!existsSync(docPath)) return;
  const doc = readFileSync(docPath, 'utf8');
  const block = `<!-- bench:${name}:start -->\n${body.trimEnd()}\n<!-- bench:${name}:end -->`;
  const re = blockPattern(name);
  writeFileSync(docPath, re.test(doc) ? doc.replace(re, () => block) : `${doc.trimEnd()}\n\n${block}\n`);
}

/** The block's current body (empty when the file or the block is missing). */
export function readDocBlock(name: string): string {
  const docPath = join(repoRoot, 'docs', 'benchmarks.md');
  if (!existsSync(docPath)) return '';
  return blockPattern(name).exec(readFileSync(docPath, 'utf8'))?.[1] ?? '';
}
