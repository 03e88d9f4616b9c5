import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Hex } from "viem";
import { SqliteReadingStore } from "../../src/adapters/sqliteReadingStore.ts";
import type { SignedReading } from "../../src/domain/reading.ts";
import type { TxAttempt } from "../../src/ports/readingStore.ts";

const MAX_UINT64 = (1n << 64n) - 1n;
const SENDER: Hex = "0x00000000000000000000000000000000000000aa";
const SIG: Hex = `0x${"11".repeat(65)}`;

function reading(meterId: bigint, seq: bigint, overrides: Partial<SignedReading> = {}): SignedReading {
  return {
    meterId,
    seq,
    timestamp: 1_750_000_000n + seq,
    productionWh: 1_000n + seq,
    consumptionWh: 500n + seq,
    voltage_mV: 230_000,
    frequency_mHz: 50_000,
    signature: SIG,
    ...overrides,
  };
}

function txHash(n: number): Hex {
  return `0x${n.toString(16).padStart(64, "0")}`;
}

function attempt(n: number, sentAtMs: number): TxAttempt {
  return {
    txHash: txHash(n),
    rawTx: `0x02${n.toString(16).padStart(8, "0")}`,
    maxFeePerGas: 1_000_000_000n * BigInt(n) + MAX_UINT64, // above 2^64 on purpose: stored as text
    maxPriorityFeePerGas: BigInt(n),
    sentAtMs,
  };
}

/** The SignedReading fields of a stored reading (drops receivedAtMs and test-only extras). */
function signedOf(r: SignedReading): SignedReading {
  return {
    meterId: r.meterId,
    seq: r.seq,
    timestamp: r.timestamp,
    productionWh: r.productionWh,
    consumptionWh: r.consumptionWh,
    voltage_mV: r.voltage_mV,
    frequency_mHz: r.frequency_mHz,
    signature: r.signature,
  };
}

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), "gridx-store-"));
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

let counter = 0;
function freshStore(): { store: SqliteReadingStore; path: string } {
  const path = join(dir, `store-${counter++}.sqlite`);
  return { store: new SqliteReadingStore(path), path };
}

