/**
 * One client id, one connection, across the instances on one Redis (MQTT-3.1.4-2 for a cluster).
 *
 * Each connection claims its id in Redis as it connects: `mqlive:conn:{id}` holds the instance, a token naming
 * the connection and its connect time, kept while the connection lives (refreshed every `sweepMs`, gone `ttlMs`
 * after its instance stops refreshing it). A claim replaces the record in one step and returns the one it
 * replaced: that connection, wherever it is, is asked to close on the takeover channel, and the CONNECT waits for
 * the answer (at most `waitMs`: a dead instance answers nothing), so the old connection's will and session end as
 * on one broker before the new one reads the session. Two CONNECTs at once: Redis orders the two claims, and the
 * second closes the first. A request lost on the way (Redis pub/sub does not promise delivery): the sweep finds
 * that the record names another, newer connection, and closes its own.
 *
 * Aedes's own takeover broadcast (`$SYS/{id}/new/clients`) closes every other instance's connection with the id,
 * so two CONNECTs at once closed each other and left none: it is switched off when this is on.
 *
 * While Redis is away a clean-session client is let in without a claim; the sweep claims it once Redis is back,
 * the newer connection of an id keeping it (connect times only grow per id: a claim's time is at least one more
 * than the time it replaces, so a slow clock cannot make an older connection win).
 */
import type { Aedes, Client } from 'aedes';
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { requireInternal } from '../library-internals';
import { LogLimiter, printable, type Logger } from '../log';
import { refuseWhileRedisDown } from '../outage-admission';

export const CONNECTION_KEY = 'mqlive:conn:';
export const TAKEOVER_CHANNEL = 'mqlive:takeover';
/** MQTT 5 DISCONNECT reason code: another connection took the session over. */
const SESSION_TAKEN_OVER = 0x8e;
/** MQTT 5 DISCONNECT reason code: the id is another user's. */
const NOT_AUTHORIZED = 0x87;

export interface ClaimTimings {
  /** How long a record lives without being refreshed. */
  ttlMs: number;
  /** How often an instance refreshes its connections' records and checks they are still theirs. */
  sweepMs: number;
  /** How long a CONNECT waits for the old connection's instance to say it closed it. */
  waitMs: number;
}

export const DEFAULT_CLAIM_TIMINGS: ClaimTimings = { ttlMs: 30_000, sweepMs: 5_000, waitMs: 800 };

/** A connection's record in Redis (JSON): its instance, its token, its connect time (ms). */
interface ConnectionRecord {
  i: string;
  t: string;
  at: number;
}

/** A connection of this instance that has (or will have) a record. */
interface LocalConnection {
  client: Client;
  token: string;
  /** The record as last written; null while Redis was away at its CONNECT. */
  record: string | null;
  connectedAt: number;
  /** A close was asked for before Aedes registered it: closed once its CONNACK is out. */
  closeWhenRegistered: string | null;
  /** Let in while Redis was away: whose the id is was not asked; the sweep asks before it claims (why not, or null). */
  checkOwner: OwnerCheck | null;
}

/** Why the connection's user may not use its id (its owner), or null; rejects while Redis cannot be asked. */
export type OwnerCheck = () => Promise<string | null>;

/** Messages on the takeover channel. */
type TakeoverMessage = { close: { id: string; token: string }; from: string; req: string } | { closed: string; to: string };

// Replaces the record; the new connect time is at least one more than the old one's. Returns the new record and
// the one it replaced ('' when none).
const CLAIM = `
local prev = redis.call('GET', KEYS[1])
local at = tonumber(ARGV[3])
if prev then
  local ok, old = pcall(cjson.decode, prev)
  if ok and type(old) == 'table' and type(old.at) == 'number' and old.at >= at then at = old.at + 1 end
end
local record = cjson.encode({ i = ARGV[1], t = ARGV[2], at = at })
redis.call('SET', KEYS[1], record, 'PX', ARGV[4])
return { record, prev or '' }`;

