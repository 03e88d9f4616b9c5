import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { MAX_SEQUENCE, meterIdFromTopic, parseReadingPayload } from "../../src/domain/payload.ts";
import { MAX_REGISTER_WH, MAX_UINT64, REJECTION_REASONS, readingTopic, type RejectionReason } from "../../src/domain/reading.ts";

const LIMITS = { maxPayloadBytes: 4096 };
const TOPIC = "gridx/v1/meters/42/reading";
const SIGNATURE = `0x${"ab".repeat(64)}1b`;
const encoder = new TextEncoder();

/** A valid payload object; tests override fields (undefined deletes one). */
function fields(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const base: Record<string, unknown> = {
    v: 1,
    meterId: 42,
    seq: 7,
    timestamp: 1_750_000_000,
    productionWh: 12_345,
    consumptionWh: "67890",
    voltage_mV: 230_100,
    frequency_mHz: 49_980,
    signature: SIGNATURE,
  };
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) delete base[key];
    else base[key] = value;
  }
  return base;
}

function json(overrides: Record<string, unknown> = {}): Uint8Array {
  return encoder.encode(JSON.stringify(fields(overrides)));
}

/** Replaces one field's JSON text verbatim (for numbers JSON.stringify cannot write, like 1e3). */
function rawField(name: string, text: string): Uint8Array {
  const marker = "__RAW__";
  return encoder.encode(JSON.stringify(fields({ [name]: marker })).replace(`"${marker}"`, text));
}

/** Every reason the cases below saw, checked against the full list at the end. */
const seen = new Set<RejectionReason>();

function expectReject(result: ReturnType<typeof parseReadingPayload>, reason: RejectionReason, field?: string): void {
  assert.equal(result.ok, false, `expected ${reason}, got ok`);
  if (result.ok) return;
  seen.add(result.reason);
  assert.equal(result.reason, reason, result.detail);
  assert.ok(REJECTION_REASONS.includes(result.reason));
  assert.ok(result.detail.length > 0);
  if (field !== undefined) assert.ok(result.detail.includes(field), `detail "${result.detail}" should name ${field}`);
}

describe("meterIdFromTopic", () => {
  it("extracts a canonical decimal meter id", () => {
    assert.equal(meterIdFromTopic("gridx/v1/meters/0/reading"), 0n);
    assert.equal(meterIdFromTopic(TOPIC), 42n);
    assert.equal(meterIdFromTopic(readingTopic(MAX_UINT64)), MAX_UINT64);
  });

  it("refuses anything else", () => {
    for (const topic of [
      "gridx/v1/meters/042/reading",
      "gridx/v1/meters/+42/reading",
      "gridx/v1/meters/-1/reading",
      "gridx/v1/meters/0x2a/reading",
      "gridx/v1/meters/4 2/reading",
      "gridx/v1/meters//reading",
      "gridx/v1/meters/+/reading",
      "gridx/v1/meters/42/reading/",
      "/gridx/v1/meters/42/reading",
      "gridx/v2/meters/42/reading",
      "gridx/v1/meters/42/status",
      "gridx/v1/meters/1/2/reading",
      `gridx/v1/meters/${MAX_UINT64 + 1n}/reading`,
      "gridx/v1/meters/１/reading",
      "",
    ]) {
      assert.equal(meterIdFromTopic(topic), null, topic);
    }
  });
});