describe("SqliteReadingStore.insert", () => {
  it("stores a new reading as pending", () => {
    const { store } = freshStore();
    assert.deepEqual(store.insert(reading(1n, 1n), 100), { kind: "stored" });
    assert.deepEqual(store.outcome(1n, 1n), { status: "pending", reason: undefined, txHash: undefined, blockNumber: undefined });
    assert.deepEqual(store.pending(10), [{ ...reading(1n, 1n), receivedAtMs: 100 }]);
    assert.equal(store.outcome(1n, 2n), undefined);
    store.close();
  });

  it("the same (meterId, seq) with the same content is a duplicate and changes nothing", () => {
    const { store } = freshStore();
    store.insert(reading(1n, 1n), 100);
    assert.deepEqual(store.insert(reading(1n, 1n), 200), { kind: "duplicate" });
    assert.deepEqual(store.pending(10), [{ ...reading(1n, 1n), receivedAtMs: 100 }]);
    assert.deepEqual(store.counts(), { pending: 1, batched: 0, accepted: 0, rejected: 0 });
    store.close();
  });

  it("the same (meterId, seq) with different content is a conflicting duplicate; the first one stays", () => {
    const { store } = freshStore();
    store.insert(reading(1n, 1n), 100);
    for (const change of [
      { timestamp: 1n },
      { productionWh: 2n },
      { consumptionWh: 3n },
      { voltage_mV: 1 },
      { frequency_mHz: 2 },
    ] satisfies Array<Partial<SignedReading>>) {
      assert.deepEqual(store.insert(reading(1n, 1n, change), 200), { kind: "conflicting_duplicate" }, JSON.stringify(change, (_, v) => (typeof v === "bigint" ? v.toString() : v)));
    }
    assert.deepEqual(store.pending(10), [{ ...reading(1n, 1n), receivedAtMs: 100 }]);
    store.close();
  });

  it("stores out-of-order arrivals while nothing later of the meter is posted", () => {
    const { store } = freshStore();
    assert.deepEqual(store.insert(reading(1n, 5n), 100), { kind: "stored" });
    assert.deepEqual(store.insert(reading(1n, 3n), 101), { kind: "stored" });
    assert.deepEqual(store.insert(reading(1n, 4n), 102), { kind: "stored" });
    assert.deepEqual(store.pendingSummary(), { count: 3, oldestReceivedAtMs: 100 });
    assert.deepEqual(store.postedHighWater([1n]), new Map([[1n, undefined]]));
    store.close();
  });

  it("after a higher seq is put in a batch, a new lower seq is sequence_regressed; stored ones stay (duplicate)", () => {
    const { store } = freshStore();
    store.insert(reading(1n, 2n), 100);
    store.insert(reading(1n, 5n), 101);
    store.insert(reading(2n, 1n), 102);
    const [r2, r5] = store.pending(10).filter((r) => r.meterId === 1n);
    store.openBatch(SENDER, 0, [r2, r5], 200);
    assert.deepEqual(store.postedHighWater([1n, 2n]), new Map([[1n, 5n], [2n, undefined]]));
    assert.deepEqual(store.insert(reading(1n, 3n), 300), { kind: "sequence_regressed", highestSeq: 5n });
    assert.deepEqual(store.insert(reading(1n, 1n), 300), { kind: "sequence_regressed", highestSeq: 5n });
    // already stored readings below / at the mark are still recognised as duplicates or conflicts
    assert.deepEqual(store.insert(reading(1n, 2n), 300), { kind: "duplicate" });
    assert.deepEqual(store.insert(reading(1n, 2n, { productionWh: 9n }), 300), { kind: "conflicting_duplicate" });
    assert.deepEqual(store.insert(reading(1n, 5n), 300), { kind: "duplicate" });
    assert.deepEqual(store.insert(reading(1n, 5n, { productionWh: 9n }), 300), { kind: "conflicting_duplicate" });
    // above the mark is fine, and other meters are independent
    assert.deepEqual(store.insert(reading(1n, 6n), 300), { kind: "stored" });
    assert.deepEqual(store.insert(reading(2n, 0n), 300), { kind: "stored" });
    assert.equal(store.outcome(1n, 3n), undefined);
    store.close();
  });

  it("the posted high-water mark is rebuilt from the file by a new instance", () => {
    const { store, path } = freshStore();
    store.insert(reading(1n, 5n), 100);
    store.openBatch(SENDER, 0, store.pending(10), 200);
    store.close();
    const reopened = new SqliteReadingStore(path);
    assert.deepEqual(reopened.insert(reading(1n, 4n), 300), { kind: "sequence_regressed", highestSeq: 5n });
    reopened.close();
  });
});

describe("SqliteReadingStore pending", () => {
  it("pending() returns the oldest first, limited, and skips batched readings", () => {
    const { store } = freshStore();
    store.insert(reading(3n, 1n), 300);
    store.insert(reading(1n, 2n), 100);
    store.insert(reading(2n, 1n), 200);
    store.insert(reading(1n, 1n), 100); // same arrival time: (meter, seq) order
    assert.deepEqual(
      store.pending(10).map((r) => [r.meterId, r.seq, r.receivedAtMs]),
      [
        [1n, 1n, 100],
        [1n, 2n, 100],
        [2n, 1n, 200],
        [3n, 1n, 300],
      ],
    );
    assert.equal(store.pending(2).length, 2);
    assert.deepEqual(store.pending(2).map((r) => r.seq), [1n, 2n]);
    const first = store.pending(1);
    store.openBatch(SENDER, 0, first, 400);
    assert.deepEqual(
      store.pending(10).map((r) => [r.meterId, r.seq]),
      [
        [1n, 2n],
        [2n, 1n],
        [3n, 1n],
      ],
    );
    store.close();
  });

  it("pendingSummary() counts pending readings and gives the oldest arrival", () => {
    const { store } = freshStore();
    assert.deepEqual(store.pendingSummary(), { count: 0, oldestReceivedAtMs: undefined });
    store.insert(reading(1n, 1n), 500);
    store.insert(reading(1n, 2n), 300);
    store.insert(reading(2n, 1n), 700);
    assert.deepEqual(store.pendingSummary(), { count: 3, oldestReceivedAtMs: 300 });
    store.openBatch(SENDER, 0, store.pending(1), 800); // takes (1, 2) received at 300
    assert.deepEqual(store.pendingSummary(), { count: 2, oldestReceivedAtMs: 500 });
    store.close();
  });
});

