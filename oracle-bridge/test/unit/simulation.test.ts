import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { recoverTypedDataAddress } from "viem";
import { READING_TYPES, type Reading, readingDomain } from "../../src/domain/reading.ts";
import {
  advanceWeather,
  capacityAllowanceWh,
  createFleet,
  deviceKey,
  type Fleet,
  METER_KIND,
  meterSerial,
  nextReading,
  resumeMeter,
  signMeterReading,
  takeWholeWh,
  zoneWeather,
} from "../../src/domain/simulation/fleet.ts";
import { closeMeterTruth, createMeterTruth, expectedAccounting, meterTruthJson, recordPublished } from "../../src/domain/simulation/groundTruth.ts";
import {
  type BatterySpec,
  clearSkyIrradiance,
  daylight,
  runBattery,
  skyConditions,
  solarOutputW,
  type WeatherState,
  type ZoneClimate,
} from "../../src/domain/simulation/physics.ts";
import { hashSeed, mulberry32, streamRng } from "../../src/domain/simulation/random.ts";

const SMART_METER = "0x0165878A594ca255338adfa4d48449f69242Eb8F";
const MIDSUMMER = Date.UTC(2025, 5, 21) / 1000; // 00:00 UTC, 21 June 2025
const REAL_START = 1_750_000_000;

const climate: ZoneClimate = { latitudeDeg: 50, meanTemperatureC: 10, seasonalSwingC: 8, dailySwingC: 5, meanCloudCover: 0.5 };

function weather(cloudCover: number): WeatherState {
  return { simTime: MIDSUMMER, cloudCover, temperatureAnomalyC: 0, precipitating: false, storm: false, fog: false };
}

function fleetWithIds(seed: string, meterCount: number, zones: number[] = [1, 2]): Fleet {
  const fleet = createFleet({ seed, meterCount, zones, startSimTime: MIDSUMMER });
  fleet.meters.forEach((meter, i) => {
    meter.meterId = BigInt(i + 1);
  });
  return fleet;
}

/**
 * Runs every meter of `fleet` on a schedule of real gaps `gapsSeconds` (cycled) at `acceleration`, and
 * returns each meter's readings.
 */
function run(fleet: Fleet, steps: number, gapsSeconds: readonly number[], acceleration: number): Reading[][] {
  const readings: Reading[][] = fleet.meters.map(() => []);
  let realTime = REAL_START;
  for (let step = 0; step < steps; step++) {
    const simTime = MIDSUMMER + (realTime - REAL_START) * acceleration;
    advanceWeather(fleet, simTime);
    for (const [i, meter] of fleet.meters.entries()) {
      const reading = nextReading(fleet, meter, { timestamp: realTime, simTime });
      assert.ok(reading !== null);
      readings[i]?.push(reading);
    }
    realTime += gapsSeconds[step % gapsSeconds.length] as number;
  }
  return readings;
}

describe("random", () => {
  it("is reproducible from a seed and differs between seeds and streams", () => {
    const draw = (seed: number) => Array.from({ length: 5 }, ((rng) => () => rng.next())(mulberry32(seed)));
    assert.deepEqual(draw(42), draw(42));
    assert.notDeepEqual(draw(42), draw(43));
    const a = streamRng("seed", "meter:1").next();
    assert.equal(streamRng("seed", "meter:1").next(), a);
    assert.notEqual(streamRng("seed", "meter:2").next(), a);
    assert.notEqual(hashSeed("a"), hashSeed("b"));
    const rng = mulberry32(7);
    for (let i = 0; i < 10_000; i++) {
      const x = rng.next();
      assert.ok(x >= 0 && x < 1);
    }
  });
});

