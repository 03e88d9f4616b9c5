/**
 * A plain reference model of the GridX market (EnergyTrading + Settlement), written from the rules in
 * contracts/interfaces/IEnergyTrading.sol and ISettlement.sol, with no chain: per-zone limit books with
 * price-time priority, partial fills at the maker's price, the per-call fill bound (FillLimit returns),
 * IOC / FOK / post-only, expiry (live while now < expiry; expired makers met during matching are removed and
 * refunded), cancels, Dutch auctions, matchOrders, the daily cap, and Settlement's available/locked balances
 * and fees. Every operation either applies completely or throws a `ReferenceRevert` and changes nothing.
 *
 * Not modelled: price bands (the differential test never posts a reference, so the Unbanded policy accepts
 * every price), halts and pauses, and MAX_SKIPS_PER_CALL (a sequence cannot cancel 512 queue slots).
 */

export const SIDE_BUY = 0;
export const SIDE_SELL = 1;
export type Side = typeof SIDE_BUY | typeof SIDE_SELL;

export const KIND_LIMIT = 0;
export const KIND_IMMEDIATE = 1;
export const KIND_DUTCH = 2;
export type Kind = typeof KIND_LIMIT | typeof KIND_IMMEDIATE | typeof KIND_DUTCH;

export const FLAG_IOC = 1;
export const FLAG_FOK = 2;
export const FLAG_POST_ONLY = 4;

export const REASON_OWNER = 0;
export const REASON_IOC = 1;
export const REASON_FILL_LIMIT = 2;

const WH_PER_KWH = 1000n;
const BPS = 10_000n;
const MAX_AMOUNT_WH = (1n << 48n) - 1n;
const MAX_TICK = 65_535n;
const MAX_EXPIRY = (1n << 40n) - 1n;

export interface MarketParams {
  tickSize: bigint;
  maxFillsPerCall: number;
  minOrderWh: bigint;
  maxOrderWh: bigint;
  maxDailyWhPerAccount: bigint;
  peakFeeBps: bigint;
  offPeakFeeBps: bigint;
  peakStartHour: number;
  peakEndHour: number;
  protocolFeeBps: bigint;
}

/** The contract's custom error name (and nothing else: arguments are compared through state and events). */
export class ReferenceRevert extends Error {
  constructor(readonly errorName: string) {
    super(`reference reverts with ${errorName}`);
  }
}

export interface RestingOrder {
  id: bigint;
  owner: string;
  zone: number;
  side: Side;
  kind: Kind;
  tick: bigint; // limit tick; a Dutch order's start tick
  remainingWh: bigint;
  expiry: bigint;
  dutch?: { startTick: bigint; floorTick: bigint; startTime: bigint; window: bigint };
}

/** Events in the shape the differential test decodes from the chain. */
export type MarketEvent =
  | { name: "OrderCreated"; orderId: bigint; owner: string; side: Side; kind: Kind; amountWh: bigint; pricePerKWh: bigint }
  | { name: "OrderFilled"; orderId: bigint; owner: string; amountWh: bigint; pricePerKWh: bigint; remainingWh: bigint }
  | {
      name: "TradeExecuted";
      buyOrderId: bigint;
      sellOrderId: bigint;
      buyer: string;
      seller: string;
      amountWh: bigint;
      pricePerKWh: bigint;
    }
  | { name: "OrderCancelled"; orderId: bigint; owner: string; remainingWh: bigint; reason: number }
  | { name: "OrderExpired"; orderId: bigint; owner: string; remainingWh: bigint };

export interface Balance {
  available: bigint;
  locked: bigint;
}

export type Asset = "payment" | "credits";

/** One maker fill inside a taker's call, at the maker's price. */
interface Fill {
  maker: string;
  amountWh: bigint;
  price: bigint;
}

