/** "1 topic", "2 topics", "0 topics": a count with its noun, singular for one. `plural` for a noun not made with -s. */
export function count(n: number, noun: string, plural = `${noun}s`): string {
  return `${n} ${n === 1 ? noun : plural}`;
}
