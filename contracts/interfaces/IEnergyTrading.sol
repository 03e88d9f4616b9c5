// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IGridManagement} from "./IGridManagement.sol";

/// @title IEnergyTrading
/// @notice A central limit order book per grid zone for EnergyToken credits against the payment token, with
/// price-time priority, partial fills and Dutch-auction sell orders. Escrow lives in Settlement: a resting
/// order locks the trader's deposited balance (credits for a sell, the notional at the limit price for a buy);
/// a taker's side of every fill settles there at once, a resting order's side when its fills are claimed (see
/// "Settlement of fills").
/// @dev Units: amounts in Wh (EnergyToken base units), prices in payment-token base units per kWh. Prices
/// are on a tick grid: `price = tick × tickSize` with `tick` in [1, 65535] and `tickSize` a multiple of 1000,
/// so every notional `amountWh × price / 1000` is an exact integer and no fill ever rounds.
///
/// Settlement of fills. A taker (the order that matches at once) settles its side in the same call: a buyer
/// pays the notional at the makers' prices plus the zone's grid fee and the protocol fee on it, a seller
/// receives the notional less those fees. A maker's side settles later, for the exact notional and no fee:
/// each fill only moves volume from the resting order's `remainingWh` to its `unsettledWh` (one storage
/// write), and `claimFills` (anyone, for any orders; proceeds only ever go to the owner), `cancelOrder` and
/// expiry settle it into the owner's Settlement balance. Until then the maker's sold escrow stays in its
/// locked balance and its proceeds show in `unsettledFills`. Crossing two resting orders with `matchOrders`
/// settles both at once, the seller paying the fees; a Dutch take settles both at once, the taker paying.
///
/// Matching. `createOrder` first matches against the other side of its zone's book, best price first and,
/// within a price, oldest first, at the resting (maker) order's price; then, unless it is immediate-or-cancel
/// or fill-or-kill, it rests what is left at its own price. One call touches at most `maxFillsPerCall`
/// maker orders (fills and expired orders removed) and skips at most `MAX_SKIPS_PER_CALL` cancelled queue
/// slots, so no taker pays for an unbounded loop. When the bound stops matching while a limit order still
/// crosses the book, the crossing remainder is returned (`OrderCancelled`, reason `FillLimit`; an
/// immediate-or-cancel order's remainder always has reason `ImmediateOrCancel`): the book is never left
/// crossed, so the best bid is below the best ask after every call.
///
/// Price bands. When the zone's PriceOracle reference is fresh and `priceBandBps` is non-zero, every limit
/// price (and a Dutch order's start and floor) must lie within reference ± priceBandBps. When the reference
/// is stale (or was never reported), `staleReferencePolicy` decides: `Unbanded` accepts orders without a
/// band, `Refuse` rejects new orders and takes with `ReferencePriceStale`. Cancels, expiries and
/// withdrawals never look at the oracle. The market checks a copy of the reference and of the heartbeat that
/// PriceOracle pushes with every accepted report and heartbeat change (`IReferencePriceHook`), so the copy
/// is never behind the oracle; until PriceOracle is wired (`PriceOracle.setMarket`) every reference is stale.
///
/// Halts and compliance. Placing and matching require GridManagement to allow trading in the zone (zone
/// active, not halted, system not paused). The market checks a copy of the zone's rules and of the pause that
/// GridManagement pushes in the same transaction as every change (`IZoneRulesHook`); until GridManagement is
/// wired (`GridManagement.setMarket`) every zone is closed. Cancelling and expiring always work. Order sizes must lie within
/// the zone's min/max order size. The daily cap (`maxDailyTradedWhPerAccount`) is counted when an account
/// commits volume: the full amount of every order it places and every Dutch take, per UTC day and zone. An
/// account therefore never trades more than the cap per day; a cancelled order's amount stays counted.
///
/// Expiry. An order is live while `block.timestamp < expiry`. A maker order found expired during matching is
/// removed and its escrow returned (`OrderExpired`); anyone may also remove expired orders with
/// `expireOrders`. An expired order never fills.
///
/// Events. An auditor rebuilds the book from OrderCreated, TradeExecuted, OrderFilled, OrderCancelled,
/// OrderExpired and FillsSettled. Every fill is one TradeExecuted naming both orders (the buy and the sell order
/// id; 0 for a Dutch take's buyer, who has no order), both owners, the volume and the price; an order's
/// remainder is its amount less its trades. In a taker's walk that is the only event per maker filled (it
/// keeps a maker fill to one log); `matchOrders` and Dutch takes also emit OrderFilled for each resting order
/// they fill, with its remainder.
///
/// Order ids encode where an order lives: bits 0–63 its sequence number (queue index within its price level
/// for limit orders, a counter for immediate and Dutch orders), bits 64–79 the price tick, bit 96 the side
/// (1 = sell), bits 97–98 the kind, bits 128–159 the zone. Ids are unique for the life of the contract.
/// A limit order that crosses the book at a price no order of its side has used takes its number from the
/// immediate orders' counter with bit 63 set: filled at once, it leaves that price level unused; if a remainder
/// rests, the level's queue starts at that number. Queue indices otherwise count up from 0.
interface IEnergyTrading {
    // ─────────────────────────────────────────────────────────────── types

