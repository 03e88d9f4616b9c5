/**
 * functions/grid-price.js, run in-process (the same function body the DON runs, with a `Functions` stub that
 * encodes exactly as the sandbox's), against the bridge's own pricing rule: the DON and the bridge must price a
 * zone identically. Also the args/response helpers FunctionsPriceFeed and the CLI rely on.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { GRID_PRICE_SOURCE_PATH } from "../../src/adapters/chainlinkFunctions.ts";
import {
  decodeGridPriceResponse,
  GRID_PRICE_RESPONSE_BYTES,
  gridPriceArgs,
} from "../../src/domain/gridPriceFunction.ts";
import {
  DEFAULT_PRICING_CONFIG,
  parsePricing,
  rawPrice,
  type PricingConfig,
} from "../../src/domain/gridStability.ts";

const SOURCE = readFileSync(GRID_PRICE_SOURCE_PATH, "utf8");

/** `Functions.encodeUint256` of the toolkit's Deno sandbox: 32 bytes big-endian, 0 ≤ n < 2^256. */
const Functions = {
  encodeUint256(num: bigint | number): Uint8Array {
    const value = BigInt(num);
    if (value < 0n || value >= 2n ** 256n) throw new Error("encodeUint256 out of range");
    return Uint8Array.from(Buffer.from(value.toString(16).padStart(64, "0"), "hex"));
  },
};

type ScriptBody = (args: unknown, functions: typeof Functions) => Promise<Uint8Array>;
const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor as new (...params: string[]) => ScriptBody;
const script = new AsyncFunction("args", "Functions", SOURCE);

async function run(args: unknown): Promise<{ pricePerKWh: bigint; supplyW: bigint; demandW: bigint }> {
  const bytes = await script(args, Functions);
  assert.ok(bytes instanceof Uint8Array, "the script must return a Uint8Array");
  return decodeGridPriceResponse(`0x${Buffer.from(bytes).toString("hex")}`);
}

async function price(supplyW: bigint, demandW: bigint, pricing?: PricingConfig): Promise<bigint> {
  return (await run(gridPriceArgs({ zone: 1n, supplyW, demandW, pricing }))).pricePerKWh;
}

async function rejects(args: unknown, message: RegExp): Promise<void> {
  await assert.rejects(script(args, Functions), (error: unknown) => {
    assert.ok(error instanceof Error);
    assert.match(error.message, /^grid-price: /);
    assert.match(error.message, message);
    return true;
  });
}