interface MarketState {
  orders: Map<bigint, RestingOrder>;
  /** zone:side:tick → FIFO of resting order ids (expired ones stay until removed). */
  levels: Map<string, bigint[]>;
  /** zone:side:tick → queue slots issued at that level (the next limit order's sequence number). */
  levelTails: Map<string, bigint>;
  immediateNonce: bigint;
  dutchNonce: bigint;
  maxFillsPerCall: number;
  balances: Map<string, Balance>; // account:asset
  wallets: Map<string, bigint>; // account:asset
  daily: Map<string, { day: bigint; committedWh: bigint }>; // zone:account
  accruedZoneFees: Map<number, bigint>;
  accruedProtocolFees: bigint;
}

export class ReferenceMarket {
  private state: MarketState;
  /** Events of the last successful operation. */
  events: MarketEvent[] = [];
  /** Order ids the last successful operation removed. */
  removed: bigint[] = [];

  constructor(readonly params: MarketParams) {
    this.state = {
      orders: new Map(),
      levels: new Map(),
      levelTails: new Map(),
      immediateNonce: 0n,
      dutchNonce: 0n,
      maxFillsPerCall: params.maxFillsPerCall,
      balances: new Map(),
      wallets: new Map(),
      daily: new Map(),
      accruedZoneFees: new Map(),
      accruedProtocolFees: 0n,
    };
  }

  // ─────────────────────────────────────────────────────────────── views

  balanceOf(account: string, asset: Asset): Balance {
    const b = this.state.balances.get(`${account.toLowerCase()}:${asset}`);
    return b === undefined ? { available: 0n, locked: 0n } : { ...b };
  }

  walletOf(account: string, asset: Asset): bigint {
    return this.state.wallets.get(`${account.toLowerCase()}:${asset}`) ?? 0n;
  }

  order(orderId: bigint): RestingOrder | undefined {
    return this.state.orders.get(orderId);
  }

  openOrders(): RestingOrder[] {
    return [...this.state.orders.values()];
  }

  accruedZoneFees(zone: number): bigint {
    return this.state.accruedZoneFees.get(zone) ?? 0n;
  }

  accruedProtocolFees(): bigint {
    return this.state.accruedProtocolFees;
  }

  bestBid(zone: number): bigint {
    return this.bestTick(zone, SIDE_BUY) * this.params.tickSize;
  }

  bestAsk(zone: number): bigint {
    return this.bestTick(zone, SIDE_SELL) * this.params.tickSize;
  }

  /** A Dutch order's price at `now`: linear from start to floor over the window, rounded up to the tick grid. */
  dutchPrice(order: RestingOrder, now: bigint): bigint {
    const d = order.dutch!;
    const start = d.startTick * this.params.tickSize;
    const floor = d.floorTick * this.params.tickSize;
    let elapsed = now - d.startTime;
    if (elapsed > d.window) elapsed = d.window;
    const price = start - ((start - floor) * elapsed) / d.window;
    return ceilDiv(price, this.params.tickSize) * this.params.tickSize;
  }

  // ─────────────────────────────────────────────────────────────── accounts

  /** Tokens that appear in `account`'s wallet (the test funds wallets outside the market). */
  fundWallet(account: string, asset: Asset, amount: bigint): void {
    const key = `${account.toLowerCase()}:${asset}`;
    this.state.wallets.set(key, (this.state.wallets.get(key) ?? 0n) + amount);
  }

  deposit(account: string, asset: Asset, amount: bigint): void {
    this.apply((s) => {
      if (amount === 0n) throw new ReferenceRevert("SettlementZeroAmount");
      const key = `${account.toLowerCase()}:${asset}`;
      const wallet = s.wallets.get(key) ?? 0n;
      if (wallet < amount) throw new ReferenceRevert("ERC20InsufficientBalance");
      s.wallets.set(key, wallet - amount);
      this.credit(s, account, asset, amount);
    });
  }