// For each of this instance's connections (KEYS[n], ARGV[n]: the record it wrote or would write): 'kept' when the
// record is still its own (refreshed) or was gone or older (written again: the replaced record follows, '' if
// none), 'lost' when a newer connection holds the id.
const SWEEP = `
local out = {}
local ttl = ARGV[#ARGV]
for n = 1, #KEYS do
  local mine = cjson.decode(ARGV[n])
  local current = redis.call('GET', KEYS[n])
  if current == ARGV[n] then
    redis.call('PEXPIRE', KEYS[n], ttl)
    out[n] = 'kept'
  else
    local ok, other = false, nil
    if current then ok, other = pcall(cjson.decode, current) end
    if current and ok and type(other) == 'table' and type(other.at) == 'number' and (other.at > mine.at or (other.at == mine.at and tostring(other.t) > mine.t)) then
      out[n] = 'lost'
    else
      redis.call('SET', KEYS[n], ARGV[n], 'PX', ttl)
      out[n] = 'took:' .. (current or '')
    end
  end
end
return out`;

// Deletes the record only while it is still this connection's.
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

const SWEEP_BATCH = 500;

export class ConnectionClaims {
  private readonly local = new Map<string, LocalConnection>();
  private readonly byClient = new WeakMap<Client, LocalConnection>();
  private readonly waiting = new Map<string, () => void>();
  private readonly bad: LogLimiter;
  private timer: NodeJS.Timeout | null = null;
  private sweeping = false;
  private aedes!: Aedes;

  constructor(
    private readonly commands: Redis,
    private readonly subscriber: Redis,
    private readonly log: Logger,
    private readonly timings: ClaimTimings = DEFAULT_CLAIM_TIMINGS,
  ) {
    this.bad = new LogLimiter(log, 10, 10_000);
  }

  /** Switches Aedes's own broadcast off, listens on the takeover channel, and starts the sweep. */
  async install(aedes: Aedes): Promise<void> {
    this.aedes = aedes;
    switchOffAedesTakeover(aedes);
    this.subscriber.on('message', (channel: string, text: string) => {
      if (channel === TAKEOVER_CHANNEL) this.onMessage(text);
    });
    // Back after an outage: claims of clients let in meanwhile are decided at once, not at the next sweep.
    this.subscriber.on('ready', () => void this.sweep());
    await this.subscriber.subscribe(TAKEOVER_CHANNEL);
    // After its CONNACK, so a client that lost a race at connect is told why (DISCONNECT 0x8E), not cut off unanswered.
    this.aedes.on('connackSent', (_connack, client) => this.onConnacked(client));
    this.aedes.on('clientDisconnect', (client) => this.release(client));
    this.timer = setInterval(() => void this.sweep(), this.timings.sweepMs);
    this.timer.unref();
    this.aedes.on('closed', () => this.stop());
  }

  /**
   * Claims each admitted client's id, once every other check (login, owner, caps) has let it in: a CONNECT refused
   * by any of them takes nothing over. Wraps Aedes's authenticate: install it after the other wrappers.
   * `admission` says whether a client needs its session kept (refused while Redis cannot be asked: its session is
   * there) and what to ask Redis about its owner once it can (let in while Redis could not say).
   */
  claimOnAdmission(aedes: Aedes, admission: { needsSession(client: Client): boolean; ownerCheckLater(client: Client): OwnerCheck | null }): void {
    const authenticate = aedes.authenticate;
    requireInternal(typeof authenticate === 'function', 'aedes', 'Aedes#authenticate (to claim client ids across instances)');
    aedes.authenticate = (client, username, password, done) =>
      authenticate.call(aedes, client, username, password, (error, ok) => {
        if (error || !ok) return done(error, ok);
        const pendingOwner = admission.ownerCheckLater(client);
        // Its owner unknown: nothing claimed before the sweep has asked (claimLater).
        if (pendingOwner) return (this.claimLater(client, pendingOwner), done(null, true));
        this.claim(client).then(
          () => done(null, true),
          () => {
            if (!admission.needsSession(client)) return (this.claimLater(client), done(null, true));
            refuseWhileRedisDown(this.bad, client, done);
          },
        );
      });
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    for (const done of this.waiting.values()) done();
  }

  /**
   * Claims `client`'s id for it, and waits until the connection it replaces (on another instance) is closed, or
   * `waitMs`. Rejects when Redis cannot be asked (down, or not answering): the caller decides what that means.
   */
  async claim(client: Client): Promise<void> {
    this.claimLater(client);
    const connection = this.byClient.get(client)!;
    let replaced: string;
    try {
      const [record, previous] = (await this.commands.eval(CLAIM, 1, CONNECTION_KEY + client.id, this.aedes.id, connection.token, connection.connectedAt, this.timings.ttlMs)) as [string, string];
      connection.record = record;
      connection.connectedAt = (JSON.parse(record) as ConnectionRecord).at;
      replaced = previous;
    } catch (error) {
      connection.record = null; // claimed by the sweep once Redis answers, if the client is let in
      throw error;
    }
    const old = parseRecord(replaced);
    // This instance's own earlier connection is closed by Aedes itself as it registers the new one.
    if (old && old.i !== this.aedes.id) await this.askToClose(client.id, old, true);
  }