describe("SqliteReadingStore batches", () => {
  it("openBatch / recordAttempt / openBatches round trip, attempts in sending order", () => {
    const { store } = freshStore();
    store.insert(reading(2n, 1n), 100);
    store.insert(reading(1n, 2n), 101);
    store.insert(reading(1n, 1n), 102);
    const pending = store.pending(10);
    const batch = store.openBatch(SENDER, 7, pending, 1_000);
    assert.equal(batch.sender, SENDER);
    assert.equal(batch.nonce, 7);
    assert.equal(batch.createdAtMs, 1_000);
    assert.deepEqual(batch.attempts, []);
    assert.deepEqual(batch.readings, pending);
    assert.deepEqual(store.counts(), { pending: 0, batched: 3, accepted: 0, rejected: 0 });

    // recorded out of sentAt order on purpose; a repeated tx hash is ignored
    store.recordAttempt(batch.id, attempt(2, 2_000));
    store.recordAttempt(batch.id, attempt(1, 1_500));
    store.recordAttempt(batch.id, attempt(3, 2_000));
    store.recordAttempt(batch.id, attempt(1, 1_500));

    const open = store.openBatches();
    assert.equal(open.length, 1);
    const [loaded] = open;
    assert.equal(loaded.id, batch.id);
    assert.equal(loaded.sender, SENDER);
    assert.equal(loaded.nonce, 7);
    assert.equal(loaded.createdAtMs, 1_000);
    // readings come back in (meter, seq) order
    assert.deepEqual(
      loaded.readings.map((r) => [r.meterId, r.seq]),
      [
        [1n, 1n],
        [1n, 2n],
        [2n, 1n],
      ],
    );
    assert.deepEqual(
      [...loaded.readings].sort((a, b) => a.receivedAtMs - b.receivedAtMs),
      [...pending].sort((a, b) => a.receivedAtMs - b.receivedAtMs),
    );
    // by sentAt, then insertion order for equal sentAt
    assert.deepEqual(loaded.attempts, [attempt(1, 1_500), attempt(2, 2_000), attempt(3, 2_000)]);
    store.close();
  });

  it("openBatch refuses readings that are not pending and leaves everything as it was", () => {
    const { store } = freshStore();
    store.insert(reading(1n, 1n), 100);
    store.insert(reading(1n, 2n), 100);
    const [r1, r2] = store.pending(10);
    store.openBatch(SENDER, 0, [r1], 200);
    assert.throws(() => store.openBatch(SENDER, 1, [r2, r1], 300), /not pending/);
    assert.equal(store.openBatches().length, 1);
    assert.deepEqual(store.counts(), { pending: 1, batched: 1, accepted: 0, rejected: 0 });
    assert.deepEqual(store.postedHighWater([1n]), new Map([[1n, 1n]]));
    store.close();
  });

  it("several open batches come back ordered by nonce", () => {
    const { store } = freshStore();
    for (let seq = 1n; seq <= 3n; seq++) store.insert(reading(1n, seq), Number(seq));
    const [a, b, c] = store.pending(10);
    store.openBatch(SENDER, 5, [a], 10);
    store.openBatch(SENDER, 3, [b], 11);
    store.openBatch(SENDER, 4, [c], 12);
    assert.deepEqual(store.openBatches().map((x) => x.nonce), [3, 4, 5]);
    store.close();
  });

  it("closeBatch records accepted / rejected per reading with reason, tx hash and block; missing outcomes become NoOutcomeInReceipt", () => {
    const { store } = freshStore();
    for (let seq = 1n; seq <= 3n; seq++) store.insert(reading(1n, seq), 100);
    store.insert(reading(2n, 1n), 100);
    store.insert(reading(9n, 1n), 100); // not in the batch
    const inBatch = store.pending(10).filter((r) => r.meterId !== 9n);
    const batch = store.openBatch(SENDER, 0, inBatch, 200);
    const hash = txHash(0xabc);
    const block = MAX_UINT64;
    store.closeBatch(batch.id, hash, block, [
      { meterId: 1n, seq: 1n, accepted: true },
      { meterId: 1n, seq: 2n, accepted: false, reason: "SequenceNotIncreasing" },
      { meterId: 2n, seq: 1n, accepted: true },
      // an outcome for a reading that is not in this batch must not touch it
      { meterId: 9n, seq: 1n, accepted: true },
    ]);
    assert.deepEqual(store.outcome(1n, 1n), { status: "accepted", reason: undefined, txHash: hash, blockNumber: block });
    assert.deepEqual(store.outcome(1n, 2n), { status: "rejected", reason: "SequenceNotIncreasing", txHash: hash, blockNumber: block });
    assert.deepEqual(store.outcome(1n, 3n), { status: "rejected", reason: "NoOutcomeInReceipt", txHash: hash, blockNumber: block });
    assert.deepEqual(store.outcome(2n, 1n), { status: "accepted", reason: undefined, txHash: hash, blockNumber: block });
    assert.deepEqual(store.outcome(9n, 1n), { status: "pending", reason: undefined, txHash: undefined, blockNumber: undefined });
    assert.deepEqual(store.openBatches(), []);
    assert.deepEqual(store.counts(), { pending: 1, batched: 0, accepted: 2, rejected: 2 });
    // the high-water mark stays at the highest posted seq after closing
    assert.deepEqual(store.postedHighWater([1n, 2n, 9n]), new Map([[1n, 3n], [2n, 1n], [9n, undefined]]));
    store.close();
  });

  it("abandonBatch puts the readings back to pending and recomputes the posted high-water mark", () => {
    const { store } = freshStore();
    for (let seq = 1n; seq <= 4n; seq++) store.insert(reading(1n, seq), Number(seq));
    const [r1, r2, r3, r4] = store.pending(10);
    const first = store.openBatch(SENDER, 0, [r1, r2], 10);
    store.closeBatch(first.id, txHash(1), 1n, [
      { meterId: 1n, seq: 1n, accepted: true },
      { meterId: 1n, seq: 2n, accepted: true },
    ]);
    const second = store.openBatch(SENDER, 1, [r3, r4], 20);
    store.recordAttempt(second.id, attempt(5, 21));
    assert.deepEqual(store.postedHighWater([1n]), new Map([[1n, 4n]]));
    assert.deepEqual(store.insert(reading(1n, 3n, { productionWh: 1n }), 30), { kind: "conflicting_duplicate" });

    store.abandonBatch(second.id, "reverted");
    assert.deepEqual(store.openBatches(), []);
    assert.deepEqual(store.postedHighWater([1n]), new Map([[1n, 2n]]));
    assert.deepEqual(
      store.pending(10).map((r) => [r.seq, r.receivedAtMs]),
      [
        [3n, 3],
        [4n, 4],
      ],
    );
    assert.deepEqual(store.outcome(1n, 3n), { status: "pending", reason: undefined, txHash: undefined, blockNumber: undefined });
    assert.deepEqual(store.counts(), { pending: 2, batched: 0, accepted: 2, rejected: 0 });
    // below the recomputed mark is still refused; between the marks it is a stored reading again
    assert.deepEqual(store.insert(reading(1n, 1n, { productionWh: 1n }), 40), { kind: "conflicting_duplicate" });
    assert.deepEqual(store.insert(reading(1n, 5n), 40), { kind: "stored" });
    // and the readings can be batched again
    const again = store.openBatch(SENDER, 1, store.pending(10), 50);
    assert.equal(again.readings.length, 3);
    assert.deepEqual(store.postedHighWater([1n]), new Map([[1n, 5n]]));
    store.close();
  });

  it("abandoning a meter's only batch clears its high-water mark", () => {
    const { store } = freshStore();
    store.insert(reading(4n, 10n), 1);
    const batch = store.openBatch(SENDER, 0, store.pending(10), 2);
    assert.deepEqual(store.insert(reading(4n, 9n), 3), { kind: "sequence_regressed", highestSeq: 10n });
    store.abandonBatch(batch.id, "dropped");
    assert.deepEqual(store.postedHighWater([4n]), new Map([[4n, undefined]]));
    assert.deepEqual(store.insert(reading(4n, 9n), 4), { kind: "stored" });
    store.close();
  });
});

