/**
 * A fleet of simulated smart meters: who they are (kind, zone, serial, device key, rated capacity),
 * what is behind each one (panels, a household, a battery), and the readings they produce over time.
 * Everything is derived from the run's seed, so two runs with the same seed and the same reading
 * times publish the same readings. Pure: no I/O, no clock (times are passed in).
 */
import { type Hex, keccak256, type TypedDataDomain, toHex } from "viem";
import { type PrivateKeyAccount, privateKeyToAccount } from "viem/accounts";
import { READING_TYPES, type Reading, type SignedReading } from "../reading.ts";
import type { LatestRegisters } from "./groundTruth.ts";
import {
  type ApplianceState,
  appliancesOff,
  type BatterySpec,
  type BatteryState,
  gridBatteryRequestW,
  gridFrequency_mHz,
  homeBatteryRequestW,
  type HouseholdProfile,
  householdLoadW,
  initialWeather,
  observeWeather,
  runBattery,
  SECONDS_PER_HOUR,
  type SkyConditions,
  skyConditions,
  solarOutputW,
  stepAppliances,
  stepWeather,
  supplyVoltage_mV,
  WEATHER_STEP_S,
  type WeatherObservation,
  type WeatherState,
  type ZoneClimate,
} from "./physics.ts";
import { integerBetween, pick, type Rng, streamRng, uniform } from "./random.ts";

// ─────────────────────────────────────────────────────────────── kinds

/** ISmartMeter.MeterKind, in its enum order. */
export const METER_KIND = { SolarProsumer: 0, Consumer: 1, Hybrid: 2, Battery: 3 } as const;
export type MeterKind = (typeof METER_KIND)[keyof typeof METER_KIND];
export const METER_KIND_NAMES = ["SolarProsumer", "Consumer", "Hybrid", "Battery"] as const;

/**
 * Kinds by meter index, repeating: the first four meters are one of each kind, and a large fleet is
 * 30 % solar prosumers, 40 % consumers, 20 % hybrids and 10 % grid batteries.
 */
const KIND_PATTERN: readonly MeterKind[] = [0, 1, 2, 3, 1, 0, 1, 2, 1, 0];

export function meterKindAt(index: number): MeterKind {
  return KIND_PATTERN[index % KIND_PATTERN.length] as MeterKind;
}

// ─────────────────────────────────────────────────────────────── identity

const SECP256K1_ORDER = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

/**
 * The device key of meter `index`: keccak256 of the seed and the index, rehashed in the (2^-128)
 * case that it is not a valid secp256k1 scalar. A simulator run with the same seed signs with the same
 * keys, so meters registered once stay usable. Simulation keys only: anyone who knows the seed has them.
 */
export function deviceKey(seed: string, index: number): Hex {
  let key = keccak256(toHex(`gridx-simulator-device:${seed}:${index}`));
  while (BigInt(key) === 0n || BigInt(key) >= SECP256K1_ORDER) key = keccak256(key);
  return key;
}

/** Eight hex digits naming a seed in serials and the MQTT client id, without revealing it. */
export function seedTag(seed: string): string {
  return keccak256(toHex(`gridx-simulator-seed:${seed}`)).slice(2, 10);
}

/** A serial unique to the seed and the index (≤ 64 bytes, SmartMeter.MAX_SERIAL_LENGTH). */
export function meterSerial(seed: string, index: number): string {
  return `GXSIM-${seedTag(seed)}-${String(index + 1).padStart(4, "0")}`;
}

// ─────────────────────────────────────────────────────────────── equipment

/** What is behind one meter; `ratedCapacityW` exceeds any power the models can make it register. */
export interface MeterEquipment {
  kind: MeterKind;
  zone: number;
  serial: string;
  ratedCapacityW: number;
  /** Inverter-clipped solar array rating, W; 0 without panels. */
  panelPeakW: number;
  household: HouseholdProfile | null;
  battery: BatterySpec | null;
}