    /// @notice Which side of the book an order is on.
    enum Side {
        Buy,
        Sell
    }

    /// @notice How an order lives: resting-capable limit order, immediate (IOC/FOK) order, Dutch auction.
    enum Kind {
        Limit,
        Immediate,
        Dutch
    }

    /// @notice Why an order's remaining amount was returned without filling.
    enum CancelReason {
        /// @dev Its owner cancelled it.
        Owner,
        /// @dev Immediate-or-cancel: the part that did not fill at once.
        ImmediateOrCancel,
        /// @dev The per-call fill bound stopped matching while the remainder still crossed the book.
        FillLimit
    }

    /// @notice What happens when the zone's reference price is stale or missing.
    enum StaleReferencePolicy {
        /// @dev Orders are accepted without a price band.
        Unbanded,
        /// @dev New orders and takes are rejected until the reference is fresh again.
        Refuse
    }

    /// @notice The terms of the Settlement vault that EnergyTrading deploys in its constructor (see Settlement),
    /// and the initial protocol fee rate, which EnergyTrading governs and passes to the vault with each settle.
    struct VaultTerms {
        address paymentToken;
        address energyToken;
        address protocolTreasury;
        uint16 protocolFeeBps;
    }

    /// @notice A live order as the views return it.
    struct OrderView {
        address owner;
        uint32 zone;
        Side side;
        Kind kind;
        uint128 pricePerKWh; // a Dutch order's current price
        uint64 remainingWh;
        uint64 expiry;
        uint64 unsettledWh; // filled as a maker since its last settlement (claimFills, cancel, expiry)
    }

    /// @notice A Dutch auction's terms.
    struct DutchTerms {
        uint128 startPricePerKWh;
        uint128 floorPricePerKWh;
        uint64 startTime;
        uint32 window;
    }

    /// @notice A price level's FIFO queue: orders at indices [head, tail), `live` of them not cancelled.
    struct Level {
        uint64 head;
        uint64 tail;
        uint64 live;
    }

    // ─────────────────────────────────────────────────────────────── errors