describe("physics", () => {
  it("has no sun at night, sun at noon, and longer days in summer", () => {
    const june = daylight(MIDSUMMER, 50);
    const december = daylight(Date.UTC(2025, 11, 21) / 1000, 50);
    assert.ok(june.dayLengthHours > 15.5 && june.dayLengthHours < 17, `June day ${june.dayLengthHours} h`);
    assert.ok(december.dayLengthHours > 7.5 && december.dayLengthHours < 8.5, `December day ${december.dayLengthHours} h`);
    assert.equal(clearSkyIrradiance(MIDSUMMER + 1 * 3600, 50), 0);
    assert.equal(clearSkyIrradiance(MIDSUMMER + 23 * 3600, 50), 0);
    assert.ok(clearSkyIrradiance(MIDSUMMER + 12 * 3600, 50) > 800);
  });

  it("makes solar power zero at night, positive at noon on a clear day, and lower under clouds", () => {
    const rng = mulberry32(1);
    const midnight = skyConditions(climate, weather(0), MIDSUMMER);
    const clearNoon = skyConditions(climate, weather(0), MIDSUMMER + 12 * 3600);
    const cloudyNoon = skyConditions(climate, weather(0.95), MIDSUMMER + 12 * 3600);
    assert.equal(solarOutputW(5_000, midnight, rng), 0);
    const clear = solarOutputW(5_000, clearNoon, rng);
    const cloudy = solarOutputW(5_000, cloudyNoon, rng);
    assert.ok(clear > 3_500 && clear <= 5_000, `clear noon ${clear} W`);
    assert.ok(cloudy > 0 && cloudy < clear * 0.6, `cloudy noon ${cloudy} W vs clear ${clear} W`);
    // Never above the panel's rating, whatever the sky.
    for (let hour = 0; hour < 24; hour += 0.25) {
      assert.ok(solarOutputW(5_000, skyConditions(climate, weather(0), MIDSUMMER + hour * 3600), rng) <= 5_000);
    }
  });

  it("keeps a battery's state of charge within [0, capacity] and its power within limits", () => {
    const spec: BatterySpec = { capacityWh: 10_000, maxChargeW: 5_000, maxDischargeW: 5_000, efficiency: 0.95, reserveWh: 1_000 };
    let state = { socWh: 9_900 };
    const charge = runBattery(spec, state, 50_000, 3_600);
    assert.ok(charge.powerW <= 5_000 && charge.powerW > 0);
    assert.ok(Math.abs(charge.state.socWh - 10_000) < 1e-6);
    state = { socWh: 1_500 };
    const discharge = runBattery(spec, state, -50_000, 3_600);
    assert.ok(discharge.powerW < 0 && discharge.powerW >= -5_000);
    assert.ok(Math.abs(discharge.state.socWh - 1_000) < 1e-6, "discharges down to the reserve only");
    const rng = mulberry32(9);
    state = { socWh: 5_000 };
    for (let i = 0; i < 5_000; i++) {
      const step = runBattery(spec, state, (rng.next() - 0.5) * 20_000, rng.next() * 1_800);
      assert.ok(step.state.socWh >= 0 && step.state.socWh <= spec.capacityWh);
      assert.ok(Math.abs(step.powerW) <= 5_000);
      state = step.state;
    }
  });

  it("reports weather in the IWeatherOracle ranges", () => {
    const fleet = fleetWithIds("weather", 1, [1, 2]);
    for (let hour = 0; hour < 72; hour++) {
      const simTime = MIDSUMMER + hour * 3600;
      advanceWeather(fleet, simTime);
      for (const zone of [1, 2]) {
        const w = zoneWeather(fleet, zone, simTime);
        assert.ok(Number.isInteger(w.irradiance_Wm2) && w.irradiance_Wm2 >= 0 && w.irradiance_Wm2 < 1_200);
        assert.ok(Number.isInteger(w.temperature_cC) && w.temperature_cC > -4_000 && w.temperature_cC < 5_000);
        assert.ok(Number.isInteger(w.cloudCoverBps) && w.cloudCoverBps >= 0 && w.cloudCoverBps <= 10_000);
        assert.ok(Number.isInteger(w.condition) && w.condition >= 0 && w.condition <= 6);
      }
    }
  });
});

