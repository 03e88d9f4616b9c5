/**
 * Parsing and schema validation of one MQTT reading message, the first step of the pipeline: nothing that
 * fails here is stored, signed-checked or sent on chain. Pure: no I/O, never throws on any input.
 *
 * Wire format (topic `gridx/v1/meters/<meterId>/reading`, UTF-8 JSON object, every field required):
 *
 *   {"v":1,"meterId":..,"seq":..,"timestamp":..,"productionWh":..,"consumptionWh":..,
 *    "voltage_mV":..,"frequency_mHz":..,"signature":"0x<130 hex>"}
 *
 * - `meterId`, `seq`, `timestamp`, `productionWh`, `consumptionWh` (uint64 on chain) are a JSON safe integer
 *   or a string of decimal digits, so that devices can send values above 2^53 − 1 without the precision loss
 *   of a JSON number. Either way the text must be canonical: digits only, no sign, fraction, exponent,
 *   hex or leading zeros (`0` itself is fine). The raw JSON text of numbers is checked, so `1e3` or `1.0`
 *   are refused although `JSON.parse` would turn them into integers.
 * - `voltage_mV`, `frequency_mHz` (uint32) are JSON numbers only.
 * - The registers are bounded by SmartMeter.MAX_REGISTER_WH, `seq` by the contract's 32-bit sequence
 *   cursor (SmartMeter rejects a larger one with SequenceTooLarge; refusing it here saves the gas).
 * - Duplicate keys: the last one wins (JSON.parse semantics). Unknown keys, including `__proto__`, are
 *   refused; `JSON.parse` defines them as own data properties, so they never reach a prototype.
 */
import {
  MAX_REGISTER_WH,
  MAX_UINT32,
  MAX_UINT64,
  READING_TOPIC_PREFIX,
  type Checked,
  type RejectionReason,
  type SignedReading,
} from "./reading.ts";
import type { Hex } from "viem";

/** The only payload version this bridge speaks. */
export const PAYLOAD_VERSION = 1;

/** Largest `seq` SmartMeter accepts: its cursor stores 32 bits (RejectionReason.SequenceTooLarge above). */
export const MAX_SEQUENCE = BigInt(MAX_UINT32);

const TOPIC_SUFFIX = "/reading";
/** Canonical unsigned decimal: `0`, or digits without a leading zero. */
const CANONICAL_DECIMAL = /^(?:0|[1-9][0-9]*)$/;
/** 65 bytes `r ‖ s ‖ v` as 0x-prefixed hex (either case). */
const SIGNATURE_HEX = /^0x[0-9a-fA-F]{130}$/;
/** Digits of 2^64 − 1: a longer canonical decimal is out of range without parsing it. */
const MAX_UINT64_DIGITS = MAX_UINT64.toString().length;
/** Longest excerpt of untrusted input quoted in a `detail`, so a hostile payload cannot flood the logs. */
const MAX_QUOTE = 40;

type IntegerField = "meterId" | "seq" | "timestamp" | "productionWh" | "consumptionWh";
type NumberField = "voltage_mV" | "frequency_mHz";

/** Every key of the wire format, in the order the fields are checked. */
const FIELDS = [
  "v",
  "meterId",
  "seq",
  "timestamp",
  "productionWh",
  "consumptionWh",
  "voltage_mV",
  "frequency_mHz",
  "signature",
] as const;
const KNOWN_FIELDS: ReadonlySet<string> = new Set(FIELDS);

/** Upper bound of each uint64 field (the registers are bounded tighter by the contract). */
const INTEGER_LIMITS: Record<IntegerField, bigint> = {
  meterId: MAX_UINT64,
  seq: MAX_SEQUENCE,
  timestamp: MAX_UINT64,
  productionWh: MAX_REGISTER_WH,
  consumptionWh: MAX_REGISTER_WH,
};

/**
 * A JSON number with the exact text it was written as. The reviver of `JSON.parse` swaps every number for
 * one of these, so the schema can refuse `1e3`, `1.0` or `-0`, which all parse to plain integers.
 */
class JsonNumber {
  readonly value: number;
  readonly source: string;
  constructor(value: number, source: string) {
    this.value = value;
    this.source = source;
  }
}