    /// @notice A zero address where an address is required.
    error TradingZeroAddress();
    /// @notice The tick size must be a non-zero multiple of 1000.
    error TradingInvalidTickSize(uint128 tickSize);
    /// @notice A zero amount.
    error TradingZeroAmount();
    /// @notice Amounts are limited to 2^32 − 1 Wh.
    error TradingAmountTooLarge(uint64 amountWh);
    /// @notice The order is below the zone's minimum order size.
    error TradingOrderTooSmall(uint64 amountWh, uint64 minOrderWh);
    /// @notice The order is above the zone's maximum order size.
    error TradingOrderTooLarge(uint64 amountWh, uint64 maxOrderWh);
    /// @notice The price is zero, not a multiple of the tick size, or above the highest tick.
    error TradingInvalidPrice(uint128 pricePerKWh);
    /// @notice The expiry is not in the future.
    error TradingExpiryNotInFuture(uint64 expiry, uint64 nowTimestamp);
    /// @notice The expiry does not fit 32 bits (it must be before 2106-02-07).
    error TradingExpiryTooFar(uint64 expiry);
    /// @notice Unknown flag bits, or IOC, FOK and post-only combined.
    error TradingInvalidFlags(uint8 flags);
    /// @notice GridManagement does not allow trading in the zone now (unknown, inactive, halted or paused).
    error TradingZoneClosed(uint32 zone);
    /// @notice The price is outside the band around the fresh reference price.
    error TradingPriceOutsideBand(uint128 pricePerKWh, uint128 referencePricePerKWh, uint16 priceBandBps);
    /// @notice The reference price is stale and the policy is `Refuse`.
    error TradingReferencePriceStale(uint32 zone, uint64 observedAt);
    /// @notice The account's daily cap in the zone would be exceeded.
    error TradingDailyLimitExceeded(address account, uint64 committedWh, uint64 requestedWh, uint64 limitWh);
    /// @notice A post-only order would have matched at once.
    error TradingPostOnlyWouldCross(uint128 pricePerKWh, uint128 bestOppositePricePerKWh);
    /// @notice A fill-or-kill order could not be filled completely at once.
    error TradingFillOrKillNotFilled(uint64 filledWh, uint64 amountWh);
    /// @notice No live order has this id.
    error TradingOrderNotFound(uint256 orderId);
    /// @notice Only the order's owner may cancel it.
    error TradingNotOrderOwner(uint256 orderId, address caller);
    /// @notice The order has expired.
    error TradingOrderExpired(uint256 orderId, uint64 expiry);
    /// @notice The order is not of the kind or side the call needs.
    error TradingWrongOrderKind(uint256 orderId);
    /// @notice Two orders of different zones.
    error TradingZoneMismatch(uint256 buyOrderId, uint256 sellOrderId);
    /// @notice The bid is below the ask: nothing to match.
    error TradingOrdersDoNotCross(uint128 bidPricePerKWh, uint128 askPricePerKWh);
    /// @notice A Dutch order's current price is above the taker's maximum.
    error TradingPriceAboveMax(uint128 pricePerKWh, uint128 maxPricePerKWh);
    /// @notice A Dutch take would leave less than the zone's minimum order size without taking it all.
    error TradingTakeTooSmall(uint64 amountWh, uint64 minOrderWh);
    /// @notice Dutch terms need start ≥ floor > 0 on the tick grid and a non-zero window.
    error TradingInvalidDutchTerms(uint128 startPricePerKWh, uint128 floorPricePerKWh, uint32 window);
    /// @notice The fill bound must be within [1, MAX_FILLS_PER_CALL].
    error TradingMaxFillsOutOfRange(uint16 maxFillsPerCall);
    /// @notice The price band must be at most 10,000 bps.
    error TradingPriceBandTooWide(uint16 priceBandBps);
    /// @notice The protocol fee must be at most MAX_PROTOCOL_FEE_BPS (the vault's ceiling).
    error TradingProtocolFeeTooHigh(uint16 protocolFeeBps, uint16 maxProtocolFeeBps);
    /// @notice Only GridManagement pushes trading rules and the pause.
    error TradingCallerNotGridManagement(address caller);
    /// @notice Only PriceOracle pushes reference prices and its heartbeat.
    error TradingCallerNotPriceOracle(address caller);

    // ─────────────────────────────────────────────────────────────── events

