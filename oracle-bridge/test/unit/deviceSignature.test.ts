import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  concat,
  encodeAbiParameters,
  hashTypedData,
  keccak256,
  recoverTypedDataAddress,
  stringToHex,
  toHex,
  type Address,
  type Hex,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { checkTimestamp, MAX_LOW_S, recoverReadingSigner, signReading } from "../../src/domain/deviceSignature.ts";
import { READING_TYPES, readingDomain, type Reading, type SignedReading } from "../../src/domain/reading.ts";

const DEVICE = privateKeyToAccount("0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d");
const OTHER = privateKeyToAccount("0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a");
const SMART_METER: Address = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const CHAIN_ID = 31337;
const DOMAIN = readingDomain(CHAIN_ID, SMART_METER);
const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

const READING: Reading = {
  meterId: 42n,
  seq: 7n,
  timestamp: 1_750_000_000n,
  productionWh: 12_345n,
  consumptionWh: 67_890n,
  voltage_mV: 230_100,
  frequency_mHz: 49_980,
};

async function signed(reading: Reading = READING): Promise<SignedReading> {
  return { ...reading, signature: await signReading(DEVICE, DOMAIN, reading) };
}

/** Rebuilds a 65-byte signature from its parts. */
function pack(r: bigint, s: bigint, v: number): Hex {
  return concat([toHex(r, { size: 32 }), toHex(s, { size: 32 }), toHex(v, { size: 1 })]);
}

function parts(signature: Hex): { r: bigint; s: bigint; v: number } {
  return {
    r: BigInt(`0x${signature.slice(2, 66)}`),
    s: BigInt(`0x${signature.slice(66, 130)}`),
    v: Number.parseInt(signature.slice(130), 16),
  };
}