function householdProfile(rng: Rng, evShare: number): HouseholdProfile {
  const evChargerW = rng.next() < evShare ? pick(rng, [3_700, 7_400]) : 0;
  return {
    baseLoadW: uniform(rng, 120, 350),
    morningPeakW: uniform(rng, 400, 900),
    morningPeakHour: uniform(rng, 6.5, 8),
    eveningPeakW: uniform(rng, 900, 1_800),
    eveningPeakHour: uniform(rng, 18, 20.5),
    heatingWPerDegreeC: uniform(rng, 0, 60),
    evChargerW,
    maxLoadW: evChargerW > 0 ? 11_000 : 7_000,
  };
}

function batterySpec(rng: Rng, capacitiesWh: readonly number[], minPowerW: number, maxPowerW: number, reserve: number): BatterySpec {
  const capacityWh = pick(rng, capacitiesWh);
  const powerW = Math.round(uniform(rng, minPowerW, maxPowerW) / 100) * 100;
  return { capacityWh, maxChargeW: powerW, maxDischargeW: powerW, efficiency: 0.95, reserveWh: capacityWh * reserve };
}

/** Rated capacity: 20 % headroom over the largest power the equipment can push or draw, in whole kW. */
function ratedCapacityFor(maxPowerW: number): number {
  return Math.ceil((maxPowerW * 1.2) / 1_000) * 1_000;
}

export function meterEquipment(seed: string, index: number, zone: number): MeterEquipment {
  const rng = streamRng(seed, `meter:${index}:equipment`);
  const kind = meterKindAt(index);
  const serial = meterSerial(seed, index);
  switch (kind) {
    case METER_KIND.SolarProsumer: {
      const panelPeakW = pick(rng, [3_000, 3_500, 4_000, 4_500, 5_000, 5_500, 6_000]);
      const household = householdProfile(rng, 0.2);
      return { kind, zone, serial, panelPeakW, household, battery: null, ratedCapacityW: ratedCapacityFor(Math.max(panelPeakW, household.maxLoadW)) };
    }
    case METER_KIND.Consumer: {
      const household = householdProfile(rng, 0.3);
      return { kind, zone, serial, panelPeakW: 0, household, battery: null, ratedCapacityW: ratedCapacityFor(household.maxLoadW) };
    }
    case METER_KIND.Hybrid: {
      const panelPeakW = pick(rng, [4_000, 5_000, 6_000, 7_000, 8_000]);
      const household = householdProfile(rng, 0.3);
      const battery = batterySpec(rng, [5_000, 10_000, 13_500], 2_500, 5_000, 0.1);
      // Behind-the-meter battery only charges from the home's own surplus and only covers its deficit,
      // so the grid connection sees at most the panels (export) or the household (import).
      return { kind, zone, serial, panelPeakW, household, battery, ratedCapacityW: ratedCapacityFor(Math.max(panelPeakW, household.maxLoadW)) };
    }
    case METER_KIND.Battery: {
      const battery = batterySpec(rng, [20_000, 30_000, 40_000, 60_000], 5_000, 15_000, 0.05);
      return { kind, zone, serial, panelPeakW: 0, household: null, battery, ratedCapacityW: ratedCapacityFor(Math.max(battery.maxChargeW, battery.maxDischargeW)) };
    }
  }
}

// ─────────────────────────────────────────────────────────────── fleet

export interface SimulatedMeter {
  index: number;
  equipment: MeterEquipment;
  account: PrivateKeyAccount;
  /** SmartMeter's id, once registered or looked up. */
  meterId: bigint | null;
  /** Last published seq (0 = none yet). */
  seq: bigint;
  /** Last published reading's timestamp, real unix seconds (0 = none yet). */
  lastTimestamp: bigint;
  /** Simulated time of the last published reading (null = none in this run). */
  lastSimTime: number | null;
  productionWh: bigint;
  consumptionWh: bigint;
  /** Energy integrated but not yet in a register (fractions of a Wh, or above a reading's capacity allowance). */
  carryProductionWh: number;
  carryConsumptionWh: number;
  /** Exact energy integrated in this run, Wh: registers moved by this minus the carry. */
  integratedProductionWh: number;
  integratedConsumptionWh: number;
  appliances: ApplianceState;
  battery: BatteryState | null;
  rng: Rng;
}