describe("SqliteReadingStore queries", () => {
  it("counts() reports every status", () => {
    const { store } = freshStore();
    assert.deepEqual(store.counts(), { pending: 0, batched: 0, accepted: 0, rejected: 0 });
    for (let seq = 1n; seq <= 6n; seq++) store.insert(reading(1n, seq), 1);
    const [a, b, c, d] = store.pending(10);
    const closed = store.openBatch(SENDER, 0, [a, b, c], 2);
    store.closeBatch(closed.id, txHash(1), 10n, [
      { meterId: 1n, seq: 1n, accepted: true },
      { meterId: 1n, seq: 2n, accepted: false, reason: "InvalidSignature" },
      { meterId: 1n, seq: 3n, accepted: true },
    ]);
    store.openBatch(SENDER, 1, [d], 3);
    assert.deepEqual(store.counts(), { pending: 2, batched: 1, accepted: 2, rejected: 1 });
    store.close();
  });

  it("latestPairs() gives each meter's latest reading with the one before it", () => {
    const { store } = freshStore();
    assert.deepEqual(store.latestPairs(), []);
    store.insert(reading(1n, 1n), 1);
    store.insert(reading(1n, 3n), 2);
    store.insert(reading(1n, 2n), 3);
    store.insert(reading(2n, 7n), 4);
    store.insert(reading(10n, 1n), 5); // "10" sorts after "2" only when padded
    store.insert(reading(10n, 100n), 5);
    const pairs = store.latestPairs();
    assert.deepEqual(
      pairs.map(({ previous, latest }) => [latest.meterId, previous === undefined ? undefined : signedOf(previous), signedOf(latest)]),
      [
        [1n, reading(1n, 2n), reading(1n, 3n)],
        [2n, undefined, reading(2n, 7n)],
        [10n, reading(10n, 1n), reading(10n, 100n)],
      ],
    );
    store.close();
  });

  it("keeps uint64 values above 2^53 and up to 2^64 − 1 exact, ordered numerically", () => {
    const { store } = freshStore();
    const big = [(1n << 53n) + 1n, (1n << 63n) - 1n, 1n << 63n, MAX_UINT64 - 1n, MAX_UINT64];
    for (const [i, v] of big.entries()) {
      const r = reading(v, v, { timestamp: v, productionWh: v, consumptionWh: MAX_UINT64 - BigInt(i), voltage_mV: 2 ** 32 - 1, frequency_mHz: 2 ** 32 - 1 });
      assert.deepEqual(store.insert(r, i), { kind: "stored" });
      assert.deepEqual(store.insert(r, i), { kind: "duplicate" });
      assert.deepEqual(store.insert({ ...r, productionWh: v - 1n }, i), { kind: "conflicting_duplicate" });
    }
    const pending = store.pending(100);
    assert.deepEqual(pending.map((r) => r.meterId), big);
    for (const [i, r] of pending.entries()) {
      assert.equal(r.seq, big[i]);
      assert.equal(r.timestamp, big[i]);
      assert.equal(r.productionWh, big[i]);
      assert.equal(r.consumptionWh, MAX_UINT64 - BigInt(i));
      assert.equal(r.voltage_mV, 2 ** 32 - 1);
      assert.equal(r.frequency_mHz, 2 ** 32 - 1);
    }
    // seq order of one meter across the 2^53 / 2^63 boundaries is numeric, not lexicographic
    const meter = 77n;
    const seqs = [9n, 1n << 53n, (1n << 53n) + 1n, 1n << 63n, MAX_UINT64];
    for (const seq of [...seqs].reverse()) store.insert(reading(meter, seq), 1_000);
    const latest = store.latestPairs().find((p) => p.latest.meterId === meter);
    assert.equal(latest?.latest.seq, MAX_UINT64);
    assert.equal(latest?.previous?.seq, 1n << 63n);
    const batch = store.openBatch(SENDER, 0, store.pending(100).filter((r) => r.meterId === meter && r.seq <= 1n << 63n), 2_000);
    assert.deepEqual(batch.readings.map((r) => r.seq), seqs.slice(0, 4));
    assert.deepEqual(store.postedHighWater([meter]), new Map([[meter, 1n << 63n]]));
    assert.deepEqual(store.insert(reading(meter, (1n << 63n) - 1n), 3_000), { kind: "sequence_regressed", highestSeq: 1n << 63n });
    store.closeBatch(batch.id, txHash(1), MAX_UINT64, batch.readings.map((r) => ({ meterId: r.meterId, seq: r.seq, accepted: true })));
    assert.equal(store.outcome(meter, 1n << 63n)?.status, "accepted");
    assert.equal(store.outcome(meter, 1n << 63n)?.blockNumber, MAX_UINT64);
    assert.equal(store.outcome(meter, MAX_UINT64)?.status, "pending");
    store.close();
  });
});

