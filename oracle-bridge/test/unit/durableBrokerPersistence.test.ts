/**
 * The embedded broker with its SQLite journal, over real MQTT/TCP. A "crash" is a real one: the first broker
 * runs in a child process that is killed with SIGKILL (no close(), no flush, no destructor), and a new broker is
 * started on the same data directory.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { connect as tcpConnect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { fileURLToPath, pathToFileURL } from "node:url";
import { connect, connectAsync, type IClientOptions, type MqttClient } from "mqtt";
import { startEmbeddedBroker, type EmbeddedBroker } from "../../src/adapters/embeddedBroker.ts";

const FILTER = "gridx/v1/meters/+/reading";
const HOST = "127.0.0.1";
const BROKER_MODULE = pathToFileURL(fileURLToPath(new URL("../../src/adapters/embeddedBroker.ts", import.meta.url))).href;

let root: string;
let dirCount = 0;
before(() => {
  root = mkdtempSync(join(tmpdir(), "gridx-broker-"));
});
after(() => {
  rmSync(root, { recursive: true, force: true });
});
function freshDir(): string {
  return join(root, `data-${dirCount++}`);
}

/** Rejects with `what` when `promise` does not settle within `ms` (so a hang names its phase). */
function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function url(port: number): string {
  return `mqtt://${HOST}:${port}`;
}

function topicOf(i: number): string {
  return `gridx/v1/meters/${(i % 17) + 1}/reading`;
}

/** A broker in a child process (so that it can really crash). */
async function startChildBroker(dataDir: string): Promise<{ port: number; child: ChildProcess }> {
  const script = `
    import { startEmbeddedBroker } from ${JSON.stringify(BROKER_MODULE)};
    const broker = await startEmbeddedBroker({ host: "127.0.0.1", port: 0, dataDir: process.env.GRIDX_TEST_DATA_DIR });
    process.stdout.write("PORT " + broker.port + "\\n");
    setInterval(() => {}, 1 << 30);
  `;
  const child = spawn(process.execPath, ["--no-warnings", "--input-type=module", "-e", script], {
    env: { ...process.env, GRIDX_TEST_DATA_DIR: dataDir },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const port = await new Promise<number>((resolve, reject) => {
    let stdout = "";
    const timer = setTimeout(() => reject(new Error(`child broker did not start: ${stderr}`)), 20_000);
    child.stdout?.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = /PORT (\d+)/.exec(stdout);
      if (match !== null) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`child broker exited with ${code}: ${stderr}`));
    });
  });
  return { port, child };
}

async function kill9(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGKILL");
  await exited;
}

const options = (clientId: string, clean: boolean): IClientOptions => ({
  clientId,
  clean,
  protocolVersion: 4,
  reconnectPeriod: 0,
  connectTimeout: 10_000,
});

/** Creates the persistent session of `clientId` with a QoS 1 subscription to the readings, then goes offline. */
async function createOfflineSession(port: number, clientId: string): Promise<void> {
  const subscriber = await connectAsync(url(port), options(clientId, false));
  const granted = await subscriber.subscribeAsync(FILTER, { qos: 1 });
  assert.equal(granted[0]?.qos, 1);
  await subscriber.endAsync();
}

/** Publishes `payloads` at QoS 1 with at most `inFlight` unacknowledged; resolves when all are acknowledged. */
async function publishAll(client: MqttClient, payloads: string[], inFlight: number): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < payloads.length) {
      const i = next++;
      await client.publishAsync(topicOf(Number(payloads[i].split(":")[1])), payloads[i], { qos: 1 });
    }
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, payloads.length) }, worker));
}

