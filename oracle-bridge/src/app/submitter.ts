/**
 * Moves stored readings on chain: batches them by size and age (domain/batching.ts), binds each batch to a
 * sender nonce in the store, signs it locally, records the signed transaction, and only then broadcasts it.
 * The receipt's ReadingAccepted / ReadingRejected events are recorded per reading. A batch not mined within
 * `bumpAfterMs` is replaced at the same nonce with higher fees (recorded too), so whichever attempt is mined,
 * its receipt is found. After a crash the open batches in the store are resumed exactly where they stopped.
 *
 * One batch is in flight at a time: a meter's readings then always reach SmartMeter in seq order, and a
 * reverted batch (system paused, role revoked) can go back to pending without a later batch overtaking it.
 * SmartMeter refuses replays, so a reading that does reach the chain twice is rejected the second time and
 * never credited twice.
 */
import { backoffMs, bumpFees, releasedAtGaps, selectBatch } from "../domain/batching.ts";
import type { Fees, MinedBatch, ReadingsChain } from "../ports/readingsChain.ts";
import type { OpenBatch, ReadingStore, TxAttempt } from "../ports/readingStore.ts";

export interface SubmitterOptions {
  maxBatchSize: number;
  maxAgeMs: number;
  /** How long a meter's readings wait at a gap in its seq sequence for the missing one (out-of-order delivery). */
  gapTimeoutMs: number;
  /** Replace an unmined transaction with higher fees after this long. */
  bumpAfterMs: number;
  /** Send the latest signed transaction again after this long (a restarted node forgets its mempool). */
  rebroadcastAfterMs: number;
  /** Never pay more than this per gas. */
  maxFeePerGasCap: bigint;
  pollMs: number;
  retry: { baseMs: number; maxMs: number };
}

