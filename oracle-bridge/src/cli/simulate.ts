/**
 * `oracle-bridge simulate`: a fleet of simulated smart meters publishing device-signed readings, and
 * their zones' weather, to the MQTT broker — the input the bridge expects from real meters. Optionally
 * registers the meters in SmartMeter first, and writes the run's ground truth (every reading published,
 * whether the broker acknowledged it, and what SmartMeter must credit) for end-to-end checks.
 *
 *   oracle-bridge simulate --meters 20 --zones 1,2 --register --truth truth.json
 *
 * Runs until SIGINT/SIGTERM or --duration; then stops publishing, waits for outstanding PUBACKs, writes
 * the truth file and disconnects. Logs are pino JSON on stderr (level GRIDX_LOG_LEVEL, default info);
 * usage errors go to stderr with exit code 1.
 */
import { rename, writeFile } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { type Address, getAddress, type Hex, isAddress, isHex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import pino, { type Logger } from "pino";
import {
  assertSmartMeterDeployed,
  type ChainConnection,
  connectChain,
  latestReading,
  LOCAL_CHAIN_ID,
  LOCAL_METER_REGISTRAR_KEY,
  localMeterOwners,
  meterIdsBySerial,
  registerMeters,
  registeredDeviceSigner,
} from "../adapters/meterRegistration.ts";
import { connectSimulatorPublisher, type SimulatorPublisher } from "../adapters/simulatorPublisher.ts";
import { readingDomain } from "../domain/reading.ts";
import {
  advanceWeather,
  createFleet,
  type Fleet,
  METER_KIND_NAMES,
  nextReading,
  resumeMeter,
  seedTag,
  signMeterReading,
  type SimulationClock,
  simulatedTime,
  zoneWeather,
} from "../domain/simulation/fleet.ts";
import {
  closeMeterTruth,
  createMeterTruth,
  expectedAccounting,
  type LatestRegisters,
  type MeterTruth,
  meterTruthJson,
  recordPublished,
} from "../domain/simulation/groundTruth.ts";
import type { WeatherObservation } from "../domain/simulation/physics.ts";
import { deployments } from "../generated/contracts.ts";

export const SIMULATE_USAGE = `Usage: oracle-bridge simulate [options]

Simulates smart meters (solar prosumers, consumers, hybrids, grid batteries) and publishes their
device-signed readings to gridx/v1/meters/<meterId>/reading and zone weather to gridx/v1/zones/<zone>/weather.

Options:
  --meters <n>             number of meters                                   (default 20)
  --zones <ids>            comma-separated zone ids; meters spread round-robin (default 1,2)
  --interval <s>           real seconds between two readings of a meter       (default 10)
  --accelerate <x>         simulated seconds per real second                  (default 60: an hour a minute)
  --seed <text>            seed of the fleet (keys, serials, equipment, noise) (default gridx)
  --broker <url>           MQTT broker                                        (default mqtt://127.0.0.1:1883)
  --rpc <url>              JSON-RPC node                                      (default http://127.0.0.1:8545)
  --register               register meters not yet in SmartMeter first (METER_REGISTRAR key from
                           GRIDX_METER_REGISTRAR_KEY; Hardhat account #6 on chain 31337)
  --owner <address>        owner of meters it registers (default: Hardhat #10-#15 on 31337, else the registrar)
  --duration <s>           stop after this many real seconds                  (default: until SIGINT/SIGTERM)
  --truth <file>           write the ground truth as JSON on exit
  --smart-meter <address>  SmartMeter address (default: the generated deployment of the chain)
  --chain-id <id>          expected chain id (with --offline: the EIP-712 domain's chain id, default 31337)
  --offline                no chain at all: meter ids are --first-meter-id, --first-meter-id + 1, ...
  --first-meter-id <id>    with --offline, id of the first meter                (default 1)
  --start <time>           simulated clock at start, ISO-8601 or unix seconds (default: now)
  --weather-interval <s>   real seconds between two weather reports of a zone  (default 30)
  --client-id <id>         MQTT client id (default gridx-simulator-<seed tag>); fixed for a persistent session
  -h, --help               show this help
`;

/** A bad command line or a configuration that cannot work; the message names the option. */
export class SimulateUsageError extends Error {}

export interface SimulateConfig {
  meters: number;
  zones: number[];
  intervalSeconds: number;
  acceleration: number;
  seed: string;
  brokerUrl: string;
  rpcUrl: string;
  register: boolean;
  owner: Address | null;
  durationSeconds: number | null;
  truthFile: string | null;
  smartMeter: Address | null;
  chainId: number | null;
  offline: boolean;
  firstMeterId: bigint;
  /** Simulated unix seconds at start; null = the real time at start. */
  startSimTime: number | null;
  weatherIntervalSeconds: number;
  clientId: string;
}

const MAX_UINT32 = 2 ** 32 - 1;

function usage(option: string, message: string): never {
  throw new SimulateUsageError(`--${option}: ${message}`);
}

function integerOption(option: string, text: string, min: number, max: number): number {
  if (!/^\d+$/.test(text)) usage(option, `"${text}" is not a whole number`);
  const value = Number(text);
  if (value < min || value > max) usage(option, `${value} is outside ${min}..${max}`);
  return value;
}

function numberOption(option: string, text: string, min: number, max: number): number {
  if (!/^\d+(\.\d+)?$/.test(text)) usage(option, `"${text}" is not a positive number`);
  const value = Number(text);
  if (!(value >= min && value <= max)) usage(option, `${value} is outside ${min}..${max}`);
  return value;
}

function urlOption(option: string, text: string, protocols: readonly string[]): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    usage(option, `"${text}" is not a URL`);
  }
  if (!protocols.includes(url.protocol)) usage(option, `"${text}" must use ${protocols.join(" / ")}`);
  return text;
}

