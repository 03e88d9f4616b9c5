import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  classify,
  DEFAULT_PRICING_CONFIG,
  GridStatus,
  healthBps,
  MAX_PRICE_PER_KWH,
  meterPower,
  MovingAverage,
  parsePricing,
  rawPrice,
  shouldPost,
  zoneSnapshot,
  type MeterSample,
  type PricingConfig,
} from "../../src/domain/gridStability.ts";
import type { Reading } from "../../src/domain/reading.ts";

const PRICING = parsePricing(DEFAULT_PRICING_CONFIG);

function reading(timestamp: bigint, productionWh: bigint, consumptionWh: bigint): Reading {
  return { meterId: 1n, seq: 1n, timestamp, productionWh, consumptionWh, voltage_mV: 230_000, frequency_mHz: 50_000 };
}

function sample(overrides: Partial<MeterSample>): MeterSample {
  return {
    meterId: 1n,
    productionW: 0n,
    consumptionW: 0n,
    voltage_mV: 230_000,
    frequency_mHz: 50_000,
    observedAt: 1000n,
    ...overrides,
  };
}

describe("meterPower", () => {
  it("is ΔWh × 3600 / Δs", () => {
    assert.deepEqual(meterPower(reading(1000n, 100n, 50n), reading(1060n, 110n, 51n)), {
      productionW: 600n,
      consumptionW: 60n,
    });
  });

  it("rounds down", () => {
    // 1 Wh in 7 s = 514.28… W
    assert.deepEqual(meterPower(reading(0n, 0n, 0n), reading(7n, 1n, 2n)), { productionW: 514n, consumptionW: 1028n });
  });

  it("is zero for unchanged registers", () => {
    assert.deepEqual(meterPower(reading(0n, 5n, 5n), reading(3600n, 5n, 5n)), { productionW: 0n, consumptionW: 0n });
  });

  it("is null for an empty or backwards interval or a decreasing register", () => {
    assert.equal(meterPower(reading(1000n, 1n, 1n), reading(1000n, 2n, 2n)), null);
    assert.equal(meterPower(reading(1000n, 1n, 1n), reading(999n, 2n, 2n)), null);
    assert.equal(meterPower(reading(1000n, 5n, 1n), reading(1060n, 4n, 2n)), null);
    assert.equal(meterPower(reading(1000n, 1n, 5n), reading(1060n, 2n, 4n)), null);
  });
});

describe("zoneSnapshot", () => {
  const options = { nowSeconds: 1000n, staleAfterSeconds: 60n, capacityW: 100_000n };

  it("sums fresh samples, averages frequency and voltage (floor), derives imbalance and headroom", () => {
    const snapshot = zoneSnapshot(
      [
        sample({ meterId: 1n, productionW: 5_000n, consumptionW: 1_000n, frequency_mHz: 49_990, voltage_mV: 229_000 }),
        sample({ meterId: 2n, consumptionW: 8_000n, frequency_mHz: 50_001, voltage_mV: 231_001, observedAt: 940n }),
        sample({ meterId: 3n, productionW: 99_000n, observedAt: 939n }), // stale by one second
      ],
      options,
    );
    assert.deepEqual(snapshot, {
      supplyW: 5_000n,
      demandW: 9_000n,
      imbalanceW: 4_000n,
      frequency_mHz: 49_995, // 49 995.5 rounded down
      voltage_mV: 230_000, // 230 000.5 rounded down
      headroomW: 91_000n,
      sampleCount: 2,
    });
  });

  it("reads nominal and fully free without fresh samples", () => {
    for (const samples of [[], [sample({ productionW: 1n, observedAt: 0n })]]) {
      assert.deepEqual(zoneSnapshot(samples, options), {
        supplyW: 0n,
        demandW: 0n,
        imbalanceW: 0n,
        frequency_mHz: 50_000,
        voltage_mV: 230_000,
        headroomW: 100_000n,
        sampleCount: 0,
      });
    }
  });

  it("has a negative imbalance on oversupply and zero headroom beyond capacity", () => {
    const snapshot = zoneSnapshot([sample({ productionW: 150_000n, consumptionW: 20_000n })], options);
    assert.equal(snapshot.imbalanceW, -130_000n);
    assert.equal(snapshot.headroomW, 0n);
  });

  it("counts a sample slightly ahead of the clock", () => {
    assert.equal(zoneSnapshot([sample({ consumptionW: 7n, observedAt: 1005n })], options).demandW, 7n);
  });
});

