/**
 * The grid-stability engine: every tick (5 s by default), per zone, it derives supply and demand from the
 * latest two stored readings of each meter, classifies the zone, prices the imbalance (clamped, then smoothed
 * by a moving average), scores its health, and posts to PriceOracle and GridOracle when a value deviates
 * enough from what was last posted or the heartbeat is due. Weather from the zones' stations goes to
 * WeatherOracle the same way. The math is domain/gridStability.ts; this file only keeps state and timing.
 */
import {
  classify,
  healthBps,
  meterPower,
  MovingAverage,
  rawPrice,
  shouldPost,
  zoneSnapshot,
  type LastPost,
  type MeterSample,
  type Pricing,
  type PostReason,
  type ZoneSnapshot,
} from "../domain/gridStability.ts";
import { gridValues, priceValues, weatherValues, type OracleName } from "../domain/oracleReports.ts";
import type { Reading } from "../domain/reading.ts";
import type { WeatherObservation } from "../domain/weather.ts";
import type { OracleReporter, PostedReport, ZoneDirectory } from "../ports/oracles.ts";

export interface GridEngineOptions {
  tickMs: number;
  pricing: Pricing;
  smoothingWindow: number;
  balancedBandBps: number;
  /** A meter whose latest reading is older than this no longer counts towards its zone. */
  staleAfterSeconds: bigint;
  priceDeviationBps: number;
  gridDeviationBps: number;
  /** Post at least this often, below the oracles' heartbeats so their values never go stale. */
  priceHeartbeatSeconds: bigint;
  gridHeartbeatSeconds: bigint;
  weatherHeartbeatSeconds: bigint;
  /** Zones to report even before any of their meters reads. */
  zones: number[];
}

export interface ZoneState {
  zone: number;
  snapshot: ZoneSnapshot;
  status: number;
  rawPrice: bigint;
  price: bigint;
  healthBps: number;
}

export interface GridEngineObserver {
  zoneComputed(state: ZoneState): void;
  posted(oracle: OracleName, zone: number, why: PostReason | "status", report: PostedReport): void;
  postFailed(oracle: OracleName, zone: number, error: unknown): void;
}

interface MeterPair {
  previous: Reading | undefined;
  latest: Reading;
}

interface ZoneMemory {
  meters: Map<bigint, MeterPair>;
  average: MovingAverage;
  lastPrice: LastPost | null;
  lastGrid: { supply: LastPost; demand: LastPost; status: number } | null;
  lastWeather: { observedAt: bigint; postedAt: bigint; condition: number; irradiance: LastPost } | null;
  weather: WeatherObservation | undefined;
  latest: ZoneState | undefined;
}

export class GridEngine {
  readonly #reporter: OracleReporter;
  readonly #zonesDirectory: ZoneDirectory;
  readonly #options: GridEngineOptions;
  readonly #observer: GridEngineObserver;
  readonly #now: () => number;
  readonly #zones = new Map<number, ZoneMemory>();
  #timer: NodeJS.Timeout | undefined;
  #ticking: Promise<void> | undefined;

  constructor(
    reporter: OracleReporter,
    zonesDirectory: ZoneDirectory,
    options: GridEngineOptions,
    observer: GridEngineObserver,
    now: () => number = Date.now,
  ) {
    this.#reporter = reporter;
    this.#zonesDirectory = zonesDirectory;
    this.#options = options;
    this.#observer = observer;
    this.#now = now;
    for (const zone of options.zones) this.#zone(zone);
  }

  /** A reading was stored for a meter of `zone`. */
  observe(reading: Reading, zone: number): void {
    const memory = this.#zone(zone);
    const pair = memory.meters.get(reading.meterId);
    if (pair === undefined) {
      memory.meters.set(reading.meterId, { previous: undefined, latest: reading });
    } else if (reading.seq > pair.latest.seq) {
      memory.meters.set(reading.meterId, { previous: pair.latest, latest: reading });
    }
  }

  observeWeather(observation: WeatherObservation): void {
    const memory = this.#zone(observation.zone);
    if (memory.weather === undefined || observation.observedAt > memory.weather.observedAt) {
      memory.weather = observation;
    }
  }

