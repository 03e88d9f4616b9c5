/**
 * The whole pipeline over real TCP: simulator → embedded MQTT broker → bridge (a child process) → Hardhat node
 * with GridX deployed. On-chain registers and credits must equal the simulator's ground truth, every kind of bad
 * payload must be refused with its reason in the log and in the metrics while good readings keep flowing, and
 * the grid-stability engine must have posted fresh prices and grid states.
 */
import assert from "node:assert/strict";
import { readFileSync, rmSync } from "node:fs";
import { after, before, test } from "node:test";
import mqtt, { type MqttClient } from "mqtt";
import { createPublicClient, http, parseEventLogs, type Address, type Hex, type PublicClient } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { pino } from "pino";
import { abis } from "../../src/generated/contracts.ts";
import { readingPayload } from "../../src/adapters/simulatorPublisher.ts";
import { connectChain, registerMeters, LOCAL_METER_REGISTRAR_KEY } from "../../src/adapters/meterRegistration.ts";
import { localChain } from "../../src/adapters/viemChain.ts";
import { parseSimulateArgs, runSimulation, type SimulationTruth } from "../../src/cli/simulate.ts";
import { expectedAccounting } from "../../src/domain/simulation/groundTruth.ts";
import { READING_TYPES, readingDomain, readingTopic, type Reading, type SignedReading } from "../../src/domain/reading.ts";
import {
  freePort,
  scrapeMetrics,
  startBridgeProcess,
  startLocalChain,
  tempDir,
  until,
  type BridgeProcess,
  type LocalChain,
} from "./harness.ts";

let chain: LocalChain;
let bridge: BridgeProcess;
let client: PublicClient;
let dataDir: string;
let mqttUrl: string;
let truth: SimulationTruth;
const ATTACK_KEY = "0x5e1e5e1e5e1e5e1e5e1e5e1e5e1e5e1e5e1e5e1e5e1e5e1e5e1e5e1e5e1e5e1e" as Hex;
const WRONG_KEY = "0x0bad0bad0bad0bad0bad0bad0bad0bad0bad0bad0bad0bad0bad0bad0bad0bad" as Hex;
let ownMeter: bigint;
let accepted: Map<string, { production: bigint; consumption: bigint }>;

async function sign(key: Hex, smartMeter: Address, reading: Reading): Promise<SignedReading> {
  const signature = await privateKeyToAccount(key).signTypedData({
    domain: readingDomain(31337, smartMeter),
    types: READING_TYPES,
    primaryType: "Reading",
    message: reading,
  });
  return { ...reading, signature };
}

async function onChainOutcomes(): Promise<{ accepted: Map<string, { production: bigint; consumption: bigint }>; rejected: string[]; duplicates: number }> {
  const head = await client.getBlockNumber({ cacheTime: 0 });
  const result = new Map<string, { production: bigint; consumption: bigint }>();
  const rejected: string[] = [];
  let duplicates = 0;
  for (let from = 0n; from <= head; from += 50n) {
    const logs = await client.getLogs({ address: chain.addresses.SmartMeter, fromBlock: from, toBlock: from + 49n > head ? head : from + 49n });
    for (const log of parseEventLogs({ abi: abis.SmartMeter, logs, eventName: ["ReadingAccepted", "ReadingRejected"] })) {
      const key = `${log.args.meterId}/${log.args.seq}`;
      if (log.eventName === "ReadingAccepted") {
        if (result.has(key)) duplicates++;
        result.set(key, { production: log.args.productionWh, consumption: log.args.consumptionWh });
      } else {
        rejected.push(`${key}:${log.args.reason}`);
      }
    }
  }
  return { accepted: result, rejected, duplicates };
}

before(async () => {
  chain = await startLocalChain();
  client = createPublicClient({ chain: localChain(31337, chain.rpcUrl), transport: http(chain.rpcUrl), pollingInterval: 100 });
  dataDir = tempDir("bridge-it");
  const port = await freePort();
  mqttUrl = `mqtt://127.0.0.1:${port}`;
  bridge = await startBridgeProcess({
    rpcUrl: chain.rpcUrl,
    mqtt: { embeddedPort: port },
    dataDir,
    args: ["--batch-age-ms", "300", "--tick-ms", "1000"],
  });
  const connection = await connectChain(chain.rpcUrl);
  const [registered] = await registerMeters({
    connection,
    smartMeter: chain.addresses.SmartMeter,
    registrarKey: LOCAL_METER_REGISTRAR_KEY,
    meters: [
      {
        serial: "IT-ATTACK-TARGET",
        owner: "0x976EA74026E726554dB657fA54763abd0C3a0aa9",
        zone: 1,
        kind: 0,
        deviceSigner: privateKeyToAccount(ATTACK_KEY).address,
        ratedCapacityW: 10_000,
      },
    ],
    logger: pino({ level: "silent" }),
  });
  ownMeter = registered.meterId;
});