describe("classify", () => {
  it("follows IGridOracle.GridStatus order", () => {
    assert.deepEqual(GridStatus, { Balanced: 0, Oversupply: 1, Shortage: 2 });
  });

  it("is Balanced with neither supply nor demand", () => {
    assert.equal(classify(0n, 0n), GridStatus.Balanced);
  });

  it("puts the 5 % band boundary in Balanced, one watt beyond outside", () => {
    assert.equal(classify(95_000n, 100_000n), GridStatus.Balanced); // 5 000 × 10 000 = 500 × 100 000
    assert.equal(classify(94_999n, 100_000n), GridStatus.Shortage);
    assert.equal(classify(100_000n, 95_000n), GridStatus.Balanced);
    assert.equal(classify(100_000n, 94_999n), GridStatus.Oversupply);
  });

  it("measures the band against the larger side", () => {
    // |imbalance| 5 000 against max 105 000 (not against supply 100 000): 4.76 %, balanced.
    assert.equal(classify(100_000n, 105_000n), GridStatus.Balanced);
    assert.equal(classify(0n, 1n), GridStatus.Shortage);
    assert.equal(classify(1n, 0n), GridStatus.Oversupply);
  });

  it("takes a custom band", () => {
    assert.equal(classify(100n, 100n, 0), GridStatus.Balanced);
    assert.equal(classify(100n, 101n, 0), GridStatus.Shortage);
    assert.equal(classify(50n, 100n, 5_000), GridStatus.Balanced);
    assert.equal(classify(49n, 100n, 5_000), GridStatus.Shortage);
  });
});

describe("parsePricing", () => {
  it("converts the seed's defaults exactly to 6-decimal base units", () => {
    assert.deepEqual(PRICING, { base: 6_000_000n, elasticity: 150_000n, min: 3_000_000n, max: 12_000_000n });
  });

  it("is exact for any number of decimals", () => {
    const config = (decimals: number, elasticity: string): PricingConfig => ({ ...DEFAULT_PRICING_CONFIG, decimals, elasticity });
    assert.equal(parsePricing(config(18, "0.15")).elasticity, 150_000_000_000_000_000n);
    assert.equal(parsePricing(config(18, "0.000000000000000001")).elasticity, 1n);
    assert.equal(parsePricing(config(6, "0.000001")).elasticity, 1n);
    assert.equal(parsePricing(config(6, "0")).elasticity, 0n);
    assert.deepEqual(parsePricing({ base: "5", elasticity: "1", min: "5", max: "5", decimals: 0 }), {
      base: 5n,
      elasticity: 1n,
      min: 5n,
      max: 5n,
    });
  });

  it("throws naming the field", () => {
    const bad: [Partial<PricingConfig>, RegExp][] = [
      [{ elasticity: "0.1234567" }, /pricing\.elasticity.*7 fractional digits/],
      [{ base: "-1" }, /pricing\.base/],
      [{ base: "1e3" }, /pricing\.base/],
      [{ min: "" }, /pricing\.min/],
      [{ max: " 12" }, /pricing\.max/],
      [{ max: "12." }, /pricing\.max/],
      [{ min: ".5" }, /pricing\.min/],
      [{ base: "06" }, /pricing\.base/],
      [{ base: 6 as unknown as string }, /pricing\.base/],
      [{ min: "13" }, /pricing\.min.*above max/],
      [{ base: "2" }, /pricing\.base.*below min/],
      [{ base: "12.000001" }, /pricing\.base.*above max/],
      [{ decimals: -1 }, /pricing\.decimals/],
      [{ decimals: 1.5 }, /pricing\.decimals/],
      [{ decimals: 37 }, /pricing\.decimals/],
      [{ decimals: 0 }, /pricing\.elasticity/],
      [{ max: (MAX_PRICE_PER_KWH / 1_000_000n + 1n).toString() }, /pricing\.max.*PriceOracle/],
    ];
    for (const [override, message] of bad) {
      assert.throws(() => parsePricing({ ...DEFAULT_PRICING_CONFIG, ...override }), message, JSON.stringify(override));
    }
  });
});