  /** The state computed at the latest tick, per zone. */
  states(): ZoneState[] {
    return [...this.#zones.values()].flatMap((memory) => (memory.latest === undefined ? [] : [memory.latest]));
  }

  start(): void {
    this.#timer ??= setInterval(() => {
      if (this.#ticking !== undefined) return; // the previous tick is still posting
      this.#ticking = this.tick().finally(() => (this.#ticking = undefined));
    }, this.#options.tickMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#ticking;
  }

  /** Computes every zone and posts what is due. Never throws: a failed post is reported and retried next tick. */
  async tick(): Promise<void> {
    const nowSeconds = BigInt(Math.floor(this.#now() / 1000));
    await Promise.all([...this.#zones.entries()].map(([zone, memory]) => this.#tickZone(zone, memory, nowSeconds)));
  }

  async #tickZone(zone: number, memory: ZoneMemory, nowSeconds: bigint): Promise<void> {
    let capacityW: bigint;
    try {
      capacityW = await this.#zonesDirectory.capacityW(zone);
    } catch (error) {
      this.#observer.postFailed("GridOracle", zone, error);
      return;
    }
    const samples: MeterSample[] = [];
    for (const [meterId, pair] of memory.meters) {
      if (pair.previous === undefined) continue;
      const power = meterPower(pair.previous, pair.latest);
      if (power === null) continue;
      samples.push({
        meterId,
        ...power,
        voltage_mV: pair.latest.voltage_mV,
        frequency_mHz: pair.latest.frequency_mHz,
        observedAt: pair.latest.timestamp,
      });
    }
    const snapshot = zoneSnapshot(samples, { nowSeconds, staleAfterSeconds: this.#options.staleAfterSeconds, capacityW });
    const status = classify(snapshot.supplyW, snapshot.demandW, this.#options.balancedBandBps);
    const raw = rawPrice(snapshot.imbalanceW, this.#options.pricing);
    const price = memory.average.push(raw);
    const health = healthBps(snapshot);
    const state: ZoneState = { zone, snapshot, status, rawPrice: raw, price, healthBps: health };
    memory.latest = state;
    this.#observer.zoneComputed(state);

    const posts: Array<Promise<void>> = [];
    const priceDecision = shouldPost({
      last: memory.lastPrice,
      value: price,
      nowSeconds,
      deviationBps: this.#options.priceDeviationBps,
      heartbeatSeconds: this.#options.priceHeartbeatSeconds,
    });
    if (priceDecision.post) {
      const values = priceValues({ pricePerKWh: price, supplyW: snapshot.supplyW, demandW: snapshot.demandW });
      posts.push(
        this.#post("PriceOracle", zone, nowSeconds, values, priceDecision.why, () => {
          memory.lastPrice = { value: price, postedAt: nowSeconds };
        }),
      );
    }

    const gridWhy = this.#gridDecision(memory, snapshot, status, nowSeconds);
    if (gridWhy !== "none") {
      const values = gridValues({
        supplyW: snapshot.supplyW,
        demandW: snapshot.demandW,
        status,
        healthBps: health,
        frequency_mHz: snapshot.frequency_mHz,
        voltage_mV: snapshot.voltage_mV,
        headroomW: snapshot.headroomW,
      });
      posts.push(
        this.#post("GridOracle", zone, nowSeconds, values, gridWhy, () => {
          memory.lastGrid = {
            supply: { value: snapshot.supplyW, postedAt: nowSeconds },
            demand: { value: snapshot.demandW, postedAt: nowSeconds },
            status,
          };
        }),
      );
    }

    const weather = memory.weather;
    if (weather !== undefined) {
      const weatherWhy = this.#weatherDecision(memory, weather, nowSeconds);
      if (weatherWhy !== "none") {
        const values = weatherValues(weather);
        posts.push(
          this.#post("WeatherOracle", zone, weather.observedAt, values, weatherWhy, () => {
            memory.lastWeather = {
              observedAt: weather.observedAt,
              postedAt: nowSeconds,
              condition: weather.condition,
              irradiance: { value: BigInt(weather.irradiance_Wm2), postedAt: nowSeconds },
            };
          }),
        );
      }
    }
    await Promise.all(posts);
  }

  #gridDecision(memory: ZoneMemory, snapshot: ZoneSnapshot, status: number, nowSeconds: bigint): PostReason | "status" {
    const last = memory.lastGrid;
    if (last === null) return "first";
    if (status !== last.status) return "status";
    const common = { nowSeconds, deviationBps: this.#options.gridDeviationBps, heartbeatSeconds: this.#options.gridHeartbeatSeconds };
    const supply = shouldPost({ ...common, last: last.supply, value: snapshot.supplyW });
    if (supply.post) return supply.why;
    return shouldPost({ ...common, last: last.demand, value: snapshot.demandW }).why;
  }

  #weatherDecision(memory: ZoneMemory, weather: WeatherObservation, nowSeconds: bigint): PostReason | "status" {
    const last = memory.lastWeather;
    if (last === null) return "first";
    if (weather.observedAt <= last.observedAt) return "none"; // nothing new from the station
    if (weather.condition !== last.condition) return "status";
    return shouldPost({
      last: last.irradiance,
      value: BigInt(weather.irradiance_Wm2),
      nowSeconds,
      deviationBps: this.#options.gridDeviationBps,
      heartbeatSeconds: this.#options.weatherHeartbeatSeconds,
    }).why;
  }

  async #post(
    oracle: OracleName,
    zone: number,
    observedAt: bigint,
    values: bigint[],
    why: PostReason | "status",
    onPosted: () => void,
  ): Promise<void> {
    try {
      const report = await this.#reporter.post(oracle, zone, observedAt, values);
      onPosted();
      this.#observer.posted(oracle, zone, why, report);
    } catch (error) {
      this.#observer.postFailed(oracle, zone, error);
    }
  }

  #zone(zone: number): ZoneMemory {
    let memory = this.#zones.get(zone);
    if (memory === undefined) {
      memory = {
        meters: new Map(),
        average: new MovingAverage(this.#options.smoothingWindow),
        lastPrice: null,
        lastGrid: null,
        lastWeather: null,
        weather: undefined,
        latest: undefined,
      };
      this.#zones.set(zone, memory);
    }
    return memory;
  }
}