after(async () => {
  await bridge?.stop();
  await chain?.stop();
  if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true });
});

test("simulated meters: on-chain registers and credits equal the ground truth; bad payloads are refused with a reason", async (t) => {
  const smartMeter = chain.addresses.SmartMeter;
  const config = parseSimulateArgs([
    "--meters", "8", "--zones", "1,2", "--interval", "1", "--accelerate", "600", "--seed", "bridge-it",
    "--broker", mqttUrl, "--rpc", chain.rpcUrl, "--register", "--duration", "14",
  ]);
  assert.notEqual(config, "help");
  const simulation = runSimulation(config as Exclude<typeof config, "help">, { logger: pino({ level: "silent" }), handleProcessSignals: false });

  // Our own meter: seq 1, 2, 3, then 5 (4 is "lost" and only shows up after 5 was posted).
  const now = BigInt(Math.floor(Date.now() / 1000));
  const base = { meterId: ownMeter, voltage_mV: 230_000, frequency_mHz: 50_000 };
  const own = async (seq: bigint, ts: bigint, production: bigint, key: Hex = ATTACK_KEY) =>
    sign(key, smartMeter, { ...base, seq, timestamp: ts, productionWh: production, consumptionWh: 10n });
  const r1 = await own(1n, now - 20n, 100n);
  const r2 = await own(2n, now - 19n, 101n);
  const r3 = await own(3n, now - 18n, 102n);
  const r5 = await own(5n, now - 16n, 104n);
  const publisher: MqttClient = await mqtt.connectAsync(mqttUrl, { clientId: "it-attacker", clean: true });
  const send = (topic: string, payload: string | Buffer) => publisher.publishAsync(topic, payload, { qos: 1 });
  for (const r of [r1, r2, r3, r5]) await send(readingTopic(ownMeter), readingPayload(r));
  await until("seq 5 posted past the gap", async () => {
    const head = await client.readContract({ address: smartMeter, abi: abis.SmartMeter, functionName: "getLatestReading", args: [ownMeter] });
    return head.seq === 5n ? true : undefined;
  }, 30_000);

  const topic = readingTopic(ownMeter);
  const good = JSON.parse(readingPayload(r2)) as Record<string, unknown>;
  const withField = (patch: Record<string, unknown>) => JSON.stringify({ ...good, ...patch });
  const bad: Array<[string, string, string | Buffer]> = [
    ["bad_topic", "gridx/v1/meters/not-a-number/reading", readingPayload(r2)],
    ["payload_too_large", topic, JSON.stringify({ ...good, padding: "x".repeat(4096) })],
    ["invalid_utf8", topic, Buffer.from([0xff, 0xfe, 0xfd])],
    ["malformed_json", topic, "{\"v\":1,"],
    ["not_an_object", topic, "[1,2,3]"],
    ["unsupported_version", topic, withField({ v: 2 })],
    ["missing_field", topic, JSON.stringify(Object.fromEntries(Object.entries(good).filter(([k]) => k !== "signature")))],
    ["unknown_field", topic, withField({ firmware: "1.2.3" })],
    ["invalid_integer", topic, withField({ productionWh: 1.5 })],
    ["out_of_range", topic, withField({ productionWh: (1n << 48n).toString() })],
    ["zero_sequence", topic, withField({ seq: "0" })],
    ["topic_meter_mismatch", readingTopic(ownMeter + 1000n), readingPayload(r2)],
    ["malformed_signature", topic, withField({ signature: "0x1234" })],
    ["unknown_meter", readingTopic(987_654n), readingPayload(await sign(ATTACK_KEY, smartMeter, { ...base, meterId: 987_654n, seq: 1n, timestamp: now, productionWh: 1n, consumptionWh: 1n }))],
    ["invalid_signature", topic, readingPayload(await own(6n, now - 10n, 110n, WRONG_KEY))],
    ["future_timestamp", topic, readingPayload(await own(6n, now + 3_600n, 110n))],
    ["stale_timestamp", topic, readingPayload(await own(6n, now - 8n * 86_400n, 110n))],
    ["conflicting_duplicate", topic, readingPayload(await own(2n, now - 19n, 999n))],
    ["sequence_regressed", topic, readingPayload(await own(4n, now - 17n, 103n))],
  ];
  const metricsBefore = await scrapeMetrics(bridge.httpPort);
  for (const [, badTopic, payload] of bad) await send(badTopic, payload);
  await send(topic, readingPayload(r2)); // a replay of a stored reading: dropped as a duplicate
  await publisher.endAsync();

  truth = await simulation;
  assert.ok(truth.totals.acked > 50, `the simulator published ${truth.totals.acked} acknowledged readings`);

  // Everything acknowledged by the broker reaches the chain.
  await until("the bridge to drain", async () => {
    const metrics = await scrapeMetrics(bridge.httpPort);
    const outcomes = await onChainOutcomes();
    const expected = truth.meters.reduce((n, m) => n + m.ackedCount, 0) + 4;
    return metrics.get("gridx_bridge_pending_readings") === 0 && outcomes.accepted.size + outcomes.rejected.length >= expected ? true : undefined;
  }, 90_000, 500);

  const outcomes = await onChainOutcomes();
  accepted = outcomes.accepted;
  assert.equal(outcomes.duplicates, 0, "no reading accepted twice");
  assert.deepEqual(outcomes.rejected, [], "SmartMeter rejected nothing the bridge posted");
  for (const meter of truth.meters) {
    const meterId = BigInt(meter.meterId);
    const acked = meter.readings.filter((r) => r.status === "acked");
    for (const r of acked) assert.ok(accepted.has(`${meterId}/${r.seq}`), `meter ${meterId} seq ${r.seq} acknowledged but not on chain`);
    const latest = await client.readContract({ address: smartMeter, abi: abis.SmartMeter, functionName: "getLatestReading", args: [meterId] });
    assert.equal(latest.productionWh.toString(), meter.lastAcked?.productionWh);
    assert.equal(latest.consumptionWh.toString(), meter.lastAcked?.consumptionWh);
    const claimable = await client.readContract({ address: smartMeter, abi: abis.SmartMeter, functionName: "claimableCredits", args: [meterId] });
    const uncovered = await client.readContract({ address: smartMeter, abi: abis.SmartMeter, functionName: "uncoveredConsumption", args: [meterId] });
    assert.equal(claimable.toString(), meter.expectedAcked.creditedWh, `meter ${meterId} credits`);
    assert.equal(uncovered.toString(), meter.expectedAcked.uncoveredWh, `meter ${meterId} uncovered consumption`);
  }
  // Our meter: 1, 2, 3, 5 on chain and nothing from the bad payloads.
  for (const seq of [1n, 2n, 3n, 5n]) assert.ok(accepted.has(`${ownMeter}/${seq}`));
  for (const seq of [4n, 6n]) assert.ok(!accepted.has(`${ownMeter}/${seq}`));
  const ownExpected = expectedAccounting(null, [r1, r2, r3, r5].map((r) => ({ productionWh: r.productionWh, consumptionWh: r.consumptionWh, seq: r.seq, timestamp: r.timestamp })));
  assert.equal(
    await client.readContract({ address: smartMeter, abi: abis.SmartMeter, functionName: "claimableCredits", args: [ownMeter] }),
    ownExpected.creditedWh,
  );

  // Every bad payload: one more in the reason's counter and a log line naming the reason.
  const metrics = await scrapeMetrics(bridge.httpPort);
  const log = readFileSync(bridge.logFile, "utf8");
  for (const [reason] of bad) {
    const key = `gridx_bridge_readings_rejected_total{reason="${reason}"}`;
    assert.ok((metrics.get(key) ?? 0) - (metricsBefore.get(key) ?? 0) >= 1, `metric ${key}`);
    assert.match(log, new RegExp(`"reason":"${reason}"`), `log line for ${reason}`);
  }
  assert.ok((metrics.get("gridx_bridge_readings_duplicate_total") ?? 0) >= 1, "the replay was dropped as a duplicate");
  t.diagnostic(`${bad.length} kinds of bad payload refused; ${truth.totals.acked} simulated readings acknowledged, ${accepted.size} accepted on chain`);

  // The bridge kept running and is healthy.
  const health = await fetch(`http://127.0.0.1:${bridge.httpPort}/health`);
  assert.equal(health.status, 200);
});