describe("rawPrice", () => {
  it("reproduces the seed's numbers", () => {
    assert.equal(rawPrice(0n, PRICING), 6_000_000n);
    assert.equal(rawPrice(10_000n, PRICING), 7_500_000n); // +10 kW shortage → 7.5
    assert.equal(rawPrice(-10_000n, PRICING), 4_500_000n); // −10 kW oversupply → 4.5
    assert.equal(rawPrice(100_000n, PRICING), 12_000_000n); // clamps to max
    assert.equal(rawPrice(-100_000n, PRICING), 3_000_000n); // clamps to min
  });

  it("reaches the bounds exactly and is exact per watt", () => {
    assert.equal(rawPrice(40_000n, PRICING), 12_000_000n);
    assert.equal(rawPrice(39_999n, PRICING), 11_999_850n);
    assert.equal(rawPrice(-20_000n, PRICING), 3_000_000n);
    assert.equal(rawPrice(1n, PRICING), 6_000_150n);
  });

  it("rounds the elasticity term toward zero, symmetric around base", () => {
    const pricing = { base: 100n, elasticity: 1n, min: 0n, max: 1_000n };
    assert.equal(rawPrice(999n, pricing), 100n);
    assert.equal(rawPrice(-999n, pricing), 100n);
    assert.equal(rawPrice(1_999n, pricing), 101n);
    assert.equal(rawPrice(-1_999n, pricing), 99n);
  });
});

describe("MovingAverage", () => {
  it("averages the last N values, rounding down", () => {
    const average = new MovingAverage(3);
    assert.equal(average.value, null);
    assert.deepEqual([10n, 20n, 30n, 40n, 41n].map((v) => average.push(v)), [10n, 15n, 20n, 30n, 37n]);
    assert.equal(average.value, 37n);
    assert.equal(average.size, 3);
  });

  it("with window 1 follows the input", () => {
    const average = new MovingAverage(1);
    assert.deepEqual([5n, 9n, 2n].map((v) => average.push(v)), [5n, 9n, 2n]);
  });

  it("floors negative means", () => {
    const average = new MovingAverage(2);
    average.push(-1n);
    assert.equal(average.push(0n), -1n);
  });

  it("smooths a price step", () => {
    const average = new MovingAverage(4);
    for (const price of [6_000_000n, 6_000_000n, 6_000_000n]) average.push(price);
    assert.equal(average.push(12_000_000n), 7_500_000n);
  });

  it("refuses a window that is not a positive integer", () => {
    for (const window of [0, -1, 1.5, Number.NaN]) assert.throws(() => new MovingAverage(window), RangeError);
  });
});

