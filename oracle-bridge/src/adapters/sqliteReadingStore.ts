/**
 * ReadingStore on SQLite (Node's built-in `node:sqlite`, no native add-on to build). Every insert is its own
 * committed transaction in WAL mode before `insert` returns, so a reading the broker saw acknowledged survives
 * a `kill -9` of the bridge (`synchronous = NORMAL`: the commit is in the OS before the ack). With
 * `durability: "power-loss"` every commit is also fsynced (`synchronous = FULL`), which survives a power cut at
 * the price of throughput.
 *
 * uint64 values are stored as 20-digit zero-padded decimal text: SQLite integers are signed 64-bit, and the
 * padding makes text order equal numeric order for the primary key (meter, seq).
 */
import { DatabaseSync, type StatementSync } from "node:sqlite";
import type { Hex } from "viem";
import type { SignedReading } from "../domain/reading.ts";
import type {
  InsertResult,
  OpenBatch,
  PendingReading,
  ReadingOutcome,
  ReadingStore,
  StoreCounts,
  StoredOutcome,
  TxAttempt,
} from "../ports/readingStore.ts";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS readings (
  meter TEXT NOT NULL,
  seq TEXT NOT NULL,
  ts TEXT NOT NULL,
  production TEXT NOT NULL,
  consumption TEXT NOT NULL,
  voltage INTEGER NOT NULL,
  frequency INTEGER NOT NULL,
  signature TEXT NOT NULL,
  received_ms INTEGER NOT NULL,
  status TEXT NOT NULL,
  batch_id INTEGER,
  reason TEXT,
  tx_hash TEXT,
  block TEXT,
  PRIMARY KEY (meter, seq)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS readings_pending ON readings (status, received_ms);
CREATE INDEX IF NOT EXISTS readings_batch ON readings (batch_id);
CREATE INDEX IF NOT EXISTS readings_posted ON readings (meter, status, seq);
CREATE TABLE IF NOT EXISTS batches (
  id INTEGER PRIMARY KEY,
  sender TEXT NOT NULL,
  nonce INTEGER NOT NULL,
  created_ms INTEGER NOT NULL,
  closed INTEGER NOT NULL DEFAULT 0,
  tx_hash TEXT,
  block TEXT,
  closed_why TEXT
);
CREATE TABLE IF NOT EXISTS attempts (
  tx_hash TEXT PRIMARY KEY,
  batch_id INTEGER NOT NULL,
  raw TEXT NOT NULL,
  max_fee TEXT NOT NULL,
  priority_fee TEXT NOT NULL,
  sent_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS attempts_batch ON attempts (batch_id);
`;

export type Durability = "process-crash" | "power-loss";

function pad(value: bigint): string {
  return value.toString().padStart(20, "0");
}

interface ReadingRow {
  meter: string;
  seq: string;
  ts: string;
  production: string;
  consumption: string;
  voltage: number;
  frequency: number;
  signature: string;
  received_ms: number;
  status: string;
  reason: string | null;
  tx_hash: string | null;
  block: string | null;
}

function toPending(row: ReadingRow): PendingReading {
  return {
    meterId: BigInt(row.meter),
    seq: BigInt(row.seq),
    timestamp: BigInt(row.ts),
    productionWh: BigInt(row.production),
    consumptionWh: BigInt(row.consumption),
    voltage_mV: Number(row.voltage),
    frequency_mHz: Number(row.frequency),
    signature: row.signature as Hex,
    receivedAtMs: Number(row.received_ms),
  };
}

function sameContent(row: ReadingRow, reading: SignedReading): boolean {
  return (
    BigInt(row.ts) === reading.timestamp &&
    BigInt(row.production) === reading.productionWh &&
    BigInt(row.consumption) === reading.consumptionWh &&
    Number(row.voltage) === reading.voltage_mV &&
    Number(row.frequency) === reading.frequency_mHz
  );
}

export class SqliteReadingStore implements ReadingStore {
  readonly #db: DatabaseSync;
  readonly #byKey: StatementSync;
  readonly #highestSeq: StatementSync;
  readonly #insert: StatementSync;
  readonly #pending: StatementSync;
  readonly #pendingSummary: StatementSync;
  /** meter → highest seq in a transaction (undefined: none); mirrors the table, see #postedHighWaterOf. */
  readonly #highWater = new Map<bigint, bigint | undefined>();

  /** Opens (and creates) the store at `path`; ":memory:" for a throwaway store. */
  constructor(path: string, durability: Durability = "process-crash") {
    this.#db = new DatabaseSync(path);
    this.#db.exec("PRAGMA journal_mode = WAL");
    this.#db.exec(`PRAGMA synchronous = ${durability === "power-loss" ? "FULL" : "NORMAL"}`);
    this.#db.exec("PRAGMA busy_timeout = 5000");
    this.#db.exec("PRAGMA wal_autocheckpoint = 8000"); // every reading is a commit: checkpoint less often
    this.#db.exec(SCHEMA);
    this.#byKey = this.#db.prepare("SELECT * FROM readings WHERE meter = ? AND seq = ?");
    this.#highestSeq = this.#db.prepare("SELECT max(seq) AS seq FROM readings WHERE meter = ? AND status != 'pending'");
    this.#insert = this.#db.prepare(
      `INSERT OR IGNORE INTO readings (meter, seq, ts, production, consumption, voltage, frequency, signature, received_ms, status)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending')`,
    );
    this.#pending = this.#db.prepare(
      "SELECT * FROM readings WHERE status = 'pending' ORDER BY received_ms, meter, seq LIMIT ?",
    );
    this.#pendingSummary = this.#db.prepare(
      "SELECT count(*) AS n, min(received_ms) AS oldest FROM readings WHERE status = 'pending'",
    );
  }

  insert(reading: SignedReading, receivedAtMs: number): InsertResult {
    const meter = pad(reading.meterId);
    const seq = pad(reading.seq);
    // Out of order is fine while the reading can still be posted in seq order; once a later seq of the meter
    // is in a transaction, SmartMeter would refuse this one.
    const highest = this.#postedHighWaterOf(reading.meterId);
    if (highest !== undefined && highest > reading.seq) {
      const existing = this.#byKey.get(meter, seq) as ReadingRow | undefined;
      if (existing !== undefined) return sameContent(existing, reading) ? { kind: "duplicate" } : { kind: "conflicting_duplicate" };
      return { kind: "sequence_regressed", highestSeq: highest };
    }
    const { changes } = this.#insert.run(
      meter,
      seq,
      reading.timestamp.toString(),
      reading.productionWh.toString(),
      reading.consumptionWh.toString(),
      reading.voltage_mV,
      reading.frequency_mHz,
      reading.signature,
      receivedAtMs,
    );
    if (Number(changes) === 1) return { kind: "stored" };
    const existing = this.#byKey.get(meter, seq) as unknown as ReadingRow;
    return sameContent(existing, reading) ? { kind: "duplicate" } : { kind: "conflicting_duplicate" };
  }

  /** Highest seq of the meter already in a transaction; cached, and raised by openBatch. */
  #postedHighWaterOf(meterId: bigint): bigint | undefined {
    if (!this.#highWater.has(meterId)) {
      const highest = (this.#highestSeq.get(pad(meterId)) as { seq: string | null }).seq;
      if (this.#highWater.size > 1_000_000) this.#highWater.clear();
      this.#highWater.set(meterId, highest === null ? undefined : BigInt(highest));
    }
    return this.#highWater.get(meterId);
  }

  postedHighWater(meterIds: readonly bigint[]): Map<bigint, bigint | undefined> {
    return new Map(meterIds.map((meterId) => [meterId, this.#postedHighWaterOf(meterId)]));
  }

  pending(limit: number): PendingReading[] {
    return (this.#pending.all(limit) as unknown as ReadingRow[]).map(toPending);
  }

  pendingSummary(): { count: number; oldestReceivedAtMs: number | undefined } {
    const row = this.#pendingSummary.get() as { n: number; oldest: number | null };
    return { count: Number(row.n), oldestReceivedAtMs: row.oldest === null ? undefined : Number(row.oldest) };
  }

  openBatch(sender: Hex, nonce: number, readings: PendingReading[], nowMs: number): OpenBatch {
    return this.#transaction(() => {
      const { lastInsertRowid } = this.#db
        .prepare("INSERT INTO batches (sender, nonce, created_ms) VALUES (?, ?, ?)")
        .run(sender, nonce, nowMs);
      const id = Number(lastInsertRowid);
      const mark = this.#db.prepare(
        "UPDATE readings SET status = 'batched', batch_id = ? WHERE meter = ? AND seq = ? AND status = 'pending'",
      );
      for (const reading of readings) {
        const { changes } = mark.run(id, pad(reading.meterId), pad(reading.seq));
        if (Number(changes) !== 1) throw new Error(`reading ${reading.meterId}/${reading.seq} is not pending`);
      }
      for (const reading of readings) {
        const current = this.#postedHighWaterOf(reading.meterId);
        if (current === undefined || reading.seq > current) this.#highWater.set(reading.meterId, reading.seq);
      }
      return { id, sender, nonce, createdAtMs: nowMs, readings, attempts: [] };
    });
  }

  recordAttempt(batchId: number, attempt: TxAttempt): void {
    this.#db
      .prepare(
        "INSERT OR IGNORE INTO attempts (tx_hash, batch_id, raw, max_fee, priority_fee, sent_ms) VALUES (?, ?, ?, ?, ?, ?)",
      )
      .run(
        attempt.txHash,
        batchId,
        attempt.rawTx,
        attempt.maxFeePerGas.toString(),
        attempt.maxPriorityFeePerGas.toString(),
        attempt.sentAtMs,
      );
  }

  openBatches(): OpenBatch[] {
    const batches = this.#db.prepare("SELECT * FROM batches WHERE closed = 0 ORDER BY nonce, id").all() as Array<{
      id: number;
      sender: string;
      nonce: number;
      created_ms: number;
    }>;
    return batches.map((batch) => {
      const readings = (
        this.#db.prepare("SELECT * FROM readings WHERE batch_id = ? ORDER BY meter, seq").all(batch.id) as unknown as ReadingRow[]
      ).map(toPending);
      const attempts = (
        this.#db.prepare("SELECT * FROM attempts WHERE batch_id = ? ORDER BY sent_ms, rowid").all(batch.id) as Array<{
          tx_hash: string;
          raw: string;
          max_fee: string;
          priority_fee: string;
          sent_ms: number;
        }>
      ).map((row) => ({
        txHash: row.tx_hash as Hex,
        rawTx: row.raw as Hex,
        maxFeePerGas: BigInt(row.max_fee),
        maxPriorityFeePerGas: BigInt(row.priority_fee),
        sentAtMs: Number(row.sent_ms),
      }));
      return {
        id: Number(batch.id),
        sender: batch.sender as Hex,
        nonce: Number(batch.nonce),
        createdAtMs: Number(batch.created_ms),
        readings,
        attempts,
      };
    });
  }

  closeBatch(batchId: number, txHash: Hex, blockNumber: bigint, outcomes: ReadingOutcome[]): void {
    this.#transaction(() => {
      const set = this.#db.prepare(
        "UPDATE readings SET status = ?, reason = ?, tx_hash = ?, block = ? WHERE meter = ? AND seq = ? AND batch_id = ?",
      );
      for (const outcome of outcomes) {
        set.run(
          outcome.accepted ? "accepted" : "rejected",
          outcome.reason ?? null,
          txHash,
          blockNumber.toString(),
          pad(outcome.meterId),
          pad(outcome.seq),
          batchId,
        );
      }
      // A reading of the batch the receipt says nothing about cannot stay in limbo: the contract emits one
      // event per reading, so this only happens if the contract changed; record it as rejected, visibly.
      this.#db
        .prepare(
          "UPDATE readings SET status = 'rejected', reason = 'NoOutcomeInReceipt', tx_hash = ?, block = ? WHERE batch_id = ? AND status = 'batched'",
        )
        .run(txHash, blockNumber.toString(), batchId);
      this.#db
        .prepare("UPDATE batches SET closed = 1, tx_hash = ?, block = ?, closed_why = 'mined' WHERE id = ?")
        .run(txHash, blockNumber.toString(), batchId);
    });
  }

  abandonBatch(batchId: number, why: string): void {
    this.#highWater.clear(); // the batch's readings are pending again: recompute from the table
    this.#transaction(() => {
      this.#db
        .prepare("UPDATE readings SET status = 'pending', batch_id = NULL WHERE batch_id = ? AND status = 'batched'")
        .run(batchId);
      this.#db.prepare("UPDATE batches SET closed = 1, closed_why = ? WHERE id = ?").run(why, batchId);
    });
  }

  outcome(meterId: bigint, seq: bigint): StoredOutcome | undefined {
    const row = this.#byKey.get(pad(meterId), pad(seq)) as ReadingRow | undefined;
    if (row === undefined) return undefined;
    return {
      status: row.status as StoredOutcome["status"],
      reason: row.reason ?? undefined,
      txHash: (row.tx_hash ?? undefined) as Hex | undefined,
      blockNumber: row.block === null ? undefined : BigInt(row.block),
    };
  }

  latestPairs(): Array<{ previous: SignedReading | undefined; latest: SignedReading }> {
    const rows = this.#db
      .prepare(
        `SELECT * FROM (SELECT *, row_number() OVER (PARTITION BY meter ORDER BY seq DESC) AS rn FROM readings)
         WHERE rn <= 2 ORDER BY meter, seq`,
      )
      .all() as unknown as ReadingRow[];
    const pairs: Array<{ previous: SignedReading | undefined; latest: SignedReading }> = [];
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i];
      const next = rows[i + 1];
      if (next !== undefined && next.meter === row.meter) {
        pairs.push({ previous: toPending(row), latest: toPending(next) });
        i++;
      } else {
        pairs.push({ previous: undefined, latest: toPending(row) });
      }
    }
    return pairs;
  }

  counts(): StoreCounts {
    const counts: StoreCounts = { pending: 0, batched: 0, accepted: 0, rejected: 0 };
    const rows = this.#db.prepare("SELECT status, count(*) AS n FROM readings GROUP BY status").all() as Array<{
      status: keyof StoreCounts;
      n: number;
    }>;
    for (const row of rows) counts[row.status] = Number(row.n);
    return counts;
  }

  /** All stored readings of one meter in seq order (tests and audits). */
  readingsOf(meterId: bigint): Array<PendingReading & { status: string; reason: string | undefined }> {
    return (
      this.#db.prepare("SELECT * FROM readings WHERE meter = ? ORDER BY seq").all(pad(meterId)) as unknown as ReadingRow[]
    ).map((row) => ({ ...toPending(row), status: row.status, reason: row.reason ?? undefined }));
  }

  close(): void {
    if (this.#db.isOpen) this.#db.close();
  }

  #transaction<T>(work: () => T): T {
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      const result = work();
      this.#db.exec("COMMIT");
      return result;
    } catch (error) {
      this.#db.exec("ROLLBACK");
      throw error;
    }
  }
}
