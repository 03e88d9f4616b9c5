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
  type ZoneRules,
  monthOf,
} from "./market/referenceMatcher.ts";

/**
 * Differential test of EnergyTrading + Settlement against test/market/referenceMatcher.ts: random operation
 * sequences (seeded: MARKET_DIFF_SEED reproduces a run, MARKET_DIFF_SEQUENCES sets how many) over two zones
 * with different fee schedules (and a third that does not exist) go through both, and after every operation
 * the test compares whether it reverted (and with which error), the order id it issued, every event of
 * EnergyTrading (fills, trades, expiries, cancels, maker settlements) and of Settlement (TradesSettled with the
 * taker's fees, MakerSettled, sweeps), each stored order's remainder and unsettled maker fills (getOrder and
 * unsettledFills), best bid and ask per zone, every trader's available/locked balance of both tokens, the
 * grid and protocol fees accrued per zone, the treasuries' wallets and the vault's token balances; after each
 * sequence every order ever seen and every monthly statement.
 */
const { ethers, networkHelpers } = await network.create();

const SEED = Number(process.env.MARKET_DIFF_SEED ?? Math.floor(Math.random() * 2 ** 31));
const SEQUENCES = Number(process.env.MARKET_DIFF_SEQUENCES ?? 500);
const OPS_PER_SEQUENCE = 20;
const TICK = 1_000n;
const CENTER_TICK = 250n; // 0.25 USD per kWh
const USD = 1_000_000n;
const GAS_LIMIT = 12_000_000n;

const ZONE_RULES: Array<Omit<ZoneRules, "treasury">> = [
  {
    minOrderWh: 100n,
    maxOrderWh: 1_000_000n,
    maxDailyWhPerAccount: 5_000_000n,
    peakFeeBps: 150n,
    offPeakFeeBps: 50n,
    peakStartHour: 17,
    peakEndHour: 21,
  },
  {
    // a second zone: other limits, and a peak that wraps past midnight
    minOrderWh: 200n,
    maxOrderWh: 500_000n,
    maxDailyWhPerAccount: 3_000_000n,
    peakFeeBps: 120n,
    offPeakFeeBps: 30n,
    peakStartHour: 22,
    peakEndHour: 6,
  },
];
const PROTOCOL_FEE_BPS = 20n;
const MAX_FILLS = 64;
const CLOSED_ZONE = 3; // never created

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
  const [admin, minter, protocolTreasury, treasury1, treasury2, ...rest] = await ethers.getSigners();
  const treasuries = [treasury1, treasury2];
  const traders = rest.slice(0, 3);
  const manager = await ethers.deployContract("GridXAccessManager", [admin.address]);
  const grid = await ethers.deployContract("GridManagement", [await manager.getAddress(), 900]);
  const zones: Record<number, ZoneRules> = {};
  for (const [index, rules] of ZONE_RULES.entries()) {
    await grid.createZone({
      name: `Zone ${index + 1}`,
      treasury: treasuries[index].address,
      emissionFactor_gCO2ePerKWh: 233,
      capacityWhPerInterval: 500_000,
      fees: {
        peakFeeBps: rules.peakFeeBps,
        offPeakFeeBps: rules.offPeakFeeBps,
        peakStartHour: rules.peakStartHour,
        peakEndHour: rules.peakEndHour,
      },
      limits: { minOrderWh: rules.minOrderWh, maxOrderWh: rules.maxOrderWh, maxDailyTradedWhPerAccount: rules.maxDailyWhPerAccount },
    });
    zones[index + 1] = { ...rules, treasury: treasuries[index].address };
  }
  const zoneIds = Object.keys(zones).map(Number);
  for (const zone of zoneIds) expect(await grid.zoneExists(zone)).to.equal(true);
  expect(await grid.zoneExists(CLOSED_ZONE)).to.equal(false);
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
  const trading = await ethers.deployContract("EnergyTrading", [
    await manager.getAddress(),
    {
      paymentToken: await usd.getAddress(),
      energyToken: await energyToken.getAddress(),
      protocolTreasury: protocolTreasury.address,
      protocolFeeBps: PROTOCOL_FEE_BPS,
    },
    await grid.getAddress(),
    await priceOracle.getAddress(),
    TICK,
    MAX_FILLS,
    5_000,
    0, // Unbanded: no reference is ever posted, so no band applies
  ]);
  const settlement = await ethers.getContractAt("Settlement", await trading.settlement());
  await grid.setMarket(await trading.getAddress());
  await priceOracle.setMarket(await trading.getAddress());

  const params: MarketParams = {
    tickSize: TICK,
    maxFillsPerCall: MAX_FILLS,
    protocolFeeBps: PROTOCOL_FEE_BPS,
    protocolTreasury: protocolTreasury.address,
    zones,
  };
  const reference = new ReferenceMarket(params);
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
  // A book to trade against: every sequence starts with bids and asks a few ticks either side of the centre,
  // in both zones.
  let now = BigInt(await networkHelpers.time.latest());
  for (const zone of zoneIds) {
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
  }
  return { admin, traders, treasuries, protocolTreasury, zoneIds, usd, energyToken, settlement, trading, reference };
}