  /**
   * Keeps `client` to be claimed by the sweep: Redis could not be asked at its CONNECT. With `checkOwner`, the sweep
   * first asks whose the id is, and closes the connection instead when it is another user's.
   */
  claimLater(client: Client, checkOwner: OwnerCheck | null = null): void {
    const known = this.byClient.get(client);
    if (known) {
      known.checkOwner = checkOwner;
      return;
    }
    const connection: LocalConnection = { client, token: randomUUID(), record: null, connectedAt: Date.now(), closeWhenRegistered: null, checkOwner };
    this.local.set(client.id, connection);
    this.byClient.set(client, connection);
  }

  /** Aedes's connected clients by id. */
  private clients(): Record<string, Client | undefined> {
    return (this.aedes as unknown as { clients: Record<string, Client | undefined> }).clients;
  }

  private askToClose(id: string, old: ConnectionRecord, wait: boolean): Promise<void> {
    const req = randomUUID();
    const message: TakeoverMessage = { close: { id, token: old.t }, from: this.aedes.id, req };
    if (!wait) {
      this.commands.publish(TAKEOVER_CHANNEL, JSON.stringify(message)).catch(() => undefined);
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      const finish = () => {
        clearTimeout(timer);
        this.waiting.delete(req);
        resolve();
      };
      const timer = setTimeout(finish, this.timings.waitMs);
      this.waiting.set(req, finish);
      this.commands.publish(TAKEOVER_CHANNEL, JSON.stringify(message)).catch(finish);
    });
  }

  private onMessage(text: string): void {
    const message = parseMessage(text);
    if (!message) {
      this.bad.warn({ event: 'redis_bad_message', channel: TAKEOVER_CHANNEL, reason: 'not a takeover message' }, `Dropped what Redis gave on ${TAKEOVER_CHANNEL}: not a takeover message`);
      return;
    }
    if ('closed' in message) {
      if (message.to === this.aedes.id) this.waiting.get(message.closed)?.();
      return;
    }
    const { close, from, req } = message;
    const answer = () => void this.commands.publish(TAKEOVER_CHANNEL, JSON.stringify({ closed: req, to: from } satisfies TakeoverMessage)).catch(() => undefined);
    const connection = this.local.get(close.id);
    if (!connection || connection.token !== close.token || connection.client.closed) return answer();
    this.takeOver(connection, from, answer);
  }

  /** Closes a connection another instance's connection took over, as Aedes closes one taken over here. */
  private takeOver(connection: LocalConnection, by: string, done: () => void): void {
    const { client } = connection;
    if (this.clients()[client.id] !== client) {
      connection.closeWhenRegistered = by; // still connecting: closed once its CONNACK is out
      return done();
    }
    this.log.info({ event: 'client_taken_over', clientId: client.id, by }, `${printable(client.id)} connected on instance ${printable(by)}: closed here`);
    // As Aedes does for a takeover on one instance: the new connection resumes the session, so this close must
    // neither wipe it (MQTT 5 Session Expiry 0) nor schedule its delayed will.
    const takingOver = (this.aedes as unknown as { _takingOver: Set<string> })._takingOver;
    takingOver.add(client.id);
    client.disconnect({ reasonCode: SESSION_TAKEN_OVER }, () => {
      if (this.clients()[client.id] === undefined || this.clients()[client.id] === client) {
        takingOver.delete(client.id);
        // A delayed will (MQTT 5) is not scheduled on a takeover, but its stored copy, kept under this instance's
        // id, would be published by another instance's will sweep if this one died later: the session went on.
        const persistence = (this.aedes as unknown as { persistence: { delWill(client: { id: string; brokerId: string }): Promise<unknown> } }).persistence;
        persistence.delWill({ id: client.id, brokerId: this.aedes.id }).catch(() => undefined);
      }
      done();
    });
  }

  private onConnacked(client: Client): void {
    const connection = this.byClient.get(client);
    const by = connection?.closeWhenRegistered;
    if (!connection || !by) return;
    connection.closeWhenRegistered = null;
    if (this.clients()[client.id] === client) this.takeOver(connection, by, () => undefined);
  }

  private release(client: Client): void {
    const connection = this.byClient.get(client);
    if (!connection || this.local.get(client.id) !== connection) return;
    this.local.delete(client.id);
    if (connection.record !== null) this.commands.eval(RELEASE, 1, CONNECTION_KEY + client.id, connection.record).catch(() => undefined);
  }

  /**
   * Connections let in while Redis was away, whose owner was not asked: asked now, before they claim their id (and
   * take it over from its owner's connection elsewhere). Another user's id: the connection is closed (MQTT 5: 0x87).
   * Rejects while Redis cannot be asked: the sweep claims nothing until it can.
   */
  private async checkOwners(): Promise<void> {
    const pending = [...this.local].filter(([, c]) => c.checkOwner !== null);
    const verdicts = await Promise.all(pending.map(([, c]) => c.checkOwner!()));
    pending.forEach(([id, connection], n) => {
      connection.checkOwner = null;
      const taken = verdicts[n];
      if (!taken || this.local.get(id) !== connection) return;
      this.local.delete(id);
      this.log.warn({ event: 'client_id_refused', clientId: id, reason: taken, afterOutage: true }, `Closed ${printable(id)}, let in while Redis was down: ${printable(taken)}`);
      connection.client.disconnect({ reasonCode: NOT_AUTHORIZED }, () => undefined);
    });
  }

  /** Refreshes this instance's records, claims those of clients let in while Redis was away, closes those lost. */
  async sweep(): Promise<void> {
    if (this.sweeping) return;
    this.sweeping = true;
    try {
      for (const [id, connection] of this.local) if (connection.client.closed && this.clients()[id] !== connection.client) this.local.delete(id);
      await this.checkOwners();
      const all = [...this.local.entries()];
      for (let start = 0; start < all.length; start += SWEEP_BATCH) {
        const batch = all.slice(start, start + SWEEP_BATCH);
        const records = batch.map(([, c]) => (c.record ??= JSON.stringify({ i: this.aedes.id, t: c.token, at: c.connectedAt } satisfies ConnectionRecord)));
        const keys = batch.map(([id]) => CONNECTION_KEY + id);
        const results = (await this.commands.eval(SWEEP, keys.length, ...keys, ...records, this.timings.ttlMs)) as string[];
        results.forEach((result, n) => {
          const [id, connection] = batch[n]!;
          if (this.local.get(id) !== connection) return;
          if (result === 'lost') this.takeOver(connection, 'another instance', () => undefined);
          else if (result.startsWith('took:')) {
            const old = parseRecord(result.slice(5));
            if (old && old.i !== this.aedes.id) void this.askToClose(id, old, false);
          }
        });
      }
    } catch {
      // Redis away: the next sweep, or its return, tries again (the Redis connection logs the outage).
    } finally {
      this.sweeping = false;
    }
  }
}