function addressOption(option: string, text: string): Address {
  if (!isAddress(text, { strict: false })) usage(option, `"${text}" is not an address`);
  return getAddress(text);
}

function startOption(text: string): number {
  if (/^\d+$/.test(text)) return Number(text);
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) usage("start", `"${text}" is neither ISO-8601 nor unix seconds`);
  return ms / 1000;
}

/** Parses and validates `oracle-bridge simulate` arguments; throws SimulateUsageError naming the option. */
export function parseSimulateArgs(argv: string[]): SimulateConfig | "help" {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        meters: { type: "string", default: "20" },
        zones: { type: "string", default: "1,2" },
        interval: { type: "string", default: "10" },
        accelerate: { type: "string", default: "60" },
        seed: { type: "string", default: "gridx" },
        broker: { type: "string", default: "mqtt://127.0.0.1:1883" },
        rpc: { type: "string", default: "http://127.0.0.1:8545" },
        register: { type: "boolean", default: false },
        owner: { type: "string" },
        duration: { type: "string" },
        truth: { type: "string" },
        "smart-meter": { type: "string" },
        "chain-id": { type: "string" },
        offline: { type: "boolean", default: false },
        "first-meter-id": { type: "string" },
        start: { type: "string" },
        "weather-interval": { type: "string", default: "30" },
        "client-id": { type: "string" },
        help: { type: "boolean", short: "h", default: false },
      },
    }));
  } catch (error) {
    throw new SimulateUsageError((error as Error).message);
  }
  if (values.help) return "help";

  const zones = values.zones.split(",").map((part) => integerOption("zones", part.trim(), 1, MAX_UINT32));
  if (new Set(zones).size !== zones.length) usage("zones", `"${values.zones}" lists a zone twice`);
  if (values.seed === "") usage("seed", "must not be empty");
  if (values.offline && values.register) usage("register", "cannot register meters with --offline");
  if (!values.offline && values["first-meter-id"] !== undefined) usage("first-meter-id", "only applies with --offline");
  const meters = integerOption("meters", values.meters, 1, 10_000);
  const firstMeterId = BigInt(integerOption("first-meter-id", values["first-meter-id"] ?? "1", 1, Number.MAX_SAFE_INTEGER));
  if (values.offline && firstMeterId + BigInt(meters) - 1n > 2n ** 64n - 1n) usage("first-meter-id", "meter ids exceed uint64");
  const clientId = values["client-id"] ?? `gridx-simulator-${seedTag(values.seed)}`;
  if (clientId === "" || clientId.length > 23 * 4) usage("client-id", "must be 1..92 characters");

  return {
    meters,
    zones,
    intervalSeconds: integerOption("interval", values.interval, 1, 86_400),
    acceleration: numberOption("accelerate", values.accelerate, 0.001, 86_400),
    seed: values.seed,
    brokerUrl: urlOption("broker", values.broker, ["mqtt:", "mqtts:", "tcp:", "tls:", "ws:", "wss:"]),
    rpcUrl: urlOption("rpc", values.rpc, ["http:", "https:"]),
    register: values.register,
    owner: values.owner === undefined ? null : addressOption("owner", values.owner),
    durationSeconds: values.duration === undefined ? null : numberOption("duration", values.duration, 0.001, 365 * 86_400),
    truthFile: values.truth === undefined || values.truth === "" ? null : values.truth,
    smartMeter: values["smart-meter"] === undefined ? null : addressOption("smart-meter", values["smart-meter"]),
    chainId: values["chain-id"] === undefined ? null : integerOption("chain-id", values["chain-id"], 1, Number.MAX_SAFE_INTEGER),
    offline: values.offline,
    firstMeterId,
    startSimTime: values.start === undefined ? null : startOption(values.start),
    weatherIntervalSeconds: integerOption("weather-interval", values["weather-interval"], 1, 86_400),
    clientId,
  };
}