    /// @notice An order was placed. For a Dutch order `pricePerKWh` is the start price (see
    /// `DutchAuctionStarted`). Emitted before any of its fills.
    event OrderCreated(
        uint256 indexed orderId,
        uint32 indexed zone,
        address indexed owner,
        Side side,
        Kind kind,
        uint64 amountWh,
        uint128 pricePerKWh,
        uint64 expiry,
        uint8 flags
    );
    /// @notice A Dutch order's decay schedule.
    event DutchAuctionStarted(
        uint256 indexed orderId, uint128 startPricePerKWh, uint128 floorPricePerKWh, uint64 startTime, uint32 window
    );
    /// @notice `amountWh` of a resting order filled at `pricePerKWh` by `matchOrders` or a Dutch take, leaving
    /// `remainingWh`. A maker filled by a taker's walk gets only its TradeExecuted (see "Events").
    event OrderFilled(uint256 indexed orderId, address indexed owner, uint64 amountWh, uint128 pricePerKWh, uint64 remainingWh);
    /// @notice A trade between a buy and a sell order (one per fill): the record an auditor replays fills from.
    event TradeExecuted(
        uint32 indexed zone,
        uint256 indexed buyOrderId,
        uint256 indexed sellOrderId,
        address buyer,
        address seller,
        uint64 amountWh,
        uint128 pricePerKWh
    );
    /// @notice A resting order's maker fills since its last settlement, `amountWh` for `notional` (payment-token
    /// base units, no fee), were settled into its owner's Settlement balance.
    event FillsSettled(uint256 indexed orderId, address indexed owner, uint64 amountWh, uint256 notional);
    /// @notice The order's `remainingWh` was returned unfilled (its escrow unlocked, if it had rested).
    event OrderCancelled(uint256 indexed orderId, address indexed owner, uint64 remainingWh, CancelReason reason);
    /// @notice The order expired and was removed; its escrow for `remainingWh` returned.
    event OrderExpired(uint256 indexed orderId, address indexed owner, uint64 remainingWh);
    /// @notice The per-call fill bound changed.
    event MaxFillsPerCallUpdated(uint16 maxFillsPerCall);
    /// @notice The price band changed (0 = no band).
    event PriceBandUpdated(uint16 priceBandBps);
    /// @notice The stale-reference policy changed.
    event StaleReferencePolicyUpdated(StaleReferencePolicy policy);
    /// @notice The protocol fee rate changed; trades settle at the new rate from this block on.
    event ProtocolFeeUpdated(uint16 protocolFeeBps);
    /// @notice GridManagement pushed `zone`'s trading rules; orders are checked against them from now on.
    event TradingRulesCopied(uint32 indexed zone, IGridManagement.TradingRules rules);
    /// @notice GridManagement pushed the global pause.
    event PauseCopied(bool paused);
    /// @notice PriceOracle pushed its heartbeat: a reference is fresh for this long after its observation.
    event ReferenceHeartbeatCopied(uint32 heartbeatSeconds);

    // ─────────────────────────────────────────────────────────────── trading

    /// @notice Places a limit order: matches at once against the other side, then rests the rest (see the
    /// contract notes). `flags`: FLAG_IMMEDIATE_OR_CANCEL, FLAG_FILL_OR_KILL, FLAG_POST_ONLY, at most one.
    /// Pays from (and locks) the caller's available balance in Settlement.
    function createOrder(uint32 zone, Side side, uint64 amountWh, uint128 pricePerKWh, uint64 expiry, uint8 flags)
        external
        returns (uint256 orderId);
    /// @notice Places a Dutch-auction sell order whose price decays linearly from `startPricePerKWh` to
    /// `floorPricePerKWh` over `window` seconds from now, then stays at the floor until `expiry`. Locks the
    /// credits. It is not in the limit book: buyers take it with `takeDutchOrder`, and anyone crosses it with
    /// a resting bid through `matchOrders`.
    function createDutchOrder(
        uint32 zone,
        uint64 amountWh,
        uint128 startPricePerKWh,
        uint128 floorPricePerKWh,
        uint32 window,
        uint64 expiry
    ) external returns (uint256 orderId);
    /// @notice Buys `amountWh` of a Dutch order at its current price, if that is at most `maxPricePerKWh`.
    function takeDutchOrder(uint256 orderId, uint64 amountWh, uint128 maxPricePerKWh) external;
    /// @notice Cancels the caller's live order and returns its escrow. Works always, even halted or paused.
    function cancelOrder(uint256 orderId) external;
    /// @notice Removes every listed order that has expired and returns its escrow; others are skipped.
    /// Anyone may call it. Returns how many were removed.
    function expireOrders(uint256[] calldata orderIds) external returns (uint256 removed);
    /// @notice Settles every listed order's maker fills since its last settlement into its owner's Settlement
    /// balance (orders with nothing to settle are skipped). Anyone may call it; proceeds only ever go to the
    /// order's owner. A filled order's slot is deleted once settled. Returns how many orders it settled.
    function claimFills(uint256[] calldata orderIds) external returns (uint256 settled);
    /// @notice Crosses a resting bid with a resting ask (a limit or Dutch sell) of the same zone at the ask's
    /// (current) price, for as much as both have left. Anyone may call it.
    function matchOrders(uint256 buyOrderId, uint256 sellOrderId) external;

    // ─────────────────────────────────────────────────────────────── governance (ADMIN)

    /// @notice Sets the bound on maker orders touched per call.
    function setMaxFillsPerCall(uint16 maxFillsPerCall) external;
    /// @notice Sets the band around the fresh reference price, in bps (0 = no band).
    function setPriceBand(uint16 priceBandBps) external;
    /// @notice Sets what happens while the reference price is stale.
    function setStaleReferencePolicy(StaleReferencePolicy policy) external;
    /// @notice Sets the protocol fee, in bps of a trade's notional, at most MAX_PROTOCOL_FEE_BPS. It accrues in
    /// the vault for the protocol treasury (Settlement.sweepProtocolFees).
    function setProtocolFee(uint16 protocolFeeBps) external;