  withdraw(account: string, asset: Asset, amount: bigint): void {
    this.apply((s) => {
      if (amount === 0n) throw new ReferenceRevert("SettlementZeroAmount");
      this.debitAvailable(s, account, asset, amount);
      const key = `${account.toLowerCase()}:${asset}`;
      s.wallets.set(key, (s.wallets.get(key) ?? 0n) + amount);
    });
  }

  setMaxFillsPerCall(maxFills: number): void {
    this.apply((s) => {
      if (maxFills === 0 || maxFills > 256) throw new ReferenceRevert("TradingMaxFillsOutOfRange");
      s.maxFillsPerCall = maxFills;
    });
  }

  // ─────────────────────────────────────────────────────────────── trading

  createOrder(
    now: bigint,
    sender: string,
    zone: number,
    side: Side,
    amountWh: bigint,
    price: bigint,
    expiry: bigint,
    flags: number,
  ): bigint {
    return this.apply((s) => {
      this.checkAmount(amountWh);
      const tick = this.tickOf(price);
      this.checkExpiry(now, expiry);
      const single = (flags & (flags - 1)) === 0;
      if ((flags & ~(FLAG_IOC | FLAG_FOK | FLAG_POST_ONLY)) !== 0 || !single) {
        throw new ReferenceRevert("TradingInvalidFlags");
      }
      this.commit(s, now, zone, sender, amountWh);

      const immediate = (flags & (FLAG_IOC | FLAG_FOK)) !== 0;
      const ownKey = levelKey(zone, side, tick);
      let orderId: bigint;
      if (immediate) {
        s.immediateNonce += 1n;
        orderId = encodeId(zone, KIND_IMMEDIATE, side, tick, s.immediateNonce);
      } else {
        orderId = encodeId(zone, KIND_LIMIT, side, tick, s.levelTails.get(ownKey) ?? 0n);
        s.levelTails.set(ownKey, (s.levelTails.get(ownKey) ?? 0n) + 1n);
      }
      this.emit({
        name: "OrderCreated",
        orderId,
        owner: sender,
        side,
        kind: immediate ? KIND_IMMEDIATE : KIND_LIMIT,
        amountWh,
        pricePerKWh: price,
      });

      let remaining = amountWh;
      let stillCrosses = false;
      const fills: Fill[] = [];
      if ((flags & FLAG_POST_ONLY) !== 0) {
        const best = this.bestTick(zone, opposite(side));
        if (crosses(side, tick, best)) throw new ReferenceRevert("TradingPostOnlyWouldCross");
      } else {
        [remaining, stillCrosses] = this.matchTaker(s, now, sender, zone, side, tick, orderId, amountWh, fills);
      }
      if ((flags & FLAG_FOK) !== 0 && remaining !== 0n) throw new ReferenceRevert("TradingFillOrKillNotFilled");

      let lockAmount = 0n;
      if (!immediate && remaining !== 0n && !stillCrosses) {
        s.orders.set(orderId, { id: orderId, owner: sender, zone, side, kind: KIND_LIMIT, tick, remainingWh: remaining, expiry });
        const queue = s.levels.get(ownKey) ?? [];
        queue.push(orderId);
        s.levels.set(ownKey, queue);
        lockAmount = escrowOf(side, remaining, price);
      }
      if (remaining !== 0n && (immediate || stillCrosses)) {
        this.emit({
          name: "OrderCancelled",
          orderId,
          owner: sender,
          remainingWh: remaining,
          reason: immediate ? REASON_IOC : REASON_FILL_LIMIT,
        });
      }
      this.settleTaker(s, now, zone, sender, side === SIDE_BUY, fills, lockAmount);
      return orderId;
    });
  }