export interface SimulatedZone {
  zone: number;
  climate: ZoneClimate;
  weather: WeatherState;
  rng: Rng;
}

export interface Fleet {
  seed: string;
  meters: SimulatedMeter[];
  zones: Map<number, SimulatedZone>;
}

export interface FleetOptions {
  seed: string;
  meterCount: number;
  /** Zone ids; meters are spread over them round-robin. */
  zones: readonly number[];
  /** Simulated time at which the fleet starts. */
  startSimTime: number;
}

function zoneClimate(seed: string, zone: number): ZoneClimate {
  const rng = streamRng(seed, `zone:${zone}:climate`);
  return {
    latitudeDeg: uniform(rng, 44, 54),
    meanTemperatureC: uniform(rng, 8, 14),
    seasonalSwingC: uniform(rng, 7, 10),
    dailySwingC: uniform(rng, 4, 7),
    meanCloudCover: uniform(rng, 0.35, 0.6),
  };
}

export function createFleet(options: FleetOptions): Fleet {
  if (!Number.isInteger(options.meterCount) || options.meterCount < 1) throw new RangeError("a fleet needs at least one meter");
  if (options.zones.length === 0) throw new RangeError("a fleet needs at least one zone");
  const { seed } = options;
  const zones = new Map<number, SimulatedZone>();
  for (const zone of options.zones) {
    const climate = zoneClimate(seed, zone);
    const rng = streamRng(seed, `zone:${zone}:weather`);
    zones.set(zone, { zone, climate, rng, weather: initialWeather(climate, options.startSimTime, rng) });
  }
  const meters: SimulatedMeter[] = [];
  for (let index = 0; index < options.meterCount; index++) {
    const zone = options.zones[index % options.zones.length] as number;
    const equipment = meterEquipment(seed, index, zone);
    const initial = streamRng(seed, `meter:${index}:initial`);
    // A commissioned meter's registers are not zero; the first reading is SmartMeter's baseline anyway.
    const producesEnergy = equipment.panelPeakW > 0 || equipment.battery !== null;
    meters.push({
      index,
      equipment,
      account: privateKeyToAccount(deviceKey(seed, index)),
      meterId: null,
      seq: 0n,
      lastTimestamp: 0n,
      lastSimTime: null,
      productionWh: producesEnergy ? BigInt(integerBetween(initial, 0, 3_000_000)) : 0n,
      consumptionWh: BigInt(integerBetween(initial, 0, 5_000_000)),
      carryProductionWh: 0,
      carryConsumptionWh: 0,
      integratedProductionWh: 0,
      integratedConsumptionWh: 0,
      appliances: appliancesOff(),
      battery: equipment.battery === null ? null : { socWh: equipment.battery.capacityWh * uniform(initial, 0.3, 0.6) },
      rng: streamRng(seed, `meter:${index}:run`),
    });
  }
  return { seed, meters, zones };
}

/**
 * Continues a meter from its latest reading on chain: seq, timestamp and registers carry on from there,
 * so a restarted simulator's readings are not refused as replays or as decreasing registers.
 */
export function resumeMeter(meter: SimulatedMeter, latest: LatestRegisters): void {
  if (latest.seq === 0n) return;
  meter.seq = latest.seq;
  meter.lastTimestamp = latest.timestamp;
  meter.productionWh = latest.productionWh;
  meter.consumptionWh = latest.consumptionWh;
  meter.lastSimTime = null;
}

function zoneOf(fleet: Fleet, meter: SimulatedMeter): SimulatedZone {
  const zone = fleet.zones.get(meter.equipment.zone);
  if (zone === undefined) throw new Error(`meter ${meter.index} is in zone ${meter.equipment.zone}, which the fleet does not simulate`);
  return zone;
}