// ─────────────────────────────────────────────────────────────── wiring

export interface SimulateDeps {
  /** Defaults to pino JSON on stderr. */
  logger?: Logger;
  /** Aborting it stops the run gracefully, like SIGINT. */
  signal?: AbortSignal;
  /** Stop on SIGINT/SIGTERM (default true; tests turn it off). */
  handleProcessSignals?: boolean;
  /** Real clock, ms. */
  now?: () => number;
  stdout?: (text: string) => void;
  stderr?: (text: string) => void;
}

/** The generated deployment of `chainId`, if the repository knows one. */
function deployedSmartMeter(chainId: number): Address | null {
  const byChain = deployments as unknown as Partial<Record<string, Partial<Record<string, string>>>>;
  const address = byChain[String(chainId)]?.SmartMeter;
  return address === undefined ? null : getAddress(address);
}

function registrarKey(chainId: number): Hex {
  const fromEnv = process.env.GRIDX_METER_REGISTRAR_KEY;
  if (fromEnv !== undefined && fromEnv !== "") {
    if (!isHex(fromEnv) || fromEnv.length !== 66) throw new SimulateUsageError("GRIDX_METER_REGISTRAR_KEY: not a 32-byte hex private key");
    return fromEnv;
  }
  if (chainId === LOCAL_CHAIN_ID) return LOCAL_METER_REGISTRAR_KEY;
  throw new SimulateUsageError(`--register: set GRIDX_METER_REGISTRAR_KEY to a METER_REGISTRAR key for chain ${chainId}`);
}

interface ResolvedMeters {
  chainId: number;
  smartMeter: Address;
  resumedFrom: (LatestRegisters | null)[];
}

