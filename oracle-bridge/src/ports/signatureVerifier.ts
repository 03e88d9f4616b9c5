import type { Address } from "viem";
import type { SignedReading } from "../domain/reading.ts";

/** Recovers the device address that signed a reading for one SmartMeter domain. */
export interface ReadingSignatureVerifier {
  /** The signer (lower-case hex: compare case-insensitively), or null when the signature is malformed, high-s or unrecoverable. Never throws. */
  recoverSigner(reading: SignedReading): Address | null;
}
