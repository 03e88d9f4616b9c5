/**
 * `npm run bench:bridge`: the bridge's throughput and latency on this machine, with everything real: a Hardhat
 * node with GridX deployed, the bridge (embedded aedes broker, SQLite store, native signature checks, viem
 * batches) and MQTT publishers over TCP. Prints three figures:
 *
 *   1. sustained ingestion: readings per second durably stored (verified and committed, i.e. acknowledged to
 *      the broker), for a burst of BENCH_READINGS readings from BENCH_METERS meters published by 2 pipelined
 *      clients on their own threads, while the bridge is also posting them on chain;
 *   2. publish → confirmed latency, p50 / p95 / max: a steady stream of BENCH_RATE readings/s, each timed from
 *      its publish to the moment its ReadingAccepted event is visible through the RPC;
 *   3. gas per posted reading: gasUsed of every submitReadings transaction the bridge sent, over the readings
 *      they carried (calldata and signature checks included).
 *
 * Every reading is checked to be accepted on chain, so rejected readings cannot flatter the numbers.
 * Environment: BENCH_METERS (default 200), BENCH_READINGS (20000), BENCH_RATE (200), BENCH_SECONDS (15).
 */
import { createRequire } from "node:module";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import mqtt, { type MqttClient } from "mqtt";
import { createPublicClient, http, parseEventLogs, type Address, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { pino } from "pino";
import { abis } from "../src/generated/contracts.ts";
import { readingDigest, smartMeterDomainSeparator } from "../src/adapters/nativeReadingVerifier.ts";
import { readingPayload } from "../src/adapters/simulatorPublisher.ts";
import { connectChain, registerMeters, LOCAL_METER_REGISTRAR_KEY } from "../src/adapters/meterRegistration.ts";
import { localChain } from "../src/adapters/viemChain.ts";
import { loadConfig } from "../src/cli/config.ts";
import { startBridge } from "../src/cli/run.ts";
import { readingTopic, type SignedReading } from "../src/domain/reading.ts";
import { freePort, startLocalChain, tempDir, until } from "../test/integration/harness.ts";

const require = createRequire(import.meta.url);
const secp256k1 = require("secp256k1") as {
  ecdsaSign(msg32: Uint8Array, key: Uint8Array): { signature: Uint8Array; recid: number };
};

const METERS = Number(process.env.BENCH_METERS ?? 200);
const READINGS = Number(process.env.BENCH_READINGS ?? 20_000);
const RATE = Number(process.env.BENCH_RATE ?? 200);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 15);
const CAPACITY_W = 10_000;

interface BenchMeter {
  meterId: bigint;
  key: Buffer;
  seq: bigint;
  timestamp: bigint;
  production: bigint;
  consumption: bigint;
}