/** Gives every meter its SmartMeter id (registering it if asked) and where on chain it left off. */
async function resolveMeters(config: SimulateConfig, fleet: Fleet, logger: Logger): Promise<ResolvedMeters> {
  if (config.offline) {
    const chainId = config.chainId ?? LOCAL_CHAIN_ID;
    const smartMeter = config.smartMeter ?? deployedSmartMeter(chainId);
    if (smartMeter === null) throw new SimulateUsageError(`--smart-meter: no SmartMeter deployment known for chain ${chainId}`);
    fleet.meters.forEach((meter, i) => {
      meter.meterId = config.firstMeterId + BigInt(i);
    });
    return { chainId, smartMeter, resumedFrom: fleet.meters.map(() => null) };
  }

  let connection: ChainConnection;
  try {
    connection = await connectChain(config.rpcUrl);
  } catch (error) {
    throw new SimulateUsageError(`--rpc: cannot reach ${config.rpcUrl} (${(error as Error).message.split("\n")[0]}); use --offline to run without a chain`);
  }
  const chainId = connection.chain.id;
  if (config.chainId !== null && config.chainId !== chainId) usage("chain-id", `the node at ${config.rpcUrl} is chain ${chainId}`);
  const smartMeter = config.smartMeter ?? deployedSmartMeter(chainId);
  if (smartMeter === null) throw new SimulateUsageError(`--smart-meter: no SmartMeter deployment known for chain ${chainId}`);
  try {
    await assertSmartMeterDeployed(connection, smartMeter);
  } catch (error) {
    throw new SimulateUsageError(`--smart-meter: ${(error as Error).message} (is the chain deployed?)`);
  }

  const serials = fleet.meters.map((meter) => meter.equipment.serial);
  let ids: Map<string, bigint>;
  if (config.register) {
    const key = registrarKey(chainId);
    const owners = config.owner !== null ? [config.owner] : chainId === LOCAL_CHAIN_ID ? localMeterOwners() : [privateKeyToAccount(key).address];
    const results = await registerMeters({
      connection,
      smartMeter,
      registrarKey: key,
      logger,
      meters: fleet.meters.map((meter, i) => ({
        serial: meter.equipment.serial,
        owner: owners[i % owners.length] as Address,
        zone: meter.equipment.zone,
        kind: meter.equipment.kind,
        deviceSigner: meter.account.address,
        ratedCapacityW: meter.equipment.ratedCapacityW,
      })),
    });
    ids = new Map(results.map((r) => [r.serial, r.meterId]));
    const created = results.filter((r) => r.registered).length;
    logger.info({ registered: created, alreadyRegistered: results.length - created }, "meters registered");
  } else {
    ids = await meterIdsBySerial(connection, smartMeter, serials);
    const missing = serials.filter((serial) => !ids.has(serial));
    if (missing.length > 0) {
      usage("register", `${missing.length} of ${serials.length} meters (e.g. ${missing[0]}) are not registered in SmartMeter ${smartMeter}; pass --register`);
    }
  }

  const resumedFrom: (LatestRegisters | null)[] = [];
  for (const meter of fleet.meters) {
    const meterId = ids.get(meter.equipment.serial) as bigint;
    meter.meterId = meterId;
    if (!config.register) {
      const signer = await registeredDeviceSigner(connection, smartMeter, meterId);
      if (signer !== meter.account.address) {
        usage("seed", `meter ${meterId} (${meter.equipment.serial}) is registered with device signer ${signer}, not this seed's ${meter.account.address}`);
      }
    }
    const latest = await latestReading(connection, smartMeter, meterId);
    if (latest.seq > 0n) {
      resumeMeter(meter, latest);
      resumedFrom.push(latest);
    } else {
      resumedFrom.push(null);
    }
  }
  const resumed = resumedFrom.filter((r) => r !== null).length;
  if (resumed > 0) logger.info({ resumed }, "meters continue from their latest reading on chain");
  return { chainId, smartMeter, resumedFrom };
}

// ─────────────────────────────────────────────────────────────── run

