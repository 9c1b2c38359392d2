import { describe, expect, it } from 'vitest';
import { anchorsOf, brokenLinks, docFiles, githubSlug, type DocTree } from './docs';

/** Files held in memory, for the checker's own tests. */
const memoryTree = (files: Record<string, string>): DocTree => ({
  read: (path) => {
    if (files[path] === undefined) throw new Error(`no ${path}`);
    return files[path];
  },
  exists: (path) => files[path] !== undefined || Object.keys(files).some((f) => f.startsWith(`${path}/`)),
});

describe('documentation links', () => {
  it('makes anchors as GitHub does: lowercase, spaces to -, punctuation dropped, repeats numbered', () => {
    expect(githubSlug('The topic contract (v1)')).toBe('the-topic-contract-v1');
    expect(githubSlug('Viewer: frames and main-thread time')).toBe('viewer-frames-and-main-thread-time');
    expect(githubSlug('The topic contract, as the broker keeps it')).toBe('the-topic-contract-as-the-broker-keeps-it');
    expect(githubSlug('`mqlive broker` and [its flags](x.md)')).toBe('mqlive-broker-and-its-flags');
    expect(githubSlug('Keep_underscores — and dashes')).toBe('keep_underscores--and-dashes');
    expect(githubSlug('[0.2.0] - 2026-11-26')).toBe('020---2026-11-26');
    expect([...anchorsOf('# A\n\n## Notes\n\n```sh\n# not a heading\n```\n\n### Notes\n<a id="here"></a>\n')]).toEqual(['a', 'notes', 'notes-1', 'here']);
  });

  it('finds each kind of broken link, and passes good ones', () => {
    const tree = memoryTree({
      'README.md': [
        '# Top',
        '[ok](docs/a.md) [ok too](docs/a.md#part-one) [self](#top) ![img](docs/pic.png) [web](https://example.com/#x)',
        '[no file](docs/gone.md)',
        '[no anchor](docs/a.md#part-two)',
        '[bad self](#bottom)',
        '`[in code](nowhere.md)`',
        '```sh',
        '[in a block](nowhere.md)',
        '```',
        '[outside](../elsewhere.md) [absolute](/etc/passwd)',
        '[spans',
        'two lines](docs/a.md#nope)',
        '[anchor into a picture](docs/pic.png#x)',
        '[ref]: docs/missing.md',
      ].join('\n'),
      'docs/a.md': '# A\n\n## Part one\n\n[back](../README.md#top) [sibling](b.md)\n',
      'docs/pic.png': '',
    });
    const { problems, checked } = brokenLinks(['README.md', 'docs/a.md'], tree);
    expect(problems).toEqual([
      'README.md:3: docs/gone.md: no file docs/gone.md',
      'README.md:4: docs/a.md#part-two: no heading in docs/a.md makes #part-two',
      'README.md:5: #bottom: no heading in README.md makes #bottom',
      'README.md:10: ../elsewhere.md: leaves the repository (links must be relative, inside it)',
      'README.md:10: /etc/passwd: leaves the repository (links must be relative, inside it)',
      'README.md:11: docs/a.md#nope: no heading in docs/a.md makes #nope',
      'README.md:13: docs/pic.png#x: an anchor into docs/pic.png, which is not Markdown',
      'README.md:14: docs/missing.md: no file docs/missing.md',
      'docs/a.md:5: b.md: no file docs/b.md',
    ]);
    expect(checked).toBe(14);
  });

  it('every relative link and #anchor of README.md, CHANGELOG.md and docs/*.md resolves', () => {
    const files = docFiles();
    expect(files).toEqual(expect.arrayContaining(['README.md', 'CHANGELOG.md', 'docs/broker.md', 'docs/development.md']));
    const { problems, checked } = brokenLinks(files);
    expect(problems).toEqual([]);
    expect(checked).toBeGreaterThan(30); // the README alone links to every page
  });
});