/** Connects `clientId` and collects message payloads until `expected` distinct ones arrived (or times out). */
async function collect(
  port: number,
  clientId: string,
  expected: number,
  timeoutMs: number,
  opts: { subscribe?: boolean } = {},
): Promise<{ received: string[]; sessionPresent: boolean; client: MqttClient; done: Promise<void> }> {
  const received: string[] = [];
  const distinct = new Set<string>();
  const client = connect(url(port), options(clientId, false));
  let finish: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const timer = setTimeout(() => finish(), timeoutMs);
  client.on("message", (_topic, payload) => {
    const text = payload.toString();
    received.push(text);
    distinct.add(text);
    if (distinct.size >= expected) {
      clearTimeout(timer);
      finish();
    }
  });
  const connack = await new Promise<{ sessionPresent: boolean }>((resolve, reject) => {
    client.once("connect", (packet) => resolve(packet));
    client.once("error", reject);
  });
  if (opts.subscribe === true) await client.subscribeAsync(FILTER, { qos: 1 });
  return { received, sessionPresent: connack.sessionPresent, client, done };
}

function assertAllReceived(received: string[], sent: string[], exactlyOnce: boolean): void {
  const missing = sent.filter((p) => !received.includes(p));
  assert.deepEqual(missing, [], `${missing.length} of ${sent.length} messages never delivered`);
  assert.deepEqual(new Set(received), new Set(sent));
  if (exactlyOnce) assert.equal(received.length, sent.length, "some messages were delivered twice");
}

function journalRows(dataDir: string): number {
  const db = new DatabaseSync(join(dataDir, "broker.sqlite"));
  try {
    return Number((db.prepare("SELECT count(*) AS n FROM outgoing").get() as { n: number }).n);
  } finally {
    db.close();
  }
}

