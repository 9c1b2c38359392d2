// One formatter for the page: toLocaleTimeString builds a new one on every call, which costs about a
// millisecond each, hundreds of times a second under a busy log.
const clockTime = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });

/** "14:03:59" in the person's locale, 24-hour. */
export function timeOfDay(at: number): string {
  return clockTime.format(at);
}
