import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  backoffMs,
  bumpFees,
  DEFAULT_FEE_BUMP_BPS,
  MAX_BATCH_SIZE,
  selectBatch,
  shouldRetry,
  type PendingItem,
} from "../../src/domain/batching.ts";

interface Item extends PendingItem {
  id: string;
}

function item(meterId: number, seq: number, receivedAtMs: number): Item {
  return { meterId: BigInt(meterId), seq: BigInt(seq), receivedAtMs, id: `${meterId}/${seq}` };
}

const ids = (items: Item[]): string[] => items.map((i) => i.id);

/** Each meter's readings in the batch are in increasing seq order and a prefix of its pending seqs. */
function assertMeterPrefixes(pending: Item[], batch: Item[]): void {
  batch.slice(1).forEach((b, i) => {
    const a = batch[i] as Item;
    assert.ok(a.meterId < b.meterId || (a.meterId === b.meterId && a.seq < b.seq), `${a.id} before ${b.id}`);
  });
  for (const chosen of batch) {
    for (const other of pending) {
      if (other.meterId === chosen.meterId && other.seq < chosen.seq) {
        assert.ok(batch.includes(other), `${chosen.id} without its predecessor ${other.id}`);
      }
    }
  }
}

describe("selectBatch", () => {
  const policy = { maxBatchSize: 3, maxAgeMs: 1_000 };

  it("waits while the batch is small and young", () => {
    assert.deepEqual(selectBatch([], 10_000, policy), { flush: false, batch: [], why: "none" });
    assert.deepEqual(selectBatch([item(1, 1, 9_500), item(2, 1, 9_600)], 10_000, policy), {
      flush: false,
      batch: [],
      why: "none",
    });
  });

  it("flushes on age when the oldest has waited maxAgeMs (boundary included)", () => {
    const pending = [item(2, 1, 9_600), item(1, 1, 9_000)];
    const result = selectBatch(pending, 10_000, policy);
    assert.equal(result.flush, true);
    assert.equal(result.why, "age");
    assert.deepEqual(ids(result.batch), ["1/1", "2/1"]);
    assert.equal(selectBatch(pending, 9_999, policy).flush, false);
  });

  it("flushes on size, takes the oldest and returns them ordered by (meterId, seq)", () => {
    const pending = [item(9, 1, 100), item(1, 5, 300), item(3, 2, 200), item(2, 1, 400), item(1, 4, 150)];
    const result = selectBatch(pending, 500, policy);
    assert.equal(result.why, "size");
    // Oldest: 9/1 (100), 1/4 (150), 3/2 (200); 1/5 (300) and 2/1 (400) wait.
    assert.deepEqual(ids(result.batch), ["1/4", "3/2", "9/1"]);
    assertMeterPrefixes(pending, result.batch);
  });

  it("does not modify its input", () => {
    const pending = [item(2, 1, 1), item(1, 1, 2), item(1, 2, 3)];
    const copy = [...pending];
    selectBatch(pending, 10, policy);
    assert.deepEqual(pending, copy);
  });

  it("pulls in a meter's earlier seq that arrived later", () => {
    // Meter 1's seq 6 arrived first, seq 5 last: sending 6 alone would make the contract refuse 5 later.
    const pending = [item(1, 6, 100), item(2, 1, 200), item(3, 1, 300), item(1, 5, 400)];
    const result = selectBatch(pending, 500, policy);
    assert.deepEqual(ids(result.batch), ["1/5", "1/6", "2/1"]);
    assertMeterPrefixes(pending, result.batch);
  });

  it("leaves a reading waiting when its predecessors do not fit, and fills up with others", () => {
    // 2/1 is oldest; 1/3 next needs 1/1 and 1/2 too (3 items) but only 2 slots are left.
    const pending = [item(2, 1, 100), item(1, 3, 150), item(4, 1, 160), item(1, 1, 200), item(1, 2, 300)];
    const result = selectBatch(pending, 1_000, policy);
    assert.deepEqual(ids(result.batch), ["1/1", "2/1", "4/1"]);
    assertMeterPrefixes(pending, result.batch);
  });

  it("is never empty when it flushes, even if the oldest reading needs more predecessors than a batch holds", () => {
    const pending = [item(1, 10, 0), ...Array.from({ length: 9 }, (_, i) => item(1, i + 1, 100 + i))];
    const result = selectBatch(pending, 1_000, policy);
    assert.equal(result.flush, true);
    assert.deepEqual(ids(result.batch), ["1/1", "1/2", "1/3"]);
  });

  it("caps at MAX_BATCH_SIZE and keeps every meter's seqs in order on a random backlog", () => {
    let state = 7;
    const random = (n: number): number => (state = (state * 1103515245 + 12345) & 0x7fffffff) % n;
    const nextSeq = new Map<number, number>();
    const pending: Item[] = [];
    for (let i = 0; i < 1_000; i += 1) {
      const meter = random(40);
      const seq = (nextSeq.get(meter) ?? 0) + 1;
      nextSeq.set(meter, seq);
      pending.push(item(meter, seq, random(10_000))); // arrival order unrelated to seq
    }
    const result = selectBatch(pending, 10_000, { maxBatchSize: MAX_BATCH_SIZE, maxAgeMs: 60_000 });
    assert.equal(result.why, "size");
    assert.equal(result.batch.length, MAX_BATCH_SIZE);
    assert.equal(new Set(result.batch).size, MAX_BATCH_SIZE);
    assertMeterPrefixes(pending, result.batch);
  });

  it("refuses a batch size outside 1..200 and a negative age", () => {
    for (const maxBatchSize of [0, 201, 1.5, Number.NaN]) {
      assert.throws(() => selectBatch([], 0, { maxBatchSize, maxAgeMs: 1 }), RangeError);
    }
    assert.throws(() => selectBatch([], 0, { maxBatchSize: 1, maxAgeMs: -1 }), RangeError);
    assert.equal(selectBatch([item(1, 1, 0)], 0, { maxBatchSize: 1, maxAgeMs: 0 }).why, "size");
    assert.equal(selectBatch([item(1, 1, 0)], 0, { maxBatchSize: 2, maxAgeMs: 0 }).why, "age");
  });
});

