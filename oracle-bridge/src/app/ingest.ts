/**
 * The ingestion pipeline of one MQTT message, in the order ARCHITECTURE.md §5 fixes: parse and validate the
 * schema → check the clock → verify the device signature against the meter's registered signer → store
 * durably. The caller acknowledges the message to the broker only after `handle` resolved; when `handle`
 * throws (the chain could not be asked about the meter) nothing was stored and the caller must retry before
 * acknowledging, so the reading is never lost.
 */
import { parseReadingPayload } from "../domain/payload.ts";
import { checkTimestamp } from "../domain/deviceSignature.ts";
import type { RejectionReason, SignedReading } from "../domain/reading.ts";
import type { MeterDirectory } from "../ports/meterDirectory.ts";
import type { ReadingStore } from "../ports/readingStore.ts";
import type { ReadingSignatureVerifier } from "../ports/signatureVerifier.ts";

export interface IngestLimits {
  maxPayloadBytes: number;
  maxFutureSkewSeconds: number;
  maxAgeSeconds: number;
}

export type IngestResult =
  | { kind: "stored"; reading: SignedReading; zone: number }
  | { kind: "duplicate"; reading: SignedReading }
  | { kind: "rejected"; reason: RejectionReason; detail: string };

/** A signer mismatch triggers one fresh registry read, at most this often per meter (key rotation). */
const SIGNER_REFRESH_MS = 5_000;

export class IngestService {
  readonly #store: ReadingStore;
  readonly #directory: MeterDirectory;
  readonly #verifier: ReadingSignatureVerifier;
  readonly #limits: IngestLimits;
  readonly #refreshedAt = new Map<bigint, number>();

  constructor(store: ReadingStore, directory: MeterDirectory, verifier: ReadingSignatureVerifier, limits: IngestLimits) {
    this.#store = store;
    this.#directory = directory;
    this.#verifier = verifier;
    this.#limits = limits;
  }

  async handle(topic: string, payload: Uint8Array, nowMs: number): Promise<IngestResult> {
    const parsed = parseReadingPayload(topic, payload, { maxPayloadBytes: this.#limits.maxPayloadBytes });
    if (!parsed.ok) return { kind: "rejected", reason: parsed.reason, detail: parsed.detail };
    const reading = parsed.value;

    const clock = checkTimestamp(reading, Math.floor(nowMs / 1000), {
      maxFutureSkewSeconds: this.#limits.maxFutureSkewSeconds,
      maxAgeSeconds: this.#limits.maxAgeSeconds,
    });
    if (!clock.ok) return { kind: "rejected", reason: clock.reason, detail: clock.detail };

    let meter = await this.#directory.lookup(reading.meterId);
    if (meter === null) {
      return { kind: "rejected", reason: "unknown_meter", detail: `meter ${reading.meterId} is not registered` };
    }
    const signer = this.#verifier.recoverSigner(reading);
    if (signer === null) {
      return {
        kind: "rejected",
        reason: "invalid_signature",
        detail: `meter ${reading.meterId} seq ${reading.seq}: the signature is not a valid low-s secp256k1 signature`,
      };
    }
    if (signer !== meter.deviceSigner.toLowerCase()) {
      const last = this.#refreshedAt.get(reading.meterId) ?? 0;
      if (nowMs - last >= SIGNER_REFRESH_MS) {
        this.#refreshedAt.set(reading.meterId, nowMs);
        meter = (await this.#directory.lookup(reading.meterId, { fresh: true })) ?? meter;
      }
      if (signer !== meter.deviceSigner.toLowerCase()) {
        return {
          kind: "rejected",
          reason: "invalid_signature",
          detail: `meter ${reading.meterId} seq ${reading.seq}: signed by ${signer}, the meter's device signer is ${meter.deviceSigner}`,
        };
      }
    }
    if (!meter.active) {
      return { kind: "rejected", reason: "meter_inactive", detail: `meter ${reading.meterId} is deactivated` };
    }

    const inserted = this.#store.insert(reading, nowMs);
    switch (inserted.kind) {
      case "stored":
        return { kind: "stored", reading, zone: meter.zone };
      case "duplicate":
        return { kind: "duplicate", reading };
      case "conflicting_duplicate":
        return {
          kind: "rejected",
          reason: "conflicting_duplicate",
          detail: `meter ${reading.meterId} seq ${reading.seq} is already stored with different registers`,
        };
      case "sequence_regressed":
        return {
          kind: "rejected",
          reason: "sequence_regressed",
          detail: `meter ${reading.meterId} seq ${reading.seq} is below the highest stored seq ${inserted.highestSeq}`,
        };
    }
  }
}
