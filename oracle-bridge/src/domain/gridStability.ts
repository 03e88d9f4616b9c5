/**
 * The grid-stability engine's math, per zone per tick. Pure and exact: integers only (bigint for watts and
 * prices), so every oracle operator running the same inputs signs the same values, and the quorum's median
 * is one of them rather than an artefact of floating-point rounding.
 *
 * Per tick: meter powers from consecutive readings (`meterPower`) → zone supply, demand, imbalance, mean
 * frequency and voltage, headroom (`zoneSnapshot`) → status (`classify`) → price (`rawPrice`, then smoothed
 * by a `MovingAverage`) → health (`healthBps`) → post or not (`shouldPost`, deviation or heartbeat).
 *
 * Health score (`healthBps`, 0–10000 = 0–100 %), a weighted sum of three scores in [0, 1]:
 *   60 % balance:   1 − min(1, |demand − supply| / max(supply, demand))   (1 when both are zero)
 *   20 % frequency: 1 − min(1, |f − 50 000 mHz| / 500 mHz)                (0 at ±0.5 Hz off nominal)
 *   20 % voltage:   1 − min(1, |V − 230 000 mV| / 23 000 mV)              (0 at ±10 % off nominal)
 * computed as one exact fraction and rounded down, so 10000 means exactly nominal and balanced.
 */
import type { Reading } from "./reading.ts";

/** Nominal grid frequency (50 Hz) and voltage (230 V), the defaults of a zone without fresh samples. */
export const NOMINAL_FREQUENCY_MHZ = 50_000;
export const NOMINAL_VOLTAGE_MV = 230_000;
/** Frequency and voltage deviations at which their health scores reach 0. */
export const FREQUENCY_TOLERANCE_MHZ = 500;
export const VOLTAGE_TOLERANCE_MV = 23_000;
/** Default half-width of the Balanced band: |imbalance| up to 5 % of the larger of supply and demand. */
export const DEFAULT_BALANCED_BAND_BPS = 500;
const BPS = 10_000n;

/** `GridStatus` of contracts/interfaces/IGridOracle.sol, same order (its on-chain uint8). */
export const GridStatus = { Balanced: 0, Oversupply: 1, Shortage: 2 } as const;
export type GridStatus = (typeof GridStatus)[keyof typeof GridStatus];

function abs(value: bigint): bigint {
  return value < 0n ? -value : value;
}

function maxOf(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}

/** Floor division for a positive divisor (bigint `/` truncates toward zero). */
function floorDiv(numerator: bigint, denominator: bigint): bigint {
  const quotient = numerator / denominator;
  return numerator % denominator !== 0n && numerator < 0n ? quotient - 1n : quotient;
}

/**
 * Average production and consumption power of a meter between two of its readings: ΔWh × 3600 / Δs, rounded
 * down. Null when the interval is empty or backwards, or a register went down (a reset or a corrupt reading):
 * no power can be derived from such a pair, and SmartMeter would reject the later reading anyway.
 */
export function meterPower(prev: Reading, next: Reading): { productionW: bigint; consumptionW: bigint } | null {
  const seconds = next.timestamp - prev.timestamp;
  const producedWh = next.productionWh - prev.productionWh;
  const consumedWh = next.consumptionWh - prev.consumptionWh;
  if (seconds <= 0n || producedWh < 0n || consumedWh < 0n) return null;
  return { productionW: (producedWh * 3600n) / seconds, consumptionW: (consumedWh * 3600n) / seconds };
}

/** One meter's latest power in a zone, with the grid conditions its reading measured. */
export interface MeterSample {
  meterId: bigint;
  productionW: bigint;
  consumptionW: bigint;
  voltage_mV: number;
  frequency_mHz: number;
  /** Timestamp of the reading the power was derived from (the later of the pair), unix seconds. */
  observedAt: bigint;
}

export interface ZoneSnapshotOptions {
  nowSeconds: bigint;
  /** A sample older than this no longer describes the zone and is left out entirely. */
  staleAfterSeconds: bigint;
  /** The zone's capacity (GridManagement), W; headroom is what is left of it. */
  capacityW: bigint;
}

export interface ZoneSnapshot {
  supplyW: bigint;
  demandW: bigint;
  /** demand − supply: positive when the zone lacks power (the sign IGridOracle derives on read). */
  imbalanceW: bigint;
  frequency_mHz: number;
  voltage_mV: number;
  /** max(0, capacity − max(supply, demand)). */
  headroomW: bigint;
  /** Number of fresh samples the snapshot is made of. */
  sampleCount: number;
}

/**
 * A zone's state from its meters' latest samples. Supply is the sum of the fresh samples' production, demand
 * the sum of their consumption (gross, so the imbalance is the zone's net flow whichever way prosumers net
 * out). Frequency and voltage are the floor of the fresh samples' means, or nominal (50 Hz, 230 V) without
 * any, so an empty zone reads as healthy rather than as a blackout. A sample timed after `nowSeconds` counts
 * as fresh: the timestamp checks have already bounded the clock skew.
 */