describe("healthBps", () => {
  const nominal = { frequency_mHz: 50_000, voltage_mV: 230_000 };

  it("is 10000 when balanced at nominal frequency and voltage, or with nothing at all", () => {
    assert.equal(healthBps({ supplyW: 100n, demandW: 100n, ...nominal }), 10_000);
    assert.equal(healthBps({ supplyW: 0n, demandW: 0n, ...nominal }), 10_000);
  });

  it("is 0 at the worst of every score", () => {
    assert.equal(healthBps({ supplyW: 0n, demandW: 100n, frequency_mHz: 49_000, voltage_mV: 0 }), 0);
    assert.equal(healthBps({ supplyW: 5n, demandW: 0n, frequency_mHz: 50_500, voltage_mV: 253_000 }), 0);
    assert.equal(healthBps({ supplyW: 5n, demandW: 0n, frequency_mHz: 4_294_967_295, voltage_mV: 4_294_967_295 }), 0);
  });

  it("weighs balance 60 %, frequency 20 %, voltage 20 %", () => {
    assert.equal(healthBps({ supplyW: 0n, demandW: 100n, ...nominal }), 4_000);
    assert.equal(healthBps({ supplyW: 50n, demandW: 100n, ...nominal }), 7_000);
    assert.equal(healthBps({ supplyW: 1n, demandW: 1n, frequency_mHz: 49_500, voltage_mV: 230_000 }), 8_000);
    assert.equal(healthBps({ supplyW: 1n, demandW: 1n, frequency_mHz: 50_250, voltage_mV: 230_000 }), 9_000);
    assert.equal(healthBps({ supplyW: 1n, demandW: 1n, frequency_mHz: 50_000, voltage_mV: 218_500 }), 9_000);
  });

  it("a middle case, rounded down", () => {
    // 10 kW short of 110 kW, 49.9 Hz, 225 V:
    // 10000 − (6000 × 10/110 + 2000 × 100/500 + 2000 × 5000/23000) = 10000 − 1380.24 = 8619.76 → 8619
    const expected = Math.floor(10_000 - (6_000 * 10) / 110 - (2_000 * 100) / 500 - (2_000 * 5_000) / 23_000);
    assert.equal(expected, 8_619);
    assert.equal(healthBps({ supplyW: 100_000n, demandW: 110_000n, frequency_mHz: 49_900, voltage_mV: 225_000 }), 8_619);
  });

  it("stays in [0, 10000] for huge values", () => {
    const health = healthBps({ supplyW: 1n << 62n, demandW: (1n << 62n) + 1n, ...nominal });
    assert.ok(health >= 9_999 && health <= 10_000);
  });
});

describe("shouldPost", () => {
  const base = { nowSeconds: 1_000n, deviationBps: 500, heartbeatSeconds: 3_600n };

  it("posts the first value", () => {
    assert.deepEqual(shouldPost({ ...base, last: null, value: 0n }), { post: true, why: "first" });
  });

  it("posts on a deviation of at least deviationBps, either way, boundary included", () => {
    const last = { value: 1_000n, postedAt: 900n };
    assert.deepEqual(shouldPost({ ...base, last, value: 1_050n }), { post: true, why: "deviation" });
    assert.deepEqual(shouldPost({ ...base, last, value: 950n }), { post: true, why: "deviation" });
    assert.deepEqual(shouldPost({ ...base, last, value: 1_049n }), { post: false, why: "none" });
    assert.deepEqual(shouldPost({ ...base, last, value: 951n }), { post: false, why: "none" });
  });

  it("measures deviation against |last| for negative values", () => {
    const last = { value: -1_000n, postedAt: 900n };
    assert.deepEqual(shouldPost({ ...base, last, value: -1_050n }), { post: true, why: "deviation" });
    assert.deepEqual(shouldPost({ ...base, last, value: -1_049n }), { post: false, why: "none" });
  });

  it("posts any move away from zero, but not an unchanged value", () => {
    assert.deepEqual(shouldPost({ ...base, last: { value: 0n, postedAt: 900n }, value: 1n }), { post: true, why: "deviation" });
    assert.deepEqual(shouldPost({ ...base, last: { value: 0n, postedAt: 900n }, value: 0n }), { post: false, why: "none" });
    assert.deepEqual(shouldPost({ ...base, deviationBps: 0, last: { value: 7n, postedAt: 900n }, value: 7n }), {
      post: false,
      why: "none",
    });
  });

  it("posts on heartbeat, boundary included", () => {
    const last = { value: 1_000n, postedAt: 1_000n - 3_600n };
    assert.deepEqual(shouldPost({ ...base, last, value: 1_000n }), { post: true, why: "heartbeat" });
    assert.deepEqual(shouldPost({ ...base, last: { ...last, postedAt: last.postedAt + 1n }, value: 1_000n }), {
      post: false,
      why: "none",
    });
  });

  it("reports deviation when both hold", () => {
    assert.deepEqual(shouldPost({ ...base, last: { value: 1_000n, postedAt: 0n }, value: 2_000n }), {
      post: true,
      why: "deviation",
    });
  });
});