describe("grid-price.js", () => {
  describe("seed defaults (6 + 0.15 per kW within [3, 12], 6 decimals)", () => {
    it("prices zero imbalance at base", async () => {
      assert.equal(await price(5_000_000n, 5_000_000n), 6_000_000n);
      assert.equal(await price(0n, 0n), 6_000_000n);
    });

    it("adds 0.15 per kW of shortage and subtracts it per kW of oversupply", async () => {
      assert.equal(await price(5_000_000n, 5_010_000n), 7_500_000n); // +10 kW
      assert.equal(await price(5_010_000n, 5_000_000n), 4_500_000n); // −10 kW
    });

    it("clamps to max from +40 kW and to min from −20 kW", async () => {
      assert.equal(await price(0n, 40_000n), 12_000_000n);
      assert.equal(await price(0n, 39_999n), 11_999_850n);
      assert.equal(await price(0n, 10n ** 12n), 12_000_000n);
      assert.equal(await price(20_000n, 0n), 3_000_000n);
      assert.equal(await price(19_999n, 0n), 3_000_150n);
      assert.equal(await price(2n ** 63n - 1n, 0n), 3_000_000n);
    });

    it("returns the supply and demand it priced, for the oracle observation", async () => {
      assert.deepEqual(await run(["7", "123", "456"]), { pricePerKWh: 6_049_950n, supplyW: 123n, demandW: 456n });
    });

    it("rounds the elasticity term toward zero, symmetrically around base", async () => {
      const pricing = { ...DEFAULT_PRICING_CONFIG, elasticity: "0.000001" }; // 1 base unit per kW
      assert.equal(await price(0n, 1_999n, pricing), 6_000_001n);
      assert.equal(await price(1_999n, 0n, pricing), 5_999_999n); // not floor (5_999_998)
      assert.equal(await price(0n, 999n, pricing), 6_000_000n);
      assert.equal(await price(999n, 0n, pricing), 6_000_000n);
    });
  });

  it("takes pricing overrides in token units with their own decimals", async () => {
    const pricing = { base: "0.1", elasticity: "0.002", min: "0.05", max: "0.2", decimals: 18 };
    assert.equal(await price(0n, 10_000n, pricing), 120_000_000_000_000_000n);
    assert.equal(await price(0n, 0n, { base: "6", elasticity: "0", min: "6", max: "6", decimals: 0 }), 6n);
  });

  it("prices exactly as the bridge's grid-stability engine (parsePricing + rawPrice)", async () => {
    const configs: PricingConfig[] = [
      DEFAULT_PRICING_CONFIG,
      { base: "6", elasticity: "0.15", min: "0", max: "1000", decimals: 6 },
      { base: "0.25", elasticity: "0.000333", min: "0.01", max: "0.5", decimals: 6 },
      { base: "100", elasticity: "7", min: "1", max: "250", decimals: 2 },
    ];
    let seed = 0x2545f491;
    const next = () => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return BigInt(seed >>> 0);
    };
    for (const config of configs) {
      const pricing = parsePricing(config);
      for (let i = 0; i < 200; i++) {
        const scale = [1n, 1_000n, 100_000n, 10_000_000n][i % 4];
        const supplyW = next() % scale;
        const demandW = next() % scale;
        assert.equal(
          await price(supplyW, demandW, config),
          rawPrice(demandW - supplyW, pricing),
          `supply ${supplyW} W, demand ${demandW} W, ${JSON.stringify(config)}`,
        );
      }
    }
  });

  describe("refuses bad args with an Error naming the argument", () => {
    it("wrong number of args", async () => {
      await rejects([], /got 0 argument/);
      await rejects(["1", "2"], /got 2 argument/);
      await rejects(["1", "2", "3", "6"], /got 4 argument/);
      await rejects(undefined, /got 0 argument/);
    });

    it("zone", async () => {
      await rejects(["0", "1", "1"], /zone 0 does not exist/);
      await rejects(["4294967296", "1", "1"], /zone 4294967296 exceeds 4294967295/);
      await rejects(["-1", "1", "1"], /zone "-1" is not a non-negative integer/);
    });

    it("supply and demand", async () => {
      await rejects(["1", "x", "1"], /supplyW "x" is not a non-negative integer/);
      await rejects(["1", "1.5", "1"], /supplyW "1.5"/);
      await rejects(["1", "01", "1"], /supplyW "01"/);
      await rejects(["1", " 1", "1"], /supplyW " 1"/);
      await rejects(["1", "1", "-5"], /demandW "-5"/);
      await rejects(["1", "1", "9223372036854775808"], /demandW 9223372036854775808 exceeds 9223372036854775807/);
      await rejects(["1", 5, "1"], /supplyW 5 is not/);
    });

    it("pricing", async () => {
      const args = (base: string, elasticity: string, min: string, max: string, decimals: string) => [
        "1", "0", "0", base, elasticity, min, max, decimals,
      ];
      await rejects(args("6", "0.1234567", "3", "12", "6"), /elasticity "0.1234567" has 7 fractional digits/);
      await rejects(args("six", "0.15", "3", "12", "6"), /base "six" is not a non-negative decimal/);
      await rejects(args("6", "-0.15", "3", "12", "6"), /elasticity "-0.15"/);
      await rejects(args("6", "0.15", "3", "12", "37"), /decimals 37 exceeds 36/);
      await rejects(args("6", "0.15", "13", "12", "6"), /min 13 is above max 12/);
      await rejects(args("2", "0.15", "3", "12", "6"), /base 2 is below min 3/);
      await rejects(args("13", "0.15", "3", "12", "6"), /base 13 is above max 12/);
      await rejects(args("1", "0", "0", String(2n ** 119n), "0"), /exceeds PriceOracle's limit/);
    });
  });
});

describe("gridPriceArgs", () => {
  it("passes zone, supply and demand, then pricing when given", () => {
    assert.deepEqual(gridPriceArgs({ zone: 3n, supplyW: 10n, demandW: 0n }), ["3", "10", "0"]);
    assert.deepEqual(gridPriceArgs({ zone: 3n, supplyW: 10n, demandW: 0n, pricing: DEFAULT_PRICING_CONFIG }), [
      "3", "10", "0", "6", "0.15", "3", "12", "6",
    ]);
  });
});

describe("decodeGridPriceResponse", () => {
  const word = (value: bigint) => value.toString(16).padStart(64, "0");

  it("decodes abi.encode(uint256, uint256, uint256)", () => {
    const hex = `0x${word(7_500_000n)}${word(5_000_000n)}${word(5_010_000n)}`;
    assert.deepEqual(decodeGridPriceResponse(hex), { pricePerKWh: 7_500_000n, supplyW: 5_000_000n, demandW: 5_010_000n });
  });

  it("refuses anything but exactly three words", () => {
    assert.throws(() => decodeGridPriceResponse(`0x${word(1n)}${word(2n)}`), /64 bytes, expected 96/);
    assert.throws(() => decodeGridPriceResponse(`0x${word(1n).repeat(3)}00`), /97 bytes, expected 96/);
    assert.throws(() => decodeGridPriceResponse("0x"), /0 bytes/);
    assert.throws(() => decodeGridPriceResponse("7270e0"), /not hex bytes/);
    assert.throws(() => decodeGridPriceResponse("0xabc"), /not hex bytes/);
    assert.equal(GRID_PRICE_RESPONSE_BYTES, 96);
  });
});
