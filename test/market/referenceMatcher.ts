/**
 * A plain reference model of the GridX market (EnergyTrading + Settlement), written from the rules in
 * contracts/interfaces/IEnergyTrading.sol and ISettlement.sol, with no chain: per-zone limit books with
 * price-time priority, partial fills at the maker's price, the per-call fill bound (FillLimit returns),
 * IOC / FOK / post-only, expiry (live while now < expiry; expired makers met during matching are removed and
 * settled), cancels, Dutch auctions, matchOrders, the daily cap, and Settlement's available/locked balances,
 * fees, per-zone fee accrual and sweeps, and monthly statements.
 *
 * Settlement of fills (lazy maker settlement, the taker pays the fees):
 * - a taker (createOrder matching at once) settles its side at once for the total notional of its fills at
 *   the makers' prices, with fees computed once on that total: a buying taker pays notional + fees from its
 *   available payment, a selling taker receives notional − fees;
 * - each maker order only moves the filled volume from `remainingWh` to `unsettledWh`; its owner's balances
 *   are untouched until `claimFills`, `cancelOrder` or expiry settle it, for the exact notional at the
 *   order's own price and no fee (a sell maker's Wh leave its locked credits and the notional lands in its
 *   available payment; a buy maker's notional leaves its locked payment and the Wh land in its available
 *   credits). A filled order stays stored (off the book) while it has unsettled fills;
 * - matchOrders settles both resting orders at once, the seller paying the fees out of the notional and the
 *   buyer refunded the price difference from its escrow; it never adds to `unsettledWh`;
 * - a Dutch take settles both sides at once: the taker pays notional + fees, the seller gets the notional.
 * Every operation either applies completely or throws a `ReferenceRevert` and changes nothing.
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
/** Bit 63 of a sequence number: drawn from the market's counter, not a level's queue. */
const COUNTER_SEQ = 1n << 63n;
const BPS = 10_000n;
export const MAX_AMOUNT_WH = (1n << 32n) - 1n;
const MAX_TICK = 65_535n;
export const MAX_EXPIRY = (1n << 32n) - 1n;

/** One zone's trading rules (GridManagement's fee schedule and compliance limits). */
export interface ZoneRules {
  treasury: string;
  minOrderWh: bigint;
  maxOrderWh: bigint;
  maxDailyWhPerAccount: bigint;
  peakFeeBps: bigint;
  offPeakFeeBps: bigint;
  peakStartHour: number;
  peakEndHour: number;
}

export interface MarketParams {
  tickSize: bigint;
  maxFillsPerCall: number;
  protocolFeeBps: bigint;
  protocolTreasury: string;
  /** The open zones; any other zone is closed. */
  zones: Record<number, ZoneRules>;
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
  remainingWh: bigint; // 0: off the book, stored only while unsettledWh != 0
  unsettledWh: bigint; // maker fills since its last settlement
  expiry: bigint;
  dutch?: { startTick: bigint; floorTick: bigint; startTime: bigint; window: bigint };
}

/** Events in the shape the differential test decodes from the chain (EnergyTrading's and Settlement's). */
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
  | { name: "FillsSettled"; orderId: bigint; owner: string; amountWh: bigint; notional: bigint }
  | { name: "OrderCancelled"; orderId: bigint; owner: string; remainingWh: bigint; reason: number }
  | { name: "OrderExpired"; orderId: bigint; owner: string; remainingWh: bigint }
  | {
      name: "TradesSettled";
      zone: number;
      gridFeeBps: bigint;
      protocolFeeBps: bigint;
      notional: bigint;
      gridFee: bigint;
      protocolFee: bigint;
    }
  | { name: "MakerSettled"; maker: string; makerBuys: boolean; amountWh: bigint; notional: bigint }
  | { name: "ZoneFeesSwept"; zone: number; treasury: string; amount: bigint }
  | { name: "ProtocolFeesSwept"; zone: number; treasury: string; amount: bigint };

export interface Balance {
  available: bigint;
  locked: bigint;
}

/** Settlement's monthly statement of an account. */
export interface Statement {
  soldWh: bigint;
  earned: bigint;
  fees: bigint;
  boughtWh: bigint;
  paid: bigint;
  buyFees: bigint;
}

export type Asset = "payment" | "credits";

