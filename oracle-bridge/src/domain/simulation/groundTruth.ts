/**
 * What the simulator knows to be true, for checking the bridge and SmartMeter end to end: every
 * reading each meter published and what the broker said about it, and the credit and uncovered
 * consumption SmartMeter must book for them. Pure: no I/O.
 */
import type { SignedReading } from "../reading.ts";

export interface Registers {
  productionWh: bigint;
  consumptionWh: bigint;
}

/** A meter's latest accepted reading on chain (ISmartMeter.LatestReading). */
export interface LatestRegisters extends Registers {
  seq: bigint;
  timestamp: bigint;
}

export interface Accounting {
  /** Σ max(0, Δproduction − Δconsumption): credited to the meter. */
  creditedWh: bigint;
  /** Σ max(0, Δconsumption − Δproduction): added to its uncovered consumption. */
  uncoveredWh: bigint;
}

/**
 * SmartMeter's accounting of a run of accepted readings. The first register set is the baseline and
 * credits nothing: `baseline` when the meter already had an accepted reading, else `readings[0]`.
 * Surplus and deficit are taken per reading, so the result depends on which readings arrive: a lost
 * reading merges two intervals and their surplus and deficit net out.
 */
export function expectedAccounting(baseline: Registers | null, readings: readonly Registers[]): Accounting {
  let creditedWh = 0n;
  let uncoveredWh = 0n;
  let previous = baseline;
  for (const reading of readings) {
    if (previous !== null) {
      const producedWh = reading.productionWh - previous.productionWh;
      const consumedWh = reading.consumptionWh - previous.consumptionWh;
      if (producedWh > consumedWh) creditedWh += producedWh - consumedWh;
      else uncoveredWh += consumedWh - producedWh;
    }
    previous = reading;
  }
  return { creditedWh, uncoveredWh };
}

/**
 * `pending`: handed to the MQTT client, no PUBACK yet. `acked`: the broker acknowledged it (QoS 1), so a
 * bridge subscribed with a persistent session will get it. `unacked`: still pending when the simulator
 * stopped. `failed`: the client refused it.
 */
export type PublishStatus = "pending" | "acked" | "unacked" | "failed";

export interface PublishedReading {
  reading: SignedReading;
  status: PublishStatus;
  error?: string;
}

export interface MeterIdentity {
  meterId: bigint;
  serial: string;
  kind: number;
  kindName: string;
  zone: number;
  deviceSigner: string;
  ratedCapacityW: number;
}

export interface MeterTruth {
  identity: MeterIdentity;
  /** The meter's latest accepted reading on chain when the run started, if it had one. */
  resumedFrom: LatestRegisters | null;
  published: PublishedReading[];
}

export function createMeterTruth(identity: MeterIdentity, resumedFrom: LatestRegisters | null): MeterTruth {
  return { identity, resumedFrom, published: [] };
}

/** Appends a reading as `pending`; the returned entry is updated in place once the broker answers. */
export function recordPublished(truth: MeterTruth, reading: SignedReading): PublishedReading {
  const entry: PublishedReading = { reading, status: "pending" };
  truth.published.push(entry);
  return entry;
}

/** Marks every reading still waiting for its PUBACK as `unacked` (called once publishing has stopped). */
export function closeMeterTruth(truth: MeterTruth): void {
  for (const entry of truth.published) if (entry.status === "pending") entry.status = "unacked";
}

function registersJson(r: LatestRegisters) {
  return {
    seq: r.seq.toString(),
    timestamp: Number(r.timestamp),
    productionWh: r.productionWh.toString(),
    consumptionWh: r.consumptionWh.toString(),
  };
}

function accountingJson(a: Accounting) {
  return { creditedWh: a.creditedWh.toString(), uncoveredWh: a.uncoveredWh.toString() };
}

/**
 * The meter's ground truth as JSON-safe values (64-bit integers as decimal strings). `expected` is what
 * SmartMeter books if every published reading is accepted; `expectedAcked` if exactly the readings the
 * broker acknowledged are.
 */
export function meterTruthJson(truth: MeterTruth) {
  const baseline = truth.resumedFrom;
  const all = truth.published.map((p) => p.reading);
  const acked = truth.published.filter((p) => p.status === "acked").map((p) => p.reading);
  const last = all.at(-1);
  const lastAcked = acked.at(-1);
  return {
    meterId: truth.identity.meterId.toString(),
    serial: truth.identity.serial,
    kind: truth.identity.kindName,
    kindId: truth.identity.kind,
    zone: truth.identity.zone,
    deviceSigner: truth.identity.deviceSigner,
    ratedCapacityW: truth.identity.ratedCapacityW,
    resumedFrom: baseline === null ? null : registersJson(baseline),
    publishedCount: all.length,
    ackedCount: acked.length,
    last: last === undefined ? null : registersJson(last),
    lastAcked: lastAcked === undefined ? null : registersJson(lastAcked),
    expected: accountingJson(expectedAccounting(baseline, all)),
    expectedAcked: accountingJson(expectedAccounting(baseline, acked)),
    readings: truth.published.map((p) => ({
      seq: p.reading.seq.toString(),
      timestamp: Number(p.reading.timestamp),
      productionWh: p.reading.productionWh.toString(),
      consumptionWh: p.reading.consumptionWh.toString(),
      voltage_mV: p.reading.voltage_mV,
      frequency_mHz: p.reading.frequency_mHz,
      signature: p.reading.signature,
      status: p.status,
      ...(p.error === undefined ? {} : { error: p.error }),
    })),
  };
}
export type MeterTruthJson = ReturnType<typeof meterTruthJson>;
