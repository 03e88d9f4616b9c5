/**
 * Batching and retry policy of `SmartMeter.submitReadings`, pure: which stored readings to send and when,
 * how long to wait before retrying, how to re-price a stuck transaction. The adapters apply it with the real
 * clock, store and RPC.
 */

/** SmartMeter.MAX_BATCH_SIZE: the contract reverts a larger batch. */
export const MAX_BATCH_SIZE = 200;

/** A stored reading waiting to go on chain; callers extend it with whatever they need to submit it. */
export interface PendingItem {
  meterId: bigint;
  seq: bigint;
  /** When the bridge received (and stored) it, ms since the epoch of the caller's clock. */
  receivedAtMs: number;
}

export interface BatchPolicy {
  /** Flush as soon as this many readings wait; also the most one batch carries. 1..MAX_BATCH_SIZE. */
  maxBatchSize: number;
  /** Flush as soon as the oldest waiting reading is this old, however few there are. */
  maxAgeMs: number;
}

export type FlushReason = "size" | "age" | "none";

function compareMeterSeq(a: PendingItem, b: PendingItem): number {
  if (a.meterId !== b.meterId) return a.meterId < b.meterId ? -1 : 1;
  if (a.seq !== b.seq) return a.seq < b.seq ? -1 : 1;
  return 0;
}

function compareAge(a: PendingItem, b: PendingItem): number {
  return a.receivedAtMs - b.receivedAtMs || compareMeterSeq(a, b);
}

/**
 * Decides whether to flush now and which readings go in the batch.
 *
 * Flush when at least `maxBatchSize` readings wait ("size") or the oldest has waited `maxAgeMs` ("age").
 * The batch takes the oldest readings first, up to `maxBatchSize`, so none waits forever behind busier meters.
 * SmartMeter rejects a reading whose seq is not above the meter's last accepted one, so a meter's readings
 * must reach it in increasing seq order: a reading enters the batch only together with every pending reading
 * of its meter with a lower seq (which may have arrived later, out of order); when those do not all fit, the
 * reading and the meter's later ones wait for the next batch. The batch is returned sorted by
 * (meterId, seq), the order the contract processes it in. `pending` is not modified; (meterId, seq) pairs
 * are expected to be unique (the store deduplicates them).
 */
export function selectBatch<T extends PendingItem>(
  pending: readonly T[],
  nowMs: number,
  policy: BatchPolicy,
): { flush: boolean; batch: T[]; why: FlushReason } {
  const { maxBatchSize, maxAgeMs } = policy;
  if (!Number.isSafeInteger(maxBatchSize) || maxBatchSize < 1 || maxBatchSize > MAX_BATCH_SIZE) {
    throw new RangeError(`maxBatchSize: ${maxBatchSize} is not an integer in [1, ${MAX_BATCH_SIZE}]`);
  }
  if (!(maxAgeMs >= 0)) throw new RangeError(`maxAgeMs: ${maxAgeMs} is not a non-negative number`);
  const byAge = [...pending].sort(compareAge);
  const oldest = byAge[0];
  if (oldest === undefined) return { flush: false, batch: [], why: "none" };
  let why: FlushReason = "none";
  if (pending.length >= maxBatchSize) why = "size";
  else if (nowMs - oldest.receivedAtMs >= maxAgeMs) why = "age";
  if (why === "none") return { flush: false, batch: [], why };

  // Each meter's pending readings in seq order; `taken[m]` counts how many of them (a prefix) are in the batch.
  const queues = new Map<bigint, T[]>();
  for (const item of pending) {
    const queue = queues.get(item.meterId);
    if (queue === undefined) queues.set(item.meterId, [item]);
    else queue.push(item);
  }
  const positionOf = new Map<T, number>();
  for (const queue of queues.values()) {
    queue.sort(compareMeterSeq);
    queue.forEach((item, index) => positionOf.set(item, index));
  }
  const taken = new Map<bigint, number>();

  const batch: T[] = [];
  for (const item of byAge) {
    if (batch.length === maxBatchSize) break;
    const queue = queues.get(item.meterId) as T[];
    const already = taken.get(item.meterId) ?? 0;
    const position = positionOf.get(item) as number;
    if (position < already) continue; // pulled in earlier as a predecessor
    const needed = position + 1 - already; // the item and its not-yet-taken predecessors
    if (batch.length + needed > maxBatchSize) continue; // does not fit whole: keep it (and its successors) waiting
    batch.push(...queue.slice(already, position + 1));
    taken.set(item.meterId, position + 1);
  }
  batch.sort(compareMeterSeq);
  return { flush: true, batch, why };
}

/**
 * Delay before retry number `attempt` (0 for the first retry): "full jitter", a uniform draw in
 * [0, min(maxMs, baseMs × 2^attempt)], so many bridges failing at once do not retry in lockstep.
 * `random` returns [0, 1) like Math.random (injected so tests are deterministic); out-of-range draws are
 * clamped. Always an integer in [0, maxMs].
 */