  createDutchOrder(
    now: bigint,
    sender: string,
    zone: number,
    amountWh: bigint,
    startPrice: bigint,
    floorPrice: bigint,
    window: bigint,
    expiry: bigint,
  ): bigint {
    return this.apply((s) => {
      this.checkAmount(amountWh);
      const startTick = this.tickOf(startPrice);
      const floorTick = this.tickOf(floorPrice);
      if (startTick < floorTick || window === 0n) throw new ReferenceRevert("TradingInvalidDutchTerms");
      this.checkExpiry(now, expiry);
      this.commit(s, now, zone, sender, amountWh);
      s.dutchNonce += 1n;
      const orderId = encodeId(zone, KIND_DUTCH, SIDE_SELL, startTick, s.dutchNonce);
      s.orders.set(orderId, {
        id: orderId,
        owner: sender,
        zone,
        side: SIDE_SELL,
        kind: KIND_DUTCH,
        tick: startTick,
        remainingWh: amountWh,
        expiry,
        dutch: { startTick, floorTick, startTime: now, window },
      });
      this.emit({ name: "OrderCreated", orderId, owner: sender, side: SIDE_SELL, kind: KIND_DUTCH, amountWh, pricePerKWh: startPrice });
      this.lock(s, sender, "credits", amountWh);
      return orderId;
    });
  }

  takeDutchOrder(now: bigint, sender: string, orderId: bigint, amountWh: bigint, maxPrice: bigint): void {
    this.apply((s) => {
      if (kindOf(orderId) !== KIND_DUTCH) throw new ReferenceRevert("TradingWrongOrderKind");
      const order = this.liveOrder(s, now, orderId);
      if (amountWh === 0n) throw new ReferenceRevert("TradingZeroAmount");
      if (amountWh > order.remainingWh) amountWh = order.remainingWh;
      if (amountWh < this.params.minOrderWh && amountWh !== order.remainingWh) {
        throw new ReferenceRevert("TradingTakeTooSmall");
      }
      const price = this.dutchPrice(order, now);
      if (price > maxPrice) throw new ReferenceRevert("TradingPriceAboveMax");
      this.commit(s, now, order.zone, sender, amountWh);
      const left = order.remainingWh - amountWh;
      this.reduce(s, order, amountWh);
      this.emit({ name: "OrderFilled", orderId, owner: order.owner, amountWh, pricePerKWh: price, remainingWh: left });
      this.emit({
        name: "TradeExecuted",
        buyOrderId: 0n,
        sellOrderId: orderId,
        buyer: sender,
        seller: order.owner,
        amountWh,
        pricePerKWh: price,
      });
      this.settleTaker(s, now, order.zone, sender, true, [{ maker: order.owner, amountWh, price }], 0n);
    });
  }

  cancelOrder(sender: string, orderId: bigint): void {
    this.apply((s) => {
      const order = s.orders.get(orderId);
      if (order === undefined) throw new ReferenceRevert("TradingOrderNotFound");
      if (order.owner.toLowerCase() !== sender.toLowerCase()) throw new ReferenceRevert("TradingNotOrderOwner");
      this.removeWithRefund(s, order);
      this.emit({ name: "OrderCancelled", orderId, owner: order.owner, remainingWh: order.remainingWh, reason: REASON_OWNER });
    });
  }

  expireOrders(now: bigint, orderIds: bigint[]): number {
    return this.apply((s) => {
      let removed = 0;
      for (const orderId of orderIds) {
        const order = s.orders.get(orderId);
        if (order === undefined || now < order.expiry) continue;
        this.removeWithRefund(s, order);
        this.emit({ name: "OrderExpired", orderId, owner: order.owner, remainingWh: order.remainingWh });
        removed += 1;
      }
      return removed;
    });
  }

