/**
 * Durable storage of verified readings and of what happened to them on chain. The bridge acknowledges a
 * reading to the broker only after `insert` returned, so everything in the store survives a crash.
 */
import type { Hex } from "viem";
import type { SignedReading } from "../domain/reading.ts";

/** Where a stored reading is in its life. */
export type ReadingStatus = "pending" | "batched" | "accepted" | "rejected";

/** What `insert` did with a reading. */
export type InsertResult =
  | { kind: "stored" }
  | { kind: "duplicate" } // the same (meterId, seq) with the same content is already stored
  | { kind: "conflicting_duplicate" } // the same (meterId, seq) with different content is stored
  | { kind: "sequence_regressed"; highestSeq: bigint }; // not above the meter's highest seq already posted

export interface PendingReading extends SignedReading {
  receivedAtMs: number;
}

/** One signed transaction of a batch: the original, or a fee-bumped replacement with the same nonce. */
export interface TxAttempt {
  txHash: Hex;
  rawTx: Hex;
  maxFeePerGas: bigint;
  maxPriorityFeePerGas: bigint;
  sentAtMs: number;
}

/** A batch of readings bound to one sender nonce, until its transaction is mined. */
export interface OpenBatch {
  id: number;
  sender: Hex;
  nonce: number;
  createdAtMs: number;
  readings: PendingReading[];
  attempts: TxAttempt[];
}

/** The chain's verdict on one reading of a mined batch. */
export interface ReadingOutcome {
  meterId: bigint;
  seq: bigint;
  accepted: boolean;
  /** ISmartMeter.RejectionReason name when rejected, e.g. "SequenceNotIncreasing". */
  reason?: string;
}

export interface StoredOutcome {
  status: ReadingStatus;
  reason?: string;
  txHash?: Hex;
  blockNumber?: bigint;
}

export interface StoreCounts {
  pending: number;
  batched: number;
  accepted: number;
  rejected: number;
}

export interface ReadingStore {
  /** Stores a verified reading durably (committed before returning), or says why not. */
  insert(reading: SignedReading, receivedAtMs: number): InsertResult;
  /** Per meter, the highest seq already put in a transaction (undefined when none). */
  postedHighWater(meterIds: readonly bigint[]): Map<bigint, bigint | undefined>;
  /** Pending readings, oldest first. */
  pending(limit: number): PendingReading[];
  /** Number of pending readings and the arrival time of the oldest (undefined when none). */
  pendingSummary(): { count: number; oldestReceivedAtMs: number | undefined };
  /** Moves readings into a new open batch for `sender` at `nonce`. */
  openBatch(sender: Hex, nonce: number, readings: PendingReading[], nowMs: number): OpenBatch;
  /** Records a signed transaction of an open batch before it is broadcast. */
  recordAttempt(batchId: number, attempt: TxAttempt): void;
  /** Batches whose transaction has not been seen mined. */
  openBatches(): OpenBatch[];
  /** Closes a batch with its mined transaction and the outcome of each reading. */
  closeBatch(batchId: number, txHash: Hex, blockNumber: bigint, outcomes: ReadingOutcome[]): void;
  /** Closes a batch whose transaction reverted or was abandoned: its readings become pending again. */
  abandonBatch(batchId: number, why: string): void;
  /** The recorded state of one reading, or undefined when never stored. */
  outcome(meterId: bigint, seq: bigint): StoredOutcome | undefined;
  /** Latest stored reading of every meter (for the grid engine), with the one before it. */
  latestPairs(): Array<{ previous: SignedReading | undefined; latest: SignedReading }>;
  counts(): StoreCounts;
  close(): void;
}
