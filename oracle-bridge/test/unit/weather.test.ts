import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseWeatherPayload, weatherTopic, type WeatherObservation } from "../../src/domain/weather.ts";

const VALID = {
  v: 1,
  zone: 7,
  observedAt: 1_750_000_000,
  irradiance_Wm2: 850,
  temperature_cC: 2_150,
  cloudCoverBps: 2_500,
  condition: 1,
};

const encode = (value: unknown): Uint8Array => new TextEncoder().encode(typeof value === "string" ? value : JSON.stringify(value));

function parse(body: unknown, topic = weatherTopic(7), maxBytes?: number): WeatherObservation | Error {
  return parseWeatherPayload(topic, encode(body), maxBytes);
}

/** Asserts the result is an Error whose message matches `pattern`. */
function assertError(result: WeatherObservation | Error, pattern: RegExp): void {
  assert.ok(result instanceof Error, `expected an Error, got ${JSON.stringify(result, (_, v) => (typeof v === "bigint" ? `${v}n` : v))}`);
  assert.match(result.message, pattern);
}

describe("parseWeatherPayload accepts", () => {
  it("a valid observation", () => {
    assert.deepEqual(parse(VALID), {
      zone: 7,
      observedAt: 1_750_000_000n,
      irradiance_Wm2: 850,
      temperature_cC: 2_150,
      cloudCoverBps: 2_500,
      condition: 1,
    });
  });

  it("every field at both ends of its range", () => {
    const low = { ...VALID, zone: 1, observedAt: 1, irradiance_Wm2: 0, temperature_cC: -27_315, cloudCoverBps: 0, condition: 0 };
    assert.deepEqual(parse(low, weatherTopic(1)), {
      zone: 1,
      observedAt: 1n,
      irradiance_Wm2: 0,
      temperature_cC: -27_315,
      cloudCoverBps: 0,
      condition: 0,
    });
    const high = {
      ...VALID,
      zone: 2 ** 32 - 1,
      observedAt: Number.MAX_SAFE_INTEGER,
      irradiance_Wm2: 2 ** 32 - 1,
      temperature_cC: 2 ** 31 - 1,
      cloudCoverBps: 10_000,
      condition: 6,
    };
    assert.deepEqual(parse(high, weatherTopic(2 ** 32 - 1)), {
      zone: 2 ** 32 - 1,
      observedAt: BigInt(Number.MAX_SAFE_INTEGER),
      irradiance_Wm2: 2 ** 32 - 1,
      temperature_cC: 2 ** 31 - 1,
      cloudCoverBps: 10_000,
      condition: 6,
    });
  });

  it("fields in any order, whitespace, and a payload exactly at the size limit", () => {
    const text = JSON.stringify(Object.fromEntries(Object.entries(VALID).reverse()), null, 2);
    assert.ok(!(parse(text) instanceof Error));
    const bytes = encode(text).byteLength;
    assert.ok(!(parse(text, weatherTopic(7), bytes) instanceof Error));
    assertError(parse(text, weatherTopic(7), bytes - 1), new RegExp(`payload of ${bytes} bytes exceeds ${bytes - 1}`));
  });

  it("integers written as 1.0 / 1e3 in JSON (they are the same numbers)", () => {
    assert.deepEqual(parse(`{"v":1,"zone":7,"observedAt":1e9,"irradiance_Wm2":850.0,"temperature_cC":0,"cloudCoverBps":0,"condition":0}`), {
      zone: 7,
      observedAt: 1_000_000_000n,
      irradiance_Wm2: 850,
      temperature_cC: 0,
      cloudCoverBps: 0,
      condition: 0,
    });
  });
});