  matchOrders(now: bigint, buyOrderId: bigint, sellOrderId: bigint): void {
    this.apply((s) => {
      if (kindOf(buyOrderId) !== KIND_LIMIT || sideOf(buyOrderId) !== SIDE_BUY) {
        throw new ReferenceRevert("TradingWrongOrderKind");
      }
      const sellKind = kindOf(sellOrderId);
      if (sellKind === KIND_IMMEDIATE || sideOf(sellOrderId) !== SIDE_SELL) {
        throw new ReferenceRevert("TradingWrongOrderKind");
      }
      const zone = zoneOf(buyOrderId);
      if (zoneOf(sellOrderId) !== zone) throw new ReferenceRevert("TradingZoneMismatch");
      const bid = this.liveOrder(s, now, buyOrderId);
      const ask = this.liveOrder(s, now, sellOrderId);
      const bidPrice = bid.tick * this.params.tickSize;
      const askPrice = sellKind === KIND_DUTCH ? this.dutchPrice(ask, now) : ask.tick * this.params.tickSize;
      if (bidPrice < askPrice) throw new ReferenceRevert("TradingOrdersDoNotCross");

      const amountWh = bid.remainingWh < ask.remainingWh ? bid.remainingWh : ask.remainingWh;
      const bidLeft = bid.remainingWh - amountWh;
      const askLeft = ask.remainingWh - amountWh;
      this.reduce(s, bid, amountWh);
      this.reduce(s, ask, amountWh);
      this.emit({ name: "OrderFilled", orderId: buyOrderId, owner: bid.owner, amountWh, pricePerKWh: askPrice, remainingWh: bidLeft });
      this.emit({ name: "OrderFilled", orderId: sellOrderId, owner: ask.owner, amountWh, pricePerKWh: askPrice, remainingWh: askLeft });
      this.emit({
        name: "TradeExecuted",
        buyOrderId,
        sellOrderId,
        buyer: bid.owner,
        seller: ask.owner,
        amountWh,
        pricePerKWh: askPrice,
      });
      // Both escrows are locked: the buyer's at its own limit, so the better price leaves a refund.
      const { notional, gridFee, protocolFee } = this.tradeAmounts(now, amountWh, askPrice);
      const refund = (amountWh * (bidPrice - askPrice)) / WH_PER_KWH;
      this.debitLocked(s, ask.owner, "credits", amountWh);
      this.debitLocked(s, bid.owner, "payment", notional + refund);
      this.credit(s, bid.owner, "credits", amountWh);
      this.credit(s, ask.owner, "payment", notional - gridFee - protocolFee);
      this.credit(s, bid.owner, "payment", refund);
      this.accrue(s, zone, gridFee, protocolFee);
    });
  }

  // ─────────────────────────────────────────────────────────────── matching

  /** Walks the opposite book best price first, FIFO within a price; returns [remaining, stillCrosses]. */
  private matchTaker(
    s: MarketState,
    now: bigint,
    taker: string,
    zone: number,
    side: Side,
    tick: bigint,
    takerId: bigint,
    amountWh: bigint,
    fills: Fill[],
  ): [bigint, boolean] {
    const makerSide = opposite(side);
    let remaining = amountWh;
    let touched = 0;
    while (remaining !== 0n) {
      const best = this.bestTick(zone, makerSide, s);
      if (!crosses(side, tick, best)) return [remaining, false];
      if (touched === s.maxFillsPerCall) return [remaining, true];
      const key = levelKey(zone, makerSide, best);
      const queue = s.levels.get(key)!;
      const price = best * this.params.tickSize;
      while (queue.length !== 0 && remaining !== 0n && touched < s.maxFillsPerCall) {
        const maker = s.orders.get(queue[0])!;
        touched += 1;
        if (now >= maker.expiry) {
          queue.shift();
          s.orders.delete(maker.id);
          this.removed.push(maker.id);
          this.emit({ name: "OrderExpired", orderId: maker.id, owner: maker.owner, remainingWh: maker.remainingWh });
          this.unlock(s, maker.owner, makerSide === SIDE_BUY ? "payment" : "credits", escrowOf(makerSide, maker.remainingWh, price));
          continue;
        }
        const fill = remaining < maker.remainingWh ? remaining : maker.remainingWh;
        remaining -= fill;
        maker.remainingWh -= fill;
        if (maker.remainingWh === 0n) {
          queue.shift();
          s.orders.delete(maker.id);
          this.removed.push(maker.id);
        }
        fills.push({ maker: maker.owner, amountWh: fill, price });
        this.emit({ name: "OrderFilled", orderId: maker.id, owner: maker.owner, amountWh: fill, pricePerKWh: price, remainingWh: maker.remainingWh });
        const [buyOrderId, sellOrderId, buyer, seller] =
          side === SIDE_BUY ? [takerId, maker.id, taker, maker.owner] : [maker.id, takerId, maker.owner, taker];
        this.emit({ name: "TradeExecuted", buyOrderId, sellOrderId, buyer, seller, amountWh: fill, pricePerKWh: price });
      }
      if (queue.length === 0) s.levels.delete(key);
    }
    return [0n, false];
  }

