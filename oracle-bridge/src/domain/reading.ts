/**
 * A smart-meter reading as the device signs it and SmartMeter verifies it (EIP-712 `Reading` of
 * ISmartMeter), and the reasons the bridge refuses a payload before it is ever stored. Pure: no I/O.
 */
import type { Address, Hex, TypedDataDomain } from "viem";

/** The `Reading` struct of ISmartMeter; registers are cumulative since commissioning. */
export interface Reading {
  meterId: bigint;
  seq: bigint;
  timestamp: bigint;
  productionWh: bigint;
  consumptionWh: bigint;
  voltage_mV: number;
  frequency_mHz: number;
}

/** A reading with the device's 65-byte `r ‖ s ‖ v` EIP-712 signature. */
export interface SignedReading extends Reading {
  signature: Hex;
}

/** The fields of `Reading` in EIP-712 order (keccak256 of the type string is SmartMeter.READING_TYPEHASH). */
export const READING_TYPES = {
  Reading: [
    { name: "meterId", type: "uint64" },
    { name: "seq", type: "uint64" },
    { name: "timestamp", type: "uint64" },
    { name: "productionWh", type: "uint64" },
    { name: "consumptionWh", type: "uint64" },
    { name: "voltage_mV", type: "uint32" },
    { name: "frequency_mHz", type: "uint32" },
  ],
} as const;

export const SMART_METER_DOMAIN_NAME = "GridX SmartMeter";
export const SMART_METER_DOMAIN_VERSION = "1";

/** SmartMeter's EIP-712 domain on one chain. */
export function readingDomain(chainId: number, smartMeter: Address): TypedDataDomain {
  return {
    name: SMART_METER_DOMAIN_NAME,
    version: SMART_METER_DOMAIN_VERSION,
    chainId,
    verifyingContract: smartMeter,
  };
}

/** Largest register SmartMeter accepts (MAX_REGISTER_WH = 2^48 − 1). */
export const MAX_REGISTER_WH = (1n << 48n) - 1n;
export const MAX_UINT64 = (1n << 64n) - 1n;
export const MAX_UINT32 = 2 ** 32 - 1;

/** MQTT topic of one meter's readings. */
export const READING_TOPIC_PREFIX = "gridx/v1/meters/";
export const READING_TOPIC_FILTER = "gridx/v1/meters/+/reading";
export function readingTopic(meterId: bigint): string {
  return `${READING_TOPIC_PREFIX}${meterId}/reading`;
}

/**
 * Why the bridge refused a payload. Each is logged with the payload's topic and counted in the
 * `gridx_bridge_readings_rejected_total{reason}` metric; none of them stops the bridge.
 */
export const REJECTION_REASONS = [
  "bad_topic", // topic is not gridx/v1/meters/<decimal meterId>/reading
  "payload_too_large", // more bytes than the configured limit
  "invalid_utf8", // not UTF-8 text
  "malformed_json", // not JSON
  "not_an_object", // JSON, but not an object
  "unsupported_version", // `v` is not a version this bridge speaks
  "missing_field", // a required field is absent
  "unknown_field", // a field the schema does not know
  "invalid_integer", // a number field that is not a non-negative integer (float, negative, exponent, hex, empty)
  "out_of_range", // an integer beyond its type (uint64 / uint32) or a register beyond 2^48 − 1
  "zero_sequence", // seq starts at 1
  "topic_meter_mismatch", // the payload's meterId is not the topic's
  "malformed_signature", // not a 65-byte hex string
  "unknown_meter", // no such meter on chain
  "meter_inactive", // the meter is deactivated on chain
  "invalid_signature", // recovers to someone other than the meter's device signer
  "future_timestamp", // later than now + the allowed skew
  "stale_timestamp", // older than the configured maximum age
  "duplicate", // (meterId, seq) already stored with the same content: dropped silently after the ack
  "conflicting_duplicate", // (meterId, seq) already stored with different content (a replay or a forged copy)
  "sequence_regressed", // seq below the meter's highest stored seq (a replay of an old reading)
] as const;
export type RejectionReason = (typeof REJECTION_REASONS)[number];

/** Outcome of one validation step. */
export type Checked<T> = { ok: true; value: T } | { ok: false; reason: RejectionReason; detail: string };
