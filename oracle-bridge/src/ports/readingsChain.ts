import type { Address, Hex } from "viem";
import type { SignedReading } from "../domain/reading.ts";
import type { ReadingOutcome } from "./readingStore.ts";

export interface Fees {
  maxFeePerGas: bigint;
  maxPriorityFeePerGas: bigint;
}

/** A mined transaction of `submitReadings` and what SmartMeter said about each reading. */
export interface MinedBatch {
  status: "success" | "reverted";
  blockNumber: bigint;
  gasUsed: bigint;
  outcomes: ReadingOutcome[];
}

/** What broadcasting a signed transaction did. */
export type BroadcastResult =
  | { kind: "sent" }
  | { kind: "known" } // the node already has it
  | { kind: "nonce_used" }; // the nonce is taken: one of our attempts (or another tx) was mined

/** SmartMeter.submitReadings through one ORACLE_OPERATOR sender. Every method throws when the RPC is down. */
export interface ReadingsChain {
  readonly sender: Address;
  /** The sender's next nonce counting the node's pending transactions. */
  pendingNonce(): Promise<number>;
  /** The sender's next nonce counting only mined transactions. */
  minedNonce(): Promise<number>;
  /** Current EIP-1559 fees the network suggests. */
  suggestedFees(): Promise<Fees>;
  /** Signs (without sending) a submitReadings transaction. Local: needs no RPC. */
  sign(readings: SignedReading[], nonce: number, fees: Fees): Promise<{ txHash: Hex; rawTx: Hex }>;
  broadcast(rawTx: Hex): Promise<BroadcastResult>;
  /** The receipt of `txHash`, decoded, or null when it is not mined. */
  mined(txHash: Hex): Promise<MinedBatch | null>;
}