describe("fleet", () => {
  it("has all four meter kinds, spread over the zones, each with a unique serial and device key", () => {
    const small = fleetWithIds("kinds", 4);
    assert.deepEqual(
      small.meters.map((m) => m.equipment.kind),
      [METER_KIND.SolarProsumer, METER_KIND.Consumer, METER_KIND.Hybrid, METER_KIND.Battery],
    );
    const fleet = fleetWithIds("kinds", 20, [1, 2, 3]);
    for (const kind of Object.values(METER_KIND)) assert.ok(fleet.meters.some((m) => m.equipment.kind === kind), `kind ${kind}`);
    assert.deepEqual(new Set(fleet.meters.map((m) => m.equipment.zone)), new Set([1, 2, 3]));
    assert.equal(new Set(fleet.meters.map((m) => m.equipment.serial)).size, 20);
    assert.equal(new Set(fleet.meters.map((m) => m.account.address)).size, 20);
    for (const meter of fleet.meters) {
      assert.ok(meter.equipment.serial.length <= 64);
      assert.ok(meter.equipment.ratedCapacityW > meter.equipment.panelPeakW);
      if (meter.equipment.household) assert.ok(meter.equipment.ratedCapacityW > meter.equipment.household.maxLoadW);
      if (meter.equipment.battery) assert.ok(meter.equipment.ratedCapacityW > meter.equipment.battery.maxDischargeW);
    }
  });

  it("is deterministic from the seed", async () => {
    const a = fleetWithIds("same", 8);
    const b = fleetWithIds("same", 8);
    const c = fleetWithIds("other", 8);
    assert.equal(deviceKey("same", 3), deviceKey("same", 3));
    assert.notEqual(deviceKey("same", 3), deviceKey("other", 3));
    assert.equal(meterSerial("same", 3), b.meters[3]?.equipment.serial);
    const gaps = [10, 7, 13];
    const readingsA = run(a, 200, gaps, 60);
    const readingsB = run(b, 200, gaps, 60);
    const readingsC = run(c, 200, gaps, 60);
    assert.deepEqual(readingsA, readingsB);
    assert.notDeepEqual(readingsA, readingsC);
    const domain = readingDomain(31337, SMART_METER);
    const last = readingsA[2]?.at(-1) as Reading;
    assert.equal(
      (await signMeterReading(a.meters[2]!, domain, last)).signature,
      (await signMeterReading(b.meters[2]!, domain, last)).signature,
    );
  });

  it("publishes strictly increasing seqs and timestamps, monotonic registers, and steps within rated capacity × elapsed time", () => {
    const fleet = fleetWithIds("capacity", 20);
    // Two simulated days at ×60 with uneven gaps, 1 s gaps included (the tightest capacity allowance).
    const readings = run(fleet, 3_000, [10, 1, 1, 30, 5, 2, 60], 60);
    for (const [i, meterReadings] of readings.entries()) {
      const rated = BigInt(fleet.meters[i]?.equipment.ratedCapacityW as number);
      for (let k = 1; k < meterReadings.length; k++) {
        const previous = meterReadings[k - 1] as Reading;
        const current = meterReadings[k] as Reading;
        assert.equal(current.seq, previous.seq + 1n);
        assert.ok(current.timestamp > previous.timestamp);
        assert.ok(current.productionWh >= previous.productionWh, "production register decreased");
        assert.ok(current.consumptionWh >= previous.consumptionWh, "consumption register decreased");
        const elapsed = current.timestamp - previous.timestamp;
        // SmartMeter's check, exactly: Δ × 3600 ≤ ratedCapacityW × elapsed.
        assert.ok((current.productionWh - previous.productionWh) * 3600n <= rated * elapsed, `meter ${i} production step ${k}`);
        assert.ok((current.consumptionWh - previous.consumptionWh) * 3600n <= rated * elapsed, `meter ${i} consumption step ${k}`);
        assert.ok(current.voltage_mV >= 207_000 && current.voltage_mV <= 253_000);
        assert.ok(current.frequency_mHz >= 49_800 && current.frequency_mHz <= 50_200);
      }
      assert.equal(meterReadings[0]?.seq, 1n);
    }
  });

  it("produces energy in the day and consumes it in the evening, and keeps batteries within capacity", () => {
    const fleet = fleetWithIds("shape", 10);
    let socInRange = true;
    const readings: Reading[][] = fleet.meters.map(() => []);
    for (let step = 0; step <= 24 * 6; step++) {
      // Every 10 real seconds is 10 simulated minutes.
      const timestamp = REAL_START + step * 10;
      const simTime = MIDSUMMER + step * 600;
      advanceWeather(fleet, simTime);
      for (const [i, meter] of fleet.meters.entries()) {
        readings[i]?.push(nextReading(fleet, meter, { timestamp, simTime }) as Reading);
        if (meter.battery && meter.equipment.battery) {
          socInRange &&= meter.battery.socWh >= 0 && meter.battery.socWh <= meter.equipment.battery.capacityWh;
        }
      }
    }
    assert.ok(socInRange);
    const solar = readings[0] as Reading[]; // meter 0 is a solar prosumer
    const night = (solar[4 * 6] as Reading).productionWh - (solar[1 * 6] as Reading).productionWh;
    const midday = (solar[14 * 6] as Reading).productionWh - (solar[11 * 6] as Reading).productionWh;
    assert.equal(night, 0n, "no export at night");
    assert.ok(midday > 0n, "exports around noon");
    const consumer = readings[1] as Reading[];
    assert.equal(consumer.at(-1)?.productionWh, consumer[0]?.productionWh, "a consumer never produces");
    assert.ok((consumer.at(-1) as Reading).consumptionWh > (consumer[0] as Reading).consumptionWh);
  });

  it("loses no energy to rounding: register steps add up to the integrated energy within 1 Wh", () => {
    const fleet = fleetWithIds("carry", 12);
    const start = fleet.meters.map((m) => [m.productionWh, m.consumptionWh] as const);
    run(fleet, 2_000, [10, 3, 17], 60);
    for (const [i, meter] of fleet.meters.entries()) {
      const [production0, consumption0] = start[i] as readonly [bigint, bigint];
      const producedWh = Number(meter.productionWh - production0);
      const consumedWh = Number(meter.consumptionWh - consumption0);
      assert.ok(Math.abs(producedWh - meter.integratedProductionWh) < 1, `meter ${i}: ${producedWh} vs ${meter.integratedProductionWh}`);
      assert.ok(Math.abs(consumedWh - meter.integratedConsumptionWh) < 1, `meter ${i}: ${consumedWh} vs ${meter.integratedConsumptionWh}`);
      assert.ok(meter.integratedConsumptionWh > 0);
    }
  });

  it("carries fractions and capacity overflow forward", () => {
    assert.deepEqual(takeWholeWh(0.4, 0.5, 10n), { stepWh: 0n, carryWh: 0.9 });
    const step = takeWholeWh(0.9, 2.3, 10n);
    assert.equal(step.stepWh, 3n);
    assert.ok(Math.abs(step.carryWh - 0.2) < 1e-9);
    const capped = takeWholeWh(0.5, 5, 2n);
    assert.equal(capped.stepWh, 2n);
    assert.ok(Math.abs(capped.carryWh - 3.5) < 1e-9);
    assert.equal(capacityAllowanceWh(6_000, 1n), 1n);
    assert.equal(capacityAllowanceWh(6_000, 10n), 16n);
  });

  it("refuses a second reading in the same second and resumes from the chain's latest reading", () => {
    const fleet = fleetWithIds("resume", 1);
    const meter = fleet.meters[0]!;
    assert.ok(nextReading(fleet, meter, { timestamp: REAL_START, simTime: MIDSUMMER }));
    assert.equal(nextReading(fleet, meter, { timestamp: REAL_START, simTime: MIDSUMMER + 30 }), null);
    resumeMeter(meter, { seq: 41n, timestamp: BigInt(REAL_START + 100), productionWh: 9_000_000n, consumptionWh: 8_000_000n });
    assert.equal(nextReading(fleet, meter, { timestamp: REAL_START + 100, simTime: MIDSUMMER }), null);
    const next = nextReading(fleet, meter, { timestamp: REAL_START + 101, simTime: MIDSUMMER + 60 }) as Reading;
    assert.equal(next.seq, 42n);
    assert.equal(next.productionWh, 9_000_000n);
    assert.equal(next.consumptionWh, 8_000_000n);
  });

  it("signs readings that recover to the meter's device address", async () => {
    const fleet = fleetWithIds("signing", 4);
    const domain = readingDomain(31337, SMART_METER);
    for (const meter of fleet.meters) {
      const reading = nextReading(fleet, meter, { timestamp: REAL_START, simTime: MIDSUMMER + 12 * 3600 }) as Reading;
      const signed = await signMeterReading(meter, domain, reading);
      assert.match(signed.signature, /^0x[0-9a-f]{130}$/);
      const { signature, ...message } = signed;
      const recovered = await recoverTypedDataAddress({ domain, types: READING_TYPES, primaryType: "Reading", message, signature });
      assert.equal(recovered, meter.account.address);
      const otherDomain = readingDomain(1, SMART_METER);
      const wrong = await recoverTypedDataAddress({ domain: otherDomain, types: READING_TYPES, primaryType: "Reading", message, signature });
      assert.notEqual(wrong, meter.account.address);
    }
  });
});