function sign(domainSeparator: Buffer, meter: BenchMeter, timestamp: bigint): SignedReading {
  meter.seq += 1n;
  if (timestamp <= meter.timestamp) timestamp = meter.timestamp + 1n; // strictly after the meter's last reading
  meter.timestamp = timestamp;
  meter.production += 1n; // 1 Wh per reading: far inside the rated capacity for any elapsed second
  const reading = {
    meterId: meter.meterId,
    seq: meter.seq,
    timestamp,
    productionWh: meter.production,
    consumptionWh: meter.consumption,
    voltage_mV: 230_000,
    frequency_mHz: 50_000,
  };
  const { signature, recid } = secp256k1.ecdsaSign(readingDigest(domainSeparator, reading), meter.key);
  const hex = `0x${Buffer.from(signature).toString("hex")}${(27 + recid).toString(16)}` as Hex;
  return { ...reading, signature: hex };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function main(): Promise<void> {
  const logger = pino({ level: "warn" });
  process.stdout.write(`Starting a Hardhat node and deploying GridX ...\n`);
  const chain = await startLocalChain();
  const dataDir = tempDir("bench-bridge");
  try {
    const smartMeter = chain.addresses.SmartMeter;
    const connection = await connectChain(chain.rpcUrl);
    const keys = Array.from({ length: METERS }, (_, i) => Buffer.from((BigInt(i + 1) * 0x1000003n + 0xbe9c4n).toString(16).padStart(64, "0"), "hex"));
    process.stdout.write(`Registering ${METERS} meters ...\n`);
    const registered = await registerMeters({
      connection,
      smartMeter,
      registrarKey: LOCAL_METER_REGISTRAR_KEY,
      meters: keys.map((key, i) => ({
        serial: `BENCH-${i}`,
        owner: "0x976EA74026E726554dB657fA54763abd0C3a0aa9" as Address,
        zone: 1 + (i % 2),
        kind: 0,
        deviceSigner: privateKeyToAccount(`0x${key.toString("hex")}`).address,
        ratedCapacityW: CAPACITY_W,
      })),
      logger,
    });
    const meters: BenchMeter[] = registered.map((r, i) => ({ meterId: r.meterId, key: keys[i], seq: 0n, timestamp: 0n, production: 0n, consumption: 0n }));

    const mqttPort = await freePort();
    const config = loadConfig({
      env: {},
      flags: {
        rpc: chain.rpcUrl,
        "mqtt-port": String(mqttPort),
        "data-dir": dataDir,
        "http-port": "0",
        "batch-size": "200",
        "batch-age-ms": "250",
        "log-level": "warn",
      },
    });
    const bridge = await startBridge(config, logger);
    const domainSeparator = smartMeterDomainSeparator(31337, smartMeter);
    const client = createPublicClient({ chain: localChain(31337, chain.rpcUrl), transport: http(chain.rpcUrl), pollingInterval: 50 });

    // Every meter's readings are a second apart and end before now, so SmartMeter accepts all of them.
    const perMeter = Math.ceil(READINGS / METERS);
    const start = BigInt(Math.floor(Date.now() / 1000)) - BigInt(perMeter) - 60n;
    const burst: SignedReading[] = [];
    for (let k = 0; k < perMeter; k++) for (const meter of meters) burst.push(sign(domainSeparator, meter, start + BigInt(k)));
    const publishers: MqttClient[] = await Promise.all(
      [0, 1, 2, 3].map((i) => mqtt.connectAsync(bridge.mqttUrl, { clientId: `bench-${i}`, clean: true })),
    );

    // 1. Burst: how fast readings become durable.
    process.stdout.write(`Publishing ${burst.length} signed readings from ${METERS} meters (2 publisher threads) ...\n`);
    const before = bridge.store.counts();
    const storedBefore = before.pending + before.batched + before.accepted + before.rejected;
    const t0 = performance.now();
    const workers = [0, 1].map((p) => {
      // one meter, one publisher: a meter's readings leave in seq order
      const items = burst.filter((r) => Number(r.meterId % 2n) === p).map((r) => [readingTopic(r.meterId), readingPayload(r)]);
      const worker = new Worker(new URL("./publisherWorker.ts", import.meta.url), {
        workerData: { url: bridge.mqttUrl, clientId: `bench-burst-${p}`, items },
      });
      return new Promise<void>((resolve, reject) => {
        worker.once("message", () => resolve());
        worker.once("error", reject);
      });
    });
    await Promise.all(workers);
    const progress = setInterval(async () => {
      const received = (await bridge.metrics.received.get()).values[0]?.value ?? 0;
      const duplicates = (await bridge.metrics.duplicates.get()).values[0]?.value ?? 0;
      process.stdout.write(`  received ${received}, duplicates ${duplicates}, store ${JSON.stringify(bridge.store.counts())}\n`);
    }, 5_000);
    await until("every burst reading stored", () => {
      const c = bridge.store.counts();
      return c.pending + c.batched + c.accepted + c.rejected - storedBefore >= burst.length ? true : undefined;
    }, 300_000, 20);
    const ingestSeconds = (performance.now() - t0) / 1000;
    clearInterval(progress);
    await until("the burst posted on chain", () => {
      const c = bridge.store.counts();
      return c.pending === 0 && c.batched === 0 ? c : undefined;
    }, 600_000, 100);
    const postSeconds = (performance.now() - t0) / 1000;

    // 2. Steady stream: publish → ReadingAccepted visible.
    process.stdout.write(`Steady stream: ${RATE} readings/s for ${SECONDS} s ...\n`);
    const publishedAt = new Map<string, number>();
    const latencies: number[] = [];
    let fromBlock = (await client.getBlockNumber({ cacheTime: 0 })) + 1n;
    let polling = true;
    let streamEnd = Number.POSITIVE_INFINITY;
    const poller = (async () => {
      while (polling || publishedAt.size > 0) {
        const to = await client.getBlockNumber({ cacheTime: 0 });
        if (to >= fromBlock) {
          const logs = await client.getLogs({ address: smartMeter, fromBlock, toBlock: to });
          const now = performance.now();
          for (const log of parseEventLogs({ abi: abis.SmartMeter, logs, eventName: "ReadingAccepted" })) {
            const key = `${log.args.meterId}/${log.args.seq}`;
            const at = publishedAt.get(key);
            if (at !== undefined) {
              latencies.push(now - at);
              publishedAt.delete(key);
            }
          }
          fromBlock = to + 1n;
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
        if (!polling && performance.now() - streamEnd > 60_000) break;
      }
    })();
    const total = RATE * SECONDS;
    const streamStart = performance.now();
    for (let i = 0; i < total; i++) {
      const due = streamStart + (i * 1000) / RATE;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      const meter = meters[i % meters.length];
      const reading = sign(domainSeparator, meter, BigInt(Math.floor(Date.now() / 1000)));
      publishedAt.set(`${reading.meterId}/${reading.seq}`, performance.now());
      void publishers[Number(reading.meterId % 4n)].publishAsync(readingTopic(reading.meterId), readingPayload(reading), { qos: 1 });
    }
    streamEnd = performance.now();
    polling = false;
    await poller;
    const missing = publishedAt.size;

    // 3. Gas per reading of every batch the bridge sent.
    const receipts = new Map<string, bigint>();
    let readingsOnChain = 0;
    let gas = 0n;
    const all = [];
    const head = await client.getBlockNumber({ cacheTime: 0 });
    for (let from = 0n; from <= head; from += 50n) {
      const to = from + 49n > head ? head : from + 49n;
      all.push(...(await client.getLogs({ address: smartMeter, fromBlock: from, toBlock: to })));
    }
    for (const log of parseEventLogs({ abi: abis.SmartMeter, logs: all, eventName: ["ReadingAccepted", "ReadingRejected"] })) {
      readingsOnChain++;
      if (!receipts.has(log.transactionHash)) {
        const receipt = await client.getTransactionReceipt({ hash: log.transactionHash });
        receipts.set(log.transactionHash, receipt.gasUsed);
        gas += receipt.gasUsed;
      }
    }
    const counts = bridge.store.counts();
    await Promise.all(publishers.map((p) => p.endAsync(true)));
    await bridge.stop();

    latencies.sort((a, b) => a - b);
    const rows: Array<[string, string]> = [
      ["readings durably ingested (burst)", `${burst.length} in ${ingestSeconds.toFixed(2)} s = ${Math.round(burst.length / ingestSeconds).toLocaleString("en-US")} readings/s`],
      ["  … and all posted on chain", `after ${postSeconds.toFixed(2)} s = ${Math.round(burst.length / postSeconds).toLocaleString("en-US")} readings/s end to end`],
      ["publish → confirmed latency (steady)", `p50 ${percentile(latencies, 50).toFixed(0)} ms, p95 ${percentile(latencies, 95).toFixed(0)} ms, max ${latencies.at(-1)?.toFixed(0)} ms over ${latencies.length} readings at ${RATE}/s`],
      ["gas per posted reading", `${(Number(gas) / readingsOnChain).toFixed(0)} (${receipts.size} transactions, ${readingsOnChain} readings, batch ≤ 200)`],
      ["outcome", `${counts.accepted} accepted, ${counts.rejected} rejected, ${missing} not confirmed`],
    ];
    const width = Math.max(...rows.map(([k]) => k.length));
    process.stdout.write(`\n${rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join("\n")}\n`);
    const target = burst.length / ingestSeconds >= 2_000;
    process.stdout.write(`\ntarget ≥ 2,000 readings/s durably ingested: ${target ? "met" : "NOT met"}\n`);
    if (counts.rejected !== 0 || missing !== 0) {
      process.stderr.write("some readings were rejected or never confirmed: the figures above are not valid\n");
      process.exitCode = 1;
    }
  } finally {
    await chain.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
