import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { releasedAtGaps, type PendingItem } from "../../src/domain/batching.ts";

interface Item extends PendingItem {
  id: string;
}

function item(meterId: number | bigint, seq: number | bigint, receivedAtMs: number): Item {
  return { meterId: BigInt(meterId), seq: BigInt(seq), receivedAtMs, id: `${meterId}/${seq}` };
}

const ids = (items: Item[]): string[] => items.map((i) => i.id).sort();
const TIMEOUT = 3_000;
const NOW = 100_000;

function released(pending: Item[], highWater: Array<[number, number | undefined]>, now = NOW, timeout = TIMEOUT): string[] {
  const marks = new Map<bigint, bigint | undefined>(highWater.map(([m, s]) => [BigInt(m), s === undefined ? undefined : BigInt(s)]));
  return ids(releasedAtGaps(pending, marks, now, timeout));
}

describe("releasedAtGaps", () => {
  it("releases nothing when nothing is pending", () => {
    assert.deepEqual(released([], [[1, 5]]), []);
  });

  it("releases a contiguous run from the high-water mark at once, whatever the arrival order", () => {
    const pending = [item(1, 8, NOW), item(1, 6, NOW), item(1, 7, NOW)];
    assert.deepEqual(released(pending, [[1, 5]]), ["1/6", "1/7", "1/8"]);
  });

  it("holds a meter at a gap, including everything after it, until the reading after the gap waited gapTimeoutMs", () => {
    const pending = [item(1, 6, NOW - 10), item(1, 8, NOW - 10), item(1, 9, NOW - 10)];
    // 7 is missing: 6 goes, 8 and 9 wait
    assert.deepEqual(released(pending, [[1, 5]]), ["1/6"]);
    // just before the timeout: still waiting
    assert.deepEqual(released(pending, [[1, 5]], NOW - 10 + TIMEOUT - 1), ["1/6"]);
    // at the timeout: the gap is given up, 8 and 9 follow
    assert.deepEqual(released(pending, [[1, 5]], NOW - 10 + TIMEOUT), ["1/6", "1/8", "1/9"]);
  });

  it("the timeout of a gap is measured on the reading right after it, not on later ones", () => {
    // 7 missing; 8 arrived late (fresh), 9 long ago
    const pending = [item(1, 8, NOW - 1), item(1, 9, NOW - 10 * TIMEOUT)];
    assert.deepEqual(released(pending, [[1, 6]]), []);
    assert.deepEqual(released(pending, [[1, 6]], NOW - 1 + TIMEOUT), ["1/8", "1/9"]);
  });

  it("each gap is waited out separately", () => {
    // 6 missing (8 waited long enough), 9 missing (10 is fresh)
    const pending = [item(1, 7, NOW - TIMEOUT), item(1, 8, NOW - TIMEOUT), item(1, 10, NOW)];
    assert.deepEqual(released(pending, [[1, 5]]), ["1/7", "1/8"]);
    assert.deepEqual(released(pending, [[1, 5]], NOW + TIMEOUT), ["1/10", "1/7", "1/8"]);
  });

  it("a zero timeout never holds anything", () => {
    const pending = [item(1, 9, NOW), item(2, 5, NOW)];
    assert.deepEqual(released(pending, [[1, 1]], NOW, 0), ["1/9", "2/5"]);
  });

  it("a meter never posted for starts at seq 1 at once", () => {
    const pending = [item(3, 2, NOW), item(3, 1, NOW), item(3, 3, NOW)];
    assert.deepEqual(released(pending, [[3, undefined]]), ["3/1", "3/2", "3/3"]);
    // a meter missing from the map is the same as one never posted for
    assert.deepEqual(released(pending, []), ["3/1", "3/2", "3/3"]);
  });

  it("a meter never posted for whose first pending seq is above 1 waits out the timeout first", () => {
    const pending = [item(3, 5, NOW - 100), item(3, 6, NOW)];
    assert.deepEqual(released(pending, [[3, undefined]]), []);
    assert.deepEqual(released(pending, [[3, undefined]], NOW - 100 + TIMEOUT), ["3/5", "3/6"]);
    // after that its run continues contiguously; a new gap is held again
    const withGap = [item(3, 5, NOW - TIMEOUT), item(3, 6, NOW), item(3, 8, NOW)];
    assert.deepEqual(released(withGap, [[3, undefined]]), ["3/5", "3/6"]);
  });

  it("releases stragglers below the high-water mark so they get an on-chain outcome", () => {
    // 3 and 4 arrived after 10 was put in a transaction: released at once (SmartMeter will reject them)
    const pending = [item(1, 3, NOW), item(1, 4, NOW), item(1, 10, NOW)];
    assert.deepEqual(released(pending, [[1, 10]]), ["1/10", "1/3", "1/4"]);
    // even when the meter is held at a gap above the mark
    const held = [item(1, 3, NOW), item(1, 12, NOW)];
    assert.deepEqual(released(held, [[1, 10]]), ["1/3"]);
    // the reading equal to the mark (a stored copy of the posted one) is released as well
    assert.deepEqual(released([item(1, 10, NOW)], [[1, 10]]), ["1/10"]);
  });

  it("meters are independent: a gap of one does not hold another", () => {
    const pending = [
      item(1, 6, NOW), // contiguous from 5
      item(1, 7, NOW),
      item(2, 9, NOW), // gap (expects 3)
      item(2, 1, NOW), // straggler of meter 2
      item(3, 1, NOW), // never posted, starts at 1
      item(3, 3, NOW), // gap after 1
      item(4, 2, NOW - TIMEOUT), // never posted, timed out
      item(5, 2, NOW), // never posted, fresh: held
    ];
    assert.deepEqual(
      released(pending, [
        [1, 5],
        [2, 2],
        [3, undefined],
        [4, undefined],
      ]),
      ["1/6", "1/7", "2/1", "3/1", "4/2"],
    );
  });

  it("works across the uint64 range", () => {
    const max = (1n << 64n) - 1n;
    const pending = [item(max, max, NOW), item(max, max - 1n, NOW)];
    const marks = new Map<bigint, bigint | undefined>([[max, max - 2n]]);
    assert.deepEqual(ids(releasedAtGaps(pending, marks, NOW, TIMEOUT)), [`${max}/${max - 1n}`, `${max}/${max}`].sort());
  });

  it("returns the caller's items without modifying the input", () => {
    const pending = [item(1, 7, NOW), item(1, 6, NOW)];
    const copy = [...pending];
    const out = releasedAtGaps(pending, new Map([[1n, 5n]]), NOW, TIMEOUT);
    assert.deepEqual(pending, copy);
    for (const x of out) assert.ok(pending.includes(x));
  });
});