test("the grid-stability engine posted fresh prices and grid states for the simulated zones", async () => {
  for (const zone of [1, 2]) {
    const [price, , fresh] = await client.readContract({ address: chain.addresses.PriceOracle, abi: abis.PriceOracle, functionName: "referencePrice", args: [zone] });
    assert.ok(fresh, `zone ${zone} price is fresh`);
    assert.ok(price >= 3_000_000n && price <= 12_000_000n, `zone ${zone} price ${price} within [3, 12]`);
    const grid = await client.readContract({ address: chain.addresses.GridOracle, abi: abis.GridOracle, functionName: "gridState", args: [zone] });
    assert.ok(grid.fresh, `zone ${zone} grid state is fresh`);
    assert.ok(grid.healthBps <= 10_000);
    const expectedStatus = grid.supplyW === grid.demandW ? 0 : undefined;
    if (expectedStatus !== undefined) assert.equal(grid.status, expectedStatus);
  }
  const weather = await client.readContract({ address: chain.addresses.WeatherOracle, abi: abis.WeatherOracle, functionName: "weather", args: [1] });
  assert.ok(weather.observedAt > 0n, "the zone's weather station observation was posted");
});

test("a batch stuck in the mempool is replaced at the same nonce with higher fees, and its reading is recorded once", async () => {
  // Restart on the same data dir and broker port with a short fee-bump delay (also shows the store survives).
  await bridge.stop();
  const port = Number(new URL(mqttUrl).port);
  bridge = await startBridgeProcess({
    rpcUrl: chain.rpcUrl,
    mqtt: { embeddedPort: port },
    dataDir,
    httpPort: bridge.httpPort,
    args: ["--batch-age-ms", "100", "--tick-ms", "600000", "--bump-after-ms", "1500"],
  });
  const rpc = (method: string, params: unknown[] = []) =>
    fetch(chain.rpcUrl, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }) });
  await rpc("evm_setAutomine", [false]);
  try {
    const reading = await sign(ATTACK_KEY, chain.addresses.SmartMeter, {
      meterId: ownMeter,
      seq: 6n,
      timestamp: BigInt(Math.floor(Date.now() / 1000)),
      productionWh: 110n,
      consumptionWh: 10n,
      voltage_mV: 230_000,
      frequency_mHz: 50_000,
    });
    const publisher = await mqtt.connectAsync(mqttUrl, { clientId: "it-bump", clean: true });
    await publisher.publishAsync(readingTopic(ownMeter), readingPayload(reading), { qos: 1 });
    await publisher.endAsync();
    await until("a fee-bumped replacement", async () => {
      const metrics = await scrapeMetrics(bridge.httpPort);
      return (metrics.get('gridx_bridge_batch_transactions_total{kind="replacement"}') ?? 0) >= 1 ? true : undefined;
    }, 30_000);
  } finally {
    await rpc("evm_mine");
    await rpc("evm_setAutomine", [true]);
  }
  const lines = readFileSync(bridge.logFile, "utf8").split("\n").filter((l) => l.includes("batch re-sent with higher fees"));
  const replacement = JSON.parse(lines.at(-1) as string) as { tx: Hex; nonce: number };
  await until("seq 6 on chain", async () => ((await onChainOutcomes()).accepted.has(`${ownMeter}/6`) ? true : undefined), 30_000);
  const outcomes = await onChainOutcomes();
  assert.equal(outcomes.duplicates, 0);
  const mined = await client.getTransactionReceipt({ hash: replacement.tx });
  assert.equal(mined.status, "success", "the replacement, not the original, was mined");
  const tx = await client.getTransaction({ hash: replacement.tx });
  assert.equal(tx.nonce, replacement.nonce);
  await until("the batch closed in the store", async () => {
    const metrics = await scrapeMetrics(bridge.httpPort);
    return metrics.get("gridx_bridge_pending_readings") === 0 && (metrics.get('gridx_bridge_readings_onchain_total{outcome="accepted",reason=""}') ?? 0) >= 1 ? true : undefined;
  }, 30_000);
});