describe("SqliteReadingStore durability", () => {
  it("readings, outcomes, open batches and their attempts survive closing and reopening the file", () => {
    const { store, path } = freshStore();
    for (let seq = 1n; seq <= 5n; seq++) store.insert(reading(1n, seq), Number(seq));
    store.insert(reading(MAX_UINT64, MAX_UINT64), 6);
    const [r1, r2, r3] = store.pending(10);
    const closed = store.openBatch(SENDER, 0, [r1], 10);
    store.closeBatch(closed.id, txHash(9), 99n, [{ meterId: 1n, seq: 1n, accepted: false, reason: "SequenceNotIncreasing" }]);
    const open = store.openBatch(SENDER, 1, [r2, r3], 20);
    store.recordAttempt(open.id, attempt(1, 21));
    store.recordAttempt(open.id, attempt(2, 22));
    const before = {
      pending: store.pending(100),
      openBatches: store.openBatches(),
      counts: store.counts(),
      pairs: store.latestPairs(),
      outcome: store.outcome(1n, 1n),
    };
    store.close();
    store.close(); // idempotent

    const reopened = new SqliteReadingStore(path, "power-loss");
    assert.deepEqual(reopened.pending(100), before.pending);
    assert.deepEqual(reopened.openBatches(), before.openBatches);
    assert.equal(reopened.openBatches()[0].attempts.length, 2);
    assert.deepEqual(reopened.counts(), before.counts);
    assert.deepEqual(reopened.latestPairs(), before.pairs);
    assert.deepEqual(reopened.outcome(1n, 1n), { status: "rejected", reason: "SequenceNotIncreasing", txHash: txHash(9), blockNumber: 99n });
    assert.deepEqual(reopened.insert(reading(1n, 4n), 30), { kind: "duplicate" });
    assert.deepEqual(reopened.postedHighWater([1n]), new Map([[1n, 3n]]));
    // the reopened open batch can be finished
    reopened.closeBatch(open.id, txHash(2), 100n, [
      { meterId: 1n, seq: 2n, accepted: true },
      { meterId: 1n, seq: 3n, accepted: true },
    ]);
    assert.deepEqual(reopened.counts(), { pending: 3, batched: 0, accepted: 2, rejected: 1 });
    // a new batch id does not collide with the old ones
    const next = reopened.openBatch(SENDER, 2, reopened.pending(1), 40);
    assert.ok(next.id > open.id);
    reopened.close();
  });

  it("a reading is committed as soon as insert returns (visible to a second connection without close)", () => {
    const { store, path } = freshStore();
    store.insert(reading(5n, 1n), 1);
    const other = new SqliteReadingStore(path);
    assert.deepEqual(other.pending(10).map((r) => [r.meterId, r.seq]), [[5n, 1n]]);
    other.close();
    store.close();
  });
});