describe("parseWeatherPayload refuses, saying why", () => {
  it("a bad topic", () => {
    for (const topic of [
      "gridx/v1/zones//weather",
      "gridx/v1/zones/0/weather",
      "gridx/v1/zones/07/weather",
      "gridx/v1/zones/-7/weather",
      "gridx/v1/zones/7/reading",
      "gridx/v2/zones/7/weather",
      "gridx/v1/zones/7/weather/extra",
      "/gridx/v1/zones/7/weather",
      "gridx/v1/zones/+/weather",
      "gridx/v1/zones/12345678901/weather",
    ]) {
      assertError(parse(VALID, topic), /is not gridx\/v1\/zones\/<zone>\/weather/);
    }
  });

  it("a topic whose zone is not the payload's", () => {
    assertError(parse(VALID, weatherTopic(8)), /zone 7 does not match the topic's zone 8/);
    assertError(parse({ ...VALID, zone: 70 }, weatherTopic(7)), /zone 70 does not match the topic's zone 7/);
  });

  it("a zone in the topic beyond uint32 (the payload can never match it)", () => {
    assertError(parse({ ...VALID, zone: 2 ** 32 }, "gridx/v1/zones/4294967296/weather"), /zone must be an integer in \[1, 4294967295\]/);
  });

  it("an oversized payload (default limit 1024 bytes, and a custom one)", () => {
    const big = new Uint8Array(1025).fill(0x20);
    assertError(parseWeatherPayload(weatherTopic(7), big), /payload of 1025 bytes exceeds 1024/);
    assertError(parse(VALID, weatherTopic(7), 10), /exceeds 10/);
  });

  it("bytes that are not UTF-8", () => {
    const json = encode(VALID);
    const bad = new Uint8Array([...json.slice(0, 5), 0xff, 0xfe, ...json.slice(5)]);
    assertError(parseWeatherPayload(weatherTopic(7), bad), /encoded data was not valid|invalid|utf-8/i);
    assertError(parseWeatherPayload(weatherTopic(7), new Uint8Array([0x7b, 0xc3, 0x28, 0x7d])), /encoded data was not valid|invalid|utf-8/i);
  });

  it("text that is not JSON", () => {
    for (const text of ["", "{", "v=1", "{'v':1}", "{\"v\":1,}", "NaN"]) {
      assertError(parse(text), /JSON|Unexpected|Expected/);
    }
  });

  it("JSON that is not an object", () => {
    for (const text of ["[]", JSON.stringify([VALID]), "null", "1", '"text"', "true"]) {
      assertError(parse(text), /payload is not a JSON object/);
    }
  });

  it("an unknown field (also one that only differs in case, and __proto__)", () => {
    assertError(parse({ ...VALID, humidity: 50 }), /unknown field humidity/);
    assertError(parse({ ...VALID, Zone: 7 }), /unknown field Zone/);
    assertError(parse(`{"v":1,"zone":7,"observedAt":1,"irradiance_Wm2":0,"temperature_cC":0,"cloudCoverBps":0,"condition":0,"__proto__":{}}`), /unknown field __proto__/);
  });

  it("a wrong or missing version", () => {
    for (const v of [0, 2, "1", 1.5, null, true]) {
      assertError(parse({ ...VALID, v }), /unsupported version/);
    }
    const { v: _v, ...withoutVersion } = VALID;
    assertError(parse(withoutVersion), /unsupported version undefined/);
  });

  it("a missing field", () => {
    for (const field of ["zone", "observedAt", "irradiance_Wm2", "temperature_cC", "cloudCoverBps", "condition"] as const) {
      const body: Record<string, unknown> = { ...VALID };
      delete body[field];
      assertError(parse(body), new RegExp(`^${field} must be an integer in .*, got undefined$`));
    }
  });

  const outOfRange: Array<[string, unknown, RegExp]> = [
    ["zone", 0, /zone must be an integer in \[1, 4294967295\], got 0/],
    ["observedAt", 0, /observedAt must be an integer in \[1, 9007199254740991\], got 0/],
    ["observedAt", Number.MAX_SAFE_INTEGER + 1, /observedAt must be an integer/],
    ["observedAt", -1, /observedAt must be an integer/],
    ["irradiance_Wm2", -1, /irradiance_Wm2 must be an integer in \[0, 4294967295\], got -1/],
    ["irradiance_Wm2", 2 ** 32, /irradiance_Wm2 must be an integer in \[0, 4294967295\], got 4294967296/],
    ["temperature_cC", -27_316, /temperature_cC must be an integer in \[-27315, 2147483647\], got -27316/],
    ["temperature_cC", 2 ** 31, /temperature_cC must be an integer in \[-27315, 2147483647\], got 2147483648/],
    ["cloudCoverBps", -1, /cloudCoverBps must be an integer in \[0, 10000\], got -1/],
    ["cloudCoverBps", 10_001, /cloudCoverBps must be an integer in \[0, 10000\], got 10001/],
    ["condition", -1, /condition must be an integer in \[0, 6\], got -1/],
    ["condition", 7, /condition must be an integer in \[0, 6\], got 7/],
  ];
  for (const [field, value, pattern] of outOfRange) {
    it(`${field} = ${String(value)} (out of range)`, () => {
      assertError(parse({ ...VALID, [field]: value }), pattern);
    });
  }

  it("non-integer values of every field", () => {
    for (const field of ["observedAt", "irradiance_Wm2", "temperature_cC", "cloudCoverBps", "condition"] as const) {
      for (const value of [1.5, "1", null, true, [1], { n: 1 }]) {
        assertError(parse({ ...VALID, [field]: value }), new RegExp(`^${field} must be an integer in `));
      }
    }
    assertError(parse({ ...VALID, zone: 7.5 }), /^zone must be an integer/);
    assertError(parse({ ...VALID, zone: "7" }), /^zone must be an integer/);
  });

  it("never throws: Infinity-like values from huge exponents are refused", () => {
    assertError(parse(`{"v":1,"zone":7,"observedAt":1e400,"irradiance_Wm2":0,"temperature_cC":0,"cloudCoverBps":0,"condition":0}`), /observedAt must be an integer/);
  });
});
