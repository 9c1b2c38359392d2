import { describe, expect, it } from 'vitest';
import { deleteTemplate, MAX_TEMPLATE_PAYLOAD, MAX_TEMPLATES, saveTemplate, savedTemplates, type PublishTemplate } from './publish-templates';

function memoryStorage() {
  const items = new Map<string, string>();
  return { items, getItem: (k: string) => items.get(k) ?? null, setItem: (k: string, v: string) => void items.set(k, v), removeItem: (k: string) => void items.delete(k) };
}

const lamp: PublishTemplate = {
  name: 'lamp on',
  topic: 'home/lamp/set',
  payload: '{"on":true}',
  qos: 1,
  retain: false,
  userProperties: [['source', 'page']],
  contentType: 'application/json',
  responseTopic: '',
  correlationData: '',
  messageExpiry: '60',
};

describe('publish templates', () => {
  it('keeps templates by name (the same name replaces), forgets one, and ignores what is not a template', () => {
    const storage = memoryStorage();
    saveTemplate(storage, lamp);
    saveTemplate(storage, { ...lamp, name: 'lamp off', payload: '{"on":false}' });
    expect(saveTemplate(storage, { ...lamp, qos: 0 }).map((t) => [t.name, t.qos])).toEqual([
      ['lamp off', 1],
      ['lamp on', 0],
    ]);
    expect(savedTemplates(storage)[1]).toEqual({ ...lamp, qos: 0 });
    expect(deleteTemplate(storage, 'lamp off').map((t) => t.name)).toEqual(['lamp on']);
    deleteTemplate(storage, 'lamp on');
    expect(storage.items.size).toBe(0);

    storage.setItem('mqlive.publish-templates', '{not json');
    expect(savedTemplates(storage)).toEqual([]);
    storage.setItem('mqlive.publish-templates', JSON.stringify([{ ...lamp, qos: 2 }, { ...lamp, name: '' }, 'x', null, { ...lamp, name: 'ok', userProperties: 'no', contentType: 5 }]));
    expect(savedTemplates(storage)).toEqual([{ ...lamp, name: 'ok', userProperties: [['', '']], contentType: '' }]);
  });

  it('refuses a payload too big and a template past the cap, in words, and says when nothing can be kept', () => {
    const storage = memoryStorage();
    expect(() => saveTemplate(storage, { ...lamp, payload: 'x'.repeat(MAX_TEMPLATE_PAYLOAD + 1) })).toThrow(/16 KiB at most/);
    for (let i = 0; i < MAX_TEMPLATES; i++) saveTemplate(storage, { ...lamp, name: `t${i}` });
    expect(() => saveTemplate(storage, { ...lamp, name: 'one more' })).toThrow(/50 templates at most/);
    expect(saveTemplate(storage, { ...lamp, name: 't3', payload: 'replaced' })).toHaveLength(MAX_TEMPLATES);
    expect(() => saveTemplate(null, lamp)).toThrow(/keeps nothing/);
  });
});
