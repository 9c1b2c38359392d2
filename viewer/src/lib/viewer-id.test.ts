import { describe, expect, it } from 'vitest';
import { claimViewerId, viewerId } from './viewer-id';

class MemoryStorage {
  private readonly items = new Map<string, string>();
  getItem(key: string): string | null {
    return this.items.get(key) ?? null;
  }
  setItem(key: string, value: string): void {
    this.items.set(key, value);
  }
}

describe('viewerId', () => {
  it("is the browser's id and a suffix per tab: kept over a reload, different in another tab", () => {
    const browser = new MemoryStorage();
    const tab1 = new MemoryStorage();
    const first = viewerId(browser, tab1);
    expect(first).toMatch(/^viewer-[0-9a-f]{8}-[0-9a-f]{6}$/);
    expect(viewerId(browser, tab1)).toBe(first);
    const other = viewerId(browser, new MemoryStorage());
    expect(other).not.toBe(first);
    expect(other.slice(0, 15)).toBe(first.slice(0, 15));
    expect(viewerId(null, null)).toMatch(/^viewer-[0-9a-f]{8}-[0-9a-f]{6}$/);
  });
});

describe('claimViewerId', () => {
  it('draws a new tab suffix when another tab already has the id (a duplicated tab copies sessionStorage)', async () => {
    const browser = new MemoryStorage();
    const original = new MemoryStorage();
    const first = await claimViewerId(browser, original, 50);
    const duplicate = new MemoryStorage();
    duplicate.setItem('mqlive.tabId', original.getItem('mqlive.tabId')!);
    const second = await claimViewerId(browser, duplicate, 1000);
    expect(second).not.toBe(first);
    expect(second.slice(0, 15)).toBe(first.slice(0, 15));
    expect(duplicate.getItem('mqlive.tabId')).not.toBe(original.getItem('mqlive.tabId')); // kept for its reloads
  });
});