describe("ground truth", () => {
  const r = (productionWh: bigint, consumptionWh: bigint) => ({ productionWh, consumptionWh });

  it("credits max(0, Δprod − Δcons) and books max(0, Δcons − Δprod) per reading after the baseline", () => {
    const readings = [r(1_000n, 500n), r(1_010n, 503n), r(1_012n, 510n), r(1_012n, 510n), r(1_030n, 511n)];
    // (10 − 3) → +7 credit; (2 − 7) → +5 uncovered; (0 − 0) → nothing; (18 − 1) → +17 credit.
    assert.deepEqual(expectedAccounting(null, readings), { creditedWh: 24n, uncoveredWh: 5n });
    // A resumed meter's chain baseline makes the first published reading count too: (1000 − 990) − (500 − 500) = 10.
    assert.deepEqual(expectedAccounting(r(990n, 500n), readings), { creditedWh: 34n, uncoveredWh: 5n });
    // Losing the second reading nets its interval with the third: (12 − 10) → +2 credit.
    assert.deepEqual(expectedAccounting(null, [readings[0]!, readings[2]!, readings[3]!, readings[4]!]), { creditedWh: 19n, uncoveredWh: 0n });
    assert.deepEqual(expectedAccounting(null, []), { creditedWh: 0n, uncoveredWh: 0n });
    assert.deepEqual(expectedAccounting(null, [readings[0]!]), { creditedWh: 0n, uncoveredWh: 0n });
  });

  it("records what was published with its acknowledgement status", () => {
    const truth = createMeterTruth(
      { meterId: 7n, serial: "S", kind: 0, kindName: "SolarProsumer", zone: 1, deviceSigner: "0x00", ratedCapacityW: 6_000 },
      null,
    );
    const reading = { meterId: 7n, seq: 1n, timestamp: 100n, voltage_mV: 230_000, frequency_mHz: 50_000, signature: "0x" as const };
    recordPublished(truth, { ...reading, productionWh: 100n, consumptionWh: 50n }).status = "acked";
    recordPublished(truth, { ...reading, seq: 2n, timestamp: 110n, productionWh: 120n, consumptionWh: 55n }).status = "acked";
    recordPublished(truth, { ...reading, seq: 3n, timestamp: 120n, productionWh: 121n, consumptionWh: 65n });
    closeMeterTruth(truth);
    const json = meterTruthJson(truth);
    assert.deepEqual(
      json.readings.map((x) => x.status),
      ["acked", "acked", "unacked"],
    );
    assert.deepEqual(json.expected, { creditedWh: "15", uncoveredWh: "9" });
    assert.deepEqual(json.expectedAcked, { creditedWh: "15", uncoveredWh: "0" });
    assert.equal(json.last?.seq, "3");
    assert.equal(json.lastAcked?.seq, "2");
    assert.doesNotThrow(() => JSON.stringify(json));
  });
});
