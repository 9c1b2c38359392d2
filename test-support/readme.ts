import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './processes';

/** A fenced code block of README.md, with the `<!-- recipe: … -->` marker written just before it, if any. */
export interface ReadmeBlock {
  /** 1-based line of the opening fence. */
  line: number;
  /** The fence's info string: `sh`, `ts`, `json`, or '' for plain text. */
  lang: string;
  code: string;
  /** What the marker says after `recipe:`, e.g. `device-client` or `skip — it is this test suite`. */
  marker: string | null;
}

/** Every fenced block of the README, fences indented in list items included, in order. */
export function readmeBlocks(text = readFileSync(join(ROOT, 'README.md'), 'utf8')): ReadmeBlock[] {
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
    blocks.push({ line: start + 1, lang: open[2]!, code: body.join('\n'), marker: marker ? marker[1]! : null });
  }
  return blocks;
}

/** The block marked `<!-- recipe: NAME -->`; fails clearly when the README has none. */
export function readmeRecipe(name: string, blocks = readmeBlocks()): ReadmeBlock {
  const found = blocks.filter((b) => b.marker === name);
  if (found.length !== 1) throw new Error(`README.md has ${found.length} blocks marked <!-- recipe: ${name} --> (expected 1)`);
  return found[0]!;
}
