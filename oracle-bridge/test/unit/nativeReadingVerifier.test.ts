import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { hashTypedData, recoverTypedDataAddress, toHex, type Address, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import {
  NativeReadingVerifier,
  readingDigest,
  smartMeterDomainSeparator,
} from "../../src/adapters/nativeReadingVerifier.ts";
import { READING_TYPES, readingDomain, type Reading, type SignedReading } from "../../src/domain/reading.ts";

const SMART_METER: Address = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const OTHER_METER: Address = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512";
const CHAIN_ID = 31337;
const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const MAX_UINT64 = (1n << 64n) - 1n;
const MAX_UINT32 = 2 ** 32 - 1;

function randomUint(bits: number): bigint {
  const bytes = randomBytes(bits / 8);
  return BigInt(`0x${bytes.toString("hex")}`);
}

/** A random reading; one field in four is pinned to 0 or the maximum of its type. */
function randomReading(): Reading {
  const u64 = (): bigint => {
    const pick = Math.random();
    if (pick < 0.125) return 0n;
    if (pick < 0.25) return MAX_UINT64;
    return randomUint(64) >> BigInt(Math.floor(Math.random() * 60));
  };
  const u32 = (): number => {
    const pick = Math.random();
    if (pick < 0.125) return 0;
    if (pick < 0.25) return MAX_UINT32;
    return Number(randomUint(32));
  };
  return {
    meterId: u64(),
    seq: u64(),
    timestamp: u64(),
    productionWh: u64(),
    consumptionWh: u64(),
    voltage_mV: u32(),
    frequency_mHz: u32(),
  };
}

const MAX_READING: Reading = {
  meterId: MAX_UINT64,
  seq: MAX_UINT64,
  timestamp: MAX_UINT64,
  productionWh: MAX_UINT64,
  consumptionWh: MAX_UINT64,
  voltage_mV: MAX_UINT32,
  frequency_mHz: MAX_UINT32,
};
const ZERO_READING: Reading = {
  meterId: 0n,
  seq: 0n,
  timestamp: 0n,
  productionWh: 0n,
  consumptionWh: 0n,
  voltage_mV: 0,
  frequency_mHz: 0,
};

function viemDigest(reading: Reading, chainId = CHAIN_ID, smartMeter: Address = SMART_METER): Hex {
  return hashTypedData({ domain: readingDomain(chainId, smartMeter), types: READING_TYPES, primaryType: "Reading", message: reading });
}

async function sign(privateKey: Hex, reading: Reading, chainId = CHAIN_ID, smartMeter: Address = SMART_METER): Promise<SignedReading> {
  const signature = await privateKeyToAccount(privateKey).signTypedData({
    domain: readingDomain(chainId, smartMeter),
    types: READING_TYPES,
    primaryType: "Reading",
    message: reading,
  });
  return { ...reading, signature };
}

function viemRecover(signed: SignedReading, chainId = CHAIN_ID, smartMeter: Address = SMART_METER): Promise<Address> {
  const { signature, ...message } = signed;
  return recoverTypedDataAddress({ domain: readingDomain(chainId, smartMeter), types: READING_TYPES, primaryType: "Reading", message, signature });
}

/** Splits a 65-byte signature into r, s, v. */
function parts(signature: Hex): { r: bigint; s: bigint; v: number } {
  return {
    r: BigInt(`0x${signature.slice(2, 66)}`),
    s: BigInt(`0x${signature.slice(66, 130)}`),
    v: Number.parseInt(signature.slice(130, 132), 16),
  };
}

function join(r: bigint, s: bigint, v: number): Hex {
  return `0x${r.toString(16).padStart(64, "0")}${s.toString(16).padStart(64, "0")}${v.toString(16).padStart(2, "0")}`;
}

const verifier = new NativeReadingVerifier(CHAIN_ID, SMART_METER);

describe("readingDigest", () => {
  it("equals viem's hashTypedData for the extremes and for random readings", () => {
    const separator = smartMeterDomainSeparator(CHAIN_ID, SMART_METER);
    const readings = [MAX_READING, ZERO_READING, ...Array.from({ length: 300 }, randomReading)];
    for (const reading of readings) {
      assert.equal(toHex(readingDigest(separator, reading)), viemDigest(reading));
    }
  });

  it("equals viem's hashTypedData on other chains and contracts (incl. a large chain id)", () => {
    for (const [chainId, meter] of [
      [1, SMART_METER],
      [11155111, OTHER_METER],
      [2 ** 48 - 1, "0xffffffffffffffffffffffffffffffffffffffff"],
      [CHAIN_ID, "0x0000000000000000000000000000000000000000"],
    ] as Array<[number, Address]>) {
      const separator = smartMeterDomainSeparator(chainId, meter);
      for (const reading of [MAX_READING, randomReading()]) {
        assert.equal(toHex(readingDigest(separator, reading)), viemDigest(reading, chainId, meter));
      }
    }
  });

  it("ignores the signature field", () => {
    const separator = smartMeterDomainSeparator(CHAIN_ID, SMART_METER);
    const reading = randomReading();
    assert.deepEqual(readingDigest(separator, { ...reading, signature: `0x${"ab".repeat(65)}` }), readingDigest(separator, reading));
  });
});

describe("NativeReadingVerifier.recoverSigner", () => {
  it("recovers what viem's recoverTypedDataAddress recovers (lower case) for many random keys", async () => {
    for (let i = 0; i < 100; i++) {
      const key = generatePrivateKey();
      const reading = i === 0 ? MAX_READING : i === 1 ? ZERO_READING : randomReading();
      const signed = await sign(key, reading);
      const expected = await viemRecover(signed);
      assert.equal(expected, privateKeyToAccount(key).address);
      const ours = verifier.recoverSigner(signed);
      assert.equal(ours, expected.toLowerCase());
      // upper-case hex digits in the signature are accepted too
      assert.equal(verifier.recoverSigner({ ...signed, signature: `0x${signed.signature.slice(2).toUpperCase()}` }), expected.toLowerCase());
    }
  });

  it("recovers another address from a signature made for another chain id or another SmartMeter", async () => {
    const key = generatePrivateKey();
    const signer = privateKeyToAccount(key).address.toLowerCase();
    const reading = randomReading();
    for (const [chainId, meter] of [
      [1, SMART_METER],
      [CHAIN_ID + 1, SMART_METER],
      [CHAIN_ID, OTHER_METER],
    ] as Array<[number, Address]>) {
      const signed = await sign(key, reading, chainId, meter);
      const ours = verifier.recoverSigner(signed);
      assert.notEqual(ours, null);
      assert.notEqual(ours, signer);
      // ... while the verifier of that domain recovers the signer
      assert.equal(new NativeReadingVerifier(chainId, meter).recoverSigner(signed), signer);
    }
  });

  it("recovers another address when any field of the reading changed after signing", async () => {
    const key = generatePrivateKey();
    const signer = privateKeyToAccount(key).address.toLowerCase();
    const signed = await sign(key, { ...MAX_READING, meterId: 1n, voltage_mV: 1 });
    assert.equal(verifier.recoverSigner(signed), signer);
    for (const change of [
      { meterId: 2n },
      { seq: 1n },
      { timestamp: 1n },
      { productionWh: 1n },
      { consumptionWh: 1n },
      { voltage_mV: 2 },
      { frequency_mHz: 1 },
    ] satisfies Array<Partial<Reading>>) {
      assert.notEqual(verifier.recoverSigner({ ...signed, ...change }), signer);
    }
  });

  describe("returns null (never throws) for a malformed signature", async () => {
    const key = generatePrivateKey();
    const reading = randomReading();
    const signed = await sign(key, reading);
    const { r, s, v } = parts(signed.signature);
    const cases: Array<[string, string]> = [
      ["empty", ""],
      ["0x only", "0x"],
      ["64 bytes", signed.signature.slice(0, 130)],
      ["66 bytes", `${signed.signature}00`],
      ["one nibble short", signed.signature.slice(0, 131)],
      ["no 0x prefix", `${signed.signature.slice(2)}00`],
      ["0X prefix", `0X${signed.signature.slice(2)}`],
      ["non-hex digit", `${signed.signature.slice(0, 10)}g${signed.signature.slice(11)}`],
      ["whitespace", ` ${signed.signature.slice(1)}`],
      ["trailing newline", `${signed.signature}\n`],
      ["v = 0", join(r, s, 0)],
      ["v = 1", join(r, s, 1)],
      ["v = 29", join(r, s, 29)],
      ["v = 255", join(r, s, 255)],
      ["r = 0", join(0n, s, v)],
      ["s = 0", join(r, 0n, v)],
      ["r = n", join(N, s, v)],
      ["r = 2^256 − 1", join((1n << 256n) - 1n, s, v)],
      ["s = n", join(r, N, v)],
      ["all zero", `0x${"00".repeat(65)}`],
      ["all ff", `0x${"ff".repeat(65)}`],
      ["garbage", `0x${"de".repeat(64)}1b`],
    ];
    for (const [name, signature] of cases) {
      it(name, () => {
        assert.equal(verifier.recoverSigner({ ...reading, signature: signature as Hex }), null);
      });
    }
    it("not a string", () => {
      assert.equal(verifier.recoverSigner({ ...reading, signature: undefined as unknown as Hex }), null);
      assert.equal(verifier.recoverSigner({ ...reading, signature: 42 as unknown as Hex }), null);
      assert.equal(verifier.recoverSigner({ ...reading, signature: Buffer.alloc(65) as unknown as Hex }), null);
    });
  });

  it("refuses the high-s twin of a valid signature that viem still recovers", async () => {
    for (let i = 0; i < 20; i++) {
      const key = generatePrivateKey();
      const signed = await sign(key, randomReading());
      const { r, s, v } = parts(signed.signature);
      const malleated: SignedReading = { ...signed, signature: join(r, N - s, v === 27 ? 28 : 27) };
      assert.equal(await viemRecover(malleated), privateKeyToAccount(key).address, "viem accepts the twin");
      assert.equal(verifier.recoverSigner(malleated), null);
      assert.equal(verifier.recoverSigner(signed), privateKeyToAccount(key).address.toLowerCase());
    }
  });

  it("accepts s exactly at n/2 and refuses n/2 + 1 (the OpenZeppelin bound)", async () => {
    const half = N / 2n; // 0x7fff…20a0, the largest low s
    const reading = randomReading();
    const { r } = parts((await sign(generatePrivateKey(), reading)).signature);
    for (const v of [27, 28]) {
      // with s = n/2 the signature is well-formed: either it recovers some address or the point does not exist
      const atBound = verifier.recoverSigner({ ...reading, signature: join(r, half, v) });
      if (atBound !== null) assert.match(atBound, /^0x[0-9a-f]{40}$/);
      assert.equal(verifier.recoverSigner({ ...reading, signature: join(r, half + 1n, v) }), null);
    }
    // viem agrees that n/2 is recoverable for this r (so the null above is not from a missing point)
    const viemAtBound = await viemRecover({ ...reading, signature: join(r, half, 27) }).catch(() => null);
    const oursAtBound = verifier.recoverSigner({ ...reading, signature: join(r, half, 27) });
    assert.equal(oursAtBound, viemAtBound === null ? null : viemAtBound.toLowerCase());
  });
});
