import { expect } from "chai";
import { network } from "hardhat";
import type { BaseContract, ContractTransactionResponse, Interface, Log } from "ethers";
import {
  type Asset,
  type MarketEvent,
  type MarketParams,
  ReferenceMarket,
  ReferenceRevert,
  SIDE_BUY,
  SIDE_SELL,
  type Side,
} from "./market/referenceMatcher.ts";

/**
 * Differential test of EnergyTrading + Settlement against test/market/referenceMatcher.ts: random operation
 * sequences (seeded: MARKET_DIFF_SEED reproduces a run, MARKET_DIFF_SEQUENCES sets how many) go through both,
 * and after every operation the test compares whether it reverted (and with which error), the order id it
 * issued, every fill, expiry and cancel event, each resting order's remainder, best bid and ask, every
 * trader's available/locked balance of both tokens and the accrued fees.
 */
const { ethers, networkHelpers } = await network.create();

const SEED = Number(process.env.MARKET_DIFF_SEED ?? Math.floor(Math.random() * 2 ** 31));
const SEQUENCES = Number(process.env.MARKET_DIFF_SEQUENCES ?? 1_000);
const OPS_PER_SEQUENCE = 10;
const TICK = 1_000n;
const CENTER_TICK = 250n; // 0.25 USD per kWh
const USD = 1_000_000n;
const GAS_LIMIT = 12_000_000n;

const PARAMS: MarketParams = {
  tickSize: TICK,
  maxFillsPerCall: 64,
  minOrderWh: 100n,
  maxOrderWh: 1_000_000n,
  maxDailyWhPerAccount: 5_000_000n,
  peakFeeBps: 150n,
  offPeakFeeBps: 50n,
  peakStartHour: 17,
  peakEndHour: 21,
  protocolFeeBps: 20n,
};

/** mulberry32: small, fast and reproducible. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  return {
    int: (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1)),
    big: (lo: bigint, hi: bigint) => lo + BigInt(Math.floor(next() * Number(hi - lo + 1n))),
    chance: (p: number) => next() < p,
    pick: <T>(items: readonly T[]) => items[Math.floor(next() * items.length)],
  };
}
type Rng = ReturnType<typeof prng>;

async function deployMarket() {
  const [admin, minter, treasury, protocolTreasury, ...rest] = await ethers.getSigners();
  const traders = rest.slice(0, 3);
  const manager = await ethers.deployContract("GridXAccessManager", [admin.address]);
  const grid = await ethers.deployContract("GridManagement", [await manager.getAddress(), 900]);
  await grid.createZone({
    name: "Riverside",
    treasury: treasury.address,
    emissionFactor_gCO2ePerKWh: 233,
    capacityWhPerInterval: 500_000,
    fees: { peakFeeBps: 150, offPeakFeeBps: 50, peakStartHour: 17, peakEndHour: 21 },
    limits: { minOrderWh: 100, maxOrderWh: 1_000_000, maxDailyTradedWhPerAccount: 5_000_000 },
  });
  const zone = 1;
  expect(await grid.zoneExists(zone)).to.equal(true);
  // EnergyToken's minter is fixed at construction; a plain account stands in for SmartMeter here so the
  // traders get credits without going through signed meter readings.
  const energyToken = await ethers.deployContract("EnergyToken", [minter.address]);
  const usd = await ethers.deployContract("MockStablecoin");
  const fieldConfigs = [
    { min: 1, max: 10n ** 12n, maxDeviationBps: 0 },
    { min: 0, max: 10n ** 12n, maxDeviationBps: 0 },
    { min: 0, max: 10n ** 12n, maxDeviationBps: 0 },
  ];
  const priceOracle = await ethers.deployContract("PriceOracle", [await manager.getAddress(), await grid.getAddress(), 1, 3600, fieldConfigs]);
  const settlement = await ethers.deployContract("Settlement", [
    await manager.getAddress(),
    await grid.getAddress(),
    await usd.getAddress(),
    await energyToken.getAddress(),
    protocolTreasury.address,
    PARAMS.protocolFeeBps,
  ]);
  const trading = await ethers.deployContract("EnergyTrading", [
    await manager.getAddress(),
    await settlement.getAddress(),
    await grid.getAddress(),
    await priceOracle.getAddress(),
    TICK,
    PARAMS.maxFillsPerCall,
    5_000,
    0, // Unbanded: no reference is ever posted, so no band applies
  ]);
  await settlement.setEnergyTrading(await trading.getAddress());
  await grid.setMarket(await trading.getAddress());
  await priceOracle.setMarket(await trading.getAddress());

  const reference = new ReferenceMarket(PARAMS);
  for (const trader of traders) {
    const usdAmount = 200n * USD;
    const whAmount = 200_000n;
    await usd.faucet(trader.address, usdAmount);
    await energyToken.connect(minter).mint(trader.address, whAmount);
    await usd.connect(trader).approve(await settlement.getAddress(), ethers.MaxUint256);
    await energyToken.connect(trader).approve(await settlement.getAddress(), ethers.MaxUint256);
    await settlement.connect(trader).deposit(await usd.getAddress(), usdAmount / 2n);
    await settlement.connect(trader).deposit(await energyToken.getAddress(), whAmount / 2n);
    reference.fundWallet(trader.address, "payment", usdAmount);
    reference.fundWallet(trader.address, "credits", whAmount);
    reference.deposit(trader.address, "payment", usdAmount / 2n);
    reference.deposit(trader.address, "credits", whAmount / 2n);
  }
  // A book to trade against: every sequence starts with bids and asks a few ticks either side of the centre.
  let now = BigInt(await networkHelpers.time.latest());
  for (const [index, trader] of traders.entries()) {
    for (const [side, offset] of [[SIDE_BUY, -1n - BigInt(index)], [SIDE_SELL, 1n + BigInt(index)], [SIDE_BUY, -4n], [SIDE_SELL, 4n]] as const) {
      now += 1n;
      const price = (CENTER_TICK + offset) * TICK;
      const expiry = now + 30n * 86_400n;
      await networkHelpers.time.setNextBlockTimestamp(now);
      await trading.connect(trader).createOrder(zone, side, 2_000n, price, expiry, 0);
      reference.createOrder(now, trader.address, zone, side, 2_000n, price, expiry, 0);
    }
  }
  return { admin, traders, zone, usd, energyToken, settlement, trading, reference };
}

type Market = Awaited<ReturnType<typeof deployMarket>>;

/** One operation on both sides: `chain` sends the transaction, `model` applies it to the reference. */
interface Operation {
  label: string;
  chain: () => Promise<ContractTransactionResponse>;
  model: () => unknown;
}

