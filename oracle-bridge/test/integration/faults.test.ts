/**
 * Fault injection, end to end and over real TCP: the simulator publishes signed readings (QoS 1, persistent
 * session) to a standalone broker process with a durable journal; the bridge, a child process, reads them and
 * posts them on chain through a TCP proxy in front of a real Hardhat node. While the simulator publishes, the
 * bridge is killed with SIGKILL at random moments (and restarted on the same data dir and ports) at least 20
 * times, the broker is killed with SIGKILL once and restarted on its journal, and the chain RPC is cut for ~5 s
 * while the bridge runs (and once more, briefly, with a kill and a restart inside the outage).
 *
 * Then, against the simulator's ground truth:
 *   - zero lost: every reading the broker acknowledged has a ReadingAccepted event on chain;
 *   - zero counted twice: no (meterId, seq) is accepted twice, and every meter's claimable credits and
 *     uncovered consumption are exactly SmartMeter's accounting of the readings accepted on chain, in seq order;
 *   - whatever is on chain is what the meter signed, and a rejection is only ever a replay or a late reading
 *     the broker never acknowledged.
 *
 * GRIDX_KEEP_TEST_DATA=1 keeps the temporary directory (bridge.log, broker log, simulator.log); it is also kept
 * when the scenario fails.
 */
import assert from "node:assert/strict";
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { after, before, test } from "node:test";
import pino from "pino";
import { createPublicClient, http, parseEventLogs, type Address, type Log } from "viem";
import { parseSimulateArgs, runSimulation, type SimulationTruth } from "../../src/cli/simulate.ts";
import { CONTRACT_REJECTION_REASONS, localChain } from "../../src/adapters/viemChain.ts";
import { expectedAccounting, type Registers } from "../../src/domain/simulation/groundTruth.ts";
import { abis } from "../../src/generated/contracts.ts";
import {
  type BridgeProcess,
  type BrokerProcess,
  freePort,
  type LocalChain,
  scrapeMetrics,
  sleep,
  startBridgeProcess,
  startBrokerProcess,
  startLocalChain,
  TcpProxy,
  tempDir,
  until,
} from "./harness.ts";

const BRIDGE_KILLS = 22;
const METERS = 12;
const RPC_OUTAGE_MS = 5_000;

let root: string;
let chain: LocalChain | undefined;
let proxy: TcpProxy | undefined;
let broker: BrokerProcess | undefined;
let bridge: BridgeProcess | undefined;
let stopSimulator: AbortController | undefined;
let simulation: Promise<SimulationTruth> | undefined;
let failed = false;

before(async () => {
  root = tempDir("faults");
  chain = await startLocalChain(root);
});

after(async () => {
  stopSimulator?.abort();
  await simulation?.catch(() => undefined);
  await bridge?.kill().catch(() => undefined);
  await broker?.kill().catch(() => undefined);
  await proxy?.close().catch(() => undefined);
  await chain?.stop().catch(() => undefined);
  if (failed || process.env.GRIDX_KEEP_TEST_DATA === "1") {
    process.stderr.write(`faults.test.ts: logs and data kept in ${root}\n`);
  } else if (root !== undefined) {
    rmSync(root, { recursive: true, force: true });
  }
});

/** Uniform integer in [min, max]. */
const between = (min: number, max: number) => min + Math.floor(Math.random() * (max - min + 1));

const key = (meterId: bigint | string, seq: bigint | string) => `${meterId}/${seq}`;

test("no acknowledged reading is lost or counted twice across bridge kills, a broker kill and an RPC outage", { timeout: 240_000 }, async (t) => {
  try {
    await scenario(t);
  } catch (error) {
    failed = true;
    throw error;
  }
});