/** The type string as written in contracts/SmartMeter.sol (adjacent string literals joined). */
function contractTypeString(): string {
  const source = readFileSync(join(import.meta.dirname, "../../../contracts/SmartMeter.sol"), "utf8");
  const match = /READING_TYPEHASH\s*=\s*keccak256\(\s*((?:"[^"]*"\s*)+)\)/.exec(source);
  assert.ok(match, "READING_TYPEHASH not found in SmartMeter.sol");
  return [...(match[1] ?? "").matchAll(/"([^"]*)"/g)].map((m) => m[1]).join("");
}

describe("signReading / recoverReadingSigner", () => {
  it("round-trips: recovers the device address", async () => {
    const reading = await signed();
    assert.match(reading.signature, /^0x[0-9a-f]{130}$/);
    assert.equal(await recoverReadingSigner(DOMAIN, reading), DEVICE.address);
  });

  it("signs deterministically (RFC 6979), low s, v ∈ {27, 28}", async () => {
    const a = await signed();
    const b = await signed();
    assert.equal(a.signature, b.signature);
    const { s, v } = parts(a.signature);
    assert.ok(s <= MAX_LOW_S);
    assert.ok(v === 27 || v === 28);
  });

  it("ignores an extra signature field of a SignedReading when signing", async () => {
    const reading = await signed();
    assert.equal(await signReading(DEVICE, DOMAIN, reading), reading.signature);
  });

  it("another key recovers to another address", async () => {
    const forged: SignedReading = { ...READING, signature: await signReading(OTHER, DOMAIN, READING) };
    const recovered = await recoverReadingSigner(DOMAIN, forged);
    assert.equal(recovered, OTHER.address);
    assert.notEqual(recovered, DEVICE.address);
  });

  it("every tampered field changes the recovered signer", async () => {
    const reading = await signed();
    const tampered: SignedReading[] = [
      { ...reading, meterId: 43n },
      { ...reading, seq: 8n },
      { ...reading, timestamp: reading.timestamp + 1n },
      { ...reading, productionWh: reading.productionWh + 1000n },
      { ...reading, consumptionWh: 0n },
      { ...reading, voltage_mV: 230_101 },
      { ...reading, frequency_mHz: 50_000 },
    ];
    for (const copy of tampered) {
      assert.notEqual(await recoverReadingSigner(DOMAIN, copy), DEVICE.address);
    }
  });

  it("a signature for another chain or another SmartMeter recovers to someone else", async () => {
    const reading = await signed();
    const otherChain = readingDomain(1, SMART_METER);
    const otherContract = readingDomain(CHAIN_ID, "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512");
    for (const domain of [otherChain, otherContract, { ...DOMAIN, name: "GridX SmartMeter v2" }, { ...DOMAIN, version: "2" }]) {
      const recovered = await recoverReadingSigner(domain, reading);
      assert.notEqual(recovered, null);
      assert.notEqual(recovered, DEVICE.address);
    }
    // And signing in the other domain gives a signature that fails in this one.
    const elsewhere: SignedReading = { ...READING, signature: await signReading(DEVICE, otherChain, READING) };
    assert.notEqual(await recoverReadingSigner(DOMAIN, elsewhere), DEVICE.address);
  });

  it("refuses the high-s twin, which plain ECDSA (and viem) would accept", async () => {
    const reading = await signed();
    const { r, s, v } = parts(reading.signature);
    const malleated = pack(r, N - s, v === 27 ? 28 : 27);
    // The twin is a mathematically valid signature of the same key...
    const viaViem = await recoverTypedDataAddress({
      domain: DOMAIN,
      types: READING_TYPES,
      primaryType: "Reading",
      message: READING,
      signature: malleated,
    });
    assert.equal(viaViem, DEVICE.address);
    // ...but OpenZeppelin's ECDSA, hence SmartMeter, rejects it: so do we.
    assert.equal(await recoverReadingSigner(DOMAIN, { ...reading, signature: malleated }), null);
  });

  it("refuses v ∈ {0, 1} and any v other than 27/28", async () => {
    const reading = await signed();
    const { r, s, v } = parts(reading.signature);
    for (const other of [v - 27, 0, 1, 29, 255]) {
      assert.equal(await recoverReadingSigner(DOMAIN, { ...reading, signature: pack(r, s, other) }), null, `v=${other}`);
    }
  });

  it("returns null, never throws, for malformed or unrecoverable signatures", async () => {
    const reading = await signed();
    const { r, s, v } = parts(reading.signature);
    const bad: string[] = [
      "0x",
      "0x1234",
      reading.signature.slice(0, 130), // 64 bytes
      `${reading.signature}00`,
      `0x${"zz".repeat(65)}`,
      pack(0n, s, v), // r = 0
      pack(r, 0n, v), // s = 0
      pack(N, s, v), // r = n
      pack(N + 5n, s, v),
      pack(r, MAX_LOW_S + 1n, v), // just above the low-s bound
      pack(5n, 7n, 27), // r not an x coordinate of the curve: nothing to recover
      `0x${"00".repeat(65)}`,
      `0x${"ff".repeat(65)}`,
    ];
    for (const signature of bad) {
      assert.equal(await recoverReadingSigner(DOMAIN, { ...READING, signature: signature as Hex }), null, signature);
    }
    assert.equal(await recoverReadingSigner(DOMAIN, { ...READING, signature: undefined as unknown as Hex }), null);
  });

  it("returns null for a reading whose fields do not fit their EIP-712 types", async () => {
    const reading = await signed();
    assert.equal(await recoverReadingSigner(DOMAIN, { ...reading, meterId: 1n << 64n }), null);
    assert.equal(await recoverReadingSigner(DOMAIN, { ...reading, voltage_mV: -1 }), null);
  });

  it("the low-s bound is OpenZeppelin's n/2 and inclusive: s = n/2 reaches recovery, n/2 + 1 does not", async () => {
    assert.equal(MAX_LOW_S, 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0n);
    const { r } = parts((await signed()).signature);
    // Any s recovers some key from a valid r: a non-null result shows the shape check let it through.
    const atBound = await recoverReadingSigner(DOMAIN, { ...READING, signature: pack(r, MAX_LOW_S, 27) });
    assert.match(String(atBound), /^0x[0-9a-fA-F]{40}$/);
    assert.notEqual(atBound, DEVICE.address);
    assert.equal(await recoverReadingSigner(DOMAIN, { ...READING, signature: pack(r, MAX_LOW_S + 1n, 27) }), null);
  });
});

describe("digest cross-check with SmartMeter._readingDigest", () => {
  it("READING_TYPES spells SmartMeter's READING_TYPEHASH type string", () => {
    const fields = READING_TYPES.Reading.map(({ type, name }) => `${type} ${name}`).join(",");
    const ours = `Reading(${fields})`;
    const theirs = contractTypeString();
    assert.equal(ours, theirs);
    assert.equal(
      keccak256(stringToHex(ours)),
      keccak256(stringToHex("Reading(uint64 meterId,uint64 seq,uint64 timestamp,uint64 productionWh,uint64 consumptionWh,uint32 voltage_mV,uint32 frequency_mHz)")),
    );
  });

  it("hashTypedData equals keccak256(0x1901 ‖ domainSeparator ‖ keccak256(abi.encode(TYPEHASH, fields…)))", () => {
    const typehash = keccak256(stringToHex(contractTypeString()));
    const domainTypehash = keccak256(
      stringToHex("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
    );
    const domainSeparator = keccak256(
      encodeAbiParameters(
        [{ type: "bytes32" }, { type: "bytes32" }, { type: "bytes32" }, { type: "uint256" }, { type: "address" }],
        [domainTypehash, keccak256(stringToHex("GridX SmartMeter")), keccak256(stringToHex("1")), BigInt(CHAIN_ID), SMART_METER],
      ),
    );
    const reading: Reading = { ...READING, meterId: (1n << 64n) - 1n, consumptionWh: (1n << 48n) - 1n, voltage_mV: 2 ** 32 - 1 };
    const structHash = keccak256(
      encodeAbiParameters(
        [
          { type: "bytes32" },
          { type: "uint64" },
          { type: "uint64" },
          { type: "uint64" },
          { type: "uint64" },
          { type: "uint64" },
          { type: "uint32" },
          { type: "uint32" },
        ],
        [
          typehash,
          reading.meterId,
          reading.seq,
          reading.timestamp,
          reading.productionWh,
          reading.consumptionWh,
          reading.voltage_mV,
          reading.frequency_mHz,
        ],
      ),
    );
    const expected = keccak256(concat(["0x1901", domainSeparator, structHash]));
    const actual = hashTypedData({ domain: DOMAIN, types: READING_TYPES, primaryType: "Reading", message: reading });
    assert.equal(actual, expected);
  });
});

describe("checkTimestamp", () => {
  const limits = { maxFutureSkewSeconds: 30n, maxAgeSeconds: 3600n };
  const now = 1_750_000_000n;

  it("accepts now, and both bounds inclusive", () => {
    for (const timestamp of [now, now + 30n, now - 3600n]) {
      const result = checkTimestamp({ ...READING, timestamp }, now, limits);
      assert.deepEqual(result, { ok: true, value: { ...READING, timestamp } });
    }
  });

  it("future_timestamp one second past the skew", () => {
    const result = checkTimestamp({ ...READING, timestamp: now + 31n }, now, limits);
    assert.equal(result.ok, false);
    if (!result.ok) {
      assert.equal(result.reason, "future_timestamp");
      assert.match(result.detail, /timestamp/);
    }
  });

  it("stale_timestamp one second past the maximum age, including a zero timestamp", () => {
    for (const timestamp of [now - 3601n, 0n]) {
      const result = checkTimestamp({ ...READING, timestamp }, now, limits);
      assert.equal(result.ok, false);
      if (!result.ok) {
        assert.equal(result.reason, "stale_timestamp");
        assert.match(result.detail, /timestamp/);
      }
    }
  });

  it("takes numbers too (config values, Date.now() / 1000 rounded down)", () => {
    const numbers = { maxFutureSkewSeconds: 30, maxAgeSeconds: 3600 };
    const nowMs = Number(now) * 1000 + 999;
    assert.equal(checkTimestamp({ ...READING, timestamp: now + 30n }, nowMs / 1000, numbers).ok, true);
    const ahead = checkTimestamp({ ...READING, timestamp: now + 31n }, nowMs / 1000, numbers);
    assert.equal(ahead.ok ? "ok" : ahead.reason, "future_timestamp");
    const old = checkTimestamp({ ...READING, timestamp: now - 3601n }, Number(now), numbers);
    assert.equal(old.ok ? "ok" : old.reason, "stale_timestamp");
    assert.throws(() => checkTimestamp(READING, Number.NaN, numbers), RangeError);
  });

  it("keeps the signature of a SignedReading it passes through", async () => {
    const reading = await signed({ ...READING, timestamp: now });
    const result = checkTimestamp(reading, now, limits);
    assert.ok(result.ok);
    assert.equal(result.value.signature, reading.signature);
  });
});