    // ─────────────────────────────────────────────────────────────── views

    /// @notice Flag: fill what matches at once, return the rest.
    function FLAG_IMMEDIATE_OR_CANCEL() external view returns (uint8);
    /// @notice Flag: fill everything at once or revert.
    function FLAG_FILL_OR_KILL() external view returns (uint8);
    /// @notice Flag: revert instead of matching at once.
    function FLAG_POST_ONLY() external view returns (uint8);
    /// @notice Upper bound of `maxFillsPerCall`.
    function MAX_FILLS_PER_CALL() external view returns (uint16);
    /// @notice Cancelled queue slots one call skips at most.
    function MAX_SKIPS_PER_CALL() external view returns (uint16);
    /// @notice Largest order amount, 2^32 − 1 Wh.
    function MAX_AMOUNT_WH() external view returns (uint64);
    /// @notice Highest price tick.
    function MAX_TICK() external view returns (uint16);
    /// @notice Upper bound of the protocol fee, in bps (the vault's Settlement.MAX_PROTOCOL_FEE_BPS).
    function MAX_PROTOCOL_FEE_BPS() external view returns (uint16);
    /// @notice The escrow vault.
    function settlement() external view returns (address);
    /// @notice The zone registry.
    function gridManagement() external view returns (address);
    /// @notice The reference price source.
    function priceOracle() external view returns (address);
    /// @notice Price grid step, payment-token base units per kWh.
    function tickSize() external view returns (uint128);
    /// @notice Maker orders touched per call at most.
    function maxFillsPerCall() external view returns (uint16);
    /// @notice Band around the fresh reference, bps (0 = none).
    function priceBandBps() external view returns (uint16);
    /// @notice What happens while the reference is stale.
    function staleReferencePolicy() external view returns (StaleReferencePolicy);
    /// @notice The protocol fee, in bps of a trade's notional, charged to the taker (matchOrders: the seller).
    function protocolFeeBps() external view returns (uint16);
    /// @notice The market's copy of GridManagement's rules for `zone`, and whether orders may be placed and
    /// matched there now (active, not halted, not paused).
    function tradingRules(uint32 zone) external view returns (bool open, IGridManagement.TradingRules memory rules);
    /// @notice The market's copy of PriceOracle's reference price for `zone`, with PriceOracle's freshness.
    function referencePrice(uint32 zone) external view returns (uint128 pricePerKWh, uint64 observedAt, bool fresh);
    /// @notice The market's copy of PriceOracle's heartbeat.
    function referenceHeartbeat() external view returns (uint32);
    /// @notice An order's maker fills not yet settled: its owner, side, the Wh and their notional at its price
    /// (owner and amounts zero for anything else; `side` is always the side the id encodes). A sell order's
    /// owner is owed the notional and still has the Wh in its locked credits; a buy order's owner is owed the
    /// Wh and still has the notional in its locked payment.
    function unsettledFills(uint256 orderId)
        external
        view
        returns (address owner, Side side, uint64 filledWh, uint256 notional);
    /// @notice The order `orderId` while it is live or has unsettled fills; reverts with TradingOrderNotFound
    /// otherwise.
    function getOrder(uint256 orderId) external view returns (OrderView memory);
    /// @notice A Dutch order's terms; reverts with TradingOrderNotFound for anything else.
    function dutchTerms(uint256 orderId) external view returns (DutchTerms memory);
    /// @notice A live Dutch order's current price.
    function dutchPrice(uint256 orderId) external view returns (uint128);
    /// @notice Highest bid price in `zone` (0 when there is none).
    function bestBid(uint32 zone) external view returns (uint128);
    /// @notice Lowest ask price in `zone` (0 when there is none).
    function bestAsk(uint32 zone) external view returns (uint128);
    /// @notice The queue of a price level.
    function level(uint32 zone, Side side, uint128 pricePerKWh) external view returns (Level memory);
    /// @notice Volume `account` committed in `zone` on UTC day `day` (timestamp / 86400).
    function committedOn(uint32 zone, address account, uint64 day) external view returns (uint64);
}