interface WeatherRecord {
  zone: number;
  observedAt: number;
  observation: WeatherObservation;
  status: "pending" | "acked" | "unacked" | "failed";
}

export interface SimulationSummary {
  published: number;
  acked: number;
  unacked: number;
  failed: number;
}

function summarize(truths: readonly MeterTruth[]): SimulationSummary {
  const summary = { published: 0, acked: 0, unacked: 0, failed: 0 };
  for (const truth of truths) {
    for (const entry of truth.published) {
      summary.published++;
      if (entry.status === "acked") summary.acked++;
      else if (entry.status === "failed") summary.failed++;
      else summary.unacked++; // pending or unacked
    }
  }
  return summary;
}

function truthDocument(params: {
  config: SimulateConfig;
  resolved: ResolvedMeters;
  clock: SimulationClock;
  stoppedAtMs: number;
  truths: readonly MeterTruth[];
  weather: readonly WeatherRecord[];
}) {
  const { config, resolved, clock, truths } = params;
  let credited = 0n;
  let uncovered = 0n;
  let ackedCredited = 0n;
  let ackedUncovered = 0n;
  for (const truth of truths) {
    const all = expectedAccounting(truth.resumedFrom, truth.published.map((p) => p.reading));
    const acked = expectedAccounting(truth.resumedFrom, truth.published.filter((p) => p.status === "acked").map((p) => p.reading));
    credited += all.creditedWh;
    uncovered += all.uncoveredWh;
    ackedCredited += acked.creditedWh;
    ackedUncovered += acked.uncoveredWh;
  }
  return {
    v: 1,
    seed: config.seed,
    chainId: resolved.chainId,
    smartMeter: resolved.smartMeter,
    broker: config.brokerUrl,
    clientId: config.clientId,
    intervalSeconds: config.intervalSeconds,
    acceleration: config.acceleration,
    startedAt: Math.floor(clock.realStartMs / 1000),
    stoppedAt: Math.floor(params.stoppedAtMs / 1000),
    simulatedFrom: new Date(clock.simStartSeconds * 1000).toISOString(),
    simulatedTo: new Date(simulatedTime(clock, params.stoppedAtMs) * 1000).toISOString(),
    totals: {
      ...summarize(truths),
      expected: { creditedWh: credited.toString(), uncoveredWh: uncovered.toString() },
      expectedAcked: { creditedWh: ackedCredited.toString(), uncoveredWh: ackedUncovered.toString() },
    },
    meters: truths.map(meterTruthJson),
    weather: params.weather.map((w) => ({ zone: w.zone, observedAt: w.observedAt, ...w.observation, status: w.status })),
  };
}
export type SimulationTruth = ReturnType<typeof truthDocument>;