const payloadsOf = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${prefix}:${i}`);

describe("embedded broker with the durable journal", () => {
  const N = 200;

  it("delivers all QoS 1 messages queued for an offline persistent session after a clean restart (close())", { timeout: 60_000 }, async () => {
    const dataDir = freshDir();
    const first = await startEmbeddedBroker({ host: HOST, port: 0, dataDir });
    await createOfflineSession(first.port, "bridge-close");
    const publisher = await connectAsync(url(first.port), options("meter-publisher-close", true));
    const sent = payloadsOf("close", N);
    await publishAll(publisher, sent, 50);
    await publisher.endAsync();
    await first.close();
    assert.equal(journalRows(dataDir), N);

    const second = await startEmbeddedBroker({ host: HOST, port: 0, dataDir });
    try {
      const { received, sessionPresent, client, done } = await collect(second.port, "bridge-close", N, 30_000);
      await done;
      assert.equal(sessionPresent, true);
      assertAllReceived(received, sent, false);
      await client.endAsync();
    } finally {
      await second.close();
    }
    // everything was acknowledged: once the deferred clear ran, nothing is left to redeliver
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(journalRows(dataDir), 0);
  });

  it("close() flushes the deferred clears of acknowledged messages to the journal (documents a bug: it does not)", { timeout: 60_000 }, async () => {
    // embeddedBroker.close() calls aedes' broker.close(), which (aedes 1.2.0) never calls persistence.destroy():
    // the clears batched in the last 100 ms are not written and the SQLite journal is left open. In a real
    // shutdown (the process exits right after close()) those messages are delivered again after the restart.
    const dataDir = freshDir();
    const broker = await startEmbeddedBroker({ host: HOST, port: 0, dataDir });
    const sent = payloadsOf("flush", 20);
    try {
      const online = await collect(broker.port, "bridge-flush", sent.length, 10_000, { subscribe: true });
      const publisher = await connectAsync(url(broker.port), options("meter-publisher-flush", true));
      await publishAll(publisher, sent, 20);
      await online.done;
      await online.client.endAsync(); // PUBACKs were sent as each message was handled
      await publisher.endAsync();
    } finally {
      await broker.close();
    }
    assert.equal(journalRows(dataDir), 0, "acknowledged messages still in the journal right after close()");
  });

  // Fails intermittently (about 1 run in 10 here, e.g. "50 of 200 messages never delivered": the last in-flight
  // group): aedes 1.2.0 (lib/handlers/publish.js, enqueuePublish case 1) writes PUBACK *before* calling
  // broker.publish, so the journal write in durableBrokerPersistence.ts happens after the meter was acknowledged;
  // a crash in between loses acknowledged messages. The test asserts the promised behaviour.
  it("delivers all QoS 1 messages queued for an offline persistent session after a crash (SIGKILL, no close())", { timeout: 60_000 }, async () => {
    const dataDir = freshDir();
    const { port, child } = await startChildBroker(dataDir);
    const sent = payloadsOf("crash", N);
    try {
      await within(10_000, "create the offline session", createOfflineSession(port, "bridge-crash"));
      const publisher = await within(10_000, "connect the publisher", connectAsync(url(port), options("meter-publisher-crash", true)));
      await within(20_000, "publish (all acknowledged)", publishAll(publisher, sent, 50));
      // every publish was acknowledged by the broker; now it dies without a chance to flush anything
      publisher.end(true);
    } finally {
      await within(10_000, "kill -9 the broker", kill9(child));
    }

    const second = await within(10_000, "restart the broker", startEmbeddedBroker({ host: HOST, port: 0, dataDir }));
    let subscriber: MqttClient | undefined;
    try {
      const { received, sessionPresent, client, done } = await within(10_000, "reconnect the subscriber", collect(second.port, "bridge-crash", N, 30_000));
      subscriber = client;
      await done;
      assert.equal(sessionPresent, true);
      assertAllReceived(received, sent, false);
    } finally {
      subscriber?.end(true);
      await within(10_000, "close the restarted broker", second.close());
    }
  });

  it("after a crash, redelivers the messages an online subscriber had received but not acknowledged", { timeout: 60_000 }, async () => {
    const dataDir = freshDir();
    const { port, child } = await startChildBroker(dataDir);
    const sent = payloadsOf("unacked", N);
    try {
      // a raw MQTT 3.1.1 client that subscribes and receives, but never sends PUBACK
      const raw = await rawNoAckSubscriber(port, "bridge-unacked");
      const publisher = await connectAsync(url(port), options("meter-publisher-unacked", true));
      await publishAll(publisher, sent, 50);
      const deadline = Date.now() + 20_000;
      while (raw.received.size < N && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.equal(raw.received.size, N, "the online subscriber got every message once before the crash");
      publisher.end(true);
      raw.socket.destroy();
    } finally {
      await kill9(child);
    }

    const second = await startEmbeddedBroker({ host: HOST, port: 0, dataDir });
    try {
      const { received, client, done } = await collect(second.port, "bridge-unacked", N, 30_000);
      await done;
      assertAllReceived(received, sent, false);
      await client.endAsync();
    } finally {
      await second.close();
    }
  });

  it("after a crash, a persistent session that acknowledged everything gets at most the not-yet-cleared ones again", { timeout: 60_000 }, async () => {
    const dataDir = freshDir();
    const { port, child } = await startChildBroker(dataDir);
    const sent = payloadsOf("acked", 50);
    try {
      const online = await collect(port, "bridge-acked", sent.length, 20_000, { subscribe: true });
      const publisher = await connectAsync(url(port), options("meter-publisher-acked", true));
      await publishAll(publisher, sent, 10);
      await online.done;
      assertAllReceived(online.received, sent, true);
      await new Promise((r) => setTimeout(r, 500)); // longer than the 100 ms clear batching
      await online.client.endAsync();
      publisher.end(true);
    } finally {
      await kill9(child);
    }
    assert.equal(journalRows(dataDir), 0, "acknowledged messages are removed from the journal");
    const second = await startEmbeddedBroker({ host: HOST, port: 0, dataDir });
    try {
      const again = await collect(second.port, "bridge-acked", 1, 1_000);
      await again.done;
      assert.deepEqual(again.received, []);
      await again.client.endAsync();
    } finally {
      await second.close();
    }
  });

  it("delivers 2,000 messages from 4 concurrent publishers (≤ 100 in flight each) exactly once to an online subscriber", { timeout: 60_000 }, async () => {
    const dataDir = freshDir();
    const broker = await startEmbeddedBroker({ host: HOST, port: 0, dataDir });
    const sent: string[] = [];
    try {
      await createOfflineSession(broker.port, "bridge-load"); // persistent session, as the bridge uses
      const subscriber = await collect(broker.port, "bridge-load", 2_000, 60_000);
      const publishers = await Promise.all(
        [0, 1, 2, 3].map((p) => connectAsync(url(broker.port), options(`meter-publisher-${p}`, true))),
      );
      const batches = publishers.map((_, p) => payloadsOf(`load${p}`, 500));
      for (const batch of batches) sent.push(...batch);
      await Promise.all(publishers.map((client, p) => publishAll(client, batches[p], 100)));
      await subscriber.done;
      assertAllReceived(subscriber.received, sent, true);
      await Promise.all(publishers.map((client) => client.endAsync()));
      await new Promise((r) => setTimeout(r, 300));
      await subscriber.client.endAsync();
    } finally {
      await broker.close();
    }
    assert.equal(journalRows(dataDir), 0, "every acknowledged message was cleared from the journal");
  });

  it("close() resolves while clients are still connected (documents a bug: it never resolves)", { timeout: 60_000 }, async () => {
    // embeddedBroker.close() awaits net.Server.close() — whose callback only fires once every connection has
    // ended — before calling aedes' broker.close(), the only thing that would end them: with any meter (or the
    // bridge itself) still connected, close() never resolves and run.ts's shutdown hangs.
    const dataDir = freshDir();
    const broker = await startEmbeddedBroker({ host: HOST, port: 0, dataDir });
    const client = await connectAsync(url(broker.port), options("meter-still-connected", true));
    try {
      await within(5_000, "close() with a client connected", broker.close());
    } finally {
      client.end(true); // lets the hung close() finish so the test process can exit
      await new Promise((r) => setTimeout(r, 200));
    }
  });

  it("keeps nothing on disk without a dataDir (in-memory broker still delivers)", { timeout: 60_000 }, async () => {
    const broker = await startEmbeddedBroker({ host: HOST, port: 0, dataDir: undefined });
    try {
      const subscriber = await collect(broker.port, "bridge-mem", 10, 10_000, { subscribe: true });
      const publisher = await connectAsync(url(broker.port), options("meter-publisher-mem", true));
      const sent = payloadsOf("mem", 10);
      await publishAll(publisher, sent, 10);
      await subscriber.done;
      assertAllReceived(subscriber.received, sent, true);
      await publisher.endAsync();
      await subscriber.client.endAsync();
    } finally {
      await broker.close();
    }
  });
});

// ---- a minimal MQTT client that never acknowledges (mqtt-packet ships with the mqtt package) ----

const require = createRequire(import.meta.url);
const mqttPacket = require("mqtt-packet") as {
  generate(packet: object): Buffer;
  parser(opts?: object): {
    on(event: "packet", listener: (packet: { cmd: string; payload?: Buffer; returnCode?: number; granted?: number[] }) => void): void;
    on(event: "error", listener: (error: Error) => void): void;
    parse(buffer: Buffer): number;
  };
};

async function rawNoAckSubscriber(port: number, clientId: string): Promise<{ socket: Socket; received: Set<string> }> {
  const socket = tcpConnect(port, HOST);
  const parser = mqttPacket.parser({ protocolVersion: 4 });
  const received = new Set<string>();
  let onConnack: (() => void) | undefined;
  let onSuback: ((granted: number[]) => void) | undefined;
  parser.on("packet", (packet) => {
    if (packet.cmd === "connack") onConnack?.();
    else if (packet.cmd === "suback") onSuback?.(packet.granted ?? []);
    else if (packet.cmd === "publish" && packet.payload !== undefined) received.add(packet.payload.toString());
  });
  socket.on("data", (chunk: Buffer) => parser.parse(chunk));
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  const connacked = new Promise<void>((resolve) => {
    onConnack = resolve;
  });
  socket.write(mqttPacket.generate({ cmd: "connect", protocolId: "MQTT", protocolVersion: 4, clean: false, clientId, keepalive: 0 }));
  await connacked;
  const subacked = new Promise<number[]>((resolve) => {
    onSuback = resolve;
  });
  socket.write(mqttPacket.generate({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic: FILTER, qos: 1 }] }));
  assert.deepEqual(await subacked, [1]);
  return { socket, received };
}