export interface SubmitterObserver {
  batchSent(batch: OpenBatch, attempt: TxAttempt, replacement: boolean): void;
  batchMined(batch: OpenBatch, txHash: string, mined: MinedBatch, nowMs: number): void;
  batchAbandoned(batch: OpenBatch, why: string): void;
  chainError(error: unknown, consecutive: number, retryInMs: number): void;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class Submitter {
  readonly #store: ReadingStore;
  readonly #chain: ReadingsChain;
  readonly #options: SubmitterOptions;
  readonly #observer: SubmitterObserver;
  readonly #now: () => number;
  readonly #lastBroadcast = new Map<number, number>();
  readonly #nonceConsumedChecks = new Map<number, number>();
  #stopped = false;
  #running: Promise<void> | undefined;
  #wake: (() => void) | undefined;

  constructor(
    store: ReadingStore,
    chain: ReadingsChain,
    options: SubmitterOptions,
    observer: SubmitterObserver,
    now: () => number = Date.now,
  ) {
    this.#store = store;
    this.#chain = chain;
    this.#options = options;
    this.#observer = observer;
    this.#now = now;
  }

  start(): void {
    this.#running ??= this.#loop();
  }

  /** Stops after the current step; whatever is open stays in the store for the next start. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#wake?.();
    await this.#running;
  }

  /** One pass: progress the open batch, or open a new one when the policy says so. */
  async step(): Promise<"busy" | "idle"> {
    const open = this.#store.openBatches();
    if (open.length > 0) {
      for (const batch of open) await this.#progress(batch);
      return "busy";
    }
    const now = this.#now();
    const pending = this.#store.pending(this.#options.maxBatchSize * 4);
    if (pending.length === 0) return "idle";
    const meters = [...new Set(pending.map((reading) => reading.meterId))];
    const candidates = releasedAtGaps(pending, this.#store.postedHighWater(meters), now, this.#options.gapTimeoutMs);
    if (candidates.length === 0) return "idle";
    const decision = selectBatch(candidates, now, {
      maxBatchSize: this.#options.maxBatchSize,
      maxAgeMs: this.#options.maxAgeMs,
    });
    if (!decision.flush || decision.batch.length === 0) return "idle";
    const nonce = await this.#chain.pendingNonce();
    const fees = await this.#chain.suggestedFees();
    const batch = this.#store.openBatch(this.#chain.sender, nonce, decision.batch, now);
    await this.#send(batch, this.#capped(fees), false);
    return "busy";
  }

  async #loop(): Promise<void> {
    let failures = 0;
    while (!this.#stopped) {
      let next: number;
      try {
        const state = await this.step();
        failures = 0;
        next = state === "busy" ? Math.min(this.#options.pollMs, 25) : this.#options.pollMs;
      } catch (error) {
        failures++;
        next = backoffMs(failures, this.#options.retry, Math.random);
        this.#observer.chainError(error, failures, next);
      }
      if (this.#stopped) break;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        setTimeout(resolve, next);
      });
      this.#wake = undefined;
    }
  }

  async #progress(batch: OpenBatch): Promise<void> {
    for (const attempt of [...batch.attempts].reverse()) {
      const mined = await this.#chain.mined(attempt.txHash);
      if (mined === null) continue;
      if (mined.status === "success") {
        this.#store.closeBatch(batch.id, attempt.txHash, mined.blockNumber, mined.outcomes);
        this.#observer.batchMined(batch, attempt.txHash, mined, this.#now());
      } else {
        // The whole call reverted (paused, or the sender lost ORACLE_OPERATOR): nothing was recorded on chain.
        this.#store.abandonBatch(batch.id, `transaction ${attempt.txHash} reverted`);
        this.#observer.batchAbandoned(batch, "reverted");
      }
      this.#forget(batch.id);
      return;
    }

    const last = batch.attempts.at(-1);
    if (last === undefined) {
      // Crashed between opening the batch and recording its first signed transaction.
      await this.#send(batch, this.#capped(await this.#chain.suggestedFees()), false);
      return;
    }
    if ((await this.#chain.minedNonce()) > batch.nonce) {
      // The nonce is used but none of our attempts has a receipt yet: a receipt can lag the nonce on some
      // nodes, so look again a few times before giving the readings back to the queue.
      const checks = (this.#nonceConsumedChecks.get(batch.id) ?? 0) + 1;
      this.#nonceConsumedChecks.set(batch.id, checks);
      if (checks >= 5) {
        this.#store.abandonBatch(batch.id, `nonce ${batch.nonce} was used by a transaction of no attempt`);
        this.#observer.batchAbandoned(batch, "nonce used elsewhere");
        this.#forget(batch.id);
      }
      return;
    }
    const now = this.#now();
    if (now - last.sentAtMs >= this.#options.bumpAfterMs) {
      const bumped = bumpFees(
        { maxFeePerGas: last.maxFeePerGas, maxPriorityFeePerGas: last.maxPriorityFeePerGas },
        { ...(await this.#networkFees()), capMaxFeePerGas: this.#options.maxFeePerGasCap },
      );
      if (bumped !== null) {
        await this.#send(batch, bumped, true);
        return;
      }
    }
    if (now - (this.#lastBroadcast.get(batch.id) ?? 0) >= this.#options.rebroadcastAfterMs) {
      await this.#broadcast(batch, last.rawTx);
    }
  }

  async #networkFees(): Promise<{ networkMaxFee: bigint; networkPriorityFee: bigint }> {
    const fees = await this.#chain.suggestedFees();
    return { networkMaxFee: fees.maxFeePerGas, networkPriorityFee: fees.maxPriorityFeePerGas };
  }

  #capped(fees: Fees): Fees {
    const cap = this.#options.maxFeePerGasCap;
    const maxFeePerGas = fees.maxFeePerGas > cap ? cap : fees.maxFeePerGas;
    const maxPriorityFeePerGas = fees.maxPriorityFeePerGas > maxFeePerGas ? maxFeePerGas : fees.maxPriorityFeePerGas;
    return { maxFeePerGas, maxPriorityFeePerGas };
  }

  async #send(batch: OpenBatch, fees: Fees, replacement: boolean): Promise<void> {
    const { txHash, rawTx } = await this.#chain.sign(batch.readings, batch.nonce, fees);
    const attempt: TxAttempt = { txHash, rawTx, ...fees, sentAtMs: this.#now() };
    this.#store.recordAttempt(batch.id, attempt); // recorded before it can possibly be mined
    batch.attempts.push(attempt);
    this.#observer.batchSent(batch, attempt, replacement);
    await this.#broadcast(batch, rawTx);
  }

  async #broadcast(batch: OpenBatch, rawTx: `0x${string}`): Promise<void> {
    this.#lastBroadcast.set(batch.id, this.#now());
    await this.#chain.broadcast(rawTx); // "nonce used" is resolved by the next #progress via the receipts
  }

  #forget(batchId: number): void {
    this.#lastBroadcast.delete(batchId);
    this.#nonceConsumedChecks.delete(batchId);
  }
}

export { sleep };