async function scenario(t: { diagnostic(message: string): void }): Promise<void> {
  const localChainInfo = chain as LocalChain;
  const smartMeter = localChainInfo.addresses.SmartMeter as Address;
  const brokerDir = join(root, "broker");
  const bridgeDir = join(root, "bridge");
  mkdirSync(brokerDir, { recursive: true });
  mkdirSync(bridgeDir, { recursive: true });

  const brokerPort = await freePort();
  const brokerUrl = `mqtt://127.0.0.1:${brokerPort}`;
  broker = await startBrokerProcess(brokerPort, brokerDir);
  proxy = await new TcpProxy(localChainInfo.port).listen();
  const bridgeHttpPort = await freePort();
  const launchBridge = () =>
    startBridgeProcess({
      rpcUrl: `http://127.0.0.1:${(proxy as TcpProxy).port}`,
      mqtt: brokerUrl,
      dataDir: bridgeDir,
      httpPort: bridgeHttpPort,
      args: ["--batch-age-ms", "300", "--tick-ms", "60000"],
      extraEnv: { GRIDX_LOG_LEVEL: "info" },
    });
  bridge = await launchBridge();

  // The simulator, in process: registers its meters directly on the chain, publishes through the broker.
  const config = parseSimulateArgs([
    "--meters", String(METERS),
    "--zones", "1,2",
    "--interval", "1",
    "--accelerate", "600",
    "--seed", "faults-integration",
    "--broker", brokerUrl,
    "--rpc", localChainInfo.rpcUrl,
    "--register",
    "--duration", "600",
    "--weather-interval", "5",
    "--start", "2025-06-21T09:00:00Z", // simulated midsummer morning: solar surplus and consumer deficits both accrue
  ]);
  assert.ok(config !== "help");
  stopSimulator = new AbortController();
  const simulatorLog = pino({ level: "info", base: { command: "simulate" } }, pino.destination({ dest: join(root, "simulator.log"), sync: true }));
  simulation = runSimulation(config, { logger: simulatorLog, signal: stopSimulator.signal, handleProcessSignals: false });
  simulation.catch(() => undefined);

  // Faults start once readings flow through the bridge.
  await until("the first reading at the bridge", async () => {
    const metrics = await scrapeMetrics(bridgeHttpPort);
    return (metrics.get("gridx_bridge_readings_stored_total") ?? 0) > 0 ? true : undefined;
  }, 60_000, 250);

  let kills = 0;
  let lastRunMetrics = new Map<string, number>();
  const killAndRestartBridge = async () => {
    await sleep(between(300, 1_500));
    lastRunMetrics = await scrapeMetrics(bridgeHttpPort).catch(() => lastRunMetrics);
    await (bridge as BridgeProcess).kill();
    kills++;
    bridge = await launchBridge();
  };

  const started = Date.now();
  for (let i = 0; i < 8; i++) await killAndRestartBridge();

  // The broker dies holding a backlog for the bridge's persistent session (the bridge is down too) while the
  // simulator publishes; it comes back on its journal, and then the bridge.
  await sleep(between(300, 1_500));
  await (bridge as BridgeProcess).kill();
  kills++;
  await sleep(1_500);
  await (broker as BrokerProcess).kill();
  await sleep(1_000);
  broker = await startBrokerProcess(brokerPort, brokerDir);
  bridge = await launchBridge();
  t.diagnostic(`broker killed with SIGKILL (bridge down, ~1.5 s of backlog queued) and restarted ${Date.now() - started} ms into the faults`);

  for (let i = 0; i < 6; i++) await killAndRestartBridge();

  // The chain goes away for the bridge only (the simulator and the chain keep running).
  await sleep(between(300, 800));
  proxy.down();
  await sleep(RPC_OUTAGE_MS);
  proxy.up();
  t.diagnostic(`RPC cut for ${RPC_OUTAGE_MS} ms`);

  // A second, shorter outage with a kill inside it: the bridge restarts while the chain is unreachable.
  for (let i = 0; i < 3; i++) await killAndRestartBridge();
  await sleep(between(300, 800));
  proxy.down();
  await sleep(between(300, 1_000));
  await (bridge as BridgeProcess).kill();
  kills++;
  const restarting = launchBridge();
  await sleep(2_000);
  proxy.up();
  bridge = await restarting;
  t.diagnostic("bridge killed during a second RPC outage and restarted while the chain was unreachable");

  while (kills < BRIDGE_KILLS) await killAndRestartBridge();
  await sleep(2_000);
  stopSimulator.abort();
  const truth = await simulation;
  t.diagnostic(`faults took ${Math.round((Date.now() - started) / 1000)} s; bridge killed ${kills} times`);

  // ── drain: everything the broker acknowledged reaches the chain; the bridge's queue empties.
  const client = createPublicClient({ chain: localChain(31337, localChainInfo.rpcUrl), transport: http(localChainInfo.rpcUrl) });
  const logs: Log[] = [];
  let scannedTo = -1n;
  const scanLogs = async () => {
    const head = await client.getBlockNumber({ cacheTime: 0 });
    for (let from = scannedTo + 1n; from <= head; from += 50n) {
      const to = from + 49n > head ? head : from + 49n;
      logs.push(...(await client.getLogs({ address: smartMeter, fromBlock: from, toBlock: to })));
      scannedTo = to;
    }
  };
  const acked = new Set<string>();
  const published = new Map<string, SimulationTruth["meters"][number]["readings"][number]>();
  for (const meter of truth.meters) {
    for (const reading of meter.readings) {
      published.set(key(meter.meterId, reading.seq), reading);
      if (reading.status === "acked") acked.add(key(meter.meterId, reading.seq));
    }
  }
  const acceptedKeys = () => {
    const keys = new Set<string>();
    for (const log of parseEventLogs({ abi: abis.SmartMeter, logs, eventName: "ReadingAccepted" })) keys.add(key(log.args.meterId, log.args.seq));
    return keys;
  };
  const drainStarted = Date.now();
  await until("every acknowledged reading accepted on chain and an empty bridge queue", async () => {
    await scanLogs();
    const onChain = acceptedKeys();
    for (const k of acked) if (!onChain.has(k)) return undefined;
    const metrics = await scrapeMetrics(bridgeHttpPort);
    return metrics.get("gridx_bridge_pending_readings") === 0 ? true : undefined;
  }, 60_000, 500).catch(async (error: unknown) => {
    const onChain = acceptedKeys();
    const missing = [...acked].filter((k) => !onChain.has(k));
    throw new Error(`${(error as Error).message}; ${missing.length} acked readings not accepted, e.g. ${missing.slice(0, 10).join(", ")}`);
  });
  t.diagnostic(`drained ${Date.now() - drainStarted} ms after the simulator stopped`);
  lastRunMetrics = await scrapeMetrics(bridgeHttpPort).catch(() => lastRunMetrics);
  await (bridge as BridgeProcess).stop(); // graceful: the store is closed cleanly, nothing in flight
  await sleep(500);
  await scanLogs();

  // The bridge's own record, read-only: nothing left pending or in an open batch.
  const db = new DatabaseSync(join(bridgeDir, "readings.sqlite"), { readOnly: true });
  const statuses = Object.fromEntries(
    (db.prepare("SELECT status, count(*) AS n FROM readings GROUP BY status").all() as Array<{ status: string; n: number }>).map((r) => [r.status, Number(r.n)]),
  );
  db.close();
  t.diagnostic(`bridge store: ${JSON.stringify(statuses)}`);
  assert.equal(statuses.pending ?? 0, 0, "readings still pending in the bridge's store");
  assert.equal(statuses.batched ?? 0, 0, "readings still in an open batch in the bridge's store");

  // ── the chain against the ground truth.
  const acceptedEvents = parseEventLogs({ abi: abis.SmartMeter, logs, eventName: "ReadingAccepted" });
  const rejectedEvents = parseEventLogs({ abi: abis.SmartMeter, logs, eventName: "ReadingRejected" });
  const acceptedCount = new Map<string, number>();
  const acceptedByMeter = new Map<string, Array<{ seq: bigint; productionWh: bigint; consumptionWh: bigint; timestamp: bigint; surplusWh: bigint; deficitWh: bigint }>>();
  for (const { args } of acceptedEvents) {
    const k = key(args.meterId, args.seq);
    acceptedCount.set(k, (acceptedCount.get(k) ?? 0) + 1);
    const list = acceptedByMeter.get(args.meterId.toString()) ?? [];
    list.push(args);
    acceptedByMeter.set(args.meterId.toString(), list);
  }

  // Zero counted twice.
  const twice = [...acceptedCount].filter(([, n]) => n > 1).map(([k]) => k);
  assert.deepEqual(twice, [], "readings accepted more than once");

  // Whatever is on chain is a reading the simulator signed, with its registers.
  for (const { args } of acceptedEvents) {
    const truthReading = published.get(key(args.meterId, args.seq));
    assert.ok(truthReading !== undefined, `meter ${args.meterId} seq ${args.seq} accepted on chain but never published`);
    assert.equal(args.productionWh.toString(), truthReading.productionWh, `production register of ${key(args.meterId, args.seq)}`);
    assert.equal(args.consumptionWh.toString(), truthReading.consumptionWh, `consumption register of ${key(args.meterId, args.seq)}`);
    assert.equal(Number(args.timestamp), truthReading.timestamp, `timestamp of ${key(args.meterId, args.seq)}`);
  }

  // Zero lost: acked ⊆ accepted. Accepted beyond that may only be readings whose PUBACK the simulator never saw.
  const accepted = new Set(acceptedCount.keys());
  const lost = [...acked].filter((k) => !accepted.has(k));
  assert.deepEqual(lost, [], "acknowledged readings never accepted on chain");
  const extra = [...accepted].filter((k) => !acked.has(k));
  for (const k of extra) assert.notEqual(published.get(k)?.status, "acked");
  if (extra.length === 0) assert.deepEqual([...accepted].sort(), [...acked].sort(), "accepted = acked");

  // A rejection is a replay of an accepted reading (SequenceNotIncreasing), or a late reading nobody acked.
  const rejectionsByReason = new Map<string, number>();
  for (const { args } of rejectedEvents) {
    const reason = CONTRACT_REJECTION_REASONS[args.reason] ?? `#${args.reason}`;
    rejectionsByReason.set(reason, (rejectionsByReason.get(reason) ?? 0) + 1);
    const k = key(args.meterId, args.seq);
    assert.ok(
      accepted.has(k) || published.get(k)?.status !== "acked",
      `acked reading ${k} rejected on chain (${reason}) and never accepted`,
    );
    assert.ok(["SequenceNotIncreasing", "TimestampNotAfterLast"].includes(reason), `reading ${k} rejected for ${reason}`);
  }

  // Every meter's books: exactly SmartMeter's accounting of its accepted readings in seq order.
  let totalCredited = 0n;
  let totalUncovered = 0n;
  for (const meter of truth.meters) {
    const meterId = BigInt(meter.meterId);
    const events = [...(acceptedByMeter.get(meter.meterId) ?? [])];
    // Emitted in chain order; SmartMeter only accepts increasing seqs, so chain order is seq order.
    for (let i = 1; i < events.length; i++) assert.ok((events[i] as { seq: bigint }).seq > (events[i - 1] as { seq: bigint }).seq);
    const inSeqOrder: Registers[] = events.map((e) => {
      const r = published.get(key(meterId, e.seq));
      assert.ok(r !== undefined);
      return { productionWh: BigInt(r.productionWh), consumptionWh: BigInt(r.consumptionWh) };
    });
    const baseline = meter.resumedFrom === null ? null : { productionWh: BigInt(meter.resumedFrom.productionWh), consumptionWh: BigInt(meter.resumedFrom.consumptionWh) };
    const expected = expectedAccounting(baseline, inSeqOrder);
    const [claimable, uncovered, latest] = await Promise.all([
      client.readContract({ address: smartMeter, abi: abis.SmartMeter, functionName: "claimableCredits", args: [meterId] }),
      client.readContract({ address: smartMeter, abi: abis.SmartMeter, functionName: "uncoveredConsumption", args: [meterId] }),
      client.readContract({ address: smartMeter, abi: abis.SmartMeter, functionName: "getLatestReading", args: [meterId] }),
    ]);
    totalCredited += expected.creditedWh;
    totalUncovered += expected.uncoveredWh;
    assert.equal(BigInt(claimable), expected.creditedWh, `meter ${meterId}: claimable credits`);
    assert.equal(BigInt(uncovered), expected.uncoveredWh, `meter ${meterId}: uncovered consumption`);
    assert.equal(events.reduce((sum, e) => sum + e.surplusWh, 0n), expected.creditedWh, `meter ${meterId}: Σ surplusWh`);
    assert.equal(events.reduce((sum, e) => sum + e.deficitWh, 0n), expected.uncoveredWh, `meter ${meterId}: Σ deficitWh`);
    // When every reading was acked, the truth's own expectation must hold too.
    if (meter.ackedCount === meter.publishedCount) {
      assert.deepEqual({ creditedWh: expected.creditedWh.toString(), uncoveredWh: expected.uncoveredWh.toString() }, meter.expectedAcked, `meter ${meterId}: truth's expectedAcked`);
    }

    const lastAccepted = events.at(-1);
    assert.ok(lastAccepted !== undefined, `meter ${meterId}: nothing accepted`);
    assert.equal(latest.seq, lastAccepted.seq, `meter ${meterId}: latest seq`);
    assert.equal(latest.productionWh, lastAccepted.productionWh, `meter ${meterId}: latest production register`);
    assert.equal(latest.consumptionWh, lastAccepted.consumptionWh, `meter ${meterId}: latest consumption register`);
    assert.ok(meter.lastAcked !== null);
    assert.ok(latest.seq >= BigInt(meter.lastAcked.seq), `meter ${meterId}: the last acked reading is not on chain`);
    if (latest.seq === BigInt(meter.lastAcked.seq)) {
      assert.equal(latest.productionWh.toString(), meter.lastAcked.productionWh);
      assert.equal(latest.consumptionWh.toString(), meter.lastAcked.consumptionWh);
    }
  }

  assert.ok(totalCredited > 0n && totalUncovered > 0n, "the run credits and books nothing: the accounting checks would be vacuous");
  t.diagnostic(`SmartMeter books: ${totalCredited} Wh credited, ${totalUncovered} Wh uncovered, as expected from the accepted readings`);
  t.diagnostic(`kills: bridge ${kills}, broker 1; RPC outage ${RPC_OUTAGE_MS} ms`);
  t.diagnostic(`readings published ${truth.totals.published}, acked ${truth.totals.acked}, unacked ${truth.totals.unacked}, failed ${truth.totals.failed}`);
  t.diagnostic(`on chain: ${acceptedEvents.length} accepted (${extra.length} of them unacked by the broker), ${rejectedEvents.length} rejected ${JSON.stringify(Object.fromEntries(rejectionsByReason))}`);
  const duplicates = lastRunMetrics.get("gridx_bridge_readings_duplicate_total");
  t.diagnostic(`duplicates dropped by the bridge: ${duplicates === undefined ? "n/a" : `${duplicates} in its last run (counters restart with every kill)`}`);
}