describe("parseReadingPayload: accepted", () => {
  it("parses numbers and decimal strings into a SignedReading", () => {
    const result = parseReadingPayload(TOPIC, json(), LIMITS);
    assert.deepEqual(result, {
      ok: true,
      value: {
        meterId: 42n,
        seq: 7n,
        timestamp: 1_750_000_000n,
        productionWh: 12_345n,
        consumptionWh: 67_890n,
        voltage_mV: 230_100,
        frequency_mHz: 49_980,
        signature: SIGNATURE,
      },
    });
  });

  it("takes decimal strings above 2^53 exactly", () => {
    const meterId = 9_007_199_254_740_993n; // 2^53 + 1: a JSON number would round it
    const result = parseReadingPayload(
      readingTopic(meterId),
      json({ meterId: meterId.toString(), timestamp: MAX_UINT64.toString(), productionWh: MAX_REGISTER_WH.toString() }),
      LIMITS,
    );
    assert.ok(result.ok);
    assert.equal(result.value.meterId, meterId);
    assert.equal(result.value.timestamp, MAX_UINT64);
    assert.equal(result.value.productionWh, MAX_REGISTER_WH);
  });

  it("accepts the boundaries: zero registers, 2^53 − 1 as a number, max seq, max uint32", () => {
    const result = parseReadingPayload(
      TOPIC,
      json({
        productionWh: 0,
        consumptionWh: "0",
        timestamp: Number.MAX_SAFE_INTEGER,
        seq: MAX_SEQUENCE.toString(),
        voltage_mV: 4_294_967_295,
        frequency_mHz: 0,
      }),
      LIMITS,
    );
    assert.ok(result.ok);
    assert.equal(result.value.productionWh, 0n);
    assert.equal(result.value.timestamp, BigInt(Number.MAX_SAFE_INTEGER));
    assert.equal(result.value.seq, MAX_SEQUENCE);
    assert.equal(result.value.voltage_mV, 4_294_967_295);
  });

  it("lower-cases the signature, keeps the last of duplicate keys, accepts whitespace and any key order", () => {
    const upper = `0x${"AB".repeat(64)}1C`;
    const text = ` {"signature":"${upper}","seq":1,"seq":9,"v":1,"meterId":42,"timestamp":5,"productionWh":1,` +
      `"consumptionWh":2,"voltage_mV":3,"frequency_mHz":4}\n`;
    const result = parseReadingPayload(TOPIC, encoder.encode(text), LIMITS);
    assert.ok(result.ok);
    assert.equal(result.value.seq, 9n);
    assert.equal(result.value.signature, upper.toLowerCase());
  });

  it("accepts a payload of exactly the size limit and a leading UTF-8 BOM", () => {
    const payload = json();
    assert.ok(parseReadingPayload(TOPIC, payload, { maxPayloadBytes: payload.byteLength }).ok);
    const withBom = new Uint8Array([0xef, 0xbb, 0xbf, ...payload]);
    assert.ok(parseReadingPayload(TOPIC, withBom, LIMITS).ok);
  });

  it("accepts a Buffer (what MQTT clients deliver)", () => {
    assert.ok(parseReadingPayload(TOPIC, Buffer.from(json()), LIMITS).ok);
  });
});