interface MarketState {
  /** Live orders and filled orders whose maker fills are not settled yet. */
  orders: Map<bigint, RestingOrder>;
  /** zone:side:tick → FIFO of resting order ids (expired ones stay until removed). */
  levels: Map<string, bigint[]>;
  /** zone:side:tick → queue slots issued at that level (the next limit order's sequence number). */
  levelTails: Map<string, bigint>;
  takerNonce: bigint;
  dutchNonce: bigint;
  maxFillsPerCall: number;
  balances: Map<string, Balance>; // account:asset
  wallets: Map<string, bigint>; // account:asset
  daily: Map<string, { day: bigint; committedWh: bigint }>; // zone:account
  accruedZoneFees: Map<number, bigint>;
  accruedProtocolFees: Map<number, bigint>;
  statements: Map<string, Statement>; // account:YYYYMM
}

export class ReferenceMarket {
  private state: MarketState;
  /** Events of the last successful operation. */
  events: MarketEvent[] = [];
  /** Order ids whose storage the last successful operation deleted or took off the book. */
  removed: bigint[] = [];

  constructor(readonly params: MarketParams) {
    this.state = {
      orders: new Map(),
      levels: new Map(),
      levelTails: new Map(),
      takerNonce: 0n,
      dutchNonce: 0n,
      maxFillsPerCall: params.maxFillsPerCall,
      balances: new Map(),
      wallets: new Map(),
      daily: new Map(),
      accruedZoneFees: new Map(),
      accruedProtocolFees: new Map(),
      statements: new Map(),
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

  /** A stored order: live, or filled with unsettled maker fills. */
  order(orderId: bigint): RestingOrder | undefined {
    return this.state.orders.get(orderId);
  }

  /** Orders on the book (or Dutch orders) with something left, expired or not. */
  openOrders(): RestingOrder[] {
    return [...this.state.orders.values()].filter((o) => o.remainingWh !== 0n);
  }

  /** Every stored order, including filled ones waiting for settlement. */
  storedOrders(): RestingOrder[] {
    return [...this.state.orders.values()];
  }

  /** EnergyTrading.unsettledFills: owner, unsettled Wh and their notional at the order's price (zero otherwise). */
  unsettledFills(orderId: bigint): { owner: string | undefined; filledWh: bigint; notional: bigint } {
    const o = this.state.orders.get(orderId);
    if (o === undefined || o.unsettledWh === 0n) return { owner: o?.owner, filledWh: 0n, notional: 0n };
    return { owner: o.owner, filledWh: o.unsettledWh, notional: (o.unsettledWh * o.tick * this.params.tickSize) / WH_PER_KWH };
  }

  accruedZoneFees(zone: number): bigint {
    return this.state.accruedZoneFees.get(zone) ?? 0n;
  }

  accruedProtocolFees(zone: number): bigint {
    return this.state.accruedProtocolFees.get(zone) ?? 0n;
  }

  statement(account: string, month: number): Statement {
    const st = this.state.statements.get(`${account.toLowerCase()}:${month}`);
    return st === undefined ? { soldWh: 0n, earned: 0n, fees: 0n, boughtWh: 0n, paid: 0n, buyFees: 0n } : { ...st };
  }

  /** The months some statement was written in. */
  statementMonths(): number[] {
    const months = new Set<number>();
    for (const key of this.state.statements.keys()) months.add(Number(key.split(":")[1]));
    return [...months];
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

  /** The zone's grid fee rate at `now`: peak within [peakStartHour, peakEndHour) UTC, wrapping past midnight. */
  gridFeeBps(zone: number, now: bigint): bigint {
    const rules = this.params.zones[zone];
    const hour = Number((now % 86_400n) / 3_600n);
    const { peakStartHour: start, peakEndHour: end } = rules;
    const peak = start <= end ? hour >= start && hour < end : hour >= start || hour < end;
    return peak ? rules.peakFeeBps : rules.offPeakFeeBps;
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

  /** Pays a zone's accrued grid fees to its treasury (anyone). */
  sweepZoneFees(zone: number): bigint {
    return this.apply((s) => {
      const amount = s.accruedZoneFees.get(zone) ?? 0n;
      if (amount === 0n) throw new ReferenceRevert("SettlementNoFeesAccrued");
      const treasury = this.params.zones[zone].treasury;
      s.accruedZoneFees.set(zone, 0n);
      this.emit({ name: "ZoneFeesSwept", zone, treasury, amount });
      const key = `${treasury.toLowerCase()}:payment`;
      s.wallets.set(key, (s.wallets.get(key) ?? 0n) + amount);
      return amount;
    });
  }

  /** Pays a zone's accrued protocol fees to the protocol treasury (anyone). */
  sweepProtocolFees(zone: number): bigint {
    return this.apply((s) => {
      const amount = s.accruedProtocolFees.get(zone) ?? 0n;
      if (amount === 0n) throw new ReferenceRevert("SettlementNoFeesAccrued");
      const treasury = this.params.protocolTreasury;
      s.accruedProtocolFees.set(zone, 0n);
      this.emit({ name: "ProtocolFeesSwept", zone, treasury, amount });
      const key = `${treasury.toLowerCase()}:payment`;
      s.wallets.set(key, (s.wallets.get(key) ?? 0n) + amount);
      return amount;
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
      this.openZone(zone);
      this.checkAmount(zone, amountWh);
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
      let fromCounter = false;
      if (immediate) {
        s.takerNonce += 1n;
        orderId = encodeId(zone, KIND_IMMEDIATE, side, tick, s.takerNonce);
      } else {
        const tail = s.levelTails.get(ownKey) ?? 0n;
        if (tail === 0n && crosses(side, tick, this.bestTick(zone, opposite(side), s))) {
          // a price its side never used, and it crosses: a number from the counter, queued only if it rests
          s.takerNonce += 1n;
          orderId = encodeId(zone, KIND_LIMIT, side, tick, COUNTER_SEQ | s.takerNonce);
          fromCounter = true;
        } else {
          orderId = encodeId(zone, KIND_LIMIT, side, tick, tail);
          s.levelTails.set(ownKey, tail + 1n);
        }
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
      const taken = { wh: 0n, notional: 0n };
      if ((flags & FLAG_POST_ONLY) !== 0) {
        const best = this.bestTick(zone, opposite(side));
        if (crosses(side, tick, best)) throw new ReferenceRevert("TradingPostOnlyWouldCross");
      } else {
        [remaining, stillCrosses] = this.matchTaker(s, now, sender, zone, side, tick, orderId, amountWh, taken);
      }
      if ((flags & FLAG_FOK) !== 0 && remaining !== 0n) throw new ReferenceRevert("TradingFillOrKillNotFilled");

      let lockAmount = 0n;
      if (!immediate && remaining !== 0n && !stillCrosses) {
        s.orders.set(orderId, {
          id: orderId,
          owner: sender,
          zone,
          side,
          kind: KIND_LIMIT,
          tick,
          remainingWh: remaining,
          unsettledWh: 0n,
          expiry,
        });
        const queue = s.levels.get(ownKey) ?? [];
        queue.push(orderId);
        s.levels.set(ownKey, queue);
        // the queue of the level it found unused starts at its number
        if (fromCounter) s.levelTails.set(ownKey, (orderId & ((1n << 64n) - 1n)) + 1n);
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
      this.settleTaker(s, now, zone, sender, side === SIDE_BUY, taken.wh, taken.notional, lockAmount);
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
      this.openZone(zone);
      this.checkAmount(zone, amountWh);
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
        unsettledWh: 0n,
        expiry,
        dutch: { startTick, floorTick, startTime: now, window },
      });
      this.emit({ name: "OrderCreated", orderId, owner: sender, side: SIDE_SELL, kind: KIND_DUTCH, amountWh, pricePerKWh: startPrice });
      this.lock(s, sender, "credits", amountWh);
      return orderId;
    });
  }

  /** Both sides settle at once: the taker pays notional + fees, the Dutch seller receives the notional. */
  takeDutchOrder(now: bigint, sender: string, orderId: bigint, amountWh: bigint, maxPrice: bigint): void {
    this.apply((s) => {
      if (kindOf(orderId) !== KIND_DUTCH) throw new ReferenceRevert("TradingWrongOrderKind");
      const zone = zoneOf(orderId);
      this.openZone(zone);
      const order = this.liveOrder(s, now, orderId);
      if (amountWh === 0n) throw new ReferenceRevert("TradingZeroAmount");
      if (amountWh > order.remainingWh) amountWh = order.remainingWh;
      if (amountWh < this.params.zones[zone].minOrderWh && amountWh !== order.remainingWh) {
        throw new ReferenceRevert("TradingTakeTooSmall");
      }
      const price = this.dutchPrice(order, now);
      if (price > maxPrice) throw new ReferenceRevert("TradingPriceAboveMax");
      this.commit(s, now, zone, sender, amountWh);
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
      const notional = (amountWh * price) / WH_PER_KWH;
      this.settleTaker(s, now, zone, sender, true, amountWh, notional, 0n);
      this.settleMaker(s, now, order.owner, false, amountWh, notional, 0n);
    });
  }

  /** Only a live order (something left) can be cancelled: its unsettled fills settle, its escrow returns. */
  cancelOrder(now: bigint, sender: string, orderId: bigint): void {
    this.apply((s) => {
      const order = s.orders.get(orderId);
      if (order === undefined || order.remainingWh === 0n) throw new ReferenceRevert("TradingOrderNotFound");
      if (order.owner.toLowerCase() !== sender.toLowerCase()) throw new ReferenceRevert("TradingNotOrderOwner");
      this.emit({ name: "OrderCancelled", orderId, owner: order.owner, remainingWh: order.remainingWh, reason: REASON_OWNER });
      this.removeAndSettle(s, now, order);
    });
  }

  expireOrders(now: bigint, orderIds: bigint[]): number {
    return this.apply((s) => {
      let removed = 0;
      for (const orderId of orderIds) {
        const order = s.orders.get(orderId);
        if (order === undefined || order.remainingWh === 0n || now < order.expiry) continue;
        this.emit({ name: "OrderExpired", orderId, owner: order.owner, remainingWh: order.remainingWh });
        this.removeAndSettle(s, now, order);
        removed += 1;
      }
      return removed;
    });
  }

  /** Settles each listed order's unsettled maker fills into its owner's balance; a filled order's slot goes. */
  claimFills(now: bigint, orderIds: bigint[]): number {
    return this.apply((s) => {
      let settled = 0;
      for (const orderId of orderIds) {
        const order = s.orders.get(orderId);
        if (order === undefined || order.unsettledWh === 0n) continue;
        if (order.remainingWh === 0n) {
          s.orders.delete(orderId);
          this.removed.push(orderId);
        }
        this.settleOrderFills(s, now, order, 0n);
        order.unsettledWh = 0n;
        settled += 1;
      }
      return settled;
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
      this.openZone(zone);
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
      // Both escrows are locked: the buyer's at its own limit, so the better price leaves a refund. The seller
      // pays the fees out of the notional.
      const notional = ceilDiv(amountWh * askPrice, WH_PER_KWH);
      const { gridFee, protocolFee, gridFeeBps } = this.feesOn(zone, now, notional);
      const fees = gridFee + protocolFee;
      const refund = (amountWh * (bidPrice - askPrice)) / WH_PER_KWH;
      this.debitLocked(s, ask.owner, "credits", amountWh);
      this.debitLocked(s, bid.owner, "payment", notional + refund);
      this.credit(s, bid.owner, "credits", amountWh);
      this.credit(s, ask.owner, "payment", notional - fees);
      this.credit(s, bid.owner, "payment", refund);
      this.recordPurchase(s, now, bid.owner, amountWh, notional, 0n);
      this.recordSale(s, now, ask.owner, amountWh, notional - fees, fees);
      this.accrue(s, zone, gridFeeBps, notional, gridFee, protocolFee);
    });
  }

  // ─────────────────────────────────────────────────────────────── matching

  /**
   * Walks the opposite book best price first, FIFO within a price, at the makers' prices; each maker's fill
   * goes to its unsettled volume. Accumulates the taker's volume and notional in `taken`; returns
   * [remaining, stillCrosses].
   */
  private matchTaker(
    s: MarketState,
    now: bigint,
    taker: string,
    zone: number,
    side: Side,
    tick: bigint,
    takerId: bigint,
    amountWh: bigint,
    taken: { wh: bigint; notional: bigint },
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
          this.settleOrderFills(s, now, maker, maker.remainingWh);
          continue;
        }
        const fill = remaining < maker.remainingWh ? remaining : maker.remainingWh;
        remaining -= fill;
        maker.remainingWh -= fill;
        maker.unsettledWh += fill;
        if (maker.remainingWh === 0n) {
          // off the book; the slot stays for its unsettled fills
          queue.shift();
          this.removed.push(maker.id);
        }
        taken.wh += fill;
        taken.notional += (fill * price) / WH_PER_KWH;
        // a maker's fill in a taker's walk is one TradeExecuted (no OrderFilled)
        const [buyOrderId, sellOrderId, buyer, seller] =
          side === SIDE_BUY ? [takerId, maker.id, taker, maker.owner] : [maker.id, takerId, maker.owner, taker];
        this.emit({ name: "TradeExecuted", buyOrderId, sellOrderId, buyer, seller, amountWh: fill, pricePerKWh: price });
      }
      if (queue.length === 0) s.levels.delete(key);
    }
    return [0n, false];
  }

  /**
   * Settlement.settleTaker: the taker's side of all its fills at once (fees once on the total notional, paid
   * on top by a buyer, out of the proceeds by a seller), then the escrow of what rests.
   */
  private settleTaker(
    s: MarketState,
    now: bigint,
    zone: number,
    taker: string,
    takerBuys: boolean,
    amountWh: bigint,
    notional: bigint,
    takerLock: bigint,
  ) {
    if (amountWh === 0n && takerLock === 0n) return; // nothing to settle: Settlement is not called
    const gives: Asset = takerBuys ? "payment" : "credits";
    if (amountWh === 0n) {
      this.lock(s, taker, gives, takerLock);
      return;
    }
    const { gridFee, protocolFee, gridFeeBps } = this.feesOn(zone, now, notional);
    const fees = gridFee + protocolFee;
    this.debitAvailable(s, taker, gives, (takerBuys ? notional + fees : amountWh) + takerLock);
    this.addLocked(s, taker, gives, takerLock);
    if (takerBuys) {
      this.credit(s, taker, "credits", amountWh);
      this.recordPurchase(s, now, taker, amountWh, notional, fees);
    } else {
      this.credit(s, taker, "payment", notional - fees);
      this.recordSale(s, now, taker, amountWh, notional - fees, fees);
    }
    this.accrue(s, zone, gridFeeBps, notional, gridFee, protocolFee);
  }

  /**
   * Settles an order's unsettled maker fills at its own price (no fee) and returns `unlockWh` of its remaining
   * escrow. The caller resets or deletes the order.
   */
  private settleOrderFills(s: MarketState, now: bigint, order: RestingOrder, unlockWh: bigint) {
    const price = order.tick * this.params.tickSize;
    const filledWh = order.unsettledWh;
    const notional = (filledWh * price) / WH_PER_KWH;
    if (filledWh !== 0n) this.emit({ name: "FillsSettled", orderId: order.id, owner: order.owner, amountWh: filledWh, notional });
    this.settleMaker(s, now, order.owner, order.side === SIDE_BUY, filledWh, notional, escrowOf(order.side, unlockWh, price));
  }

  /** Settlement.settleMaker: the maker's locked escrow pays what it gave and `unlock` more returns to available. */
  private settleMaker(
    s: MarketState,
    now: bigint,
    maker: string,
    makerBuys: boolean,
    amountWh: bigint,
    notional: bigint,
    unlock: bigint,
  ) {
    const gave: Asset = makerBuys ? "payment" : "credits";
    this.debitLocked(s, maker, gave, (makerBuys ? notional : amountWh) + unlock);
    this.credit(s, maker, gave, unlock);
    if (amountWh === 0n) return;
    if (makerBuys) {
      this.credit(s, maker, "credits", amountWh);
      this.recordPurchase(s, now, maker, amountWh, notional, 0n);
    } else {
      this.credit(s, maker, "payment", notional);
      this.recordSale(s, now, maker, amountWh, notional, 0n);
    }
    this.emit({ name: "MakerSettled", maker, makerBuys, amountWh, notional });
  }

  /** Fees on a notional: total rounds up against the payer, the protocol's share down, the grid fee the rest. */
  feesOn(zone: number, now: bigint, notional: bigint) {
    const gridFeeBps = this.gridFeeBps(zone, now);
    const totalFee = ceilDiv(notional * (gridFeeBps + this.params.protocolFeeBps), BPS);
    const protocolFee = (notional * this.params.protocolFeeBps) / BPS;
    return { gridFee: totalFee - protocolFee, protocolFee, gridFeeBps };
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

  /**
   * Takes `amountWh` off a resting order settled at once (matchOrders, Dutch takes); an order with nothing
   * left leaves the book, and its storage unless unsettled maker fills remain.
   */
  private reduce(s: MarketState, order: RestingOrder, amountWh: bigint) {
    order.remainingWh -= amountWh;
    if (order.remainingWh !== 0n) return;
    this.unlink(s, order);
    if (order.unsettledWh === 0n) s.orders.delete(order.id);
  }

  /** Deletes a live order, takes it off the book, settles its unsettled fills and returns its escrow. */
  private removeAndSettle(s: MarketState, now: bigint, order: RestingOrder) {
    s.orders.delete(order.id);
    this.unlink(s, order);
    this.settleOrderFills(s, now, order, order.remainingWh);
  }

  private unlink(s: MarketState, order: RestingOrder) {
    this.removed.push(order.id);
    if (order.kind !== KIND_LIMIT) return;
    const key = levelKey(order.zone, order.side, order.tick);
    const queue = (s.levels.get(key) ?? []).filter((id) => id !== order.id);
    if (queue.length === 0) s.levels.delete(key);
    else s.levels.set(key, queue);
  }

  private liveOrder(s: MarketState, now: bigint, orderId: bigint): RestingOrder {
    const order = s.orders.get(orderId);
    if (order === undefined || order.remainingWh === 0n) throw new ReferenceRevert("TradingOrderNotFound");
    if (now >= order.expiry) throw new ReferenceRevert("TradingOrderExpired");
    return order;
  }

  // ─────────────────────────────────────────────────────────────── checks

  private openZone(zone: number) {
    if (this.params.zones[zone] === undefined) throw new ReferenceRevert("TradingZoneClosed");
  }

  private checkAmount(zone: number, amountWh: bigint) {
    const rules = this.params.zones[zone];
    if (amountWh === 0n) throw new ReferenceRevert("TradingZeroAmount");
    if (amountWh > MAX_AMOUNT_WH) throw new ReferenceRevert("TradingAmountTooLarge");
    if (amountWh < rules.minOrderWh) throw new ReferenceRevert("TradingOrderTooSmall");
    if (rules.maxOrderWh !== 0n && amountWh > rules.maxOrderWh) throw new ReferenceRevert("TradingOrderTooLarge");
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
    const limit = this.params.zones[zone].maxDailyWhPerAccount;
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

  private accrue(s: MarketState, zone: number, gridFeeBps: bigint, notional: bigint, gridFee: bigint, protocolFee: bigint) {
    s.accruedZoneFees.set(zone, (s.accruedZoneFees.get(zone) ?? 0n) + gridFee);
    s.accruedProtocolFees.set(zone, (s.accruedProtocolFees.get(zone) ?? 0n) + protocolFee);
    this.emit({ name: "TradesSettled", zone, gridFeeBps, protocolFeeBps: this.params.protocolFeeBps, notional, gridFee, protocolFee });
  }

  /** Statements count a settlement in the UTC month it happens (a maker's fills when they are settled). */
  private statementEntry(s: MarketState, now: bigint, account: string): Statement {
    const key = `${account.toLowerCase()}:${monthOf(now)}`;
    let st = s.statements.get(key);
    if (st === undefined) {
      st = { soldWh: 0n, earned: 0n, fees: 0n, boughtWh: 0n, paid: 0n, buyFees: 0n };
      s.statements.set(key, st);
    }
    return st;
  }

  private recordPurchase(s: MarketState, now: bigint, account: string, amountWh: bigint, paid: bigint, fees: bigint) {
    const st = this.statementEntry(s, now, account);
    st.boughtWh += amountWh;
    st.paid += paid;
    st.buyFees += fees;
  }

  private recordSale(s: MarketState, now: bigint, account: string, amountWh: bigint, earned: bigint, fees: bigint) {
    const st = this.statementEntry(s, now, account);
    st.soldWh += amountWh;
    st.earned += earned;
    st.fees += fees;
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

/** `YYYYMM` of the UTC calendar month of a timestamp (the statement key). */
export function monthOf(timestamp: bigint): number {
  const date = new Date(Number(timestamp) * 1000);
  return date.getUTCFullYear() * 100 + date.getUTCMonth() + 1;
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
  const statements = new Map<string, Statement>();
  for (const [k, st] of s.statements) statements.set(k, { ...st });
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
    accruedProtocolFees: new Map(s.accruedProtocolFees),
    statements,
  };
}