type Market = Awaited<ReturnType<typeof deployMarket>>;

/** One operation on both sides: `chain` sends the transaction, `model` applies it to the reference. */
interface Operation {
  label: string;
  /** Order ids the operation names (compared afterwards whether or not it reverted). */
  ids: bigint[];
  chain: () => Promise<ContractTransactionResponse>;
  model: () => unknown;
}

/** Generates the next operation from the reference's current state (so ids and amounts are meaningful). */
function nextOperation(rng: Rng, m: Market, now: bigint, knownIds: bigint[]): Operation {
  const { reference, trading, settlement } = m;
  const trader = rng.pick(m.traders);
  const zone = rng.chance(0.03) ? CLOSED_ZONE : rng.chance(0.65) ? m.zoneIds[0] : m.zoneIds[1];
  const roll = rng.int(0, 99);
  const expiry = () => (rng.chance(0.35) ? now + rng.big(1n, 40n) : rng.chance(0.03) ? now : now + rng.big(60n, 2n * 86_400n));
  const amount = () => (rng.chance(0.05) ? rng.pick([0n, 99n, 100n, 199n, 500_001n, 1_000_001n]) : rng.big(100n, 6_000n));
  const short = (a: string) => a.slice(0, 8);

  if (roll < 50) {
    const side: Side = rng.chance(0.5) ? SIDE_BUY : SIDE_SELL;
    const amountWh = amount();
    const price = rng.chance(0.02) ? rng.pick([0n, 250_500n]) : (CENTER_TICK + rng.big(-6n, 6n)) * TICK;
    const exp = rng.chance(0.01) ? 1n << 32n : expiry();
    const flags = rng.pick([0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 2, 2, 2, 4, 4, rng.pick([3, 8])]);
    return {
      label: `createOrder(${short(trader.address)}, zone ${zone}, ${side === SIDE_BUY ? "buy" : "sell"}, ${amountWh} Wh, ${price}, expiry +${exp - now}s, flags ${flags})`,
      ids: [],
      chain: () => trading.connect(trader).createOrder(zone, side, amountWh, price, exp, flags, { gasLimit: GAS_LIMIT }),
      model: () => reference.createOrder(now, trader.address, zone, side, amountWh, price, exp, flags),
    };
  }
  const withFills = reference.storedOrders().filter((o) => o.unsettledWh !== 0n);
  if (roll < 57 && knownIds.length !== 0) {
    // Often an order with unsettled maker fills: cancelling settles them.
    const live = withFills.filter((o) => o.remainingWh !== 0n);
    const orderId = live.length !== 0 && rng.chance(0.4) ? rng.pick(live).id : rng.pick(knownIds);
    const owner = reference.order(orderId)?.owner;
    const caller = owner !== undefined && rng.chance(0.85) ? m.traders.find((t) => t.address === owner)! : trader;
    return {
      label: `cancelOrder(${short(caller.address)}, ${orderId})`,
      ids: [orderId],
      chain: () => trading.connect(caller).cancelOrder(orderId, { gasLimit: GAS_LIMIT }),
      model: () => reference.cancelOrder(now, caller.address, orderId),
    };
  }
  if (roll < 62 && knownIds.length !== 0) {
    // Often expired orders with unsettled maker fills: expiring settles them.
    const expired = withFills.filter((o) => o.remainingWh !== 0n && o.expiry <= now);
    const ids = Array.from({ length: rng.int(1, 4) }, () =>
      expired.length !== 0 && rng.chance(0.5) ? rng.pick(expired).id : rng.pick(knownIds),
    );
    return {
      label: `expireOrders([${ids.join(", ")}])`,
      ids,
      chain: () => trading.connect(trader).expireOrders(ids, { gasLimit: GAS_LIMIT }),
      model: () => reference.expireOrders(now, ids),
    };
  }
  if (roll < 70 && knownIds.length !== 0) {
    // Mostly orders with unsettled maker fills, now and then one without (skipped) or a repeat.
    const ids = Array.from({ length: rng.int(1, 4) }, () =>
      withFills.length !== 0 && rng.chance(0.8) ? rng.pick(withFills).id : rng.pick(knownIds),
    );
    return {
      label: `claimFills(${short(trader.address)}, [${ids.join(", ")}])`,
      ids,
      chain: () => trading.connect(trader).claimFills(ids, { gasLimit: GAS_LIMIT }),
      model: () => reference.claimFills(now, ids),
    };
  }
  if (roll < 76) {
    const amountWh = amount();
    const start = (CENTER_TICK + rng.big(0n, 15n)) * TICK;
    const floor = rng.chance(0.05) ? start + TICK : (CENTER_TICK - rng.big(0n, 12n)) * TICK;
    const window = rng.chance(0.03) ? 0n : rng.big(1n, 120n);
    const exp = expiry();
    return {
      label: `createDutchOrder(${short(trader.address)}, zone ${zone}, ${amountWh} Wh, ${start} → ${floor} over ${window}s, expiry +${exp - now}s)`,
      ids: [],
      chain: () => trading.connect(trader).createDutchOrder(zone, amountWh, start, floor, window, exp, { gasLimit: GAS_LIMIT }),
      model: () => reference.createDutchOrder(now, trader.address, zone, amountWh, start, floor, window, exp),
    };
  }
  const dutch = reference.openOrders().filter((o) => o.kind === 2);
  const bids = reference.openOrders().filter((o) => o.kind === 0 && o.side === SIDE_BUY);
  if (roll < 82 && dutch.length !== 0) {
    const order = rng.pick(dutch);
    const amountWh = rng.chance(0.1) ? rng.big(1n, 199n) : rng.big(100n, 7_000n);
    const maxPrice = (CENTER_TICK + rng.big(-8n, 16n)) * TICK;
    return {
      label: `takeDutchOrder(${short(trader.address)}, ${order.id}, ${amountWh} Wh, max ${maxPrice})`,
      ids: [order.id],
      chain: () => trading.connect(trader).takeDutchOrder(order.id, amountWh, maxPrice, { gasLimit: GAS_LIMIT }),
      model: () => reference.takeDutchOrder(now, trader.address, order.id, amountWh, maxPrice),
    };
  }
  if (roll < 89 && bids.length !== 0) {
    const bid = rng.pick(bids);
    // Mostly Dutch asks of the bid's zone: a limit ask never crosses a resting bid (the book is never left
    // crossed); sometimes another zone's ask or any known id.
    const asks = reference
      .openOrders()
      .filter((o) => o.side === SIDE_SELL && (o.zone === bid.zone || rng.chance(0.1)) && (o.kind === 2 || rng.chance(0.15)));
    const ask = asks.length !== 0 && rng.chance(0.9) ? rng.pick(asks).id : rng.pick(knownIds);
    return {
      label: `matchOrders(${bid.id}, ${ask})`,
      ids: [bid.id, ask],
      chain: () => trading.connect(trader).matchOrders(bid.id, ask, { gasLimit: GAS_LIMIT }),
      model: () => reference.matchOrders(now, bid.id, ask),
    };
  }
  if (roll < 92) {
    const protocol = rng.chance(0.5);
    return {
      label: `${protocol ? "sweepProtocolFees" : "sweepZoneFees"}(${zone})`,
      ids: [],
      chain: () =>
        protocol
          ? settlement.connect(trader).sweepProtocolFees(zone, { gasLimit: GAS_LIMIT })
          : settlement.connect(trader).sweepZoneFees(zone, { gasLimit: GAS_LIMIT }),
      model: () => (protocol ? reference.sweepProtocolFees(zone) : reference.sweepZoneFees(zone)),
    };
  }
  const asset: Asset = rng.chance(0.5) ? "payment" : "credits";
  const token = asset === "payment" ? m.usd : m.energyToken;
  if (rng.chance(0.5)) {
    const available = reference.balanceOf(trader.address, asset).available;
    const amountToWithdraw = rng.chance(0.1) ? available + 1n : available === 0n ? 0n : rng.big(1n, available);
    return {
      label: `withdraw(${short(trader.address)}, ${asset}, ${amountToWithdraw})`,
      ids: [],
      chain: async () => settlement.connect(trader).withdraw(await token.getAddress(), amountToWithdraw, { gasLimit: GAS_LIMIT }),
      model: () => reference.withdraw(trader.address, asset, amountToWithdraw),
    };
  }
  const wallet = reference.walletOf(trader.address, asset);
  const amountToDeposit = wallet === 0n ? 0n : rng.big(1n, wallet);
  return {
    label: `deposit(${short(trader.address)}, ${asset}, ${amountToDeposit})`,
    ids: [],
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

/** EnergyTrading's and Settlement's events of a receipt, in the reference's shape and in log order. */
function decodeEvents(logs: readonly Log[], m: Market, tradingAddress: string, settlementAddress: string): MarketEvent[] {
  const events: MarketEvent[] = [];
  for (const log of logs) {
    const emitter = log.address.toLowerCase();
    if (emitter === settlementAddress.toLowerCase()) {
      const parsed = m.settlement.interface.parseLog(log);
      if (parsed === null) continue;
      const a = parsed.args;
      switch (parsed.name) {
        case "TradesSettled":
          events.push({
            name: "TradesSettled",
            zone: Number(a.zone),
            gridFeeBps: a.gridFeeBps,
            protocolFeeBps: a.protocolFeeBps,
            notional: a.notional,
            gridFee: a.gridFee,
            protocolFee: a.protocolFee,
          });
          break;
        case "MakerSettled":
          events.push({ name: "MakerSettled", maker: a.maker, makerBuys: a.makerBuys, amountWh: a.amountWh, notional: a.notional });
          break;
        case "ZoneFeesSwept":
          events.push({ name: "ZoneFeesSwept", zone: Number(a.zone), treasury: a.treasury, amount: a.amount });
          break;
        case "ProtocolFeesSwept":
          events.push({ name: "ProtocolFeesSwept", zone: Number(a.zone), treasury: a.treasury, amount: a.amount });
          break;
      }
      continue;
    }
    if (emitter !== tradingAddress.toLowerCase()) continue;
    const parsed = m.trading.interface.parseLog(log);
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
      case "FillsSettled":
        events.push({ name: "FillsSettled", orderId: a.orderId, owner: a.owner, amountWh: a.amountWh, notional: a.notional });
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

/** One stored order as the chain shows it (getOrder and unsettledFills) against the reference. */
function compareOrder(m: Market, orderId: bigint, context: string): Promise<unknown> {
  const expected = m.reference.order(orderId);
  const unsettled = m.reference.unsettledFills(orderId);
  return Promise.all([
    m.trading.getOrder(orderId).then(
      (o) => {
        expect(expected, `${context}: order ${orderId} lives on chain only`).to.not.equal(undefined);
        expect([o.owner, o.remainingWh, o.expiry, o.unsettledWh], `${context}: order ${orderId} [owner, remainingWh, expiry, unsettledWh]`).to.deep.equal([
          expected!.owner,
          expected!.remainingWh,
          expected!.expiry,
          expected!.unsettledWh,
        ]);
      },
      () => expect(expected, `${context}: order ${orderId} lives in the reference only`).to.equal(undefined),
    ),
    m.trading.unsettledFills(orderId).then((u) => {
      expect([u.owner, u.filledWh, u.notional], `${context}: unsettledFills(${orderId}) [owner, filledWh, notional]`).to.deep.equal([
        unsettled.owner ?? ethers.ZeroAddress,
        unsettled.filledWh,
        unsettled.notional,
      ]);
      if (expected !== undefined) expect(Number(u.side), `${context}: unsettledFills(${orderId}) side`).to.equal(expected.side);
    }),
  ]);
}

/**
 * What the vault must hold per token (ISettlement's invariant): Σ available + locked + accrued fees, plus the
 * notional takers paid for sell makers' unsettled fills, minus the notional buy makers still hold for theirs;
 * for credits, plus buy makers' unsettled Wh (delivered by their takers), minus sell makers' (still locked).
 */
function expectedVault(m: Market): { payment: bigint; credits: bigint } {
  let payment = 0n;
  let credits = 0n;
  for (const trader of m.traders) {
    const p = m.reference.balanceOf(trader.address, "payment");
    const c = m.reference.balanceOf(trader.address, "credits");
    payment += p.available + p.locked;
    credits += c.available + c.locked;
  }
  for (const zone of [...m.zoneIds, CLOSED_ZONE]) payment += m.reference.accruedZoneFees(zone) + m.reference.accruedProtocolFees(zone);
  for (const order of m.reference.storedOrders()) {
    const { filledWh, notional } = m.reference.unsettledFills(order.id);
    if (order.side === SIDE_SELL) {
      payment += notional;
      credits -= filledWh;
    } else {
      payment -= notional;
      credits += filledWh;
    }
  }
  return { payment, credits };
}

/** Everything comparable after an operation, read from the chain. */
async function compareState(m: Market, orderIds: Iterable<bigint>, context: string) {
  const { reference, trading, settlement } = m;
  const usdAddress = await m.usd.getAddress();
  const whAddress = await m.energyToken.getAddress();
  const settlementAddress = await settlement.getAddress();
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
  for (const zone of [...m.zoneIds, CLOSED_ZONE]) {
    reads.push(trading.bestBid(zone).then((bid) => expect(bid, `${context}: bestBid(${zone})`).to.equal(reference.bestBid(zone))));
    reads.push(trading.bestAsk(zone).then((ask) => expect(ask, `${context}: bestAsk(${zone})`).to.equal(reference.bestAsk(zone))));
    reads.push(settlement.accruedZoneFees(zone).then((f) => expect(f, `${context}: zone fees of ${zone}`).to.equal(reference.accruedZoneFees(zone))));
    reads.push(settlement.accruedProtocolFees(zone).then((f) => expect(f, `${context}: protocol fees of ${zone}`).to.equal(reference.accruedProtocolFees(zone))));
  }
  for (const treasury of [...m.treasuries, m.protocolTreasury]) {
    reads.push(m.usd.balanceOf(treasury.address).then((b) => expect(b, `${context}: treasury ${treasury.address}`).to.equal(reference.walletOf(treasury.address, "payment"))));
  }
  const vault = expectedVault(m);
  reads.push(m.usd.balanceOf(settlementAddress).then((b) => expect(b, `${context}: vault payment token`).to.equal(vault.payment)));
  reads.push(m.energyToken.balanceOf(settlementAddress).then((b) => expect(b, `${context}: vault credits`).to.equal(vault.credits)));
  for (const orderId of orderIds) reads.push(compareOrder(m, orderId, context));
  await Promise.all(reads);
}

/** Each trader's monthly statements (the months the reference wrote, and the current one). */
async function compareStatements(m: Market, now: bigint, context: string) {
  const months = new Set([...m.reference.statementMonths(), monthOf(now)]);
  const reads: Array<Promise<unknown>> = [];
  for (const trader of m.traders) {
    for (const month of months) {
      const expected = m.reference.statement(trader.address, month);
      reads.push(
        m.settlement.statement(trader.address, month).then((st) =>
          expect([st.soldWh, st.earned, st.fees, st.boughtWh, st.paid, st.buyFees], `${context}: statement ${trader.address} ${month}`).to.deep.equal([
            expected.soldWh,
            expected.earned,
            expected.fees,
            expected.boughtWh,
            expected.paid,
            expected.buyFees,
          ]),
        ),
      );
    }
  }
  await Promise.all(reads);
}

interface SequenceResult {
  ops: number;
  reverts: number;
  trades: number;
  claims: number;
  makerSettlements: number;
}

async function runSequence(m: Market, sequence: number, revertCounts: Map<string, number>): Promise<SequenceResult> {
  const rng = prng((SEED ^ Math.imul(sequence + 1, 0x9e3779b1)) >>> 0);
  const tradingAddress = await m.trading.getAddress();
  const settlementAddress = await m.settlement.getAddress();
  const interfaces = [m.trading.interface, m.settlement.interface, m.usd.interface] as Interface[];
  const maxFills = rng.pick([1, 2, 3, 64, 64]);
  await m.trading.connect(m.admin).setMaxFillsPerCall(maxFills);
  m.reference.setMaxFillsPerCall(maxFills);
  // Start anywhere in the day, so that peak and off-peak fees both occur.
  let now = BigInt(await networkHelpers.time.latest()) + 1n + rng.big(0n, 86_399n);
  const knownIds: bigint[] = m.reference.storedOrders().map((o) => o.id);
  const result: SequenceResult = { ops: 0, reverts: 0, trades: 0, claims: 0, makerSettlements: 0 };
  let context = `seed ${SEED}, sequence ${sequence} (maxFills ${maxFills})`;
  for (let step = 0; step < OPS_PER_SEQUENCE; ++step) {
    now += rng.chance(0.1) ? rng.big(600n, 7_200n) : rng.big(1n, 30n);
    const op = nextOperation(rng, m, now, knownIds);
    context = `seed ${SEED}, sequence ${sequence} (maxFills ${maxFills}), step ${step}: ${op.label} at ${now}`;

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
      chainEvents = decodeEvents(receipt!.logs, m, tradingAddress, settlementAddress);
    } catch (error) {
      chainRevert = revertName(error, interfaces);
    }
    if (chainRevert === undefined && expectedRevert === undefined && (await networkHelpers.time.latest()) !== Number(now)) {
      throw new Error(`${context}: the transaction was not mined at the planned timestamp`);
    }
    expect(chainRevert, `${context}: revert`).to.equal(expectedRevert);
    ++result.ops;
    const touched = new Set<bigint>([...m.reference.storedOrders().map((o) => o.id), ...op.ids]);
    if (chainRevert !== undefined) {
      ++result.reverts;
      revertCounts.set(chainRevert, (revertCounts.get(chainRevert) ?? 0) + 1);
    } else {
      expect(chainEvents, `${context}: events`).to.deep.equal(m.reference.events);
      result.trades += m.reference.events.filter((e) => e.name === "TradeExecuted").length;
      result.makerSettlements += m.reference.events.filter((e) => e.name === "FillsSettled").length;
      if (op.label.startsWith("claimFills")) result.claims += Number(modelResult);
      for (const id of m.reference.removed) touched.add(id);
      if (typeof modelResult === "bigint" && !knownIds.includes(modelResult)) {
        knownIds.push(modelResult);
        touched.add(modelResult);
      }
    }
    await compareState(m, touched, context);
  }
  // Every order ever seen in this sequence, and the statements.
  await compareState(m, knownIds, `${context} (end of sequence)`);
  await compareStatements(m, now, `${context} (end of sequence)`);
  return result;
}

describe("Market differential (EnergyTrading + Settlement vs test/market/referenceMatcher.ts)", function () {
  this.timeout(0);

  describe("random order sequences", function () {
    it(`agrees with the reference after every operation of ${SEQUENCES} sequences of ${OPS_PER_SEQUENCE}`, async function () {
      console.log(`      seed ${SEED} (MARKET_DIFF_SEED=${SEED} reproduces this run)`);
      const m = await networkHelpers.loadFixture(deployMarket);
      const baseline = m.reference;
      const total: SequenceResult = { ops: 0, reverts: 0, trades: 0, claims: 0, makerSettlements: 0 };
      let currentSnapshot = (await ethers.provider.send("evm_snapshot", [])) as string;
      const revertCounts = new Map<string, number>();
      for (let sequence = 0; sequence < SEQUENCES; ++sequence) {
        const market = { ...m, reference: cloneReference(baseline) };
        const result = await runSequence(market, sequence, revertCounts);
        for (const key of Object.keys(total) as Array<keyof SequenceResult>) total[key] += result[key];
        await ethers.provider.send("evm_revert", [currentSnapshot]);
        currentSnapshot = (await ethers.provider.send("evm_snapshot", [])) as string;
      }
      console.log(
        `      ${SEQUENCES} sequences, ${total.ops} operations (${total.reverts} reverted on both sides), ${total.trades} fills, ` +
          `${total.makerSettlements} maker settlements (${total.claims} by claimFills) compared`,
      );
      const byError = [...revertCounts].sort((a, b) => b[1] - a[1]).map(([name, count]) => `${name} ${count}`);
      console.log(`      reverts: ${byError.join(", ")}`);
      expect(total.ops).to.equal(SEQUENCES * OPS_PER_SEQUENCE);
      expect(total.trades).to.be.greaterThan(0);
      if (total.ops >= 1_000) {
        // a full run settles maker fills by claimFills and by cancel or expiry
        expect(total.claims).to.be.greaterThan(0);
        expect(total.makerSettlements).to.be.greaterThan(total.claims);
      }
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
