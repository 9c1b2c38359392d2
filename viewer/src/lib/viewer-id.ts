type KeyValueStorage = Pick<Storage, 'getItem' | 'setItem'>;

const ID_KEY = 'mqlive.viewerId';
const TAB_KEY = 'mqlive.tabId';
const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
const TAB_PATTERN = /^[0-9a-f]{6}$/;
const CHANNEL = 'mqlive.viewer-ids';
/** The channel this tab answers on, held for the page's life. */
let answering: BroadcastChannel | undefined;

function randomHex(bytes: number): string {
  // getRandomValues works on plain http too, where randomUUID does not.
  return Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, '0')).join('');
}

function stored(storage: KeyValueStorage | null, key: string, valid: RegExp, make: () => string): string {
  const kept = storage?.getItem(key);
  if (kept && valid.test(kept)) return kept;
  const made = make();
  storage?.setItem(key, made);
  return made;
}

/**
 * This tab's MQTT client id and its clients/{id}/messages topic: the browser's id (localStorage) and a tab
 * suffix (sessionStorage), so two tabs never take each other's connection while a reload keeps its id.
 */
export function viewerId(browserStorage: KeyValueStorage | null, tabStorage: KeyValueStorage | null): string {
  const browser = stored(browserStorage, ID_KEY, ID_PATTERN, () => `viewer-${randomHex(4)}`);
  const tab = stored(tabStorage, TAB_KEY, TAB_PATTERN, () => randomHex(3));
  const id = `${browser}-${tab}`;
  return ID_PATTERN.test(id) ? id : `viewer-${randomHex(4)}-${tab}`;
}

/**
 * viewerId, made sure no other open tab of this browser has it: a tab made with "Duplicate tab" inherits
 * the original's sessionStorage, and with it its id. It asks the other tabs on a BroadcastChannel and waits
 * up to `waitMs` for a "taken"; then it draws a new tab suffix. From then on it answers for its own id.
 */
export async function claimViewerId(browserStorage: KeyValueStorage | null, tabStorage: KeyValueStorage | null, waitMs = 150): Promise<string> {
  let id = viewerId(browserStorage, tabStorage);
  if (typeof BroadcastChannel === 'undefined') return id;
  const channel = new BroadcastChannel(CHANNEL);
  const taken = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), waitMs);
    channel.onmessage = (event: MessageEvent<{ taken?: string }>) => {
      if (event.data?.taken !== id) return;
      clearTimeout(timer);
      resolve(true);
    };
    channel.postMessage({ asking: id });
  });
  if (taken) {
    tabStorage?.setItem(TAB_KEY, randomHex(3));
    id = viewerId(browserStorage, tabStorage);
  }
  channel.onmessage = (event: MessageEvent<{ asking?: string }>) => {
    if (event.data?.asking === id) channel.postMessage({ taken: id });
  };
  answering?.close();
  answering = channel;
  return id;
}