describe("parseReadingPayload: every rejection reason", () => {
  it("bad_topic", () => {
    expectReject(parseReadingPayload("gridx/v1/meters/042/reading", json(), LIMITS), "bad_topic", "topic");
    expectReject(parseReadingPayload("gridx/v1/meters/42", json(), LIMITS), "bad_topic");
  });

  it("payload_too_large, before anything is decoded", () => {
    expectReject(parseReadingPayload(TOPIC, json(), { maxPayloadBytes: 10 }), "payload_too_large", "payload");
    const huge = new Uint8Array(10_000_000).fill(0xff); // not even UTF-8: the size check comes first
    expectReject(parseReadingPayload(TOPIC, huge, LIMITS), "payload_too_large");
  });

  it("invalid_utf8", () => {
    expectReject(parseReadingPayload(TOPIC, new Uint8Array([0x7b, 0xc3, 0x28, 0x7d]), LIMITS), "invalid_utf8");
    expectReject(parseReadingPayload(TOPIC, new Uint8Array([0xed, 0xa0, 0x80]), LIMITS), "invalid_utf8"); // lone surrogate
  });

  it("malformed_json", () => {
    for (const text of ["", "{", "{'v':1}", '{"v":1,}', "NaN", "undefined", '{"v":01}', "[".repeat(3000)]) {
      expectReject(parseReadingPayload(TOPIC, encoder.encode(text), { maxPayloadBytes: 1 << 20 }), "malformed_json");
    }
  });

  it("survives absurd nesting within the size limit", () => {
    const deep = `${"[".repeat(200_000)}${"]".repeat(200_000)}`;
    const result = parseReadingPayload(TOPIC, encoder.encode(deep), { maxPayloadBytes: 1 << 20 });
    assert.equal(result.ok, false);
    if (!result.ok) assert.ok(result.reason === "not_an_object" || result.reason === "malformed_json");
  });

  it("not_an_object", () => {
    for (const text of ["[]", "[1,2]", "null", "1", "1e3", '"reading"', "true"]) {
      expectReject(parseReadingPayload(TOPIC, encoder.encode(text), LIMITS), "not_an_object", "payload");
    }
  });

  it("unsupported_version", () => {
    for (const v of [2, 0, "1", "v1", null, [1], { v: 1 }]) {
      expectReject(parseReadingPayload(TOPIC, json({ v }), LIMITS), "unsupported_version", "v");
    }
    expectReject(parseReadingPayload(TOPIC, rawField("v", "1.0"), LIMITS), "unsupported_version", "v");
    expectReject(parseReadingPayload(TOPIC, rawField("v", "1e0"), LIMITS), "unsupported_version", "v");
  });

  it("missing_field, naming it", () => {
    for (const name of ["v", "meterId", "seq", "timestamp", "productionWh", "consumptionWh", "voltage_mV", "frequency_mHz", "signature"]) {
      expectReject(parseReadingPayload(TOPIC, json({ [name]: undefined }), LIMITS), "missing_field", name);
    }
    expectReject(parseReadingPayload(TOPIC, encoder.encode("{}"), LIMITS), "missing_field", "v");
  });

  it("unknown_field, including __proto__ and prototype names, without polluting anything", () => {
    expectReject(parseReadingPayload(TOPIC, json({ extra: 1 }), LIMITS), "unknown_field", "extra");
    expectReject(parseReadingPayload(TOPIC, json({ toString: "x" }), LIMITS), "unknown_field", "toString");
    expectReject(parseReadingPayload(TOPIC, json({ constructor: {} }), LIMITS), "unknown_field", "constructor");
    const proto = encoder.encode(JSON.stringify(fields()).replace("{", '{"__proto__":{"polluted":true},'));
    expectReject(parseReadingPayload(TOPIC, proto, LIMITS), "unknown_field", "__proto__");
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(Object.prototype.hasOwnProperty.call(Object.prototype, "polluted"), false);
  });

  it("a __proto__ key cannot supply a missing field through the prototype chain", () => {
    const text = JSON.stringify(fields({ seq: undefined })).replace("{", '{"__proto__":{"seq":5},');
    expectReject(parseReadingPayload(TOPIC, encoder.encode(text), LIMITS), "unknown_field", "__proto__");
  });

  it("invalid_integer for every non-canonical integer, naming the field", () => {
    const strings = ["", " 1", "1 ", "+1", "-1", "01", "00", "1.0", "1.5", "1e3", "0x10", "NaN", "Infinity", "１", "1_000", "1n"];
    for (const value of strings) {
      expectReject(parseReadingPayload(TOPIC, json({ productionWh: value }), LIMITS), "invalid_integer", "productionWh");
    }
    for (const value of [null, true, [], [1], { n: 1 }]) {
      expectReject(parseReadingPayload(TOPIC, json({ timestamp: value }), LIMITS), "invalid_integer", "timestamp");
    }
    for (const text of ["1e3", "1E3", "1.0", "1.5", "-1", "-0", "0.0", "10e-1"]) {
      expectReject(parseReadingPayload(TOPIC, rawField("consumptionWh", text), LIMITS), "invalid_integer", "consumptionWh");
    }
  });

  it("invalid_integer for a JSON number above 2^53 − 1 (precision already lost), asking for a string", () => {
    const result = parseReadingPayload(TOPIC, rawField("timestamp", "9007199254740993"), LIMITS);
    expectReject(result, "invalid_integer", "timestamp");
    if (!result.ok) assert.match(result.detail, /decimal string/);
  });

  it("invalid_integer for voltage and frequency given as strings or fractions", () => {
    expectReject(parseReadingPayload(TOPIC, json({ voltage_mV: "230000" }), LIMITS), "invalid_integer", "voltage_mV");
    expectReject(parseReadingPayload(TOPIC, rawField("frequency_mHz", "49999.5"), LIMITS), "invalid_integer", "frequency_mHz");
    expectReject(parseReadingPayload(TOPIC, rawField("frequency_mHz", "5e4"), LIMITS), "invalid_integer", "frequency_mHz");
  });

  it("out_of_range for uint64, registers, seq and uint32", () => {
    const cases: [string, unknown][] = [
      ["meterId", (MAX_UINT64 + 1n).toString()],
      ["meterId", "9".repeat(500)],
      ["timestamp", (MAX_UINT64 + 1n).toString()],
      ["productionWh", (MAX_REGISTER_WH + 1n).toString()],
      ["consumptionWh", (MAX_REGISTER_WH + 1n).toString()],
      ["seq", (MAX_SEQUENCE + 1n).toString()],
      ["voltage_mV", 4_294_967_296],
    ];
    for (const [name, value] of cases) {
      expectReject(parseReadingPayload(TOPIC, json({ [name]: value }), LIMITS), "out_of_range", name);
    }
    expectReject(parseReadingPayload(TOPIC, rawField("frequency_mHz", "1" + "0".repeat(30)), LIMITS), "out_of_range", "frequency_mHz");
    expectReject(parseReadingPayload(TOPIC, rawField("productionWh", "99999999999999999999999"), LIMITS), "out_of_range", "productionWh");
  });

  it("zero_sequence", () => {
    expectReject(parseReadingPayload(TOPIC, json({ seq: 0 }), LIMITS), "zero_sequence", "seq");
    expectReject(parseReadingPayload(TOPIC, json({ seq: "0" }), LIMITS), "zero_sequence", "seq");
  });

  it("topic_meter_mismatch", () => {
    expectReject(parseReadingPayload("gridx/v1/meters/43/reading", json(), LIMITS), "topic_meter_mismatch", "meterId");
    expectReject(parseReadingPayload(TOPIC, json({ meterId: "420" }), LIMITS), "topic_meter_mismatch", "meterId");
  });

  it("malformed_signature", () => {
    for (const signature of [
      "",
      "0x",
      SIGNATURE.slice(0, -2), // 64 bytes (EIP-2098 compact): SmartMeter wants 65
      `${SIGNATURE}00`,
      SIGNATURE.slice(2),
      `0X${SIGNATURE.slice(2)}`,
      `0x${"zz".repeat(65)}`,
      ` ${SIGNATURE}`,
      12,
      null,
      [SIGNATURE],
    ]) {
      expectReject(parseReadingPayload(TOPIC, json({ signature }), LIMITS), "malformed_signature", "signature");
    }
  });


  it("never throws on random bytes or random JSON", () => {
    let state = 12345;
    const next = (): number => (state = (state * 1103515245 + 12345) & 0x7fffffff);
    const atoms = ["1", "-1", "1e3", '"7"', "null", "[]", "{}", '"0x"', "1.5", '"__proto__"', "true", '"9999999999999999999999"'];
    for (let i = 0; i < 2000; i += 1) {
      const bytes = new Uint8Array(next() % 64).map(() => next() & 0xff);
      const fromBytes = parseReadingPayload(TOPIC, bytes, LIMITS);
      assert.equal(typeof fromBytes.ok, "boolean");
      const keys = ["v", "meterId", "seq", "timestamp", "productionWh", "consumptionWh", "voltage_mV", "frequency_mHz", "signature", "__proto__"];
      const body = keys
        .filter(() => next() % 5 !== 0)
        .map((key) => `"${key}":${atoms[next() % atoms.length]}`)
        .join(",");
      const result = parseReadingPayload(TOPIC, encoder.encode(`{${body}}`), LIMITS);
      if (!result.ok) assert.ok(REJECTION_REASONS.includes(result.reason));
    }
  });

  it("the cases above produced every reason parse can produce (the later pipeline stages own the rest)", () => {
    const producible: RejectionReason[] = [
      "bad_topic", "payload_too_large", "invalid_utf8", "malformed_json", "not_an_object", "unsupported_version",
      "missing_field", "unknown_field", "invalid_integer", "out_of_range", "zero_sequence", "topic_meter_mismatch",
      "malformed_signature",
    ];
    assert.deepEqual([...seen].sort(), [...producible].sort());
    for (const reason of producible) assert.ok(REJECTION_REASONS.includes(reason), reason);
  });
});
