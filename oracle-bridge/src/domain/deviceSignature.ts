/**
 * Device signatures of meter readings: EIP-712 `Reading` in SmartMeter's domain ("GridX SmartMeter", "1",
 * chain id, SmartMeter address), exactly as SmartMeter recomputes it in `_readingDigest`. The bridge checks a
 * signature before it stores a reading, so that a forged or corrupted reading never costs gas; SmartMeter
 * checks it again on chain. Also the clock checks of a reading's timestamp. Pure: no I/O, no clock.
 */
import { recoverTypedDataAddress, type Address, type Hex, type TypedDataDomain } from "viem";
import type { LocalAccount } from "viem/accounts";
import { READING_TYPES, type Checked, type Reading, type SignedReading } from "./reading.ts";

/** Order of the secp256k1 group. */
const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
/** Largest `s` OpenZeppelin's ECDSA accepts (n / 2): the high-s twin of a signature is malleable, so refused. */
export const MAX_LOW_S = SECP256K1_N >> 1n;

const SIGNATURE_HEX = /^0x[0-9a-fA-F]{130}$/;

/** The EIP-712 message of a reading: its seven fields only (never the signature of a SignedReading). */
function readingMessage(reading: Reading) {
  return {
    meterId: reading.meterId,
    seq: reading.seq,
    timestamp: reading.timestamp,
    productionWh: reading.productionWh,
    consumptionWh: reading.consumptionWh,
    voltage_mV: reading.voltage_mV,
    frequency_mHz: reading.frequency_mHz,
  };
}

/**
 * Signs `reading` with the device key, as a meter (or the simulator) does. The result is 65 bytes
 * `r ‖ s ‖ v` with low s and v ∈ {27, 28}, the form SmartMeter accepts.
 */
export async function signReading(account: LocalAccount, domain: TypedDataDomain, reading: Reading): Promise<Hex> {
  return account.signTypedData({
    domain,
    types: READING_TYPES,
    primaryType: "Reading",
    message: readingMessage(reading),
  });
}

/**
 * Whether a 65-byte signature has the shape OpenZeppelin's `ECDSA.tryRecover` accepts before recovering:
 * 1 ≤ r < n, 1 ≤ s ≤ n/2 (low s), v ∈ {27, 28}. viem alone would also recover from high-s and from v ∈ {0, 1},
 * which SmartMeter refuses; accepting them here would let a reading through that the contract rejects.
 */
function hasContractShape(signature: string): boolean {
  if (!SIGNATURE_HEX.test(signature)) return false;
  const r = BigInt(`0x${signature.slice(2, 66)}`);
  const s = BigInt(`0x${signature.slice(66, 130)}`);
  const v = Number.parseInt(signature.slice(130, 132), 16);
  return r !== 0n && r < SECP256K1_N && s !== 0n && s <= MAX_LOW_S && (v === 27 || v === 28);
}

/**
 * The address that signed `signed`, or null when the signature is malformed, malleable (high s), carries a
 * v other than 27/28, or recovers no key — the cases SmartMeter reports as InvalidSignature. Never throws:
 * any failure, including readings whose fields do not fit their EIP-712 types, is null.
 * The caller compares the result with the meter's on-chain device signer.
 */
export async function recoverReadingSigner(domain: TypedDataDomain, signed: SignedReading): Promise<Address | null> {
  try {
    if (typeof signed.signature !== "string" || !hasContractShape(signed.signature)) return null;
    return await recoverTypedDataAddress({
      domain,
      types: READING_TYPES,
      primaryType: "Reading",
      message: readingMessage(signed),
      signature: signed.signature,
    });
  } catch {
    return null;
  }
}

/** Clock tolerances of the bridge, in whole seconds (numbers from the config, or bigints). */
export interface TimestampLimits {
  /** How far a reading may be ahead of the bridge's clock (device clock drift). */
  maxFutureSkewSeconds: number | bigint;
  /** How old a reading may be when it arrives; older ones are refused as stale. */
  maxAgeSeconds: number | bigint;
}

/** Seconds as a bigint; a fractional number (e.g. Date.now() / 1000) is rounded down. */
function seconds(name: string, value: number | bigint): bigint {
  if (typeof value === "bigint") return value;
  if (!Number.isFinite(value)) throw new RangeError(`checkTimestamp: ${name} ${value} is not a finite number of seconds`);
  return BigInt(Math.floor(value));
}

/**
 * Refuses a reading timed more than `maxFutureSkewSeconds` after `nowSeconds` (`future_timestamp`; SmartMeter
 * would reject it as TimestampInFuture anyway) or more than `maxAgeSeconds` before it (`stale_timestamp`: a
 * replay or a device that was offline too long for its data to count in the grid's current state). Both bounds
 * are inclusive: exactly now + skew and exactly now − maxAge are accepted. Numbers are whole seconds (a
fractional `nowSeconds` is rounded down); a non-finite number throws a RangeError (a caller bug).
 */
export function checkTimestamp<T extends Reading>(
  reading: T,
  nowSeconds: number | bigint,
  limits: TimestampLimits,
): Checked<T> {
  const now = seconds("nowSeconds", nowSeconds);
  const maxSkew = seconds("maxFutureSkewSeconds", limits.maxFutureSkewSeconds);
  const maxAge = seconds("maxAgeSeconds", limits.maxAgeSeconds);
  if (reading.timestamp > now + maxSkew) {
    return {
      ok: false,
      reason: "future_timestamp",
      detail: `timestamp: ${reading.timestamp} is ${reading.timestamp - now} s ahead of now (${now}), allowed ${maxSkew} s`,
    };
  }
  if (now - reading.timestamp > maxAge) {
    return {
      ok: false,
      reason: "stale_timestamp",
      detail: `timestamp: ${reading.timestamp} is ${now - reading.timestamp} s old (now ${now}), allowed ${maxAge} s`,
    };
  }
  return { ok: true, value: reading };
}