export function zoneSnapshot(samples: readonly MeterSample[], options: ZoneSnapshotOptions): ZoneSnapshot {
  let supplyW = 0n;
  let demandW = 0n;
  let frequencySum = 0n;
  let voltageSum = 0n;
  let count = 0;
  for (const sample of samples) {
    if (options.nowSeconds - sample.observedAt > options.staleAfterSeconds) continue;
    supplyW += sample.productionW;
    demandW += sample.consumptionW;
    frequencySum += BigInt(sample.frequency_mHz);
    voltageSum += BigInt(sample.voltage_mV);
    count += 1;
  }
  const headroomW = options.capacityW - maxOf(supplyW, demandW);
  return {
    supplyW,
    demandW,
    imbalanceW: demandW - supplyW,
    frequency_mHz: count === 0 ? NOMINAL_FREQUENCY_MHZ : Number(frequencySum / BigInt(count)),
    voltage_mV: count === 0 ? NOMINAL_VOLTAGE_MV : Number(voltageSum / BigInt(count)),
    headroomW: headroomW > 0n ? headroomW : 0n,
    sampleCount: count,
  };
}

/**
 * The zone's status: Balanced when supply and demand are both zero or |demand − supply| is at most
 * `balancedBandBps` of the larger of the two (boundary included), otherwise Oversupply (supply > demand) or
 * Shortage (demand > supply).
 */
export function classify(
  supplyW: bigint,
  demandW: bigint,
  balancedBandBps: number = DEFAULT_BALANCED_BAND_BPS,
): GridStatus {
  const larger = maxOf(supplyW, demandW);
  const imbalance = demandW - supplyW;
  if (larger === 0n || abs(imbalance) * BPS <= BigInt(balancedBandBps) * larger) return GridStatus.Balanced;
  return imbalance > 0n ? GridStatus.Shortage : GridStatus.Oversupply;
}

/** Pricing as configured: decimal strings in payment-token units per kWh, and the token's decimals. */
export interface PricingConfig {
  /** Price at zero imbalance, token units per kWh. */
  base: string;
  /** Token units per kWh added per kW of imbalance (demand − supply); a shortage raises the price. */
  elasticity: string;
  min: string;
  max: string;
  decimals: number;
}

/** Pricing in payment-token base units (per kWh; elasticity per kWh per kW). */
export interface Pricing {
  base: bigint;
  elasticity: bigint;
  min: bigint;
  max: bigint;
}

/** The seed's pricing: 6 per kWh ± 0.15 per kW of imbalance, within [3, 12], for a 6-decimal stablecoin. */
export const DEFAULT_PRICING_CONFIG: PricingConfig = {
  base: "6",
  elasticity: "0.15",
  min: "3",
  max: "12",
  decimals: 6,
};

/** Largest price PriceOracle stores (the hard limit of its pricePerKWh field, 2^119 − 1). */
export const MAX_PRICE_PER_KWH = (1n << 119n) - 1n;
/** More decimals than any ERC-20 uses; bounds the 10^decimals below. */
const MAX_DECIMALS = 36;
const DECIMAL_AMOUNT = /^(0|[1-9][0-9]*)(?:\.([0-9]+))?$/;

/** Exact conversion of a decimal string to base units; throws naming `field` when it cannot be exact. */
function toBaseUnits(field: string, text: unknown, decimals: number): bigint {
  const match = typeof text === "string" ? DECIMAL_AMOUNT.exec(text) : null;
  if (match === null) {
    throw new Error(`pricing.${field}: ${JSON.stringify(text)} is not a non-negative decimal number like "6" or "0.15"`);
  }
  const whole = match[1];
  const fraction = match[2] ?? "";
  if (fraction.length > decimals) {
    throw new Error(
      `pricing.${field}: "${text}" has ${fraction.length} fractional digits, the token has only ${decimals} decimals`,
    );
  }
  return BigInt(whole + fraction.padEnd(decimals, "0"));
}

/**
 * Converts the configured pricing to exact base units. Throws an Error naming the field when a value is not a
 * plain non-negative decimal, needs more fractional digits than the token has, breaks min ≤ base ≤ max, or
 * exceeds PriceOracle's hard limit. Called once at start-up: a bad configuration stops the bridge.
 */
export function parsePricing(config: PricingConfig): Pricing {
  const { decimals } = config;
  if (!Number.isSafeInteger(decimals) || decimals < 0 || decimals > MAX_DECIMALS) {
    throw new Error(`pricing.decimals: ${JSON.stringify(decimals)} is not an integer in [0, ${MAX_DECIMALS}]`);
  }
  const pricing: Pricing = {
    base: toBaseUnits("base", config.base, decimals),
    elasticity: toBaseUnits("elasticity", config.elasticity, decimals),
    min: toBaseUnits("min", config.min, decimals),
    max: toBaseUnits("max", config.max, decimals),
  };
  if (pricing.max > MAX_PRICE_PER_KWH) {
    throw new Error(`pricing.max: ${config.max} exceeds PriceOracle's limit of ${MAX_PRICE_PER_KWH} base units`);
  }
  if (pricing.min > pricing.max) throw new Error(`pricing.min: ${config.min} is above max ${config.max}`);
  if (pricing.base < pricing.min) throw new Error(`pricing.base: ${config.base} is below min ${config.min}`);
  if (pricing.base > pricing.max) throw new Error(`pricing.base: ${config.base} is above max ${config.max}`);
  return pricing;
}

