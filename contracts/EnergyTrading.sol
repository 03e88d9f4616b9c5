// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AccessManaged} from "@openzeppelin/contracts/access/manager/AccessManaged.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IEnergyTrading} from "./interfaces/IEnergyTrading.sol";
import {IGridManagement} from "./interfaces/IGridManagement.sol";
import {IReferencePriceHook, IZoneRulesHook} from "./interfaces/IMarketHooks.sol";
import {IPriceOracle} from "./interfaces/IPriceOracle.sol";
import {ISettlement} from "./interfaces/ISettlement.sol";
import {Settlement} from "./Settlement.sol";
import {FeeCeilings} from "./libraries/FeeCeilings.sol";

/// @title EnergyTrading
/// @notice Per-zone central limit order book for EnergyToken credits (see IEnergyTrading for the rules).
/// @dev Storage layout, chosen so that a resting order is one storage slot and the best prices are one read:
/// - `_orders[orderId]`: owner, remaining Wh, Wh filled as a maker and not yet settled, expiry (one slot).
/// - `_levels[levelKey]`: the FIFO queue of one price level (head, tail, live count; one slot). A level's
///   key is the order id without its sequence number, so a maker's id is `levelKey << 64 | index`.
/// - a two-level bitmap per (zone, side): `_roots[bookKey]` has bit w set when leaf word w has a live level,
///   `_leaves[bookKey << 8 | w]` bit b when tick `w × 256 + b` has one. It finds the next best level when
///   the best one empties.
/// - `_rules[zone]`: GridManagement's trading rules of the zone (flags, fees, limits; one slot) and
///   `_books[zone]`: PriceOracle's latest price and the best bid and ask ticks (one slot). Both contracts push
///   every change in the transaction that makes it (`IZoneRulesHook`, `IReferencePriceHook`); the global pause
///   and the oracle's heartbeat live in `_config`. An order therefore reads three local slots instead of
///   calling two contracts and walking the bitmap.
/// Escrow and balances live in Settlement, which the constructor deploys (so the vault knows its market from
/// birth, as an immutable); EnergyTrading only ever calls Settlement (trusted, no token transfers). Every trading entry point is `nonReentrant`.
/// Permissions: the four setters are ADMIN (AccessManager); the hooks admit only GridManagement and
/// PriceOracle; everything else is open to every account. The protocol fee rate is governed here, beside the other
/// market parameters in `_config`, and passed to the vault with each settle call like the grid fee rate, so a
/// trade reads no fee slot in the vault.
contract EnergyTrading is IEnergyTrading, IZoneRulesHook, IReferencePriceHook, AccessManaged, ReentrancyGuardTransient {
    // ─────────────────────────────────────────────────────────────── constants

    /// @inheritdoc IEnergyTrading
    uint8 public constant FLAG_IMMEDIATE_OR_CANCEL = 1;
    /// @inheritdoc IEnergyTrading
    uint8 public constant FLAG_FILL_OR_KILL = 2;
    /// @inheritdoc IEnergyTrading
    uint8 public constant FLAG_POST_ONLY = 4;
    /// @inheritdoc IEnergyTrading
    uint16 public constant MAX_FILLS_PER_CALL = 256;
    /// @inheritdoc IEnergyTrading
    uint16 public constant MAX_SKIPS_PER_CALL = 512;
    /// @inheritdoc IEnergyTrading
    uint64 public constant MAX_AMOUNT_WH = type(uint32).max;
    /// @inheritdoc IEnergyTrading
    uint16 public constant MAX_TICK = type(uint16).max;
    /// @inheritdoc IEnergyTrading
    uint16 public constant MAX_PROTOCOL_FEE_BPS = FeeCeilings.MAX_PROTOCOL_FEE_BPS;

    uint8 private constant ALL_FLAGS = FLAG_IMMEDIATE_OR_CANCEL | FLAG_FILL_OR_KILL | FLAG_POST_ONLY;
    uint256 private constant WH_PER_KWH = 1_000;
    uint256 private constant BPS = 10_000;
    uint256 private constant SEQ_BITS = 64;
    /// @dev Bit 63 of a sequence number: drawn from the market's counter, not a level's queue (see `_place`).
    /// Queue indices count up from 0 and never reach it.
    uint64 private constant COUNTER_SEQ = uint64(1) << 63;

    // ─────────────────────────────────────────────────────────────── storage

    /// @dev A resting order: one slot. `filledWh` is what it filled as a maker since its last settlement
    /// (claimFills, cancel, expiry): its taker side settled at once, its own side waits in this slot.
    /// `remainingWh == 0` means the order is off the book (filled, or cancelled and deleted).
    struct Order {
        address owner;
        uint32 remainingWh;
        uint32 filledWh;
        uint32 expiry;
    }

    /// @dev A Dutch order's schedule, in ticks.
    struct DutchSlot {
        uint16 startTick;
        uint16 floorTick;
        uint40 startTime;
        uint32 window;
    }

    /// @dev Governed parameters, id counters, the pause and the oracle heartbeat copies: one slot (224 bits).
    /// `takerNonce` numbers immediate orders and limit orders that cross at a price their side never used;
    /// `dutchNonce` numbers Dutch orders.
    // solhint-disable-next-line gas-struct-packing
    struct Config {
        uint16 maxFillsPerCall;
        uint16 priceBandBps;
        StaleReferencePolicy staleReferencePolicy;
        uint64 takerNonce;
        uint64 dutchNonce;
        bool paused;
        uint32 referenceHeartbeat;
        uint16 protocolFeeBps;
    }

    /// @dev Per zone, one slot: PriceOracle's latest reference price (pushed by PriceOracle) and the best live
    /// tick of each side of the limit book (0 = that side is empty), kept equal to what the bitmap says by every
    /// `_setTick` and `_clearTick`. An order reads the best opposite price here instead of two bitmap words.
    struct ZoneBook {
        uint128 pricePerKWh;
        uint64 observedAt;
        uint16 bestBidTick;
        uint16 bestAskTick;
    }

    /// @dev An incoming limit order, as createOrder validated it (memory only, never stored).
    // solhint-disable-next-line gas-struct-packing
    struct Taker {
        uint32 zone;
        Side side;
        uint16 tick;
        uint64 amountWh;
        uint128 pricePerKWh;
        uint64 expiry;
        uint8 flags;
        bool immediate;
        IGridManagement.TradingRules rules;
    }

    /// @dev Progress of one taker through the book: what is left, the volume and notional filled so far.
    struct Match {
        uint256 takerId;
        uint64 remaining;
        uint256 touched;
        uint256 skipped;
        uint256 maxFills;
        Side makerSide;
        uint256 filledWh;
        uint256 notional;
    }

    /// @dev Volume an account committed in a zone on one UTC day.
    struct DailyCommit {
        uint64 day;
        uint64 committedWh;
    }

    ISettlement private immutable _settlement;
    IGridManagement private immutable _gridManagement;
    IPriceOracle private immutable _priceOracle;
    address private immutable _paymentToken;
    address private immutable _energyToken;
    uint128 private immutable _tickSize;

    Config private _config;
    mapping(uint256 orderId => Order) private _orders;
    mapping(uint256 orderId => DutchSlot) private _dutch;
    mapping(uint256 levelKey => Level) private _levels;
    mapping(uint256 bookKey => uint256 words) private _roots;
    mapping(uint256 leafKey => uint256 ticks) private _leaves;
    mapping(uint32 zone => mapping(address account => DailyCommit)) private _daily;
    mapping(uint32 zone => IGridManagement.TradingRules) private _rules;
    mapping(uint32 zone => ZoneBook) private _books;

    // ─────────────────────────────────────────────────────────────── constructor

    /// @param authority The AccessManager.
    /// @param vault The terms of the escrow vault this constructor deploys (payment token, EnergyToken, protocol
    /// treasury and fee); the new Settlement accepts lock, unlock and settle calls from this contract only.
    /// @param gridManagement_ Zones, halts and compliance limits.
    /// @param priceOracle_ Reference prices for the bands.
    /// @param tickSize_ Price grid step, payment-token base units per kWh; a non-zero multiple of 1000.
    /// @param maxFillsPerCall_ Maker orders one call touches at most.
    /// @param priceBandBps_ Band around a fresh reference (0 = none).
    /// @param staleReferencePolicy_ What happens while the reference is stale.
    constructor(
        address authority,
        VaultTerms memory vault,
        IGridManagement gridManagement_,
        IPriceOracle priceOracle_,
        uint128 tickSize_,
        uint16 maxFillsPerCall_,
        uint16 priceBandBps_,
        StaleReferencePolicy staleReferencePolicy_
    ) AccessManaged(authority) {
        require(address(gridManagement_) != address(0) && address(priceOracle_) != address(0), TradingZeroAddress());
        require(tickSize_ != 0 && tickSize_ % WH_PER_KWH == 0, TradingInvalidTickSize(tickSize_));
        // Settlement checks the tokens and the treasury (SettlementZeroAddress).
        _settlement = new Settlement(
            authority, gridManagement_, IERC20(vault.paymentToken), IERC20(vault.energyToken), vault.protocolTreasury
        );
        _gridManagement = gridManagement_;
        _priceOracle = priceOracle_;
        _paymentToken = vault.paymentToken;
        _energyToken = vault.energyToken;
        _tickSize = tickSize_;
        _setMaxFillsPerCall(maxFillsPerCall_);
        _setPriceBand(priceBandBps_);
        _setStaleReferencePolicy(staleReferencePolicy_);
        _setProtocolFee(vault.protocolFeeBps);
    }

    // ─────────────────────────────────────────────────────────────── trading

    /// @inheritdoc IEnergyTrading
    function createOrder(uint32 zone, Side side, uint64 amountWh, uint128 pricePerKWh, uint64 expiry, uint8 flags)
        external
        nonReentrant
        returns (uint256 orderId)
    {
        Config memory config = _config;
        IGridManagement.TradingRules memory limits = _openZone(zone, config);
        _checkAmount(amountWh, limits);
        uint16 tick = _tickOf(pricePerKWh);
        _checkExpiry(expiry);
        _checkFlags(flags);
        _checkBand(zone, pricePerKWh, config);
        _commit(zone, msg.sender, amountWh, limits.maxDailyTradedWhPerAccount);
        return _place(
            Taker({
                zone: zone,
                side: side,
                tick: tick,
                amountWh: amountWh,
                pricePerKWh: pricePerKWh,
                expiry: expiry,
                flags: flags,
                immediate: flags & (FLAG_IMMEDIATE_OR_CANCEL | FLAG_FILL_OR_KILL) != 0,
                rules: limits
            }),
            config
        );
    }

    /// @inheritdoc IEnergyTrading
    function createDutchOrder(
        uint32 zone,
        uint64 amountWh,
        uint128 startPricePerKWh,
        uint128 floorPricePerKWh,
        uint32 window,
        uint64 expiry
    ) external nonReentrant returns (uint256 orderId) {
        Config memory config = _config;
        IGridManagement.TradingRules memory limits = _openZone(zone, config);
        _checkAmount(amountWh, limits);
        uint16 startTick = _tickOf(startPricePerKWh);
        uint16 floorTick = _tickOf(floorPricePerKWh);
        require(
            startTick >= floorTick && window != 0,
            TradingInvalidDutchTerms(startPricePerKWh, floorPricePerKWh, window)
        );
        _checkExpiry(expiry);
        _checkBand(zone, startPricePerKWh, config);
        _checkBand(zone, floorPricePerKWh, config);
        _commit(zone, msg.sender, amountWh, limits.maxDailyTradedWhPerAccount);

        unchecked {
            ++config.dutchNonce;
        }
        _config.dutchNonce = config.dutchNonce;
        orderId = (_levelKey(zone, Kind.Dutch, Side.Sell, startTick) << SEQ_BITS) | config.dutchNonce;
        _orders[orderId] = Order({owner: msg.sender, remainingWh: uint32(amountWh), filledWh: 0, expiry: uint32(expiry)});
        _dutch[orderId] = DutchSlot({
            startTick: startTick,
            floorTick: floorTick,
            startTime: uint40(block.timestamp),
            window: window
        });
        emit OrderCreated(orderId, zone, msg.sender, Side.Sell, Kind.Dutch, amountWh, startPricePerKWh, expiry, 0);
        emit DutchAuctionStarted(orderId, startPricePerKWh, floorPricePerKWh, uint64(block.timestamp), window);
        _settlement.lock(msg.sender, _energyToken, amountWh);
    }

    /// @inheritdoc IEnergyTrading
    function takeDutchOrder(uint256 orderId, uint64 amountWh, uint128 maxPricePerKWh) external nonReentrant {
        require(_kindOf(orderId) == Kind.Dutch, TradingWrongOrderKind(orderId));
        uint32 zone = _zoneOf(orderId);
        Config memory config = _config;
        IGridManagement.TradingRules memory limits = _openZone(zone, config);
        Order memory order = _liveOrder(orderId);
        require(amountWh != 0, TradingZeroAmount());
        if (amountWh > order.remainingWh) amountWh = order.remainingWh;
        require(
            amountWh >= limits.minOrderWh || amountWh == order.remainingWh,
            TradingTakeTooSmall(amountWh, limits.minOrderWh)
        );
        uint128 price = _dutchPrice(orderId);
        require(price <= maxPricePerKWh, TradingPriceAboveMax(price, maxPricePerKWh));
        _checkBand(zone, price, config);
        _commit(zone, msg.sender, amountWh, limits.maxDailyTradedWhPerAccount);

        uint64 left = order.remainingWh - amountWh;
        if (left == 0) {
            delete _orders[orderId];
            delete _dutch[orderId];
        } else {
            _orders[orderId].remainingWh = uint32(left);
        }
        emit OrderFilled(orderId, order.owner, amountWh, price, left);
        emit TradeExecuted(zone, 0, orderId, msg.sender, order.owner, amountWh, price);
        // A Dutch order's price moves, so both sides settle at once: the taker pays the fees.
        uint256 notional = (uint256(amountWh) * price) / WH_PER_KWH;
        _settlement.settleTaker(
            zone, msg.sender, true, amountWh, notional, 0, _gridFeeBps(limits), config.protocolFeeBps
        );
        _settlement.settleMaker(order.owner, false, amountWh, notional, 0);
    }

    /// @inheritdoc IEnergyTrading
    function cancelOrder(uint256 orderId) external nonReentrant {
        Order memory order = _orders[orderId];
        require(order.remainingWh != 0, TradingOrderNotFound(orderId));
        require(order.owner == msg.sender, TradingNotOrderOwner(orderId, msg.sender));
        emit OrderCancelled(orderId, order.owner, order.remainingWh, CancelReason.Owner);
        _removeOrder(orderId, order);
    }

    /// @inheritdoc IEnergyTrading
    function expireOrders(uint256[] calldata orderIds) external nonReentrant returns (uint256 removed) {
        for (uint256 i; i < orderIds.length; ++i) {
            uint256 orderId = orderIds[i];
            Order memory order = _orders[orderId];
            if (order.remainingWh == 0 || block.timestamp < order.expiry) continue;
            emit OrderExpired(orderId, order.owner, order.remainingWh);
            _removeOrder(orderId, order);
            ++removed;
        }
    }

    /// @inheritdoc IEnergyTrading
    function claimFills(uint256[] calldata orderIds) external nonReentrant returns (uint256 settled) {
        for (uint256 i; i < orderIds.length; ++i) {
            uint256 orderId = orderIds[i];
            Order memory order = _orders[orderId];
            if (order.filledWh == 0) continue;
            if (order.remainingWh == 0) {
                delete _orders[orderId];
            } else {
                _orders[orderId].filledWh = 0;
            }
            _settleFills(orderId, order, 0);
            ++settled;
        }
    }

    /// @inheritdoc IEnergyTrading
    function matchOrders(uint256 buyOrderId, uint256 sellOrderId) external nonReentrant {
        require(_kindOf(buyOrderId) == Kind.Limit && _sideOf(buyOrderId) == Side.Buy, TradingWrongOrderKind(buyOrderId));
        Kind sellKind = _kindOf(sellOrderId);
        require(
            sellKind != Kind.Immediate && _sideOf(sellOrderId) == Side.Sell, TradingWrongOrderKind(sellOrderId)
        );
        uint32 zone = _zoneOf(buyOrderId);
        require(_zoneOf(sellOrderId) == zone, TradingZoneMismatch(buyOrderId, sellOrderId));
        uint16 gridFeeBps = _gridFeeBps(_openZone(zone, _config));
        Order memory bid = _liveOrder(buyOrderId);
        Order memory ask = _liveOrder(sellOrderId);
        uint128 bidPrice = _priceOfTick(_tickOfId(buyOrderId));
        uint128 askPrice = sellKind == Kind.Dutch ? _dutchPrice(sellOrderId) : _priceOfTick(_tickOfId(sellOrderId));
        require(bidPrice >= askPrice, TradingOrdersDoNotCross(bidPrice, askPrice));

        uint64 amountWh = bid.remainingWh < ask.remainingWh ? bid.remainingWh : ask.remainingWh;
        emit OrderFilled(buyOrderId, bid.owner, amountWh, askPrice, _reduce(buyOrderId, bid, amountWh));
        emit OrderFilled(sellOrderId, ask.owner, amountWh, askPrice, _reduce(sellOrderId, ask, amountWh));
        emit TradeExecuted(zone, buyOrderId, sellOrderId, bid.owner, ask.owner, amountWh, askPrice);
        // Both prices are on the tick grid (multiples of 1000 per kWh), so the refund is exact.
        _settlement.settleResting(
            zone,
            bid.owner,
            ask.owner,
            amountWh,
            askPrice,
            (uint256(amountWh) * (bidPrice - askPrice)) / WH_PER_KWH,
            gridFeeBps,
            _config.protocolFeeBps // warm: _openZone read the slot
        );
    }

    // ─────────────────────────────────────────────────────────────── copies of GridManagement and PriceOracle

    /// @inheritdoc IZoneRulesHook
    function onZoneRulesChanged(uint32 zone, IGridManagement.TradingRules calldata rules) external {
        require(msg.sender == address(_gridManagement), TradingCallerNotGridManagement(msg.sender));
        _rules[zone] = rules;
        emit TradingRulesCopied(zone, rules);
    }

    /// @inheritdoc IZoneRulesHook
    function onPauseChanged(bool paused_) external {
        require(msg.sender == address(_gridManagement), TradingCallerNotGridManagement(msg.sender));
        _config.paused = paused_;
        emit PauseCopied(paused_);
    }

    /// @inheritdoc IReferencePriceHook
    function onReferencePrice(uint32 zone, uint128 pricePerKWh, uint64 observedAt) external {
        require(msg.sender == address(_priceOracle), TradingCallerNotPriceOracle(msg.sender));
        ZoneBook storage book = _books[zone];
        (book.pricePerKWh, book.observedAt) = (pricePerKWh, observedAt);
    }

    /// @inheritdoc IReferencePriceHook
    function onReferenceHeartbeat(uint32 heartbeatSeconds) external {
        require(msg.sender == address(_priceOracle), TradingCallerNotPriceOracle(msg.sender));
        _config.referenceHeartbeat = heartbeatSeconds;
        emit ReferenceHeartbeatCopied(heartbeatSeconds);
    }

    // ─────────────────────────────────────────────────────────────── governance

    /// @inheritdoc IEnergyTrading
    function setMaxFillsPerCall(uint16 maxFillsPerCall_) external restricted {
        _setMaxFillsPerCall(maxFillsPerCall_);
    }

    /// @inheritdoc IEnergyTrading
    function setPriceBand(uint16 priceBandBps_) external restricted {
        _setPriceBand(priceBandBps_);
    }

    /// @inheritdoc IEnergyTrading
    function setStaleReferencePolicy(StaleReferencePolicy policy) external restricted {
        _setStaleReferencePolicy(policy);
    }

    /// @inheritdoc IEnergyTrading
    function setProtocolFee(uint16 protocolFeeBps_) external restricted {
        _setProtocolFee(protocolFeeBps_);
    }

    // ─────────────────────────────────────────────────────────────── views

    /// @inheritdoc IEnergyTrading
    function settlement() external view returns (address) {
        return address(_settlement);
    }

    /// @inheritdoc IEnergyTrading
    function gridManagement() external view returns (address) {
        return address(_gridManagement);
    }

    /// @inheritdoc IEnergyTrading
    function priceOracle() external view returns (address) {
        return address(_priceOracle);
    }

    /// @inheritdoc IEnergyTrading
    function tickSize() external view returns (uint128) {
        return _tickSize;
    }

    /// @inheritdoc IEnergyTrading
    function maxFillsPerCall() external view returns (uint16) {
        return _config.maxFillsPerCall;
    }

    /// @inheritdoc IEnergyTrading
    function priceBandBps() external view returns (uint16) {
        return _config.priceBandBps;
    }

    /// @inheritdoc IEnergyTrading
    function staleReferencePolicy() external view returns (StaleReferencePolicy) {
        return _config.staleReferencePolicy;
    }

    /// @inheritdoc IEnergyTrading
    function protocolFeeBps() external view returns (uint16) {
        return _config.protocolFeeBps;
    }

    /// @inheritdoc IEnergyTrading
    function tradingRules(uint32 zone) external view returns (bool open, IGridManagement.TradingRules memory rules) {
        rules = _rules[zone];
        open = rules.active && !rules.halted && !_config.paused;
    }

    /// @inheritdoc IEnergyTrading
    function referencePrice(uint32 zone) external view returns (uint128 pricePerKWh, uint64 observedAt, bool fresh) {
        return _reference(zone, _config.referenceHeartbeat);
    }

    /// @inheritdoc IEnergyTrading
    function referenceHeartbeat() external view returns (uint32) {
        return _config.referenceHeartbeat;
    }

    /// @inheritdoc IEnergyTrading
    function getOrder(uint256 orderId) external view returns (OrderView memory) {
        Order memory order = _orders[orderId];
        require(order.owner != address(0), TradingOrderNotFound(orderId));
        Kind kind = _kindOf(orderId);
        return OrderView({
            owner: order.owner,
            zone: _zoneOf(orderId),
            side: _sideOf(orderId),
            kind: kind,
            pricePerKWh: kind == Kind.Dutch ? _dutchPrice(orderId) : _priceOfTick(_tickOfId(orderId)),
            remainingWh: order.remainingWh,
            expiry: order.expiry,
            unsettledWh: order.filledWh
        });
    }

    /// @inheritdoc IEnergyTrading
    function unsettledFills(uint256 orderId)
        external
        view
        returns (address owner, Side side, uint64 filledWh, uint256 notional)
    {
        Order memory order = _orders[orderId];
        (owner, side, filledWh) = (order.owner, _sideOf(orderId), order.filledWh);
        if (filledWh != 0) notional = (uint256(filledWh) * _priceOfTick(_tickOfId(orderId))) / WH_PER_KWH;
    }

    /// @inheritdoc IEnergyTrading
    function dutchTerms(uint256 orderId) external view returns (DutchTerms memory) {
        DutchSlot memory slot = _dutch[orderId];
        require(slot.window != 0, TradingOrderNotFound(orderId));
        return DutchTerms({
            startPricePerKWh: _priceOfTick(slot.startTick),
            floorPricePerKWh: _priceOfTick(slot.floorTick),
            startTime: slot.startTime,
            window: slot.window
        });
    }

    /// @inheritdoc IEnergyTrading
    function dutchPrice(uint256 orderId) external view returns (uint128) {
        require(_dutch[orderId].window != 0, TradingOrderNotFound(orderId));
        return _dutchPrice(orderId);
    }

    /// @inheritdoc IEnergyTrading
    function bestBid(uint32 zone) external view returns (uint128) {
        return _priceOfTick(_books[zone].bestBidTick);
    }

    /// @inheritdoc IEnergyTrading
    function bestAsk(uint32 zone) external view returns (uint128) {
        return _priceOfTick(_books[zone].bestAskTick);
    }

    /// @inheritdoc IEnergyTrading
    function level(uint32 zone, Side side, uint128 pricePerKWh) external view returns (Level memory) {
        return _levels[_levelKey(zone, Kind.Limit, side, _tickOf(pricePerKWh))];
    }

    /// @inheritdoc IEnergyTrading
    function committedOn(uint32 zone, address account, uint64 day) external view returns (uint64) {
        DailyCommit memory commit = _daily[zone][account];
        return commit.day == day ? commit.committedWh : 0;
    }

    // ─────────────────────────────────────────────────────────────── matching

    /// @dev Assigns the id, matches, rests or returns the remainder, and settles: see createOrder.
    function _place(Taker memory t, Config memory config) private returns (uint256 orderId) {
        uint256 ownLevelKey = _levelKey(t.zone, Kind.Limit, t.side, t.tick);
        Level memory own;
        if (t.immediate) {
            orderId = (_levelKey(t.zone, Kind.Immediate, t.side, t.tick) << SEQ_BITS) | _drawTakerNonce(config);
        } else {
            own = _levels[ownLevelKey];
            uint64 seq = own.tail;
            // At a price level no order of its side has used (tail 0), an order that crosses the book draws
            // its number from the counter instead: filled completely, it never queues and the level stays
            // unused (no write from zero); if a remainder rests, the level's queue starts at its number.
            if (seq == 0 && _crosses(t.side, t.tick, _bestOpposite(t.zone, t.side))) {
                seq = COUNTER_SEQ | _drawTakerNonce(config);
            }
            orderId = (ownLevelKey << SEQ_BITS) | seq;
        }
        emit OrderCreated(
            orderId,
            t.zone,
            msg.sender,
            t.side,
            t.immediate ? Kind.Immediate : Kind.Limit,
            t.amountWh,
            t.pricePerKWh,
            t.expiry,
            t.flags
        );

        Match memory m = _newMatch(t, orderId, config.maxFillsPerCall);
        bool stillCrosses;
        if (t.flags & FLAG_POST_ONLY != 0) {
            uint16 best = _bestOpposite(t.zone, t.side);
            require(
                !_crosses(t.side, t.tick, best), TradingPostOnlyWouldCross(t.pricePerKWh, _priceOfTick(best))
            );
        } else {
            stillCrosses = _matchTaker(t, m);
        }
        uint64 remaining = m.remaining;
        if (t.flags & FLAG_FILL_OR_KILL != 0) {
            require(remaining == 0, TradingFillOrKillNotFilled(t.amountWh - remaining, t.amountWh));
        }

        uint256 lockAmount = t.immediate ? 0 : _restOrSkip(t, orderId, own, remaining, stillCrosses);
        if (remaining != 0 && (t.immediate || stillCrosses)) {
            emit OrderCancelled(
                orderId, msg.sender, remaining, t.immediate ? CancelReason.ImmediateOrCancel : CancelReason.FillLimit
            );
        }
        if (m.filledWh != 0 || lockAmount != 0) _settleTaker(t, m, lockAmount, config.protocolFeeBps);
    }

    /// @dev The counter's next number (config is the caller's copy of the slot, kept in step).
    function _drawTakerNonce(Config memory config) private returns (uint64) {
        unchecked {
            ++config.takerNonce;
        }
        _config.takerNonce = config.takerNonce;
        return config.takerNonce;
    }

    /// @dev The taker's side in one Settlement call: its fills (paying the zone's grid fee as of now) and the
    /// escrow of what rests; an order that only rests just locks its escrow.
    function _settleTaker(Taker memory t, Match memory m, uint256 lockAmount, uint16 protocolFeeBps_) private {
        bool buys = t.side == Side.Buy;
        if (m.filledWh == 0) {
            _settlement.lock(msg.sender, buys ? _paymentToken : _energyToken, lockAmount);
        } else {
            _settlement.settleTaker(
                t.zone, msg.sender, buys, m.filledWh, m.notional, lockAmount, _gridFeeBps(t.rules), protocolFeeBps_
            );
        }
    }

    function _newMatch(Taker memory t, uint256 takerId, uint16 maxFills) private pure returns (Match memory) {
        return Match({
            takerId: takerId,
            remaining: t.amountWh,
            touched: 0,
            skipped: 0,
            maxFills: maxFills,
            makerSide: t.side == Side.Buy ? Side.Sell : Side.Buy,
            filledWh: 0,
            notional: 0
        });
    }

    /// @dev A limit order after matching: rests what is left (unless the book still crosses it) and returns the
    /// escrow to lock, or only consumes its queue slot. Writes its level unless the order never queued.
    function _restOrSkip(Taker memory t, uint256 orderId, Level memory own, uint64 remaining, bool stillCrosses)
        private
        returns (uint256 lockAmount)
    {
        // An unused level (tail 0) here means the order crossed the book on arrival, so its number came from
        // the counter (an order that did not cross has nothing filled and rests, as queue index 0). Numbers
        // from the counter are told apart this way, not by bit 63: a queue that started at one continues above it.
        bool fromCounter = own.tail == 0;
        if (remaining != 0 && !stillCrosses) {
            _orders[orderId] =
                Order({owner: msg.sender, remainingWh: uint32(remaining), filledWh: 0, expiry: uint32(t.expiry)});
            // The order's number starts an unused level's queue (a no-op for index 0).
            if (fromCounter) (own.head, own.tail) = (uint64(orderId), uint64(orderId));
            unchecked {
                ++own.tail;
                ++own.live;
            }
            if (own.live == 1) _setTick(t.zone, t.side, t.tick);
            lockAmount = _escrowOf(t.side, remaining, t.pricePerKWh);
        } else {
            // A number from the counter was never in the queue: the level stays as it is (unused).
            if (fromCounter) return 0;
            // The id was used but the order does not rest: skip its queue slot. The own level is empty here
            // (the order crossed the book, so no order of its side rests at its price).
            unchecked {
                ++own.tail;
            }
            if (own.live == 0) own.head = own.tail;
        }
        _levels[_levelKey(t.zone, Kind.Limit, t.side, t.tick)] = own;
    }

    /// @dev Matches a taker against the other side, best price first, FIFO within a price, at the makers'
    /// prices, accumulating the taker's volume and notional in `m`. Returns whether the book still crosses the
    /// taker's price (the bound stopped it).
    function _matchTaker(Taker memory t, Match memory m) private returns (bool stillCrosses) {
        while (m.remaining != 0) {
            uint16 best = _bestOpposite(t.zone, t.side);
            if (!_crosses(t.side, t.tick, best)) return false;
            if (m.touched == m.maxFills || m.skipped == MAX_SKIPS_PER_CALL) return true;
            _matchLevel(t, m, best);
        }
        return false;
    }

    /// @dev Walks one maker price level from its head until the taker is done or a bound is reached. A maker's
    /// fill only moves volume from its `remainingWh` to its `filledWh` (one slot write); its side settles later.
    /// Both stay within their 32 bits: filledWh + remainingWh never exceeds the order's amount. A slot with
    /// nothing remaining is a cancelled order, or one that matchOrders filled: skipped.
    function _matchLevel(Taker memory t, Match memory m, uint16 tick) private {
        uint256 levelKey = _levelKey(t.zone, Kind.Limit, m.makerSide, tick);
        Level memory lvl = _levels[levelKey];
        uint128 price = _priceOfTick(tick);
        uint256 levelWh;
        uint64 remaining = m.remaining;
        while (lvl.head < lvl.tail && remaining != 0 && m.touched < m.maxFills && m.skipped < MAX_SKIPS_PER_CALL) {
            uint256 makerId = (levelKey << SEQ_BITS) | lvl.head;
            Order storage order = _orders[makerId];
            uint256 raw = _rawOrder(order);
            uint256 makerLeft = uint32(raw >> 160);
            if (makerLeft == 0) {
                unchecked {
                    ++lvl.head;
                    ++m.skipped;
                }
                continue;
            }
            unchecked {
                ++m.touched;
            }
            if (block.timestamp >= raw >> 224) {
                _expireMaker(makerId);
                makerLeft = 0; // it leaves the level like a filled order
            } else {
                uint256 amountWh = remaining < makerLeft ? remaining : makerLeft;
                unchecked {
                    remaining -= uint64(amountWh);
                    levelWh += amountWh;
                    makerLeft -= amountWh;
                    raw = raw - (amountWh << 160) + (amountWh << 192); // remainingWh −= a, filledWh += a
                }
                _storeRawOrder(order, raw);
                _emitTrade(t, m.takerId, makerId, address(uint160(raw)), uint64(amountWh), price);
            }
            if (makerLeft == 0) {
                unchecked {
                    ++lvl.head;
                    --lvl.live;
                }
            }
        }
        m.remaining = remaining;
        if (lvl.live == 0) {
            lvl.head = lvl.tail;
            _clearTick(t.zone, m.makerSide, tick);
        }
        _levels[levelKey] = lvl;
        // exact: prices are multiples of 1000 per kWh
        m.filledWh += levelWh;
        m.notional += levelWh * (price / WH_PER_KWH);
    }

    /// @dev An order's slot as one word: owner (bits 0–159), remainingWh (160–191), filledWh (192–223),
    /// expiry (224–255), so that matching reads and writes each maker once.
    function _rawOrder(Order storage order) private view returns (uint256 raw) {
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            raw := sload(order.slot)
        }
    }

    function _storeRawOrder(Order storage order, uint256 raw) private {
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            sstore(order.slot, raw)
        }
    }

    /// @dev Removes a maker found expired during matching (its level is the caller's) and settles it: its
    /// unsettled fills and its remaining escrow.
    function _expireMaker(uint256 makerId) private {
        Order memory maker = _orders[makerId];
        emit OrderExpired(makerId, maker.owner, maker.remainingWh);
        delete _orders[makerId];
        _settleFills(makerId, maker, maker.remainingWh);
    }

    /// @dev One maker fill of a taker's walk: a single TradeExecuted, which names the maker's order, its owner,
    /// the volume and the price (the maker's remainder is its amount less its trades; no OrderFilled here).
    function _emitTrade(Taker memory t, uint256 takerId, uint256 makerId, address maker, uint64 amountWh, uint128 price)
        private
    {
        if (t.side == Side.Buy) {
            emit TradeExecuted(t.zone, takerId, makerId, msg.sender, maker, amountWh, price);
        } else {
            emit TradeExecuted(t.zone, makerId, takerId, maker, msg.sender, amountWh, price);
        }
    }

    /// @dev Takes `amountWh` off a resting order in matchOrders (settled at once, not added to `filledWh`);
    /// an order it fills leaves its level, and its slot too unless earlier fills still wait for settlement.
    function _reduce(uint256 orderId, Order memory order, uint64 amountWh) private returns (uint64 left) {
        left = order.remainingWh - amountWh;
        if (left != 0) {
            _orders[orderId].remainingWh = uint32(left);
            return left;
        }
        if (order.filledWh == 0) delete _orders[orderId];
        else _orders[orderId].remainingWh = 0;
        _unlink(orderId);
    }

    /// @dev Deletes a live order, takes it off its level (or deletes its Dutch terms), and settles it: its
    /// unsettled fills and its whole remaining escrow.
    function _removeOrder(uint256 orderId, Order memory order) private {
        delete _orders[orderId];
        _unlink(orderId);
        _settleFills(orderId, order, order.remainingWh);
    }

    /// @dev A live order leaves its level (and the bitmap when the level empties); a Dutch order its terms.
    function _unlink(uint256 orderId) private {
        if (_kindOf(orderId) == Kind.Dutch) {
            delete _dutch[orderId];
            return;
        }
        uint256 levelKey = orderId >> SEQ_BITS;
        Level memory lvl = _levels[levelKey];
        unchecked {
            --lvl.live;
        }
        if (lvl.live == 0) {
            lvl.head = lvl.tail;
            _clearTick(_zoneOf(orderId), _sideOf(orderId), _tickOfId(orderId));
        } else if (uint64(orderId) == lvl.head) {
            unchecked {
                ++lvl.head;
            }
        }
        _levels[levelKey] = lvl;
    }

    /// @dev Settles an order's side in Settlement: its unsettled maker fills (at its limit price; a Dutch order
    /// never has any) and `unlockWh` of its remaining escrow returned to the owner.
    function _settleFills(uint256 orderId, Order memory order, uint64 unlockWh) private {
        Side side = _sideOf(orderId);
        uint128 price = _kindOf(orderId) == Kind.Dutch ? 0 : _priceOfTick(_tickOfId(orderId));
        uint256 notional = (uint256(order.filledWh) * price) / WH_PER_KWH;
        if (order.filledWh != 0) emit FillsSettled(orderId, order.owner, order.filledWh, notional);
        _settlement.settleMaker(
            order.owner, side == Side.Buy, order.filledWh, notional, _escrowOf(side, unlockWh, price)
        );
    }

    // ─────────────────────────────────────────────────────────────── checks

    /// @dev GridManagement's copy: the zone exists (only created zones are ever active), is active, not
    /// halted, and the system is not paused.
    function _openZone(uint32 zone, Config memory config)
        private
        view
        returns (IGridManagement.TradingRules memory limits)
    {
        limits = _rules[zone];
        require(limits.active && !limits.halted && !config.paused, TradingZoneClosed(zone));
    }

    function _checkAmount(uint64 amountWh, IGridManagement.TradingRules memory limits) private pure {
        require(amountWh != 0, TradingZeroAmount());
        require(amountWh <= MAX_AMOUNT_WH, TradingAmountTooLarge(amountWh));
        require(amountWh >= limits.minOrderWh, TradingOrderTooSmall(amountWh, limits.minOrderWh));
        require(
            limits.maxOrderWh == 0 || amountWh <= limits.maxOrderWh, TradingOrderTooLarge(amountWh, limits.maxOrderWh)
        );
    }

    /// @dev Known bits only, and at most one of them (IOC, FOK and post-only exclude each other).
    function _checkFlags(uint8 flags) private pure {
        bool single;
        unchecked {
            single = flags & (flags - 1) == 0; // zero or a power of two
        }
        require(flags & ~ALL_FLAGS == 0 && single, TradingInvalidFlags(flags));
    }

    function _checkExpiry(uint64 expiry) private view {
        require(expiry > block.timestamp, TradingExpiryNotInFuture(expiry, uint64(block.timestamp)));
        require(expiry <= type(uint32).max, TradingExpiryTooFar(expiry));
    }

    /// @dev The band applies around a fresh, non-zero reference; otherwise the stale policy decides.
    function _checkBand(uint32 zone, uint128 pricePerKWh, Config memory config) private view {
        if (config.priceBandBps == 0 && config.staleReferencePolicy == StaleReferencePolicy.Unbanded) return;
        (uint128 referencePrice_, uint64 observedAt, bool fresh) = _reference(zone, config.referenceHeartbeat);
        if (fresh && referencePrice_ != 0) {
            if (config.priceBandBps == 0) return;
            uint256 scaled = uint256(pricePerKWh) * BPS;
            require(
                scaled >= uint256(referencePrice_) * (BPS - config.priceBandBps)
                    && scaled <= uint256(referencePrice_) * (BPS + config.priceBandBps),
                TradingPriceOutsideBand(pricePerKWh, referencePrice_, config.priceBandBps)
            );
        } else {
            require(
                config.staleReferencePolicy == StaleReferencePolicy.Unbanded,
                TradingReferencePriceStale(zone, observedAt)
            );
        }
    }

    /// @dev The zone's grid fee now, from the copy of its schedule: peak within [peakStartHour, peakEndHour)
    /// UTC (wrapping past midnight; equal hours mean no peak), as GridManagement.gridFeeBps.
    function _gridFeeBps(IGridManagement.TradingRules memory rules) private view returns (uint16) {
        uint256 hour = (block.timestamp % 1 days) / 1 hours;
        (uint256 start, uint256 end) = (rules.peakStartHour, rules.peakEndHour);
        bool peak = start <= end ? hour >= start && hour < end : hour >= start || hour < end;
        return peak ? rules.peakFeeBps : rules.offPeakFeeBps;
    }

    /// @dev PriceOracle's copy, fresh exactly as PriceOracle.referencePrice says: reported, and at most
    /// `heartbeat` seconds old (a report observed in the future has age 0).
    function _reference(uint32 zone, uint32 heartbeat)
        private
        view
        returns (uint128 pricePerKWh, uint64 observedAt, bool fresh)
    {
        ZoneBook memory ref = _books[zone];
        (pricePerKWh, observedAt) = (ref.pricePerKWh, ref.observedAt);
        uint256 age = block.timestamp > observedAt ? block.timestamp - observedAt : 0;
        fresh = observedAt != 0 && age <= heartbeat;
    }

    function _commit(uint32 zone, address account, uint64 amountWh, uint64 limitWh) private {
        if (limitWh == 0) return;
        uint64 day = uint64(block.timestamp / 1 days);
        DailyCommit memory commit = _daily[zone][account];
        uint64 committed = commit.day == day ? commit.committedWh : 0;
        require(
            uint256(committed) + amountWh <= limitWh,
            TradingDailyLimitExceeded(account, committed, amountWh, limitWh)
        );
        _daily[zone][account] = DailyCommit({day: day, committedWh: committed + amountWh});
    }

    function _liveOrder(uint256 orderId) private view returns (Order memory order) {
        order = _orders[orderId];
        require(order.remainingWh != 0, TradingOrderNotFound(orderId));
        require(block.timestamp < order.expiry, TradingOrderExpired(orderId, order.expiry));
    }

    // ─────────────────────────────────────────────────────────────── prices

    function _tickOf(uint128 pricePerKWh) private view returns (uint16) {
        uint256 tick = pricePerKWh / _tickSize;
        require(
            pricePerKWh != 0 && pricePerKWh % _tickSize == 0 && tick <= MAX_TICK, TradingInvalidPrice(pricePerKWh)
        );
        return uint16(tick);
    }

    function _priceOfTick(uint16 tick) private view returns (uint128) {
        return uint128(tick) * _tickSize;
    }

    /// @dev Linear decay from start to floor over the window, rounded up to the tick grid (never below the
    /// floor, never in the buyer's favour).
    function _dutchPrice(uint256 orderId) private view returns (uint128) {
        DutchSlot memory slot = _dutch[orderId];
        uint256 start = _priceOfTick(slot.startTick);
        uint256 floor = _priceOfTick(slot.floorTick);
        uint256 elapsed = block.timestamp - slot.startTime;
        if (elapsed > slot.window) elapsed = slot.window;
        uint256 price = start - ((start - floor) * elapsed) / slot.window;
        return uint128(Math.ceilDiv(price, _tickSize) * _tickSize);
    }

    function _escrowOf(Side side, uint64 amountWh, uint128 pricePerKWh) private pure returns (uint256) {
        // A buy escrows its notional at its limit price (exact: prices are multiples of 1000 per kWh).
        return side == Side.Buy ? (uint256(amountWh) * pricePerKWh) / WH_PER_KWH : amountWh;
    }

    function _crosses(Side side, uint16 limitTick, uint16 bestOpposite) private pure returns (bool) {
        if (bestOpposite == 0) return false;
        return side == Side.Buy ? bestOpposite <= limitTick : bestOpposite >= limitTick;
    }

    /// @dev The best live tick of the side `side` trades against (0 = empty), from the zone's cached copy.
    function _bestOpposite(uint32 zone, Side side) private view returns (uint16) {
        ZoneBook storage book = _books[zone];
        return side == Side.Buy ? book.bestAskTick : book.bestBidTick;
    }

    // ─────────────────────────────────────────────────────────────── ids

    function _levelKey(uint32 zone, Kind kind, Side side, uint16 tick) private pure returns (uint256) {
        // id bits: zone 128–159, kind 97–98, side 96, tick 64–79; the level key is the id >> 64
        return (uint256(zone) << 64) | (uint256(kind) << 33) | (uint256(side) << 32) | tick;
    }

    function _zoneOf(uint256 orderId) private pure returns (uint32) {
        return uint32(orderId >> 128);
    }

    function _kindOf(uint256 orderId) private pure returns (Kind) {
        uint256 kind = (orderId >> 97) & 3;
        return kind > uint256(Kind.Dutch) ? Kind.Immediate : Kind(kind); // 3 is never issued: treat as not restable
    }

    function _sideOf(uint256 orderId) private pure returns (Side) {
        return Side((orderId >> 96) & 1);
    }

    function _tickOfId(uint256 orderId) private pure returns (uint16) {
        return uint16(orderId >> 64);
    }

    // ─────────────────────────────────────────────────────────────── bitmap

    function _bookKey(uint32 zone, Side side) private pure returns (uint256) {
        return (uint256(zone) << 1) | uint256(side);
    }

    /// @dev A level of `side` at `tick` became live: sets its bit and, if it is the side's new best, the cache.
    function _setTick(uint32 zone, Side side, uint16 tick) private {
        uint256 bookKey = _bookKey(zone, side);
        uint256 leafKey = (bookKey << 8) | (tick >> 8);
        uint256 leaf = _leaves[leafKey];
        if (leaf == 0) _roots[bookKey] |= 1 << (tick >> 8);
        _leaves[leafKey] = leaf | (1 << (tick & 0xff));
        ZoneBook storage book = _books[zone];
        if (side == Side.Buy) {
            if (tick > book.bestBidTick) book.bestBidTick = tick;
        } else {
            uint16 ask = book.bestAskTick;
            if (ask == 0 || tick < ask) book.bestAskTick = tick;
        }
    }

    /// @dev A level of `side` at `tick` emptied: clears its bit and, if it was the side's best, moves the cache to
    /// the next live tick. That tick is in the same leaf word when the word still has one (every other live tick
    /// of the side is worse than the cleared best), else the bitmap's best.
    function _clearTick(uint32 zone, Side side, uint16 tick) private {
        uint256 bookKey = _bookKey(zone, side);
        uint256 word = tick >> 8;
        uint256 leafKey = (bookKey << 8) | word;
        uint256 leaf = _leaves[leafKey] & ~(1 << (tick & 0xff));
        _leaves[leafKey] = leaf;
        if (leaf == 0) _roots[bookKey] &= ~(1 << word);
        ZoneBook storage book = _books[zone];
        if (side == Side.Buy) {
            if (tick == book.bestBidTick) {
                book.bestBidTick = leaf != 0 ? uint16((word << 8) | Math.log2(leaf)) : _highest(bookKey);
            }
        } else if (tick == book.bestAskTick) {
            book.bestAskTick = leaf != 0 ? uint16((word << 8) | _lowestBit(leaf)) : _lowest(bookKey);
        }
    }

    /// @dev Lowest live tick of a book side, 0 when empty.
    function _lowest(uint256 bookKey) private view returns (uint16) {
        uint256 root = _roots[bookKey];
        if (root == 0) return 0;
        uint256 word = _lowestBit(root);
        return uint16((word << 8) | _lowestBit(_leaves[(bookKey << 8) | word]));
    }

    /// @dev Highest live tick of a book side, 0 when empty.
    function _highest(uint256 bookKey) private view returns (uint16) {
        uint256 root = _roots[bookKey];
        if (root == 0) return 0;
        uint256 word = Math.log2(root);
        return uint16((word << 8) | Math.log2(_leaves[(bookKey << 8) | word]));
    }

    function _lowestBit(uint256 x) private pure returns (uint256) {
        unchecked {
            return Math.log2(x & (0 - x));
        }
    }

    // ─────────────────────────────────────────────────────────────── setters

    function _setMaxFillsPerCall(uint16 maxFillsPerCall_) private {
        require(
            maxFillsPerCall_ != 0 && maxFillsPerCall_ <= MAX_FILLS_PER_CALL, TradingMaxFillsOutOfRange(maxFillsPerCall_)
        );
        _config.maxFillsPerCall = maxFillsPerCall_;
        emit MaxFillsPerCallUpdated(maxFillsPerCall_);
    }

    function _setPriceBand(uint16 priceBandBps_) private {
        require(priceBandBps_ <= BPS, TradingPriceBandTooWide(priceBandBps_));
        _config.priceBandBps = priceBandBps_;
        emit PriceBandUpdated(priceBandBps_);
    }

    function _setStaleReferencePolicy(StaleReferencePolicy policy) private {
        _config.staleReferencePolicy = policy;
        emit StaleReferencePolicyUpdated(policy);
    }

    function _setProtocolFee(uint16 protocolFeeBps_) private {
        require(
            protocolFeeBps_ <= MAX_PROTOCOL_FEE_BPS, TradingProtocolFeeTooHigh(protocolFeeBps_, MAX_PROTOCOL_FEE_BPS)
        );
        _config.protocolFeeBps = protocolFeeBps_;
        emit ProtocolFeeUpdated(protocolFeeBps_);
    }
}
