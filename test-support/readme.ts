import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { docFiles } from './docs';
import { ROOT } from './processes';

/** A fenced code block of the documentation, with the `<!-- recipe: … -->` marker written just before it, if any. */
export interface ReadmeBlock {
  /** The file it stands in, from the repository's root: `README.md`, `docs/broker.md`, ... */
  file: string;
  /** 1-based line of the opening fence. */
  line: number;
  /** The fence's info string: `sh`, `ts`, `json`, or '' for plain text. */
  lang: string;
  code: string;
  /** What the marker says after `recipe:`, e.g. `device-client` or `skip — it is this test suite`. */
  marker: string | null;
}

/** Every fenced block of one Markdown text, fences indented in list items included, in order. */
export function blocksOf(text: string, file: string): ReadmeBlock[] {
  const lines = text.split('\n');
  const blocks: ReadmeBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)```(\S*)\s*$/.exec(lines[i]!);
    if (!open) continue;
    const indent = open[1]!.length;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !/^\s*```\s*$/.test(lines[i]!); i++) body.push(lines[i]!.slice(indent));
    let before = start - 1;
    while (before >= 0 && lines[before]!.trim() === '') before--;
    const marker = before >= 0 ? /^\s*<!--\s*recipe:\s*(.*?)\s*-->\s*$/.exec(lines[before]!) : null;
    blocks.push({ file, line: start + 1, lang: open[2]!, code: body.join('\n'), marker: marker ? marker[1]! : null });
  }
  return blocks;
}

/** Every fenced block of the README and the docs/ pages (and the changelog), file by file, in order. */
export function readmeBlocks(files = docFiles()): ReadmeBlock[] {
  return files.flatMap((file) => blocksOf(readFileSync(join(ROOT, file), 'utf8'), file));
}

/** The block marked `<!-- recipe: NAME -->`, wherever it stands; fails clearly when there is none, or more than one. */
export function readmeRecipe(name: string, blocks = readmeBlocks()): ReadmeBlock {
  const found = blocks.filter((b) => b.marker === name);
  if (found.length !== 1) {
    const where = found.map((b) => `${b.file}:${b.line}`).join(', ');
    throw new Error(`README.md and docs/*.md have ${found.length} blocks marked <!-- recipe: ${name} --> (expected 1)${where ? `: ${where}` : ''}`);
  }
  return found[0]!;
}
