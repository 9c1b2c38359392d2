import type { Row } from './run';

const COLOURS: Record<string, string> = { mqlive: '#2563eb', mosquitto: '#16a34a' };

/** An SVG of p50/p95/p99 latency per case (log scale), mqlive beside Mosquitto. */
export function latencyChart(rows: Row[], machine: string): string {
  const cases = rows.filter((r) => typeof r.p99ms === 'number' && Number.isFinite(r.p99ms as number));
  const rowHeight = 26;
  const left = 260;
  const width = 900;
  const plotWidth = width - left - 30;
  const height = 70 + cases.length * rowHeight;
  const minLog = Math.log10(0.1);
  const maxLog = Math.log10(20_000);
  const x = (ms: number) => left + ((Math.log10(Math.max(ms, 0.1)) - minLog) / (maxLog - minLog)) * plotWidth;
  const ticks = [0.1, 1, 10, 100, 1000, 10_000];
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="18" font-size="14" font-weight="bold">Delivery latency, p50 / p95 / p99 (ms, log scale)</text>`,
    `<text x="10" y="34" fill="#555">${escapeXml(machine)}</text>`,
  ];
  for (const t of ticks) {
    parts.push(`<line x1="${x(t)}" y1="44" x2="${x(t)}" y2="${height - 10}" stroke="#ddd"/>`, `<text x="${x(t)}" y="${height - 0}" text-anchor="middle" fill="#555">${t}</text>`);
  }
  cases.forEach((r, i) => {
    const y = 50 + i * rowHeight;
    const colour = COLOURS[r.broker] ?? '#777';
    const label = `${r.scenario} ${r.transport} ${r.broker}${r.subscribers ? ` (${r.subscribers} subs)` : ''}${r.flagged ? ' FLAGGED' : ''}`;
    parts.push(
      `<text x="${left - 8}" y="${y + 14}" text-anchor="end">${escapeXml(label)}</text>`,
      `<rect x="${left}" y="${y + 3}" width="${x(r.p99ms as number) - left}" height="16" fill="${colour}" opacity="0.3"/>`,
      `<rect x="${left}" y="${y + 3}" width="${x(r.p95ms as number) - left}" height="16" fill="${colour}" opacity="0.55"/>`,
      `<rect x="${left}" y="${y + 3}" width="${x(r.p50ms as number) - left}" height="16" fill="${colour}"/>`,
      `<text x="${x(r.p99ms as number) + 4}" y="${y + 15}" fill="#333">${r.p50ms} / ${r.p95ms} / ${r.p99ms}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('\n');
}

function escapeXml(s: string): string {
  return s.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]!);
}