describe("backoffMs", () => {
  const options = { baseMs: 100, maxMs: 10_000 };

  it("draws in [0, base × 2^attempt]", () => {
    assert.equal(backoffMs(0, options, () => 0.999999), 99);
    assert.equal(backoffMs(3, options, () => 0.5), 400);
    assert.equal(backoffMs(3, options, () => 0), 0);
  });

  it("is bounded by maxMs for any attempt", () => {
    assert.equal(backoffMs(7, options, () => 0.5), 5_000); // 12 800 capped to 10 000
    assert.equal(backoffMs(10_000, options, () => 0.999), 9_990);
    assert.ok(backoffMs(Number.POSITIVE_INFINITY, options, () => 0.999) <= 10_000);
  });

  it("clamps a misbehaving random source and returns integers", () => {
    assert.equal(backoffMs(2, options, () => 7), 400);
    assert.equal(backoffMs(2, options, () => -3), 0);
    assert.equal(backoffMs(2, options, () => Number.NaN), 0);
    assert.ok(Number.isInteger(backoffMs(1, { baseMs: 3, maxMs: 10 }, () => 0.37)));
  });

  it("spreads retries (full jitter)", () => {
    let state = 1;
    const random = (): number => ((state = (state * 48271) % 2147483647) / 2147483647);
    const draws = new Set(Array.from({ length: 50 }, () => backoffMs(5, options, random)));
    assert.ok(draws.size > 40);
    for (const draw of draws) assert.ok(draw >= 0 && draw <= 3_200);
  });

  it("refuses negative or infinite bounds", () => {
    assert.throws(() => backoffMs(1, { baseMs: -1, maxMs: 10 }, () => 0), RangeError);
    assert.throws(() => backoffMs(1, { baseMs: 1, maxMs: Number.POSITIVE_INFINITY }, () => 0), RangeError);
  });
});

describe("bumpFees", () => {
  const cap = 1_000_000_000_000n;

  it("bumps both fees by 12.5 % by default, rounded up", () => {
    assert.equal(DEFAULT_FEE_BUMP_BPS, 1250);
    assert.deepEqual(
      bumpFees({ maxFeePerGas: 1_000n, maxPriorityFeePerGas: 101n }, { networkMaxFee: 0n, networkPriorityFee: 0n, capMaxFeePerGas: cap }),
      { maxFeePerGas: 1_125n, maxPriorityFeePerGas: 114n }, // 113.625 → 114
    );
  });

  it("follows the network when it asks more", () => {
    assert.deepEqual(
      bumpFees(
        { maxFeePerGas: 1_000n, maxPriorityFeePerGas: 100n },
        { networkMaxFee: 5_000n, networkPriorityFee: 300n, capMaxFeePerGas: cap },
      ),
      { maxFeePerGas: 5_000n, maxPriorityFeePerGas: 300n },
    );
  });

  it("keeps maxFeePerGas at least the priority fee", () => {
    assert.deepEqual(
      bumpFees(
        { maxFeePerGas: 100n, maxPriorityFeePerGas: 100n },
        { networkMaxFee: 0n, networkPriorityFee: 500n, capMaxFeePerGas: cap },
      ),
      { maxFeePerGas: 500n, maxPriorityFeePerGas: 500n },
    );
  });

  it("takes a custom bump and bumps zero fees to the network's", () => {
    assert.deepEqual(
      bumpFees(
        { maxFeePerGas: 1_000n, maxPriorityFeePerGas: 0n },
        { networkMaxFee: 0n, networkPriorityFee: 1n, bumpBps: 1_000, capMaxFeePerGas: cap },
      ),
      { maxFeePerGas: 1_100n, maxPriorityFeePerGas: 1n },
    );
  });

  it("is null above the cap, and the cap itself is allowed", () => {
    const old = { maxFeePerGas: 800n, maxPriorityFeePerGas: 10n };
    const network = { networkMaxFee: 0n, networkPriorityFee: 0n };
    assert.equal(bumpFees(old, { ...network, capMaxFeePerGas: 899n }), null);
    assert.deepEqual(bumpFees(old, { ...network, capMaxFeePerGas: 900n }), { maxFeePerGas: 900n, maxPriorityFeePerGas: 12n });
    assert.equal(bumpFees(old, { networkMaxFee: 2_000n, networkPriorityFee: 0n, capMaxFeePerGas: 1_999n }), null);
  });

  it("refuses a negative or fractional bump", () => {
    const args = { networkMaxFee: 0n, networkPriorityFee: 0n, capMaxFeePerGas: cap };
    assert.throws(() => bumpFees({ maxFeePerGas: 1n, maxPriorityFeePerGas: 1n }, { ...args, bumpBps: -1 }), RangeError);
    assert.throws(() => bumpFees({ maxFeePerGas: 1n, maxPriorityFeePerGas: 1n }, { ...args, bumpBps: 0.5 }), RangeError);
  });
});

describe("shouldRetry", () => {
  it("allows attempts up to maxAttempts in total", () => {
    assert.deepEqual([0, 1, 2, 3, 4].map((attempt) => shouldRetry(attempt, 3)), [true, true, true, false, false]);
    assert.equal(shouldRetry(1, 1), false);
    assert.equal(shouldRetry(1, 0), false);
  });
});