export function backoffMs(attempt: number, options: { baseMs: number; maxMs: number }, random: () => number): number {
  const { baseMs, maxMs } = options;
  if (!(baseMs >= 0 && Number.isFinite(baseMs)) || !(maxMs >= 0 && Number.isFinite(maxMs))) {
    throw new RangeError(`backoff: baseMs ${baseMs} and maxMs ${maxMs} must be finite and ≥ 0`);
  }
  const exponent = Math.max(0, Math.floor(Number.isFinite(attempt) ? attempt : 0));
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(exponent, 1024));
  const draw = random();
  const unit = Number.isFinite(draw) ? Math.min(Math.max(draw, 0), 1) : 0;
  return Math.min(Math.floor(unit * ceiling), Math.floor(ceiling));
}

export interface Fees {
  maxFeePerGas: bigint;
  maxPriorityFeePerGas: bigint;
}

/** The default replacement bump, 12.5 %: above geth's 10 % minimum for replacing a pending transaction. */
export const DEFAULT_FEE_BUMP_BPS = 1250;

/**
 * Fees for a replacement of a stuck transaction (same nonce): each fee at least the old one plus `bumpBps`
 * (rounded up, since nodes refuse a replacement even one wei short of the bump) and at least what the network
 * asks now; maxFeePerGas is raised to the priority fee if below it (EIP-1559 requires max ≥ priority).
 * Null when the new maxFeePerGas would exceed `capMaxFeePerGas`: the operator's budget wins over inclusion,
 * and the transaction is left to wait.
 */
export function bumpFees(
  old: Fees,
  options: { networkMaxFee: bigint; networkPriorityFee: bigint; bumpBps?: number; capMaxFeePerGas: bigint },
): Fees | null {
  const bumpBps = options.bumpBps ?? DEFAULT_FEE_BUMP_BPS;
  if (!Number.isSafeInteger(bumpBps) || bumpBps < 0) throw new RangeError(`bumpBps: ${bumpBps} is not an integer ≥ 0`);
  const bump = (fee: bigint): bigint => {
    const scaled = fee * (10_000n + BigInt(bumpBps));
    return (scaled + 9_999n) / 10_000n;
  };
  const atLeast = (a: bigint, b: bigint): bigint => (a > b ? a : b);
  const maxPriorityFeePerGas = atLeast(bump(old.maxPriorityFeePerGas), options.networkPriorityFee);
  const maxFeePerGas = atLeast(atLeast(bump(old.maxFeePerGas), options.networkMaxFee), maxPriorityFeePerGas);
  if (maxFeePerGas > options.capMaxFeePerGas) return null;
  return { maxFeePerGas, maxPriorityFeePerGas };
}

/**
 * Whether another attempt is allowed after `attempt` attempts have been made (1 after the first try):
 * `maxAttempts` bounds the total, first try included, so a poison batch cannot be retried forever.
 */
export function shouldRetry(attempt: number, maxAttempts: number): boolean {
  return attempt < maxAttempts;
}

/**
 * The pending readings that may be batched now, given each meter's posted high-water mark (the highest seq
 * already put in a transaction; undefined when none). MQTT does not promise order across redeliveries and
 * reconnects, and SmartMeter refuses a seq below one it accepted, so a meter's readings are held at a gap in
 * its seq sequence (the next expected seq has not arrived) until the reading after the gap has waited
 * `gapTimeoutMs`: long enough for a straggler to arrive, short enough that a reading the device really never
 * sent (cumulative registers: nothing is lost with it) does not stall the meter. A meter this bridge never
 * posted for has no known next seq unless its first pending reading is seq 1; its readings wait out the
 * same timeout first.
 */
export function releasedAtGaps<T extends PendingItem>(
  pending: readonly T[],
  highWater: ReadonlyMap<bigint, bigint | undefined>,
  nowMs: number,
  gapTimeoutMs: number,
): T[] {
  const byMeter = new Map<bigint, T[]>();
  for (const item of pending) {
    const queue = byMeter.get(item.meterId);
    if (queue === undefined) byMeter.set(item.meterId, [item]);
    else queue.push(item);
  }
  const released: T[] = [];
  for (const [meterId, queue] of byMeter) {
    queue.sort(compareMeterSeq);
    const posted = highWater.get(meterId);
    let expected = posted === undefined ? 1n : posted + 1n;
    for (const item of queue) {
      if (item.seq < expected) {
        // A straggler that arrived after its successors were posted: SmartMeter will reject it, and that
        // outcome is recorded like any other (it must not sit in the queue forever).
        released.push(item);
        continue;
      }
      if (item.seq !== expected && nowMs - item.receivedAtMs < gapTimeoutMs) break; // wait for the straggler
      released.push(item);
      expected = item.seq + 1n;
    }
  }
  return released;
}
