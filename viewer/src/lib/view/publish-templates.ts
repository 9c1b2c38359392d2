type KeyValueStorage = Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>;

const TEMPLATES_KEY = 'mqlive.publish-templates';
/** Templates kept in this browser at most. */
export const MAX_TEMPLATES = 50;
/** A payload longer than this is not kept as a template (localStorage holds about 5 MB for the whole page). */
export const MAX_TEMPLATE_PAYLOAD = 16 * 1024;

/** The Publish form as typed, under a name: loaded back into the form as it was. */
export interface PublishTemplate {
  name: string;
  topic: string;
  payload: string;
  qos: 0 | 1;
  retain: boolean;
  userProperties: [string, string][];
  contentType: string;
  responseTopic: string;
  correlationData: string;
  messageExpiry: string;
}

const isText = (v: unknown): v is string => typeof v === 'string';

/** One kept template, or null for a value that is not one (someone else's, or from an older page). */
function template(v: unknown): PublishTemplate | null {
  const t = v as Partial<PublishTemplate> | null;
  if (!t || !isText(t.name) || t.name === '' || !isText(t.topic) || !isText(t.payload) || (t.qos !== 0 && t.qos !== 1) || typeof t.retain !== 'boolean') return null;
  const pairs = Array.isArray(t.userProperties) ? t.userProperties.filter((p): p is [string, string] => Array.isArray(p) && p.length === 2 && isText(p[0]) && isText(p[1])) : [];
  const text = (s: unknown) => (isText(s) ? s : '');
  return {
    name: t.name,
    topic: t.topic,
    payload: t.payload,
    qos: t.qos,
    retain: t.retain,
    userProperties: pairs.length > 0 ? pairs : [['', '']],
    contentType: text(t.contentType),
    responseTopic: text(t.responseTopic),
    correlationData: text(t.correlationData),
    messageExpiry: text(t.messageExpiry),
  };
}

/** The templates kept in this browser, in the order saved. */
export function savedTemplates(storage: KeyValueStorage | null): PublishTemplate[] {
  let kept: unknown;
  try {
    kept = JSON.parse(storage?.getItem(TEMPLATES_KEY) ?? '[]');
  } catch {
    return [];
  }
  if (!Array.isArray(kept)) return [];
  return kept.map(template).filter((t): t is PublishTemplate => t !== null).slice(0, MAX_TEMPLATES);
}

/**
 * Keeps `added` (replacing a template of the same name) and returns the templates now kept; throws with a
 * sentence a person can read when it cannot be kept.
 */
export function saveTemplate(storage: KeyValueStorage | null, added: PublishTemplate): PublishTemplate[] {
  if (!storage) throw new Error('this browser keeps nothing for this page (storage is off)');
  if (added.payload.length > MAX_TEMPLATE_PAYLOAD) throw new Error(`a template keeps a payload of ${MAX_TEMPLATE_PAYLOAD / 1024} KiB at most`);
  const others = savedTemplates(storage).filter((t) => t.name !== added.name);
  if (others.length >= MAX_TEMPLATES) throw new Error(`${MAX_TEMPLATES} templates at most: delete one first`);
  const templates = [...others, added];
  try {
    storage.setItem(TEMPLATES_KEY, JSON.stringify(templates));
  } catch {
    throw new Error("the browser's storage for this page is full");
  }
  return templates;
}

/** Forgets the template of that name; returns the templates now kept. */
export function deleteTemplate(storage: KeyValueStorage | null, name: string): PublishTemplate[] {
  const templates = savedTemplates(storage).filter((t) => t.name !== name);
  if (templates.length === 0) storage?.removeItem(TEMPLATES_KEY);
  else storage?.setItem(TEMPLATES_KEY, JSON.stringify(templates));
  return templates;
}