/** `JSON.parse` source-text access (Node ≥ 21); falls back to the number's own rendering without it. */
function keepNumberSource(this: unknown, _key: string, value: unknown, context?: { source?: string }): unknown {
  if (typeof value !== "number") return value;
  return new JsonNumber(value, typeof context?.source === "string" ? context.source : String(value));
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

function reject(reason: RejectionReason, detail: string): { ok: false; reason: RejectionReason; detail: string } {
  return { ok: false, reason, detail };
}

/** A short, printable excerpt of untrusted text for a `detail`. */
function quote(text: string): string {
  const cut = text.length > MAX_QUOTE ? `${text.slice(0, MAX_QUOTE)}…` : text;
  return JSON.stringify(cut);
}

/** How an unexpected JSON value looks in a `detail`, without echoing it whole. */
function describe(value: unknown): string {
  if (value === null) return "null";
  if (value instanceof JsonNumber) return `the number ${quote(value.source)}`;
  if (Array.isArray(value)) return "an array";
  if (typeof value === "string") return `the string ${quote(value)}`;
  if (typeof value === "object") return "an object";
  return `a ${typeof value}`;
}

/**
 * The meter id of a reading topic, or null unless the topic is exactly `gridx/v1/meters/<meterId>/reading`
 * with a canonical decimal uint64 meter id (no sign, no leading zeros, nothing around it).
 */
export function meterIdFromTopic(topic: string): bigint | null {
  if (typeof topic !== "string" || !topic.startsWith(READING_TOPIC_PREFIX) || !topic.endsWith(TOPIC_SUFFIX)) {
    return null;
  }
  const id = topic.slice(READING_TOPIC_PREFIX.length, topic.length - TOPIC_SUFFIX.length);
  if (id.length > MAX_UINT64_DIGITS || !CANONICAL_DECIMAL.test(id)) return null;
  const meterId = BigInt(id);
  return meterId <= MAX_UINT64 ? meterId : null;
}

/** A canonical decimal (from a string, or the source text of a JSON number) bounded by `max`. */
function parseDecimal(field: string, text: string, what: string, max: bigint): Checked<bigint> {
  if (!CANONICAL_DECIMAL.test(text)) {
    return reject(
      "invalid_integer",
      `${field}: ${what} ${quote(text)} is not a non-negative decimal integer (no sign, fraction, exponent, hex or leading zeros)`,
    );
  }
  if (text.length > MAX_UINT64_DIGITS || BigInt(text) > max) {
    return reject("out_of_range", `${field}: ${quote(text)} exceeds the maximum ${max}`);
  }
  return { ok: true, value: BigInt(text) };
}

/** A uint64 field: a JSON safe integer, or a canonical decimal string for any value up to the field's bound. */
function parseInteger(field: IntegerField, raw: unknown): Checked<bigint> {
  const max = INTEGER_LIMITS[field];
  if (typeof raw === "string") return parseDecimal(field, raw, "string", max);
  if (raw instanceof JsonNumber) {
    const parsed = parseDecimal(field, raw.source, "number", max);
    if (!parsed.ok) return parsed;
    if (parsed.value > BigInt(Number.MAX_SAFE_INTEGER)) {
      // In range, but most JSON parsers would already have rounded it: the device must send a string.
      return reject(
        "invalid_integer",
        `${field}: the number ${quote(raw.source)} is above 2^53 − 1 and loses precision in JSON; send it as a decimal string`,
      );
    }
    return parsed;
  }
  return reject("invalid_integer", `${field}: expected an integer or a decimal string, got ${describe(raw)}`);
}

/** A uint32 field: a JSON number only. */
function parseUint32(field: NumberField, raw: unknown): Checked<number> {
  if (!(raw instanceof JsonNumber)) {
    return reject("invalid_integer", `${field}: expected a JSON integer, got ${describe(raw)}`);
  }
  const parsed = parseDecimal(field, raw.source, "number", BigInt(MAX_UINT32));
  return parsed.ok ? { ok: true, value: Number(parsed.value) } : parsed;
}

/**
 * Parses and validates one reading message. Checks, cheapest first: topic, size, UTF-8, JSON, object,
 * version, unknown then missing keys, each field in wire order, `seq ≥ 1`, topic/payload meter id, signature
 * shape. The signature itself is checked later (deviceSignature.ts), against the meter's on-chain signer.
 * The returned signature is lower-cased, so that equal readings compare equal byte for byte.
 */
export function parseReadingPayload(
  topic: string,
  payload: Uint8Array,
  limits: { maxPayloadBytes: number },
): Checked<SignedReading> {
  const topicMeterId = meterIdFromTopic(topic);
  if (topicMeterId === null) {
    return reject(
      "bad_topic",
      `topic ${quote(String(topic))} is not ${READING_TOPIC_PREFIX}<decimal meterId>${TOPIC_SUFFIX}`,
    );
  }
  if (payload.byteLength > limits.maxPayloadBytes) {
    return reject("payload_too_large", `payload: ${payload.byteLength} bytes, limit ${limits.maxPayloadBytes}`);
  }

  let text: string;
  try {
    text = utf8.decode(payload);
  } catch {
    return reject("invalid_utf8", "payload: not valid UTF-8 text");
  }

  let json: unknown;
  try {
    json = JSON.parse(text, keepNumberSource);
  } catch (error) {
    // SyntaxError, or a RangeError for absurd nesting: either way not a JSON document we can use.
    const message = error instanceof Error ? error.message : String(error);
    return reject("malformed_json", `payload: not JSON (${message.slice(0, 120)})`);
  }
  if (typeof json !== "object" || json === null || Array.isArray(json) || json instanceof JsonNumber) {
    return reject("not_an_object", `payload: expected a JSON object, got ${describe(json)}`);
  }
  const fields = json as Record<string, unknown>;
  const get = (key: (typeof FIELDS)[number]): unknown => (Object.hasOwn(fields, key) ? fields[key] : undefined);

  // The version first: a future version may rename or add fields, so it decides how to read the rest.
  const version = get("v");
  if (version === undefined) return reject("missing_field", "v: required (payload version)");
  if (!(version instanceof JsonNumber) || version.source !== String(PAYLOAD_VERSION)) {
    return reject("unsupported_version", `v: ${describe(version)} is not a supported version (${PAYLOAD_VERSION})`);
  }

  for (const key of Object.keys(fields)) {
    if (!KNOWN_FIELDS.has(key)) return reject("unknown_field", `${quote(key)}: not a field of a v1 reading`);
  }
  for (const key of FIELDS) {
    if (!Object.hasOwn(fields, key)) return reject("missing_field", `${key}: required`);
  }

  const meterId = parseInteger("meterId", get("meterId"));
  if (!meterId.ok) return meterId;
  const seq = parseInteger("seq", get("seq"));
  if (!seq.ok) return seq;
  const timestamp = parseInteger("timestamp", get("timestamp"));
  if (!timestamp.ok) return timestamp;
  const productionWh = parseInteger("productionWh", get("productionWh"));
  if (!productionWh.ok) return productionWh;
  const consumptionWh = parseInteger("consumptionWh", get("consumptionWh"));
  if (!consumptionWh.ok) return consumptionWh;
  const voltage = parseUint32("voltage_mV", get("voltage_mV"));
  if (!voltage.ok) return voltage;
  const frequency = parseUint32("frequency_mHz", get("frequency_mHz"));
  if (!frequency.ok) return frequency;

  if (seq.value === 0n) return reject("zero_sequence", "seq: 0, but sequences start at 1");
  if (meterId.value !== topicMeterId) {
    return reject("topic_meter_mismatch", `meterId: ${meterId.value} in the payload, ${topicMeterId} in the topic`);
  }

  const signature = get("signature");
  if (typeof signature !== "string" || !SIGNATURE_HEX.test(signature)) {
    return reject(
      "malformed_signature",
      `signature: expected 0x and 130 hex digits (65 bytes r ‖ s ‖ v), got ${describe(signature)}`,
    );
  }

  return {
    ok: true,
    value: {
      meterId: meterId.value,
      seq: seq.value,
      timestamp: timestamp.value,
      productionWh: productionWh.value,
      consumptionWh: consumptionWh.value,
      voltage_mV: voltage.value,
      frequency_mHz: frequency.value,
      signature: signature.toLowerCase() as Hex,
    },
  };
}
