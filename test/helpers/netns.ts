/**
 * Separate hosts on one machine for the network fault tests: each a network namespace joined to
 * this one by a veth pair (10.231.N.2 inside, 10.231.N.1 on this side), made and removed by the
 * test itself with iproute2. The database (FerretDB on 127.0.0.1) is reached from a host through
 * a TCP relay on its 10.231.N.1, so cutting a host's link cuts it off from the database, and
 * `tc netem` on the link makes it slow and lossy. Needs root; {@link netnsUnavailable} says why not.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createConnection, createServer, type Server, type Socket } from 'node:net';

/** One host: a namespace and its link. */
export interface TestHost {
  /** Impairs or heals the link in the relay, where the kernel has no netem. */
  impair(impairment: Impairment | undefined): void;
  readonly name: string;
  /** The namespace's name (for `ip netns exec`). */
  readonly namespace: string;
  /** The database's address as this host sees it (the relay on this side of its link). */
  readonly databaseUri: string;
  /** This side of the link. */
  readonly link: string;
}

/** Hosts made for one test; `remove` deletes them and their relays. */
export interface TestHosts {
  readonly hosts: readonly TestHost[];
  remove(): Promise<void>;
}

function ip(args: readonly string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Why network namespaces cannot be made here, or undefined when they can. */
export function netnsUnavailable(): string | undefined {
  const probe = `psprobe${randomBytes(3).toString('hex')}`;
  try {
    ip(['netns', 'add', probe]);
    ip(['netns', 'del', probe]);
    execFileSync('tc', ['-V'], { stdio: 'ignore' });
    return undefined;
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim();
    return `network namespaces cannot be made here (ip netns add: ${stderr || (error as Error).message}); run as root with iproute2`;
  }
}

let nextSubnet = 16 + Math.floor(Math.random() * 64);

/** Makes `count` hosts whose relays forward to the database at `databasePort` on 127.0.0.1. */
export async function makeHosts(count: number, databasePort: number, query: string): Promise<TestHosts> {
  const tag = randomBytes(2).toString('hex');
  // Subnets never reused in one test process: the hosts of a scenario that failed stay until the
  // file's cleanup, and a second link on the same subnet would take their traffic.
  const base = nextSubnet;
  nextSubnet += count;
  const hosts: TestHost[] = [];
  const relays: Relay[] = [];
  const remove = async () => {
    for (const relay of relays) {
      for (const socket of relay.sockets) socket.destroy();
      await new Promise((resolve) => relay.server.close(resolve));
    }
    for (const host of hosts) {
      try {
        ip(['netns', 'del', host.namespace]);
      } catch {
        // Already gone.
      }
    }
  };
  try {
    for (let index = 1; index <= count; index += 1) {
      const name = `h${index}`;
      const namespace = `ps${tag}${name}`;
      const link = `ps${tag}${name}`;
      const peer = `ps${tag}${name}p`;
      const subnet = `10.231.${base + index}`;
      ip(['netns', 'add', namespace]);
      const hostRelay = { current: undefined as Relay | undefined };
      hosts.push({
        name,
        namespace,
        link,
        databaseUri: `mongodb://${subnet}.1:${databasePort}/${query}`,
        impair: (impairment) => {
          if (hostRelay.current !== undefined) hostRelay.current.impairment = impairment;
        },
      });
      ip(['link', 'add', link, 'type', 'veth', 'peer', 'name', peer]);
      ip(['link', 'set', peer, 'netns', namespace]);
      ip(['addr', 'add', `${subnet}.1/24`, 'dev', link]);
      ip(['link', 'set', link, 'up']);
      ip(['netns', 'exec', namespace, 'ip', 'addr', 'add', `${subnet}.2/24`, 'dev', peer]);
      ip(['netns', 'exec', namespace, 'ip', 'link', 'set', peer, 'up']);
      ip(['netns', 'exec', namespace, 'ip', 'link', 'set', 'lo', 'up']);
      hostRelay.current = await relay(`${subnet}.1`, databasePort);
      relays.push(hostRelay.current);
    }
  } catch (error) {
    await remove();
    throw error;
  }
  return { hosts, remove };
}

/** A slow, lossy link: each way, every packet is late by `delayMs` ± `jitterMs`, and `lossPercent` are lost. */
export interface Impairment {
  readonly delayMs: number;
  readonly jitterMs: number;
  readonly lossPercent: number;
}

interface Relay {
  readonly server: Server;
  readonly sockets: Set<Socket>;
  impairment: Impairment | undefined;
}

// What a lost segment costs TCP when the relay stands in for netem: one retransmission timeout.
const RETRANSMISSION_MS = 1_000;

/**
 * Forwards every connection to `address:port` to the database on 127.0.0.1:`port`, in order;
 * while impaired, each chunk waits its delay (and a lost one a retransmission timeout more).
 */
async function relay(address: string, port: number): Promise<Relay> {
  const state: Relay = { server: undefined as unknown as Server, sockets: new Set<Socket>(), impairment: undefined };
  const forward = (from: Socket, to: Socket) => {
    // One queue per direction, written strictly in order: a timer per chunk would not do, since
    // Node fires timers due in the same millisecond in no set order, and a reordered TCP stream
    // is a corrupt wire protocol message that a reader waits on forever.
    const queue: Array<{ readonly due: number; readonly chunk: Buffer | 'end' }> = [];
    let timer: NodeJS.Timeout | undefined;
    const flush = () => {
      timer = undefined;
      while (queue.length > 0 && (queue[0] as { due: number }).due <= Date.now()) {
        const { chunk } = queue.shift() as { chunk: Buffer | 'end' };
        if (chunk === 'end') to.end();
        else to.write(chunk);
      }
      if (queue.length > 0) timer = setTimeout(flush, (queue[0] as { due: number }).due - Date.now());
    };
    const send = (chunk: Buffer | 'end', delay: number) => {
      // Never before the chunk ahead of it: a link delays, it does not reorder.
      const due = Math.max(queue.at(-1)?.due ?? 0, Date.now() + delay);
      queue.push({ due, chunk });
      if (timer === undefined) timer = setTimeout(flush, due - Date.now());
    };
    from.on('data', (chunk: Buffer) => {
      const impairment = state.impairment;
      if (impairment === undefined && queue.length === 0) {
        to.write(chunk);
        return;
      }
      if (impairment === undefined) {
        send(chunk, 0);
        return;
      }
      const lost = Math.random() * 100 < impairment.lossPercent;
      send(chunk, impairment.delayMs + (Math.random() * 2 - 1) * impairment.jitterMs + (lost ? RETRANSMISSION_MS : 0));
    });
    // A close is passed on after the data before it, as a link would.
    from.on('end', () => {
      if (queue.length === 0) to.end();
      else send('end', 0);
    });
    from.on('close', () => clearTimeout(timer));
  };
  const server = createServer((client) => {
    const upstream = createConnection({ host: '127.0.0.1', port });
    for (const socket of [client, upstream]) {
      state.sockets.add(socket);
      socket.on('close', () => state.sockets.delete(socket));
      socket.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    forward(client, upstream);
    forward(upstream, client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, address, () => resolve());
  });
  (state as { server: Server }).server = server;
  return state;
}

/** Cuts the host's link (packets in flight are lost; connections stall until it is back). */
export function cut(host: TestHost): void {
  ip(['link', 'set', host.link, 'down']);
}

/** Heals the host's link. */
export function heal(host: TestHost): void {
  ip(['link', 'set', host.link, 'up']);
}

/**
 * Makes the host's link slow and lossy both ways: with `tc netem` where the kernel has it, else
 * in the host's relay. Returns which one did it.
 */
export function impair(host: TestHost, impairment: Impairment): 'netem' | 'relay' {
  const netem = ['delay', `${impairment.delayMs}ms`, `${impairment.jitterMs}ms`, 'loss', `${impairment.lossPercent}%`];
  try {
    execFileSync('tc', ['qdisc', 'add', 'dev', host.link, 'root', 'netem', ...netem], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch {
    // This kernel has no netem (no sch_netem module): emulate the same link in the relay.
    host.impair(impairment);
    return 'relay';
  }
  execFileSync('ip', ['netns', 'exec', host.namespace, 'tc', 'qdisc', 'add', 'dev', `${host.link}p`, 'root', 'netem', ...netem]);
  return 'netem';
}