/** Generates the next operation from the reference's current state (so ids and amounts are meaningful). */
function nextOperation(rng: Rng, m: Market, now: bigint, knownIds: bigint[]): Operation {
  const { reference, trading, settlement, zone } = m;
  const trader = rng.pick(m.traders);
  const roll = rng.int(0, 99);
  const expiry = () => (rng.chance(0.35) ? now + rng.big(1n, 40n) : rng.chance(0.03) ? now : now + rng.big(60n, 2n * 86_400n));
  const amount = () => (rng.chance(0.05) ? rng.pick([0n, 99n, 100n, 1_000_001n]) : rng.big(100n, 6_000n));

  if (roll < 55) {
    const side: Side = rng.chance(0.5) ? SIDE_BUY : SIDE_SELL;
    const amountWh = amount();
    const price = rng.chance(0.02) ? rng.pick([0n, 250_500n]) : (CENTER_TICK + rng.big(-6n, 6n)) * TICK;
    const exp = expiry();
    const flags = rng.pick([0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 2, 2, 2, 4, 4, rng.pick([3, 8])]);
    return {
      label: `createOrder(${trader.address.slice(0, 8)}, ${side === SIDE_BUY ? "buy" : "sell"}, ${amountWh} Wh, ${price}, expiry +${exp - now}s, flags ${flags})`,
      chain: () => trading.connect(trader).createOrder(zone, side, amountWh, price, exp, flags, { gasLimit: GAS_LIMIT }),
      model: () => reference.createOrder(now, trader.address, zone, side, amountWh, price, exp, flags),
    };
  }
  if (roll < 63 && knownIds.length !== 0) {
    const orderId = rng.pick(knownIds);
    const owner = reference.order(orderId)?.owner;
    const caller = owner !== undefined && rng.chance(0.85) ? m.traders.find((t) => t.address === owner)! : trader;
    return {
      label: `cancelOrder(${caller.address.slice(0, 8)}, ${orderId})`,
      chain: () => trading.connect(caller).cancelOrder(orderId, { gasLimit: GAS_LIMIT }),
      model: () => reference.cancelOrder(caller.address, orderId),
    };
  }
  if (roll < 68 && knownIds.length !== 0) {
    const ids = Array.from({ length: rng.int(1, 4) }, () => rng.pick(knownIds));
    return {
      label: `expireOrders([${ids.join(", ")}])`,
      chain: () => trading.connect(trader).expireOrders(ids, { gasLimit: GAS_LIMIT }),
      model: () => reference.expireOrders(now, ids),
    };
  }
  if (roll < 76) {
    const amountWh = amount();
    const start = (CENTER_TICK + rng.big(0n, 15n)) * TICK;
    const floor = rng.chance(0.05) ? start + TICK : (CENTER_TICK - rng.big(0n, 12n)) * TICK;
    const window = rng.chance(0.03) ? 0n : rng.big(1n, 120n);
    const exp = expiry();
    return {
      label: `createDutchOrder(${trader.address.slice(0, 8)}, ${amountWh} Wh, ${start} → ${floor} over ${window}s, expiry +${exp - now}s)`,
      chain: () => trading.connect(trader).createDutchOrder(zone, amountWh, start, floor, window, exp, { gasLimit: GAS_LIMIT }),
      model: () => reference.createDutchOrder(now, trader.address, zone, amountWh, start, floor, window, exp),
    };
  }
  const dutch = reference.openOrders().filter((o) => o.kind === 2);
  const bids = reference.openOrders().filter((o) => o.kind === 0 && o.side === SIDE_BUY);
  if (roll < 83 && dutch.length !== 0) {
    const order = rng.pick(dutch);
    const amountWh = rng.chance(0.1) ? rng.big(1n, 99n) : rng.big(100n, 7_000n);
    const maxPrice = (CENTER_TICK + rng.big(-8n, 16n)) * TICK;
    return {
      label: `takeDutchOrder(${trader.address.slice(0, 8)}, ${order.id}, ${amountWh} Wh, max ${maxPrice})`,
      chain: () => trading.connect(trader).takeDutchOrder(order.id, amountWh, maxPrice, { gasLimit: GAS_LIMIT }),
      model: () => reference.takeDutchOrder(now, trader.address, order.id, amountWh, maxPrice),
    };
  }
  if (roll < 91 && bids.length !== 0) {
    const bid = rng.pick(bids);
    // Mostly Dutch asks: a limit ask never crosses a resting bid (the book is never left crossed).
    const asks = reference.openOrders().filter((o) => o.side === SIDE_SELL && (o.kind === 2 || rng.chance(0.15)));
    const ask = asks.length !== 0 && rng.chance(0.9) ? rng.pick(asks).id : rng.pick(knownIds);
    return {
      label: `matchOrders(${bid.id}, ${ask})`,
      chain: () => trading.connect(trader).matchOrders(bid.id, ask, { gasLimit: GAS_LIMIT }),
      model: () => reference.matchOrders(now, bid.id, ask),
    };
  }
  const asset: Asset = rng.chance(0.5) ? "payment" : "credits";
  const token = asset === "payment" ? m.usd : m.energyToken;
  if (rng.chance(0.5)) {
    const available = reference.balanceOf(trader.address, asset).available;
    const amountToWithdraw = rng.chance(0.1) ? available + 1n : available === 0n ? 0n : rng.big(1n, available);
    return {
      label: `withdraw(${trader.address.slice(0, 8)}, ${asset}, ${amountToWithdraw})`,
      chain: async () => settlement.connect(trader).withdraw(await token.getAddress(), amountToWithdraw, { gasLimit: GAS_LIMIT }),
      model: () => reference.withdraw(trader.address, asset, amountToWithdraw),
    };
  }
  const wallet = reference.walletOf(trader.address, asset);
  const amountToDeposit = wallet === 0n ? 0n : rng.big(1n, wallet);
  return {
    label: `deposit(${trader.address.slice(0, 8)}, ${asset}, ${amountToDeposit})`,
    chain: async () => settlement.connect(trader).deposit(await token.getAddress(), amountToDeposit, { gasLimit: GAS_LIMIT }),
    model: () => reference.deposit(trader.address, asset, amountToDeposit),
  };
}

