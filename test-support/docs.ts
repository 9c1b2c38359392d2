import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { ROOT } from './processes';

/** The documentation, as paths from the repository's root: README.md, CHANGELOG.md and every page of docs/. */
export function docFiles(root = ROOT): string[] {
  const pages = readdirSync(join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => `docs/${f}`);
  return ['README.md', 'CHANGELOG.md', ...pages].filter((f) => existsSync(join(root, f)));
}

/** What the link check may look at: a file's text (Markdown only) and whether a path exists, both from the root. */
export interface DocTree {
  read(path: string): string;
  exists(path: string): boolean;
}

/** The repository on disk. */
export const repoTree = (root = ROOT): DocTree => ({
  read: (path) => readFileSync(join(root, path), 'utf8'),
  exists: (path) => existsSync(join(root, path)),
});

/** The text with every fenced block's lines blanked (line numbers kept): nothing in a code block is a heading or link. */
function withoutFences(text: string): string {
  let fence: string | null = null;
  return text
    .split('\n')
    .map((line) => {
      const marker = /^\s*(`{3,}|~{3,})/.exec(line)?.[1];
      if (marker && (fence === null || marker.startsWith(fence))) {
        fence = fence === null ? marker : null;
        return '';
      }
      return fence === null ? line : '';
    })
    .join('\n');
}

/** Inline code spans blanked to spaces of the same length: `[a](b)` inside backticks is no link. */
const withoutCodeSpans = (text: string) => text.replace(/``[^`]*``|`[^`\n]*`/g, (span) => span.replace(/[^\n]/g, ' '));

/**
 * GitHub's anchor for a heading (as github-slugger makes it): the text as rendered (code spans without their
 * backticks, a link's text, no emphasis marks), lowercased, every character that is not a letter, digit, mark,
 * `_`, space or `-` dropped, then each space made a `-`. Repeated spaces give repeated dashes, as on GitHub.
 */
export function githubSlug(heading: string): string {
  const rendered = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/`/g, '')
    .replace(/\*/g, '');
  return rendered
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
}

/** Every anchor a Markdown file offers: its headings' slugs (a repeated one gets -1, -2, ...) and `<a id|name="…">`. */
export function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const line of withoutFences(markdown).split('\n')) {
    const heading = /^ {0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$/.exec(line);
    if (heading) {
      const slug = githubSlug(heading[1]!);
      const count = seen.get(slug) ?? 0;
      seen.set(slug, count + 1);
      anchors.add(count === 0 ? slug : `${slug}-${count}`);
    }
    for (const html of line.matchAll(/<a\s[^>]*\b(?:id|name)="([^"]+)"/g)) anchors.add(html[1]!);
  }
  return anchors;
}

export interface DocLink {
  /** 1-based line where the link starts. */
  line: number;
  target: string;
}

/** The links of a Markdown text: inline `[text](target)` and `![alt](target)` and reference definitions `[x]: target`. */
export function linksOf(markdown: string): DocLink[] {
  const text = withoutCodeSpans(withoutFences(markdown));
  const lineAt = (index: number) => text.slice(0, index).split('\n').length;
  const links: DocLink[] = [];
  // Link text may hold one level of brackets and span lines; the target may be <wrapped> and have a "title".
  for (const m of text.matchAll(/\[(?:[^[\]]|\[[^[\]]*\])*\]\(\s*<?([^\s)>]*)>?(?:\s+"[^"]*")?\s*\)/g)) {
    links.push({ line: lineAt(m.index), target: m[1]! });
  }
  for (const m of text.matchAll(/^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+"[^"]*")?\s*$/gm)) {
    links.push({ line: lineAt(m.index), target: m[1]! });
  }
  return links.sort((a, b) => a.line - b.line);
}

const EXTERNAL = /^(?:[a-z][a-z0-9+.-]*:|\/\/)/i;

/**
 * Every relative link and `#anchor` of the files that does not resolve, as `FILE:LINE: TARGET: why`. A path is
 * taken from the linking file's folder and must stay inside the repository; an anchor into a Markdown file must
 * be one of its headings. Links with a scheme (`https:`, `mailto:`) are not followed.
 */
export function brokenLinks(files: string[], tree: DocTree = repoTree()): { problems: string[]; checked: number } {
  const problems: string[] = [];
  const anchorCache = new Map<string, Set<string>>();
  const anchors = (path: string) => {
    if (!anchorCache.has(path)) anchorCache.set(path, anchorsOf(tree.read(path)));
    return anchorCache.get(path)!;
  };
  let checked = 0;
  for (const file of files) {
    for (const { line, target } of linksOf(tree.read(file))) {
      if (EXTERNAL.test(target)) continue;
      checked++;
      const problem = (why: string) => problems.push(`${file}:${line}: ${target}: ${why}`);
      const hashAt = target.indexOf('#');
      const pathPart = decodeURIComponent(hashAt === -1 ? target : target.slice(0, hashAt));
      const anchor = hashAt === -1 ? null : decodeURIComponent(target.slice(hashAt + 1));
      const path = pathPart === '' ? file : posix.normalize(posix.join(posix.dirname(file), pathPart)).replace(/\/$/, '');
      if (pathPart.startsWith('/') || path === '..' || path.startsWith('../')) {
        problem('leaves the repository (links must be relative, inside it)');
      } else if (!tree.exists(path)) {
        problem(`no file ${path}`);
      } else if (anchor !== null) {
        if (!path.endsWith('.md')) problem(`an anchor into ${path}, which is not Markdown`);
        else if (!anchors(path).has(anchor)) problem(`no heading in ${path} makes #${anchor}`);
      }
    }
  }
  return { problems, checked };
}
