/**
 * `oracle-bridge run`: wires the adapters to the application services and runs until SIGINT/SIGTERM.
 * `startBridge` is also what the integration tests start in-process.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "pino";
import { parseUnits, type Address, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { startEmbeddedBroker, type EmbeddedBroker } from "../adapters/embeddedBroker.ts";
import { MqttIngest } from "../adapters/mqttIngest.ts";
import { NativeReadingVerifier } from "../adapters/nativeReadingVerifier.ts";
import { SqliteReadingStore } from "../adapters/sqliteReadingStore.ts";
import { BridgeMetrics, startHttp, type HealthReport } from "../adapters/telemetry.ts";
import { ChainMeterDirectory, ViemReadingsChain, errorText, localChain, publicClientFor } from "../adapters/viemChain.ts";
import { ChainZoneDirectory, ViemOracleReporter } from "../adapters/viemOracles.ts";
import { GridEngine } from "../app/gridEngine.ts";
import { IngestService } from "../app/ingest.ts";
import { Submitter } from "../app/submitter.ts";
import { parsePricing } from "../domain/gridStability.ts";
import { READING_TOPIC_FILTER } from "../domain/reading.ts";
import { parseWeatherPayload, WEATHER_TOPIC_FILTER } from "../domain/weather.ts";
import { contractAddresses, type BridgeConfig } from "./config.ts";

export interface RunningBridge {
  mqttUrl: string;
  httpPort: number;
  store: SqliteReadingStore;
  metrics: BridgeMetrics;
  engine: GridEngine | undefined;
  stop(): Promise<void>;
}

async function waitForChain(
  read: () => Promise<number>,
  expected: number,
  logger: Logger,
  signal: { stopped: boolean },
): Promise<void> {
  for (let attempt = 1; !signal.stopped; attempt++) {
    try {
      const chainId = await read();
      if (chainId !== expected) throw new Error(`the RPC serves chain ${chainId}, the configuration says ${expected}`);
      return;
    } catch (error) {
      if (error instanceof Error && error.message.startsWith("the RPC serves")) throw error;
      logger.warn({ attempt, err: errorText(error) }, "chain RPC not reachable yet; retrying");
      await new Promise((resolve) => setTimeout(resolve, Math.min(5_000, 250 * attempt)));
    }
  }
}

export async function startBridge(config: BridgeConfig, logger: Logger): Promise<RunningBridge> {
  const signal = { stopped: false };
  const metrics = new BridgeMetrics();
  const addresses = contractAddresses(config);
  mkdirSync(config.dataDir, { recursive: true });
  const store = new SqliteReadingStore(join(config.dataDir, "readings.sqlite"), config.durability);

  const chain = localChain(config.chain.chainId, config.chain.rpcUrl);
  const client = publicClientFor(chain, config.chain.rpcUrl);
  await waitForChain(() => client.getChainId(), config.chain.chainId, logger, signal);

  let broker: EmbeddedBroker | undefined;
  let mqttUrl = config.mqtt.url;
  if (mqttUrl === "embedded") {
    broker = await startEmbeddedBroker({
      host: config.mqtt.embedded.host,
      port: config.mqtt.embedded.port,
      dataDir: join(config.dataDir, "broker"),
    });
    mqttUrl = `mqtt://${broker.host}:${broker.port}`;
    logger.info({ url: mqttUrl }, "embedded MQTT broker listening");
  }

  const submitterAccount = privateKeyToAccount(config.keys.submitter as Hex);
  const directory = new ChainMeterDirectory(client, addresses.SmartMeter as Address);
  const verifier = new NativeReadingVerifier(config.chain.chainId, addresses.SmartMeter as Address);
  const ingest = new IngestService(store, directory, verifier, config.ingest);
  const readingsChain = new ViemReadingsChain(client, submitterAccount, addresses.SmartMeter as Address, config.chain.chainId);

  let chainFailures = 0;
  const submitter = new Submitter(
    store,
    readingsChain,
    {
      maxBatchSize: config.batching.maxBatchSize,
      maxAgeMs: config.batching.maxAgeMs,
      gapTimeoutMs: config.batching.gapTimeoutMs,
      bumpAfterMs: config.batching.bumpAfterMs,
      rebroadcastAfterMs: config.batching.rebroadcastAfterMs,
      maxFeePerGasCap: parseUnits(config.batching.maxFeePerGasGwei, 9),
      pollMs: config.batching.pollMs,
      retry: { baseMs: 200, maxMs: 5_000 },
    },
    {
      batchSent(batch, attempt, replacement) {
        chainFailures = 0;
        metrics.batchesSent.inc({ kind: replacement ? "replacement" : "original" });
        logger.info(
          { batch: batch.id, nonce: batch.nonce, readings: batch.readings.length, tx: attempt.txHash, replacement, maxFeePerGas: attempt.maxFeePerGas.toString() },
          replacement ? "batch re-sent with higher fees" : "batch sent",
        );
      },
      batchMined(batch, txHash, mined, nowMs) {
        chainFailures = 0;
        for (const outcome of mined.outcomes) {
          metrics.onChain.inc({ outcome: outcome.accepted ? "accepted" : "rejected", reason: outcome.reason ?? "" });
          if (!outcome.accepted) {
            logger.warn({ meterId: outcome.meterId.toString(), seq: outcome.seq.toString(), reason: outcome.reason, tx: txHash }, "SmartMeter rejected a reading");
          }
        }
        for (const reading of batch.readings) metrics.latency.observe((nowMs - reading.receivedAtMs) / 1000);
        if (batch.readings.length > 0) metrics.gasPerReading.set(Number(mined.gasUsed) / batch.readings.length);
        const accepted = mined.outcomes.filter((o) => o.accepted).length;
        logger.info({ batch: batch.id, tx: txHash, block: mined.blockNumber.toString(), accepted, rejected: mined.outcomes.length - accepted, gasUsed: mined.gasUsed.toString() }, "batch mined");
      },
      batchAbandoned(batch, why) {
        metrics.batchesAbandoned.inc({ why });
        logger.error({ batch: batch.id, nonce: batch.nonce, why }, "batch abandoned: its readings are pending again");
      },
      chainError(error, consecutive, retryInMs) {
        chainFailures = consecutive;
        metrics.chainErrors.inc({ component: "submitter" });
        logger.warn({ err: errorText(error), consecutive, retryInMs }, "chain call failed; retrying");
      },
    },
  );

  let engine: GridEngine | undefined;
  if (config.grid.enabled) {
    const reporter = new ViemOracleReporter({
      client,
      chain,
      rpcUrl: config.chain.rpcUrl,
      relayer: privateKeyToAccount(config.keys.relayer as Hex),
      signers: config.keys.oracleSigners.map((key) => privateKeyToAccount(key as Hex)),
      addresses: {
        PriceOracle: addresses.PriceOracle as Address,
        GridOracle: addresses.GridOracle as Address,
        WeatherOracle: addresses.WeatherOracle as Address,
      },
    });
    engine = new GridEngine(
      reporter,
      new ChainZoneDirectory(client, addresses.GridManagement as Address),
      {
        tickMs: config.grid.tickMs,
        pricing: parsePricing(config.grid.pricing),
        smoothingWindow: config.grid.smoothingWindow,
        balancedBandBps: config.grid.balancedBandBps,
        staleAfterSeconds: BigInt(config.grid.staleAfterSeconds),
        priceDeviationBps: config.grid.priceDeviationBps,
        gridDeviationBps: config.grid.gridDeviationBps,
        priceHeartbeatSeconds: BigInt(config.grid.priceHeartbeatSeconds),
        gridHeartbeatSeconds: BigInt(config.grid.gridHeartbeatSeconds),
        weatherHeartbeatSeconds: BigInt(config.grid.weatherHeartbeatSeconds),
        zones: config.grid.zones,
      },
      {
        zoneComputed(state) {
          const zone = String(state.zone);
          metrics.zonePrice.set({ zone }, Number(state.price));
          metrics.zoneSupply.set({ zone }, Number(state.snapshot.supplyW));
          metrics.zoneDemand.set({ zone }, Number(state.snapshot.demandW));
          metrics.zoneHealth.set({ zone }, state.healthBps);
          metrics.zoneStatus.set({ zone }, state.status);
        },
        posted(oracle, zone, why, report) {
          metrics.oraclePosts.inc({ oracle, zone: String(zone), why });
          logger.info({ oracle, zone, why, round: report.round.toString(), tx: report.txHash }, "oracle report posted");
        },
        postFailed(oracle, zone, error) {
          metrics.oracleErrors.inc({ oracle, zone: String(zone) });
          logger.warn({ oracle, zone, err: errorText(error) }, "oracle report failed; will retry next tick");
        },
      },
    );
    // Resume the zones' picture from what is stored (the meters' zones come from the registry).
    for (const { previous, latest } of store.latestPairs()) {
      try {
        const meter = await directory.lookup(latest.meterId);
        if (meter === null) continue;
        if (previous !== undefined) engine.observe(previous, meter.zone);
        engine.observe(latest, meter.zone);
      } catch (error) {
        logger.warn({ meterId: latest.meterId.toString(), err: errorText(error) }, "could not place a meter in its zone yet");
      }
    }
  }

  const share = (filter: string) => (config.mqtt.sharedGroup === undefined ? filter : `$share/${config.mqtt.sharedGroup}/${filter}`);
  const mqttIngest = new MqttIngest({
    url: mqttUrl,
    clientId: config.mqtt.clientId,
    username: config.mqtt.username,
    password: config.mqtt.password,
    retry: { baseMs: 200, maxMs: 5_000 },
    subscriptions: [
      {
        filter: share(READING_TOPIC_FILTER),
        handler: async (topic, payload) => {
          metrics.received.inc();
          const result = await ingest.handle(topic, payload, Date.now());
          switch (result.kind) {
            case "stored":
              metrics.stored.inc();
              engine?.observe(result.reading, result.zone);
              break;
            case "duplicate":
              metrics.duplicates.inc();
              logger.debug({ topic, seq: result.reading.seq.toString() }, "duplicate reading dropped");
              break;
            case "rejected":
              metrics.rejected.inc({ reason: result.reason });
              logger.warn({ topic, reason: result.reason, detail: result.detail }, "reading rejected");
              break;
          }
        },
      },
      {
        filter: share(WEATHER_TOPIC_FILTER),
        handler: async (topic, payload) => {
          const observation = parseWeatherPayload(topic, payload);
          if (observation instanceof Error) {
            metrics.rejected.inc({ reason: "weather_invalid" });
            logger.warn({ topic, detail: observation.message }, "weather observation rejected");
            return;
          }
          engine?.observeWeather(observation);
        },
      },
    ],
    onRetry(error, attempt, topic) {
      metrics.chainErrors.inc({ component: "ingest" });
      logger.warn({ topic, attempt, err: errorText(error) }, "could not verify a reading yet (chain unreachable?); retrying before acknowledging");
    },
    onConnect() {
      metrics.mqttConnected.set(1);
      logger.info({ url: mqttUrl, clientId: config.mqtt.clientId }, "connected to the MQTT broker");
    },
    onDisconnect(error) {
      metrics.mqttConnected.set(0);
      if (error !== undefined) logger.warn({ err: error.message }, "MQTT connection error");
    },
  });

  const health = (): HealthReport => {
    const pending = store.pendingSummary();
    metrics.pending.set(pending.count);
    const backlogMs = pending.oldestReceivedAtMs === undefined ? 0 : Date.now() - pending.oldestReceivedAtMs;
    const checks = {
      mqtt: { ok: mqttIngest.connected, detail: mqttIngest.connected ? `connected to ${mqttUrl}` : `not connected to ${mqttUrl}` },
      chain: { ok: chainFailures === 0, detail: chainFailures === 0 ? "last chain call succeeded" : `${chainFailures} consecutive chain failures` },
      backlog: { ok: backlogMs < 120_000, detail: `${pending.count} pending readings, oldest ${Math.round(backlogMs / 1000)} s` },
    };
    return { healthy: Object.values(checks).every((c) => c.ok), checks };
  };
  const pendingGauge = setInterval(() => metrics.pending.set(store.pendingSummary().count), 1_000);
  pendingGauge.unref();
  const http = await startHttp(config.http.host, config.http.port, metrics, health);
  logger.info({ url: `http://${config.http.host}:${http.port}` }, "health and metrics listening");

  submitter.start();
  engine?.start();
  await mqttIngest.start();
  logger.info({ submitter: submitterAccount.address, smartMeter: addresses.SmartMeter }, "oracle bridge running");

  let stopping: Promise<void> | undefined;
  return {
    mqttUrl,
    httpPort: http.port,
    store,
    metrics,
    engine,
    stop() {
      stopping ??= (async () => {
        signal.stopped = true;
        clearInterval(pendingGauge);
        logger.info("stopping: no new messages are acknowledged");
        await mqttIngest.stop();
        await engine?.stop();
        await submitter.stop();
        await http.close();
        await broker?.close();
        store.close();
        logger.info("stopped");
      })();
      return stopping;
    },
  };
}