/** The custom error's name from a failed transaction, or "unknown". */
function revertName(error: unknown, interfaces: Interface[]): string {
  const data = findRevertData(error);
  if (data !== undefined) {
    for (const iface of interfaces) {
      const parsed = iface.parseError(data);
      if (parsed !== null) return parsed.name;
    }
  }
  return "unknown";
}

function findRevertData(error: unknown, depth = 0): string | undefined {
  if (error === null || typeof error !== "object" || depth > 5) return undefined;
  const e = error as Record<string, unknown>;
  if (typeof e.data === "string" && e.data.startsWith("0x") && e.data.length >= 10) return e.data;
  for (const key of ["error", "cause", "info", "data"]) {
    const found = findRevertData(e[key], depth + 1);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** EnergyTrading's events of a receipt, in the reference's shape. */
function decodeEvents(logs: readonly Log[], trading: BaseContract, tradingAddress: string): MarketEvent[] {
  const events: MarketEvent[] = [];
  for (const log of logs) {
    if (log.address.toLowerCase() !== tradingAddress.toLowerCase()) continue;
    const parsed = trading.interface.parseLog(log);
    if (parsed === null) continue;
    const a = parsed.args;
    switch (parsed.name) {
      case "OrderCreated":
        events.push({ name: "OrderCreated", orderId: a.orderId, owner: a.owner, side: Number(a.side) as Side, kind: Number(a.kind) as 0, amountWh: a.amountWh, pricePerKWh: a.pricePerKWh });
        break;
      case "OrderFilled":
        events.push({ name: "OrderFilled", orderId: a.orderId, owner: a.owner, amountWh: a.amountWh, pricePerKWh: a.pricePerKWh, remainingWh: a.remainingWh });
        break;
      case "TradeExecuted":
        events.push({ name: "TradeExecuted", buyOrderId: a.buyOrderId, sellOrderId: a.sellOrderId, buyer: a.buyer, seller: a.seller, amountWh: a.amountWh, pricePerKWh: a.pricePerKWh });
        break;
      case "OrderCancelled":
        events.push({ name: "OrderCancelled", orderId: a.orderId, owner: a.owner, remainingWh: a.remainingWh, reason: Number(a.reason) });
        break;
      case "OrderExpired":
        events.push({ name: "OrderExpired", orderId: a.orderId, owner: a.owner, remainingWh: a.remainingWh });
        break;
    }
  }
  return events;
}

/** Everything comparable after an operation, read from the chain. */
async function compareState(m: Market, touchedIds: bigint[], context: string) {
  const { reference, trading, settlement, zone } = m;
  const usdAddress = await m.usd.getAddress();
  const whAddress = await m.energyToken.getAddress();
  const reads: Array<Promise<unknown>> = [];
  for (const trader of m.traders) {
    for (const [asset, tokenAddress] of [["payment", usdAddress], ["credits", whAddress]] as const) {
      reads.push(
        settlement.balanceOf(trader.address, tokenAddress).then((b) => {
          const expected = reference.balanceOf(trader.address, asset);
          expect([b.available, b.locked], `${context}: ${trader.address} ${asset} [available, locked]`).to.deep.equal([expected.available, expected.locked]);
        }),
      );
    }
  }
  reads.push(trading.bestBid(zone).then((bid) => expect(bid, `${context}: bestBid`).to.equal(reference.bestBid(zone))));
  reads.push(trading.bestAsk(zone).then((ask) => expect(ask, `${context}: bestAsk`).to.equal(reference.bestAsk(zone))));
  reads.push(settlement.accruedZoneFees(zone).then((f) => expect(f, `${context}: zone fees`).to.equal(reference.accruedZoneFees(zone))));
  reads.push(settlement.accruedProtocolFees().then((f) => expect(f, `${context}: protocol fees`).to.equal(reference.accruedProtocolFees())));
  for (const orderId of touchedIds) {
    const expected = reference.order(orderId);
    reads.push(
      trading.getOrder(orderId).then(
        (o) => {
          expect(expected, `${context}: order ${orderId} lives on chain only`).to.not.equal(undefined);
          expect([o.owner, o.remainingWh, o.expiry], `${context}: order ${orderId}`).to.deep.equal([expected!.owner, expected!.remainingWh, expected!.expiry]);
        },
        () => expect(expected, `${context}: order ${orderId} lives in the reference only`).to.equal(undefined),
      ),
    );
  }
  await Promise.all(reads);
}

async function runSequence(m: Market, sequence: number, revertCounts: Map<string, number>): Promise<{ ops: number; reverts: number; trades: number }> {
  const rng = prng((SEED ^ Math.imul(sequence + 1, 0x9e3779b1)) >>> 0);
  const tradingAddress = await m.trading.getAddress();
  const interfaces = [m.trading.interface, m.settlement.interface, m.usd.interface] as Interface[];
  const maxFills = rng.pick([1, 2, 3, 64, 64]);
  await m.trading.connect(m.admin).setMaxFillsPerCall(maxFills);
  m.reference.setMaxFillsPerCall(maxFills);
  // Start anywhere in the day, so that peak and off-peak fees both occur.
  let now = BigInt(await networkHelpers.time.latest()) + 1n + rng.big(0n, 86_399n);
  const knownIds: bigint[] = m.reference.openOrders().map((o) => o.id);
  let reverts = 0;
  let trades = 0;
  for (let step = 0; step < OPS_PER_SEQUENCE; ++step) {
    now += rng.chance(0.1) ? rng.big(600n, 7_200n) : rng.big(1n, 30n);
    const op = nextOperation(rng, m, now, knownIds);
    const context = `seed ${SEED}, sequence ${sequence} (maxFills ${maxFills}), step ${step}: ${op.label} at ${now}`;

    let expectedRevert: string | undefined;
    let modelResult: unknown;
    try {
      modelResult = op.model();
    } catch (error) {
      if (!(error instanceof ReferenceRevert)) throw error;
      expectedRevert = error.errorName;
    }

    await networkHelpers.time.setNextBlockTimestamp(now);
    let chainEvents: MarketEvent[] = [];
    let chainRevert: string | undefined;
    try {
      const tx = await op.chain();
      const receipt = await tx.wait();
      chainEvents = decodeEvents(receipt!.logs, m.trading, tradingAddress);
    } catch (error) {
      chainRevert = revertName(error, interfaces);
    }
    if (chainRevert === undefined && expectedRevert === undefined && (await networkHelpers.time.latest()) !== Number(now)) {
      throw new Error(`${context}: the transaction was not mined at the planned timestamp`);
    }
    expect(chainRevert, `${context}: revert`).to.equal(expectedRevert);
    if (chainRevert !== undefined) {
      ++reverts;
      revertCounts.set(chainRevert, (revertCounts.get(chainRevert) ?? 0) + 1);
    } else {
      expect(chainEvents, `${context}: events`).to.deep.equal(m.reference.events);
      trades += m.reference.events.filter((e) => e.name === "TradeExecuted").length;
      if (typeof modelResult === "bigint" && !knownIds.includes(modelResult)) knownIds.push(modelResult);
    }
    const touched = new Set<bigint>([...m.reference.openOrders().map((o) => o.id), ...m.reference.removed]);
    await compareState(m, [...touched], context);
  }
  return { ops: OPS_PER_SEQUENCE, reverts, trades };
}

describe("Market differential (EnergyTrading + Settlement vs test/market/referenceMatcher.ts)", function () {
  this.timeout(0);

  describe("random order sequences", function () {
    it(`agrees with the reference after every operation of ${SEQUENCES} sequences of ${OPS_PER_SEQUENCE}`, async function () {
      console.log(`      seed ${SEED} (MARKET_DIFF_SEED=${SEED} reproduces this run)`);
      const m = await networkHelpers.loadFixture(deployMarket);
      const snapshot = (await ethers.provider.send("evm_snapshot", [])) as string;
      const baseline = m.reference;
      let ops = 0;
      let reverts = 0;
      let trades = 0;
      let currentSnapshot = snapshot;
      const revertCounts = new Map<string, number>();
      for (let sequence = 0; sequence < SEQUENCES; ++sequence) {
        const market = { ...m, reference: cloneReference(baseline) };
        const result = await runSequence(market, sequence, revertCounts);
        ops += result.ops;
        reverts += result.reverts;
        trades += result.trades;
        await ethers.provider.send("evm_revert", [currentSnapshot]);
        currentSnapshot = (await ethers.provider.send("evm_snapshot", [])) as string;
      }
      console.log(`      ${SEQUENCES} sequences, ${ops} operations (${reverts} reverted on both sides), ${trades} fills compared`);
      const byError = [...revertCounts].sort((a, b) => b[1] - a[1]).map(([name, count]) => `${name} ${count}`);
      console.log(`      reverts: ${byError.join(", ")}`);
      expect(trades).to.be.greaterThan(0);
    });
  });
});

/** A fresh reference in the baseline's state (the reference is mutable; each sequence starts from the fixture). */
function cloneReference(baseline: ReferenceMarket): ReferenceMarket {
  const copy = Object.create(ReferenceMarket.prototype) as ReferenceMarket;
  const state = (baseline as unknown as { state: unknown }).state;
  Object.assign(copy, baseline, { events: [], removed: [] });
  // apply() replaces the state object with a deep copy before any change, so sharing the baseline's is safe.
  (copy as unknown as { state: unknown }).state = state;
  return copy;
}