/** Brings every zone's weather up to `simTime`, in fixed steps so the result does not depend on how often this is called. */
export function advanceWeather(fleet: Fleet, simTime: number): void {
  for (const zone of fleet.zones.values()) {
    let state = zone.weather;
    while (state.simTime + WEATHER_STEP_S <= simTime) state = stepWeather(zone.climate, state, WEATHER_STEP_S, zone.rng);
    zone.weather = state;
  }
}

/** What the zone's weather station reports at `simTime`. */
export function zoneWeather(fleet: Fleet, zone: number, simTime: number): WeatherObservation {
  const simulated = fleet.zones.get(zone);
  if (simulated === undefined) throw new RangeError(`zone ${zone} is not simulated`);
  return observeWeather(simulated.climate, simulated.weather, simTime);
}

// ─────────────────────────────────────────────────────────────── readings

/**
 * Net power at the meter's grid connection at `simTime`, W: > 0 flows into the grid (export), < 0 from
 * it (import). Advances the appliances and the battery by `simDtSeconds`.
 */
function netPowerW(meter: SimulatedMeter, sky: SkyConditions, simTime: number, simDtSeconds: number): number {
  const { equipment } = meter;
  let solarW = 0;
  let loadW = 0;
  if (equipment.panelPeakW > 0) solarW = solarOutputW(equipment.panelPeakW, sky, meter.rng);
  if (equipment.household !== null) {
    meter.appliances = stepAppliances(equipment.household, meter.appliances, simTime, simDtSeconds, meter.rng);
    loadW = householdLoadW(equipment.household, meter.appliances, simTime, sky.temperatureC, meter.rng);
  }
  let batteryW = 0;
  if (equipment.battery !== null && meter.battery !== null) {
    const requestW =
      equipment.kind === METER_KIND.Battery
        ? gridBatteryRequestW(equipment.battery, meter.battery, sky, simTime)
        : homeBatteryRequestW(equipment.battery, solarW - loadW, simTime);
    // The battery's state of charge runs on the simulated clock so that it goes through a whole daily
    // cycle in an accelerated day (a shape); the registers below run on the real clock (the accounting).
    const step = runBattery(equipment.battery, meter.battery, requestW, simDtSeconds);
    meter.battery = step.state;
    batteryW = step.powerW;
  }
  return solarW - loadW - batteryW;
}

/** Largest register step SmartMeter accepts: ratedCapacityW × elapsed seconds / 3600, rounded down. */
export function capacityAllowanceWh(ratedCapacityW: number, elapsedSeconds: bigint): bigint {
  return (BigInt(ratedCapacityW) * elapsedSeconds) / BigInt(SECONDS_PER_HOUR);
}

/**
 * Moves the whole Wh of `carryWh + energyWh` into a register step, at most `allowanceWh`, and keeps the
 * rest as the new carry: no energy is lost to rounding, and no step exceeds what the contract allows.
 */
export function takeWholeWh(carryWh: number, energyWh: number, allowanceWh: bigint): { stepWh: bigint; carryWh: number } {
  const totalWh = carryWh + energyWh;
  let whole = BigInt(Math.floor(totalWh));
  if (whole > allowanceWh) whole = allowanceWh;
  if (whole < 0n) whole = 0n;
  return { stepWh: whole, carryWh: totalWh - Number(whole) };
}

/** When a reading is taken: `timestamp` in real unix seconds, `simTime` on the simulated clock. */
export interface ReadingTime {
  timestamp: number;
  simTime: number;
}

/** Simulated sub-steps per reading are at most this long, so a kettle's three minutes still show. */
const MAX_SUBSTEP_SIM_S = 60;
const MAX_SUBSTEPS = 240;