/** Aedes closes its client when another instance announces the id on `$SYS/{id}/new/clients`: not with claims. */
function switchOffAedesTakeover(aedes: Aedes): void {
  const mq = (aedes as unknown as { mq: { _matcher?: { match(topic: string): unknown[] }; removeListener(topic: string, fn: unknown): void } }).mq;
  const listeners = mq._matcher?.match('$SYS/x/new/clients') ?? [];
  const closeSameClients = listeners.find((fn) => typeof fn === 'function' && fn.name === 'closeSameClients');
  requireInternal(closeSameClients, 'aedes', "the '$SYS/+/new/clients' listener closeSameClients");
  mq.removeListener('$SYS/+/new/clients', closeSameClients);
}

function parseRecord(text: string): ConnectionRecord | null {
  if (!text) return null;
  try {
    const value = JSON.parse(text) as Partial<ConnectionRecord>;
    return typeof value.i === 'string' && typeof value.t === 'string' && typeof value.at === 'number' ? (value as ConnectionRecord) : null;
  } catch {
    return null;
  }
}

function parseMessage(text: string): TakeoverMessage | null {
  try {
    const value = JSON.parse(text) as Record<string, unknown>;
    if (typeof value !== 'object' || value === null) return null;
    if (typeof value.closed === 'string' && typeof value.to === 'string') return { closed: value.closed, to: value.to };
    const close = value.close as Record<string, unknown> | undefined;
    if (close && typeof close.id === 'string' && typeof close.token === 'string' && typeof value.from === 'string' && typeof value.req === 'string') {
      return { close: { id: close.id, token: close.token }, from: value.from, req: value.req };
    }
    return null;
  } catch {
    return null;
  }
}