/**
 * The unsmoothed price, base units per kWh: clamp(base + elasticity × imbalance_kW, min, max), where
 * imbalance_kW = imbalanceW / 1000. The elasticity term elasticity × imbalanceW / 1000 is rounded toward zero,
 * so the price is symmetric around base for opposite imbalances.
 */
export function rawPrice(imbalanceW: bigint, pricing: Pricing): bigint {
  const price = pricing.base + (pricing.elasticity * imbalanceW) / 1000n;
  if (price < pricing.min) return pricing.min;
  if (price > pricing.max) return pricing.max;
  return price;
}

/**
 * Floor mean of the last `window` values pushed: smooths the price so one noisy tick does not move the
 * oracle. Exact (bigint) and O(1) per push.
 */
export class MovingAverage {
  readonly window: number;
  #values: bigint[] = [];
  #sum = 0n;

  constructor(window: number) {
    if (!Number.isSafeInteger(window) || window < 1) {
      throw new RangeError(`MovingAverage window: ${window} is not a positive integer`);
    }
    this.window = window;
  }

  /** Adds `value` and returns the floor of the mean of the last `window` values (fewer until it fills). */
  push(value: bigint): bigint {
    this.#values.push(value);
    this.#sum += value;
    if (this.#values.length > this.window) this.#sum -= this.#values.shift() as bigint;
    return floorDiv(this.#sum, BigInt(this.#values.length));
  }

  /** The current mean, or null before the first push. */
  get value(): bigint | null {
    return this.#values.length === 0 ? null : floorDiv(this.#sum, BigInt(this.#values.length));
  }

  /** How many values the mean is currently over (≤ window). */
  get size(): number {
    return this.#values.length;
  }
}

/** Health score of a zone, 0–10000; see the file header for the formula. */
export function healthBps(state: {
  supplyW: bigint;
  demandW: bigint;
  frequency_mHz: number;
  voltage_mV: number;
}): number {
  const larger = maxOf(state.supplyW, state.demandW);
  // Each penalty as a fraction num/den ≤ 1; a zone with neither supply nor demand is perfectly balanced.
  const imbalanceDen = larger === 0n ? 1n : larger;
  const imbalanceNum = larger === 0n ? 0n : minBig(abs(state.demandW - state.supplyW), larger);
  const frequencyDen = BigInt(FREQUENCY_TOLERANCE_MHZ);
  const frequencyNum = minBig(abs(BigInt(state.frequency_mHz) - BigInt(NOMINAL_FREQUENCY_MHZ)), frequencyDen);
  const voltageDen = BigInt(VOLTAGE_TOLERANCE_MV);
  const voltageNum = minBig(abs(BigInt(state.voltage_mV) - BigInt(NOMINAL_VOLTAGE_MV)), voltageDen);
  // health = 10000 − (6000·i + 2000·f + 2000·v), over the common denominator, rounded down.
  const den = imbalanceDen * frequencyDen * voltageDen;
  const penalty =
    6000n * imbalanceNum * frequencyDen * voltageDen +
    2000n * frequencyNum * imbalanceDen * voltageDen +
    2000n * voltageNum * imbalanceDen * frequencyDen;
  return Number((BPS * den - penalty) / den);
}

function minBig(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}

/** The last value posted to an oracle for one zone and field. */
export interface LastPost {
  value: bigint;
  postedAt: bigint;
}

export type PostReason = "first" | "deviation" | "heartbeat" | "none";

/**
 * Whether to post `value` now: always the first time; on deviation when it moved by at least `deviationBps`
 * of the last posted value (|value − last| × 10000 ≥ deviationBps × |last|; any change away from a last value
 * of zero, and never when it did not change); on heartbeat when `heartbeatSeconds` have passed since the last
 * post, so the on-chain value stays fresh even when the grid is quiet. Deviation wins when both hold.
 */
export function shouldPost(input: {
  last: LastPost | null;
  value: bigint;
  nowSeconds: bigint;
  deviationBps: number;
  heartbeatSeconds: bigint;
}): { post: boolean; why: PostReason } {
  const { last, value } = input;
  if (last === null) return { post: true, why: "first" };
  if (value !== last.value && abs(value - last.value) * BPS >= BigInt(input.deviationBps) * abs(last.value)) {
    return { post: true, why: "deviation" };
  }
  if (input.nowSeconds - last.postedAt >= input.heartbeatSeconds) return { post: true, why: "heartbeat" };
  return { post: false, why: "none" };
}