async function writeJsonAtomically(file: string, value: unknown): Promise<void> {
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(value, null, 2)}\n`);
  await rename(temporary, file);
}

/** How long shutdown waits for outstanding PUBACKs. */
const DRAIN_TIMEOUT_MS = 10_000;
/** The scheduler never sleeps longer than this, so a stop is noticed promptly. */
const MAX_SLEEP_MS = 1_000;
const STATS_EVERY_MS = 60_000;

/** The next time a periodic task is due; after a stall (a suspended laptop) it resumes the rhythm instead of bursting to catch up. */
function nextDue(previousDue: number, periodMs: number, now: number): number {
  const next = previousDue + periodMs;
  return next > now ? next : now + periodMs;
}

/** Runs the simulator with a validated configuration until stopped; resolves to the ground truth. */
export async function runSimulation(config: SimulateConfig, deps: SimulateDeps & { logger: Logger }): Promise<SimulationTruth> {
  const { logger } = deps;
  const now = deps.now ?? Date.now;
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  deps.signal?.addEventListener("abort", onAbort, { once: true });
  if (deps.signal?.aborted) stop.abort();
  let signals = 0;
  const drainAbort = new AbortController();
  const onProcessSignal = (signal: NodeJS.Signals) => {
    signals++;
    logger.info({ signal }, signals === 1 ? "stopping: waiting for outstanding acknowledgements" : "stopping now");
    stop.abort();
    if (signals > 1) drainAbort.abort();
  };
  const handleSignals = deps.handleProcessSignals ?? true;
  if (handleSignals) {
    process.on("SIGINT", onProcessSignal);
    process.on("SIGTERM", onProcessSignal);
  }

  let publisher: SimulatorPublisher | null = null;
  try {
    const startMs = now();
    const simStart = config.startSimTime ?? startMs / 1000;
    const fleet = createFleet({ seed: config.seed, meterCount: config.meters, zones: config.zones, startSimTime: simStart });
    const resolved = await resolveMeters(config, fleet, logger);
    const domain = readingDomain(resolved.chainId, resolved.smartMeter);
    const truths = fleet.meters.map((meter, i) =>
      createMeterTruth(
        {
          meterId: meter.meterId as bigint,
          serial: meter.equipment.serial,
          kind: meter.equipment.kind,
          kindName: METER_KIND_NAMES[meter.equipment.kind],
          zone: meter.equipment.zone,
          deviceSigner: meter.account.address,
          ratedCapacityW: meter.equipment.ratedCapacityW,
        },
        resolved.resumedFrom[i] ?? null,
      ),
    );
    const weather: WeatherRecord[] = [];

    try {
      publisher = await connectSimulatorPublisher({ brokerUrl: config.brokerUrl, clientId: config.clientId, logger });
    } catch (error) {
      throw new SimulateUsageError(`--broker: cannot connect to ${config.brokerUrl} (${(error as Error).message})`);
    }
    const activePublisher = publisher;

    const clock: SimulationClock = { realStartMs: now(), simStartSeconds: simStart, acceleration: config.acceleration };
    const kinds = Object.fromEntries(METER_KIND_NAMES.map((name, kind) => [name, fleet.meters.filter((m) => m.equipment.kind === kind).length]));
    logger.info(
      {
        meters: config.meters,
        kinds,
        zones: config.zones,
        meterIds: `${fleet.meters[0]?.meterId}..${fleet.meters.at(-1)?.meterId}`,
        chainId: resolved.chainId,
        smartMeter: resolved.smartMeter,
        intervalSeconds: config.intervalSeconds,
        acceleration: config.acceleration,
        simulatedFrom: new Date(simStart * 1000).toISOString(),
      },
      "simulator started",
    );

    const intervalMs = config.intervalSeconds * 1000;
    const weatherIntervalMs = config.weatherIntervalSeconds * 1000;
    // Stagger the meters over one interval so the broker (and the bridge's batches) see a steady stream.
    const due = fleet.meters.map((_, i) => clock.realStartMs + Math.floor((i * intervalMs) / fleet.meters.length));
    let weatherDue = clock.realStartMs;
    let statsDue = clock.realStartMs + STATS_EVERY_MS;
    const stopAt = config.durationSeconds === null ? Number.POSITIVE_INFINITY : clock.realStartMs + config.durationSeconds * 1000;

    while (!stop.signal.aborted) {
      const t = now();
      if (t >= stopAt) break;
      const simTime = simulatedTime(clock, t);
      advanceWeather(fleet, simTime);

      if (t >= weatherDue) {
        const observedAt = Math.floor(t / 1000);
        for (const zone of config.zones) {
          const record: WeatherRecord = { zone, observedAt, observation: zoneWeather(fleet, zone, simTime), status: "pending" };
          weather.push(record);
          void activePublisher.publishWeather(zone, observedAt, record.observation).then((outcome) => {
            if (record.status === "pending") record.status = outcome.acked ? "acked" : "failed";
          });
        }
        weatherDue = nextDue(weatherDue, weatherIntervalMs, t);
      }

      for (const [i, meter] of fleet.meters.entries()) {
        if ((due[i] as number) > t) continue;
        const reading = nextReading(fleet, meter, { timestamp: Math.floor(t / 1000), simTime });
        if (reading === null) {
          // Same second as its last reading (or a resumed meter stamped ahead of us): timestamps must strictly increase.
          due[i] = (Number(meter.lastTimestamp) + 1) * 1000;
          continue;
        }
        const signed = await signMeterReading(meter, domain, reading);
        const entry = recordPublished(truths[i] as MeterTruth, signed);
        logger.debug({ meterId: signed.meterId, seq: signed.seq, productionWh: signed.productionWh, consumptionWh: signed.consumptionWh }, "reading");
        void activePublisher.publishReading(signed).then((outcome) => {
          if (entry.status !== "pending") return; // already closed as unacked at shutdown
          if (outcome.acked) entry.status = "acked";
          else {
            entry.status = "failed";
            entry.error = outcome.error;
          }
        });
        due[i] = nextDue(due[i] as number, intervalMs, t);
      }

      if (t >= statsDue) {
        logger.info({ ...summarize(truths), pendingAcks: activePublisher.pendingCount(), simulatedTime: new Date(simTime * 1000).toISOString() }, "simulator progress");
        statsDue = nextDue(statsDue, STATS_EVERY_MS, t);
      }

      const wakeAt = Math.min(...due, weatherDue, stopAt, statsDue);
      const delay = Math.min(MAX_SLEEP_MS, Math.max(0, wakeAt - now()));
      try {
        await sleep(delay, undefined, { signal: stop.signal });
      } catch {
        // aborted: the loop condition ends the run
      }
    }

    const stoppedAtMs = now();
    const unacked = await activePublisher.close(DRAIN_TIMEOUT_MS, drainAbort.signal);
    publisher = null;
    for (const truth of truths) closeMeterTruth(truth);
    for (const record of weather) if (record.status === "pending") record.status = "unacked";
    const document = truthDocument({ config, resolved, clock, stoppedAtMs, truths, weather });
    if (config.truthFile !== null) {
      await writeJsonAtomically(config.truthFile, document);
      logger.info({ file: config.truthFile }, "ground truth written");
    }
    logger.info({ ...document.totals, unackedAtClose: unacked }, "simulator stopped");
    return document;
  } finally {
    if (publisher !== null) await publisher.close(0).catch(() => undefined);
    deps.signal?.removeEventListener("abort", onAbort);
    if (handleSignals) {
      process.off("SIGINT", onProcessSignal);
      process.off("SIGTERM", onProcessSignal);
    }
  }
}

/** `oracle-bridge simulate <argv...>`; resolves to the process exit code. */
export async function simulate(argv: string[], deps: SimulateDeps = {}): Promise<number> {
  const stderr = deps.stderr ?? ((text: string) => void process.stderr.write(text));
  let config: SimulateConfig | "help";
  try {
    config = parseSimulateArgs(argv);
  } catch (error) {
    stderr(`oracle-bridge simulate: ${(error as Error).message}\n\n${SIMULATE_USAGE}`);
    return 1;
  }
  if (config === "help") {
    (deps.stdout ?? ((text: string) => void process.stdout.write(text)))(SIMULATE_USAGE);
    return 0;
  }
  const logger = deps.logger ?? pino({ name: "oracle-bridge", base: { command: "simulate" }, level: process.env.GRIDX_LOG_LEVEL ?? "info" }, pino.destination(2));
  try {
    await runSimulation(config, { ...deps, logger });
    return 0;
  } catch (error) {
    if (error instanceof SimulateUsageError) {
      stderr(`oracle-bridge simulate: ${error.message}\n`);
    } else {
      logger.error({ err: error }, "simulator failed");
      stderr(`oracle-bridge simulate: ${(error as Error).message}\n`);
    }
    return 1;
  }
}