  /** Settlement.settleTaker: makers from their escrow, the taker from its available balance (plus what rests). */
  private settleTaker(s: MarketState, now: bigint, zone: number, taker: string, takerBuys: boolean, fills: Fill[], takerLock: bigint) {
    let takerWh = 0n;
    let takerNet = 0n;
    let totalNotional = 0n;
    let gridFees = 0n;
    let protocolFees = 0n;
    for (const fill of fills) {
      const { notional, gridFee, protocolFee } = this.tradeAmounts(now, fill.amountWh, fill.price);
      if (takerBuys) {
        this.debitLocked(s, fill.maker, "credits", fill.amountWh);
        this.credit(s, fill.maker, "payment", notional - gridFee - protocolFee);
      } else {
        this.debitLocked(s, fill.maker, "payment", notional);
        this.credit(s, fill.maker, "credits", fill.amountWh);
        takerNet += notional - gridFee - protocolFee;
      }
      takerWh += fill.amountWh;
      totalNotional += notional;
      gridFees += gridFee;
      protocolFees += protocolFee;
    }
    const gives: Asset = takerBuys ? "payment" : "credits";
    const debit = (takerBuys ? totalNotional : takerWh) + takerLock;
    if (debit !== 0n) this.debitAvailable(s, taker, gives, debit);
    if (takerLock !== 0n) this.addLocked(s, taker, gives, takerLock);
    if (takerWh !== 0n) {
      this.credit(s, taker, takerBuys ? "credits" : "payment", takerBuys ? takerWh : takerNet);
      this.accrue(s, zone, gridFees, protocolFees);
    }
  }

  /** Notional rounds up against the buyer; total fee up against the seller; the protocol's share down. */
  tradeAmounts(now: bigint, amountWh: bigint, price: bigint) {
    const notional = ceilDiv(amountWh * price, WH_PER_KWH);
    const gridBps = this.isPeak(now) ? this.params.peakFeeBps : this.params.offPeakFeeBps;
    const totalFee = ceilDiv(notional * (gridBps + this.params.protocolFeeBps), BPS);
    const protocolFee = (notional * this.params.protocolFeeBps) / BPS;
    return { notional, gridFee: totalFee - protocolFee, protocolFee };
  }

  private isPeak(now: bigint): boolean {
    const hour = Number((now % 86_400n) / 3_600n);
    const { peakStartHour: start, peakEndHour: end } = this.params;
    return start <= end ? hour >= start && hour < end : hour >= start || hour < end;
  }

  // ─────────────────────────────────────────────────────────────── book helpers

  private bestTick(zone: number, side: Side, s: MarketState = this.state): bigint {
    let best = 0n;
    const prefix = `${zone}:${side}:`;
    for (const [key, queue] of s.levels) {
      if (!key.startsWith(prefix) || queue.length === 0) continue;
      const tick = BigInt(key.slice(prefix.length));
      if (best === 0n || (side === SIDE_BUY ? tick > best : tick < best)) best = tick;
    }
    return best;
  }

  /** Takes `amountWh` off a resting order (matchOrders, Dutch takes); removes it when nothing is left. */
  private reduce(s: MarketState, order: RestingOrder, amountWh: bigint) {
    order.remainingWh -= amountWh;
    if (order.remainingWh === 0n) this.unlink(s, order);
  }