/**
 * The meter's next reading at `at`, or null when `at.timestamp` is not after its last reading's (the
 * caller waits for the next second: timestamps must strictly increase). The first reading of a run
 * carries the registers as they are; later ones add the energy since the previous one.
 *
 * Energy per reading is power(simulated time) × REAL elapsed seconds. Time acceleration compresses the
 * day's SHAPE (a simulated hour of sunshine passes in a real minute at ×60) but not the energy
 * accounting: a 5 kW panel at noon still registers 5 kW × the real seconds between two readings. So
 * every register step stays within ratedCapacityW × the real time between the two timestamps, which is
 * exactly what SmartMeter checks, whatever the acceleration. (Integrating over simulated time instead
 * would make a ×60 run register 60 times the meter's rated capacity and every reading would be refused.)
 */
export function nextReading(fleet: Fleet, meter: SimulatedMeter, at: ReadingTime): Reading | null {
  if (meter.meterId === null) throw new Error(`meter ${meter.equipment.serial} has no meter id yet`);
  if (!Number.isInteger(at.timestamp) || at.timestamp <= 0) throw new RangeError(`reading timestamp ${at.timestamp} is not a positive integer`);
  const timestamp = BigInt(at.timestamp);
  if (timestamp <= meter.lastTimestamp) return null;

  let importShare = 0;
  if (meter.lastSimTime !== null) {
    const elapsedSeconds = timestamp - meter.lastTimestamp;
    const realDt = Number(elapsedSeconds);
    const simSpan = Math.max(0, at.simTime - meter.lastSimTime);
    const substeps = Math.min(MAX_SUBSTEPS, Math.max(1, Math.ceil(simSpan / MAX_SUBSTEP_SIM_S)));
    const simDt = simSpan / substeps;
    const zone = zoneOf(fleet, meter);
    let exportWh = 0;
    let importWh = 0;
    for (let k = 0; k < substeps; k++) {
      const simTime = meter.lastSimTime + (k + 0.5) * simDt;
      const powerW = netPowerW(meter, skyConditions(zone.climate, zone.weather, simTime), simTime, simDt);
      const wh = (Math.abs(powerW) * realDt) / substeps / SECONDS_PER_HOUR;
      if (powerW > 0) exportWh += wh;
      else importWh += wh;
    }
    meter.integratedProductionWh += exportWh;
    meter.integratedConsumptionWh += importWh;
    const allowanceWh = capacityAllowanceWh(meter.equipment.ratedCapacityW, elapsedSeconds);
    const production = takeWholeWh(meter.carryProductionWh, exportWh, allowanceWh);
    const consumption = takeWholeWh(meter.carryConsumptionWh, importWh, allowanceWh);
    meter.productionWh += production.stepWh;
    meter.consumptionWh += consumption.stepWh;
    meter.carryProductionWh = production.carryWh;
    meter.carryConsumptionWh = consumption.carryWh;
    importShare = (importWh * SECONDS_PER_HOUR) / realDt / meter.equipment.ratedCapacityW;
  }

  meter.seq += 1n;
  meter.lastTimestamp = timestamp;
  meter.lastSimTime = at.simTime;
  return {
    meterId: meter.meterId,
    seq: meter.seq,
    timestamp,
    productionWh: meter.productionWh,
    consumptionWh: meter.consumptionWh,
    voltage_mV: supplyVoltage_mV(importShare, meter.rng),
    frequency_mHz: gridFrequency_mHz(meter.rng),
  };
}

/** The reading with the meter's device signature (EIP-712 `Reading` in SmartMeter's domain). */
export async function signMeterReading(meter: SimulatedMeter, domain: TypedDataDomain, reading: Reading): Promise<SignedReading> {
  const signature = await meter.account.signTypedData({ domain, types: READING_TYPES, primaryType: "Reading", message: reading });
  return { ...reading, signature };
}

// ─────────────────────────────────────────────────────────────── clock

/** Maps real time to simulated time: the simulated clock runs `acceleration` times faster. */
export interface SimulationClock {
  realStartMs: number;
  simStartSeconds: number;
  acceleration: number;
}

export function simulatedTime(clock: SimulationClock, realMs: number): number {
  return clock.simStartSeconds + ((realMs - clock.realStartMs) / 1000) * clock.acceleration;
}