  private removeWithRefund(s: MarketState, order: RestingOrder) {
    this.unlink(s, order);
    const asset: Asset = order.side === SIDE_BUY ? "payment" : "credits";
    this.unlock(s, order.owner, asset, escrowOf(order.side, order.remainingWh, order.tick * this.params.tickSize));
  }

  private unlink(s: MarketState, order: RestingOrder) {
    s.orders.delete(order.id);
    this.removed.push(order.id);
    if (order.kind !== KIND_LIMIT) return;
    const key = levelKey(order.zone, order.side, order.tick);
    const queue = (s.levels.get(key) ?? []).filter((id) => id !== order.id);
    if (queue.length === 0) s.levels.delete(key);
    else s.levels.set(key, queue);
  }

  private liveOrder(s: MarketState, now: bigint, orderId: bigint): RestingOrder {
    const order = s.orders.get(orderId);
    if (order === undefined) throw new ReferenceRevert("TradingOrderNotFound");
    if (now >= order.expiry) throw new ReferenceRevert("TradingOrderExpired");
    return order;
  }

  // ─────────────────────────────────────────────────────────────── checks

  private checkAmount(amountWh: bigint) {
    if (amountWh === 0n) throw new ReferenceRevert("TradingZeroAmount");
    if (amountWh > MAX_AMOUNT_WH) throw new ReferenceRevert("TradingAmountTooLarge");
    if (amountWh < this.params.minOrderWh) throw new ReferenceRevert("TradingOrderTooSmall");
    if (this.params.maxOrderWh !== 0n && amountWh > this.params.maxOrderWh) throw new ReferenceRevert("TradingOrderTooLarge");
  }

  private tickOf(price: bigint): bigint {
    const tick = price / this.params.tickSize;
    if (price === 0n || price % this.params.tickSize !== 0n || tick > MAX_TICK) throw new ReferenceRevert("TradingInvalidPrice");
    return tick;
  }

  private checkExpiry(now: bigint, expiry: bigint) {
    if (expiry <= now) throw new ReferenceRevert("TradingExpiryNotInFuture");
    if (expiry > MAX_EXPIRY) throw new ReferenceRevert("TradingExpiryTooFar");
  }

  /** The daily cap counts the full amount of every order placed and every Dutch take, per UTC day and zone. */
  private commit(s: MarketState, now: bigint, zone: number, account: string, amountWh: bigint) {
    const limit = this.params.maxDailyWhPerAccount;
    if (limit === 0n) return;
    const day = now / 86_400n;
    const key = `${zone}:${account.toLowerCase()}`;
    const entry = s.daily.get(key);
    const committed = entry !== undefined && entry.day === day ? entry.committedWh : 0n;
    if (committed + amountWh > limit) throw new ReferenceRevert("TradingDailyLimitExceeded");
    s.daily.set(key, { day, committedWh: committed + amountWh });
  }

  // ─────────────────────────────────────────────────────────────── balances

  private entry(s: MarketState, account: string, asset: Asset): Balance {
    const key = `${account.toLowerCase()}:${asset}`;
    let b = s.balances.get(key);
    if (b === undefined) {
      b = { available: 0n, locked: 0n };
      s.balances.set(key, b);
    }
    return b;
  }

  private credit(s: MarketState, account: string, asset: Asset, amount: bigint) {
    this.entry(s, account, asset).available += amount;
  }

  private debitAvailable(s: MarketState, account: string, asset: Asset, amount: bigint) {
    const b = this.entry(s, account, asset);
    if (b.available < amount) throw new ReferenceRevert("SettlementInsufficientAvailable");
    b.available -= amount;
  }

  private debitLocked(s: MarketState, account: string, asset: Asset, amount: bigint) {
    const b = this.entry(s, account, asset);
    if (b.locked < amount) throw new ReferenceRevert("SettlementInsufficientLocked");
    b.locked -= amount;
  }

  private addLocked(s: MarketState, account: string, asset: Asset, amount: bigint) {
    this.entry(s, account, asset).locked += amount;
  }

  private lock(s: MarketState, account: string, asset: Asset, amount: bigint) {
    this.debitAvailable(s, account, asset, amount);
    this.addLocked(s, account, asset, amount);
  }

  private unlock(s: MarketState, account: string, asset: Asset, amount: bigint) {
    this.debitLocked(s, account, asset, amount);
    this.credit(s, account, asset, amount);
  }

  private accrue(s: MarketState, zone: number, gridFee: bigint, protocolFee: bigint) {
    s.accruedZoneFees.set(zone, (s.accruedZoneFees.get(zone) ?? 0n) + gridFee);
    s.accruedProtocolFees += protocolFee;
  }

  // ─────────────────────────────────────────────────────────────── transactions

  private emit(event: MarketEvent) {
    this.events.push(event);
  }

  /** Runs `operation` on a copy of the state and keeps the copy only if it does not revert. */
  private apply<T>(operation: (s: MarketState) => T): T {
    const saved = this.state;
    this.state = cloneState(saved);
    this.events = [];
    this.removed = [];
    try {
      return operation(this.state);
    } catch (error) {
      this.state = saved;
      this.events = [];
      this.removed = [];
      throw error;
    }
  }
}

// ─────────────────────────────────────────────────────────────── ids (IEnergyTrading: "Order ids encode …")

export function encodeId(zone: number, kind: Kind, side: Side, tick: bigint, sequence: bigint): bigint {
  return (BigInt(zone) << 128n) | (BigInt(kind) << 97n) | (BigInt(side) << 96n) | (tick << 64n) | sequence;
}

export function zoneOf(orderId: bigint): number {
  return Number((orderId >> 128n) & 0xffff_ffffn);
}

export function kindOf(orderId: bigint): Kind {
  const kind = Number((orderId >> 97n) & 3n);
  return (kind > KIND_DUTCH ? KIND_IMMEDIATE : kind) as Kind;
}

export function sideOf(orderId: bigint): Side {
  return Number((orderId >> 96n) & 1n) as Side;
}

// ─────────────────────────────────────────────────────────────── helpers

function levelKey(zone: number, side: Side, tick: bigint): string {
  return `${zone}:${side}:${tick}`;
}

function opposite(side: Side): Side {
  return side === SIDE_BUY ? SIDE_SELL : SIDE_BUY;
}

function crosses(side: Side, limitTick: bigint, bestOpposite: bigint): boolean {
  if (bestOpposite === 0n) return false;
  return side === SIDE_BUY ? bestOpposite <= limitTick : bestOpposite >= limitTick;
}

function escrowOf(side: Side, amountWh: bigint, price: bigint): bigint {
  return side === SIDE_BUY ? (amountWh * price) / WH_PER_KWH : amountWh;
}

function ceilDiv(a: bigint, b: bigint): bigint {
  return a === 0n ? 0n : (a - 1n) / b + 1n;
}

function cloneState(s: MarketState): MarketState {
  const orders = new Map<bigint, RestingOrder>();
  for (const [id, o] of s.orders) orders.set(id, { ...o, dutch: o.dutch === undefined ? undefined : { ...o.dutch } });
  const balances = new Map<string, Balance>();
  for (const [k, b] of s.balances) balances.set(k, { ...b });
  const daily = new Map<string, { day: bigint; committedWh: bigint }>();
  for (const [k, d] of s.daily) daily.set(k, { ...d });
  const levels = new Map<string, bigint[]>();
  for (const [k, q] of s.levels) levels.set(k, [...q]);
  return {
    ...s,
    orders,
    levels,
    levelTails: new Map(s.levelTails),
    balances,
    wallets: new Map(s.wallets),
    daily,
    accruedZoneFees: new Map(s.accruedZoneFees),
  };
}
