// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

// Not forge-std's Test (nor MarketFixture, which inherits it): Test pulls in console.sol and safeconsole.sol
// (~0.5 MB), and the wasm solc passes a compilation job's whole input on its own stack, which a job of
// MarketFixture + Test + this file overflows ("memory access out of bounds"). The pieces used here suffice.
import {CommonBase} from "forge-std/Base.sol";
import {StdAssertions} from "forge-std/StdAssertions.sol";
import {StdInvariant} from "forge-std/StdInvariant.sol";
import {StdUtils} from "forge-std/StdUtils.sol";
import {Vm} from "forge-std/Vm.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {EnergyToken} from "../contracts/EnergyToken.sol";
import {EnergyTrading} from "../contracts/EnergyTrading.sol";
import {GridManagement} from "../contracts/GridManagement.sol";
import {GridXAccessManager} from "../contracts/GridXAccessManager.sol";
import {MockStablecoin} from "../contracts/MockStablecoin.sol";
import {PriceOracle} from "../contracts/PriceOracle.sol";
import {Settlement} from "../contracts/Settlement.sol";
import {IEnergyTrading} from "../contracts/interfaces/IEnergyTrading.sol";
import {IGridManagement} from "../contracts/interfaces/IGridManagement.sol";
import {IQuorumOracle} from "../contracts/interfaces/IQuorumOracle.sol";
import {ISmartMeter} from "../contracts/interfaces/ISmartMeter.sol";
import {Roles} from "../contracts/libraries/Roles.sol";

/// @dev Drives the market with four traders: limit orders of both sides with every flag and random expiries
/// (many of them seconds away) at prices a few ticks around 0.25 USD/kWh so that most orders cross, Dutch
/// auctions and their takes, matchOrders, cancels, expiries, claimFills, deposits, withdrawals, fee sweeps,
/// fill-bound changes and small clock steps. Expected reverts are caught so a run keeps going.
/// Ghost state comes from return values and the events of every successful call (vm.recordLogs): each order's
/// terms, the fills seen for it and its maker fills not yet settled, the orders stored, and two per-trader
/// ledgers under the documented rules (a taker pays or receives at once with fees computed once on its total
/// notional, a maker settles later for the exact notional and no fee, matchOrders charges the seller, a Dutch
/// take the taker): `paymentDelta`/`creditsDelta` count a maker's fills when they settle (FillsSettled),
/// `tradedPaymentDelta`/`tradedCreditsDelta` when they trade.
contract MarketHandler is CommonBase, StdUtils {
    struct GhostOrder {
        address owner;
        IEnergyTrading.Side side;
        IEnergyTrading.Kind kind;
        uint64 amountWh;
        uint128 pricePerKWh; // limit price; a Dutch order's start price
        uint128 floorPricePerKWh; // Dutch only
        uint64 filledWh; // every fill seen, as maker, taker or in matchOrders
        uint64 unsettledWh; // maker fills seen since its last FillsSettled
    }

    /// @dev Which entry point the current call is, to tell how its TradeExecuted events settle.
    enum Call {
        Other,
        Create,
        Match
    }

    uint256 internal constant TRADERS = 4;
    uint128 internal constant TICK = 1_000;
    uint16 internal constant CENTER_TICK = 250; // 0.25 USD per kWh
    uint256 internal constant BPS = 10_000;

    EnergyTrading internal immutable trading;
    Settlement internal immutable settlement;
    GridManagement internal immutable grid;
    IERC20 internal immutable usd;
    IERC20 internal immutable credits;
    uint32 internal immutable zone;
    address internal immutable admin;
    address[TRADERS] internal traders;

    mapping(uint256 orderId => GhostOrder) internal _ghost;
    /// @dev Every order id ever issued (cancel, expire and claim also try ids that are gone).
    uint256[] internal _knownIds;
    /// @dev Orders in storage: resting limit orders and Dutch orders (expired or not) until removed, and
    /// filled orders whose maker fills are not settled yet.
    uint256[] internal _storedIds;
    uint256[] internal _createdThisCall;
    Call internal _call;
    // the taker of the current createOrder call: its fills' volume and notional at the makers' prices
    uint256 internal _takerWh;
    uint256 internal _takerNotional;
    uint256 internal _fillsSettledThisCall;

    /// @dev What each trader's trades should have done to its payment-token and credit holdings so far: a
    /// maker's fills count once settled.
    mapping(address trader => int256 amount) public paymentDelta;
    mapping(address trader => int256 amountWh) public creditsDelta;
    /// @dev The same with every maker fill counted when it trades.
    mapping(address trader => int256 amount) public tradedPaymentDelta;
    mapping(address trader => int256 amountWh) public tradedCreditsDelta;
    /// @dev Fees every trade should have charged (accrued or swept), per the documented formula.
    uint256 public expectedGridFees;
    uint256 public expectedProtocolFees;

    // Violations seen inside calls; the invariants require them to stay zero.
    uint256 public overfills; // a fill beyond an order's amount
    uint256 public fillRemainderMismatches; // OrderFilled.remainingWh disagrees with amount − Σ fills
    uint256 public badFillPrices; // a fill at a price worse than a limit or under a Dutch floor
    uint256 public crossedAfterCall; // bestBid ≥ bestAsk after a call
    uint256 public bestPriceMismatches; // bestBid/bestAsk (a cached copy) ≠ the best of the orders on the book
    uint256 public settledMismatches; // FillsSettled disagrees with the maker fills seen or the order's price
    uint256 public claimCountMismatches; // claimFills' return value ≠ its FillsSettled events
    uint256 public reusedIds; // an OrderCreated with an id issued before
    uint256 public takerIdMismatches; // a createOrder fill whose sides are not the new order and a maker

    // Coverage counters, to see that runs exercise what they should.
    uint256 public trades;
    uint256 public makerFills;
    uint256 public restingCreated;
    uint256 public cancels;
    uint256 public expiries;
    uint256 public fillLimitReturns;
    uint256 public dutchTakes;
    uint256 public restingMatches;
    uint256 public claims;
    uint256 public makerSettlements;
    uint256 public reverts;

    constructor(
        EnergyTrading trading_,
        Settlement settlement_,
        GridManagement grid_,
        uint32 zone_,
        address admin_,
        address[TRADERS] memory traders_
    ) {
        trading = trading_;
        settlement = settlement_;
        grid = grid_;
        usd = IERC20(settlement_.paymentToken());
        credits = IERC20(settlement_.energyToken());
        zone = zone_;
        admin = admin_;
        traders = traders_;
    }

    // ─────────────────────────────────────────────────────────────── actions

    function createOrder(uint256 traderSeed, bool sell, uint64 amountWh, uint8 tickSeed, uint32 expirySeed, uint8 flagSeed)
        external
    {
        address trader = _trader(traderSeed);
        IEnergyTrading.Side side = sell ? IEnergyTrading.Side.Sell : IEnergyTrading.Side.Buy;
        amountWh = uint64(bound(amountWh, 100, 60_000));
        uint128 price = _priceNearCenter(tickSeed);
        uint64 expiry = _expiry(expirySeed);
        uint8 flags = _flags(flagSeed);
        vm.recordLogs();
        vm.prank(trader);
        try trading.createOrder(zone, side, amountWh, price, expiry, flags) returns (uint256 orderId) {
            _afterCall(Call.Create);
            if (_isStored(orderId)) ++restingCreated;
        } catch {
            _afterRevert();
        }
    }

    function cancelOrder(uint256 idSeed, uint256 callerSeed, bool byOwner) external {
        if (_knownIds.length == 0) return;
        uint256 orderId = _knownIds[bound(idSeed, 0, _knownIds.length - 1)];
        address caller = byOwner && _ghost[orderId].owner != address(0) ? _ghost[orderId].owner : _trader(callerSeed);
        vm.recordLogs();
        vm.prank(caller);
        try trading.cancelOrder(orderId) {
            _afterCall(Call.Other);
        } catch {
            _afterRevert();
        }
    }

    function expireOrders(uint256 idSeed, uint8 count) external {
        if (_knownIds.length == 0) return;
        count = uint8(bound(count, 1, 6));
        uint256[] memory ids = new uint256[](count);
        for (uint256 i; i < count; ++i) {
            ids[i] = _knownIds[uint256(keccak256(abi.encode(idSeed, i))) % _knownIds.length];
        }
        vm.recordLogs();
        vm.prank(traders[idSeed % TRADERS]);
        try trading.expireOrders(ids) {
            _afterCall(Call.Other);
        } catch {
            _afterRevert();
        }
    }

    /// Anyone settles listed orders' maker fills: mostly orders with unsettled fills, some without, repeats.
    function claimFills(uint256 idSeed, uint8 count, uint256 callerSeed) external {
        if (_knownIds.length == 0) return;
        count = uint8(bound(count, 1, 5));
        uint256[] memory ids = new uint256[](count);
        for (uint256 i; i < count; ++i) {
            uint256 seed = uint256(keccak256(abi.encode(idSeed, i)));
            uint256 pick = seed % 4 == 0 ? 0 : _pickUnsettled(seed);
            ids[i] = pick != 0 ? pick : _knownIds[seed % _knownIds.length];
        }
        vm.recordLogs();
        vm.prank(_trader(callerSeed));
        try trading.claimFills(ids) returns (uint256 settled) {
            _afterCall(Call.Other);
            if (settled != _fillsSettledThisCall) ++claimCountMismatches;
            claims += settled;
        } catch {
            _afterRevert();
        }
    }

    function createDutchOrder(
        uint256 traderSeed,
        uint64 amountWh,
        uint8 startSeed,
        uint8 floorSeed,
        uint32 window,
        uint32 expirySeed
    ) external {
        address trader = _trader(traderSeed);
        amountWh = uint64(bound(amountWh, 100, 60_000));
        uint128 start = uint128(bound(startSeed, CENTER_TICK, CENTER_TICK + 20)) * TICK;
        uint128 floor = uint128(bound(floorSeed, CENTER_TICK - 15, CENTER_TICK + 2)) * TICK;
        window = uint32(bound(window, 1, 2 hours));
        uint64 expiry = _expiry(expirySeed);
        vm.recordLogs();
        vm.prank(trader);
        try trading.createDutchOrder(zone, amountWh, start, floor, window, expiry) {
            _afterCall(Call.Other);
        } catch {
            _afterRevert();
        }
    }

    function takeDutchOrder(uint256 traderSeed, uint256 idSeed, uint64 amountWh, uint8 maxTickSeed) external {
        uint256 orderId = _pickOpen(idSeed, IEnergyTrading.Kind.Dutch, IEnergyTrading.Side.Sell);
        if (orderId == 0) return;
        amountWh = uint64(bound(amountWh, 1, 80_000));
        uint128 maxPrice = uint128(bound(maxTickSeed, CENTER_TICK - 10, CENTER_TICK + 25)) * TICK;
        vm.recordLogs();
        vm.prank(_trader(traderSeed));
        try trading.takeDutchOrder(orderId, amountWh, maxPrice) {
            ++dutchTakes;
            _afterCall(Call.Other);
        } catch {
            _afterRevert();
        }
    }

    function matchOrders(uint256 buySeed, uint256 sellSeed, bool dutch, uint256 callerSeed) external {
        uint256 buyId = _pickOpen(buySeed, IEnergyTrading.Kind.Limit, IEnergyTrading.Side.Buy);
        uint256 sellId = _pickOpen(
            sellSeed, dutch ? IEnergyTrading.Kind.Dutch : IEnergyTrading.Kind.Limit, IEnergyTrading.Side.Sell
        );
        if (buyId == 0 || sellId == 0) return;
        vm.recordLogs();
        vm.prank(_trader(callerSeed));
        try trading.matchOrders(buyId, sellId) {
            ++restingMatches;
            _afterCall(Call.Match);
        } catch {
            _afterRevert();
        }
    }

    function deposit(uint256 traderSeed, bool payment, uint256 amount) external {
        address trader = _trader(traderSeed);
        IERC20 token = payment ? usd : credits;
        uint256 wallet = token.balanceOf(trader);
        if (wallet == 0) return;
        amount = bound(amount, 1, wallet);
        vm.prank(trader);
        settlement.deposit(address(token), amount);
        _checkBook();
    }

    function withdraw(uint256 traderSeed, bool payment, uint256 amount) external {
        address trader = _trader(traderSeed);
        address token = payment ? address(usd) : address(credits);
        uint256 available = settlement.balanceOf(trader, token).available;
        if (available == 0) return;
        amount = bound(amount, 1, available);
        vm.prank(trader);
        settlement.withdraw(token, amount);
        _checkBook();
    }

    function sweepFees(bool protocol) external {
        if (protocol) {
            if (settlement.accruedProtocolFees(zone) != 0) settlement.sweepProtocolFees(zone);
        } else if (settlement.accruedZoneFees(zone) != 0) {
            settlement.sweepZoneFees(zone);
        }
    }

    /// Small clock steps (seconds to two hours): short expiries pass, Dutch prices decay, fee periods change.
    function warp(uint32 seconds_) external {
        vm.warp(block.timestamp + bound(seconds_, 1, 2 hours));
    }

    /// ADMIN lowers (or restores) the fill bound, so that FillLimit returns happen within a run's depth.
    function setMaxFills(uint8 seed) external {
        uint16 maxFills = seed % 4 == 0 ? 64 : uint16(bound(seed, 1, 4));
        vm.prank(admin);
        trading.setMaxFillsPerCall(maxFills);
    }

    // ─────────────────────────────────────────────────────────────── views for the invariants

    function traderAt(uint256 i) external view returns (address) {
        return traders[i];
    }

    function storedCount() external view returns (uint256) {
        return _storedIds.length;
    }

    function storedIdAt(uint256 i) external view returns (uint256) {
        return _storedIds[i];
    }

    function knownCount() external view returns (uint256) {
        return _knownIds.length;
    }

    function knownIdAt(uint256 i) external view returns (uint256) {
        return _knownIds[i];
    }

    function ghostOf(uint256 orderId) external view returns (GhostOrder memory) {
        return _ghost[orderId];
    }

    // ─────────────────────────────────────────────────────────────── ghost bookkeeping

    function _afterRevert() internal {
        ++reverts;
        vm.getRecordedLogs(); // drain
    }

    /// @dev Folds a successful call's events into the ghost state, then re-reads which orders are stored.
    function _afterCall(Call call) internal {
        Vm.Log[] memory logs = vm.getRecordedLogs();
        delete _createdThisCall;
        (_call, _takerWh, _takerNotional, _fillsSettledThisCall) = (call, 0, 0, 0);
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].emitter != address(trading)) continue;
            bytes32 topic = logs[i].topics[0];
            if (topic == IEnergyTrading.OrderCreated.selector) _onCreated(logs[i]);
            else if (topic == IEnergyTrading.OrderFilled.selector) _onFilled(logs[i]);
            else if (topic == IEnergyTrading.TradeExecuted.selector) _onTrade(logs[i]);
            else if (topic == IEnergyTrading.FillsSettled.selector) _onFillsSettled(logs[i]);
            else if (topic == IEnergyTrading.OrderCancelled.selector) _onCancelled(logs[i]);
            else if (topic == IEnergyTrading.OrderExpired.selector) ++expiries;
        }
        if (_takerWh != 0) _settleTaker();
        _call = Call.Other;
        _refreshStored();
        _checkBook();
    }

    function _onCreated(Vm.Log memory log) internal {
        uint256 orderId = uint256(log.topics[1]);
        (IEnergyTrading.Side side, IEnergyTrading.Kind kind, uint64 amountWh, uint128 price,,) =
            abi.decode(log.data, (IEnergyTrading.Side, IEnergyTrading.Kind, uint64, uint128, uint64, uint8));
        GhostOrder storage g = _ghost[orderId];
        if (g.owner != address(0)) ++reusedIds; // ghosts are never deleted: every id is issued once
        g.owner = address(uint160(uint256(log.topics[3])));
        g.side = side;
        g.kind = kind;
        g.amountWh = amountWh;
        g.pricePerKWh = price;
        if (kind == IEnergyTrading.Kind.Dutch) g.floorPricePerKWh = trading.dutchTerms(orderId).floorPricePerKWh;
        _knownIds.push(orderId);
        _createdThisCall.push(orderId);
    }

    /// @dev OrderFilled precedes its TradeExecuted: the remainder it reports must be amount − (fills so far + this).
    function _onFilled(Vm.Log memory log) internal {
        GhostOrder storage g = _ghost[uint256(log.topics[1])];
        (uint64 amountWh,, uint64 remainingWh) = abi.decode(log.data, (uint64, uint128, uint64));
        if (uint256(g.filledWh) + amountWh > g.amountWh) return; // counted as an overfill by _onTrade
        if (remainingWh != g.amountWh - g.filledWh - amountWh) ++fillRemainderMismatches;
    }

    /// @dev Applies one trade to the ledgers as it settles: a taker's fill adds to the taker's total (settled at
    /// the end of the call) and to the maker's unsettled fills; matchOrders and Dutch takes settle at once.
    function _onTrade(Vm.Log memory log) internal {
        uint256 buyId = uint256(log.topics[2]);
        uint256 sellId = uint256(log.topics[3]);
        (address buyer, address seller, uint64 amountWh, uint128 price) =
            abi.decode(log.data, (address, address, uint64, uint128));
        ++trades;
        if (buyId != 0) _fill(buyId, amountWh, price); // 0: a Dutch take, the buyer has no order
        _fill(sellId, amountWh, price);
        uint256 notional = (uint256(amountWh) * price + 999) / 1_000;

        if (_call == Call.Create) {
            // createOrder: the order created in this call is the taker, the other side a resting maker
            uint256 takerId = _createdThisCall[0];
            bool takerBuys = buyId == takerId;
            uint256 makerId = takerBuys ? sellId : buyId;
            if (makerId == takerId || (!takerBuys && sellId != takerId)) ++takerIdMismatches;
            ++makerFills;
            _ghost[makerId].unsettledWh += amountWh;
            _takerWh += amountWh;
            _takerNotional += notional;
            // the maker's side counts in the traded ledger now, in the settled ledger at FillsSettled
            (address maker, int256 sign) = takerBuys ? (seller, int256(1)) : (buyer, int256(-1));
            tradedPaymentDelta[maker] += sign * int256(notional);
            tradedCreditsDelta[maker] -= sign * int256(uint256(amountWh));
            return;
        }
        (uint256 gridFee, uint256 protocolFee) = _fees(notional);
        uint256 fees = gridFee + protocolFee;
        if (_call == Call.Match) {
            // two resting orders: the seller pays the fees out of the notional
            _book(buyer, -int256(notional), int256(uint256(amountWh)));
            _book(seller, int256(notional - fees), -int256(uint256(amountWh)));
        } else {
            // a Dutch take: the taker pays the fees on top, the seller receives the notional
            _book(buyer, -int256(notional + fees), int256(uint256(amountWh)));
            _book(seller, int256(notional), -int256(uint256(amountWh)));
        }
    }

    /// @dev The taker of a createOrder call, once for all its fills: fees on its total notional.
    function _settleTaker() internal {
        uint256 takerId = _createdThisCall[0];
        address taker = _ghost[takerId].owner;
        (uint256 gridFee, uint256 protocolFee) = _fees(_takerNotional);
        uint256 fees = gridFee + protocolFee;
        if (_ghost[takerId].side == IEnergyTrading.Side.Buy) {
            _book(taker, -int256(_takerNotional + fees), int256(_takerWh));
        } else {
            _book(taker, int256(_takerNotional - fees), -int256(_takerWh));
        }
    }

    /// @dev A maker's fills settle: exactly the unsettled fills seen, at the order's own price, no fee.
    function _onFillsSettled(Vm.Log memory log) internal {
        uint256 orderId = uint256(log.topics[1]);
        address owner = address(uint160(uint256(log.topics[2])));
        (uint64 amountWh, uint256 notional) = abi.decode(log.data, (uint64, uint256));
        GhostOrder storage g = _ghost[orderId];
        ++makerSettlements;
        ++_fillsSettledThisCall;
        if (
            owner != g.owner || amountWh != g.unsettledWh || g.kind == IEnergyTrading.Kind.Dutch
                || notional != uint256(amountWh) * g.pricePerKWh / 1_000
        ) ++settledMismatches;
        g.unsettledWh = 0;
        int256 sign = g.side == IEnergyTrading.Side.Sell ? int256(1) : int256(-1);
        paymentDelta[g.owner] += sign * int256(notional);
        creditsDelta[g.owner] -= sign * int256(uint256(amountWh));
    }

    /// @dev Both ledgers at once (a side that settles when it trades).
    function _book(address trader, int256 payment, int256 creditsWh) internal {
        paymentDelta[trader] += payment;
        creditsDelta[trader] += creditsWh;
        tradedPaymentDelta[trader] += payment;
        tradedCreditsDelta[trader] += creditsWh;
    }

    /// @dev ISettlement's fee formula at the zone's rate now (GridManagement's schedule) and the protocol's.
    function _fees(uint256 notional) internal returns (uint256 gridFee, uint256 protocolFee) {
        uint256 gridBps = grid.gridFeeBps(zone, uint64(block.timestamp));
        uint256 protocolBps = trading.protocolFeeBps();
        uint256 totalFee = (notional * (gridBps + protocolBps) + BPS - 1) / BPS;
        protocolFee = (notional * protocolBps) / BPS;
        gridFee = totalFee - protocolFee;
        expectedProtocolFees += protocolFee;
        expectedGridFees += gridFee;
    }

    function _fill(uint256 orderId, uint64 amountWh, uint128 price) internal {
        GhostOrder storage g = _ghost[orderId];
        if (uint256(g.filledWh) + amountWh > g.amountWh) ++overfills;
        g.filledWh += amountWh;
        if (g.kind == IEnergyTrading.Kind.Dutch) {
            if (price < g.floorPricePerKWh || price > g.pricePerKWh) ++badFillPrices;
        } else if (g.side == IEnergyTrading.Side.Buy ? price > g.pricePerKWh : price < g.pricePerKWh) {
            ++badFillPrices;
        }
    }

    function _onCancelled(Vm.Log memory log) internal {
        (, IEnergyTrading.CancelReason reason) = abi.decode(log.data, (uint64, IEnergyTrading.CancelReason));
        if (reason == IEnergyTrading.CancelReason.FillLimit) ++fillLimitReturns;
        else if (reason == IEnergyTrading.CancelReason.Owner) ++cancels;
    }

    /// @dev New orders that are stored join the set; orders that no longer exist leave it.
    function _refreshStored() internal {
        for (uint256 i; i < _createdThisCall.length; ++i) {
            uint256 orderId = _createdThisCall[i];
            if (_exists(orderId)) _storedIds.push(orderId);
        }
        for (uint256 i = _storedIds.length; i > 0; --i) {
            uint256 orderId = _storedIds[i - 1];
            if (_exists(orderId)) continue;
            _storedIds[i - 1] = _storedIds[_storedIds.length - 1];
            _storedIds.pop();
        }
    }

    function _checkBook() internal {
        uint128 bid = trading.bestBid(zone);
        uint128 ask = trading.bestAsk(zone);
        if (bid != 0 && ask != 0 && bid >= ask) ++crossedAfterCall;
        // the market caches each side's best tick: it must equal the best limit order still on the book
        // (something remaining, expired or not: an expired order rests until it is removed)
        (uint128 truthBid, uint128 truthAsk) = (0, 0);
        for (uint256 i; i < _storedIds.length; ++i) {
            IEnergyTrading.OrderView memory o = trading.getOrder(_storedIds[i]);
            if (o.kind != IEnergyTrading.Kind.Limit || o.remainingWh == 0) continue;
            if (o.side == IEnergyTrading.Side.Buy) {
                if (o.pricePerKWh > truthBid) truthBid = o.pricePerKWh;
            } else if (truthAsk == 0 || o.pricePerKWh < truthAsk) {
                truthAsk = o.pricePerKWh;
            }
        }
        if (bid != truthBid || ask != truthAsk) ++bestPriceMismatches;
    }

    // ─────────────────────────────────────────────────────────────── helpers

    function _exists(uint256 orderId) internal view returns (bool) {
        try trading.getOrder(orderId) returns (IEnergyTrading.OrderView memory) {
            return true;
        } catch {
            return false;
        }
    }

    function _isStored(uint256 orderId) internal view returns (bool) {
        for (uint256 i; i < _storedIds.length; ++i) {
            if (_storedIds[i] == orderId) return true;
        }
        return false;
    }

    /// @dev A stored order of that kind and side with something left (expired or not).
    function _pickOpen(uint256 seed, IEnergyTrading.Kind kind, IEnergyTrading.Side side)
        internal
        view
        returns (uint256)
    {
        uint256 n = _storedIds.length;
        for (uint256 i; i < n; ++i) {
            uint256 orderId = _storedIds[(seed + i) % n];
            GhostOrder storage g = _ghost[orderId];
            if (g.kind == kind && g.side == side && trading.getOrder(orderId).remainingWh != 0) return orderId;
        }
        return 0;
    }

    /// @dev A stored order with maker fills not settled yet (0 if none).
    function _pickUnsettled(uint256 seed) internal view returns (uint256) {
        uint256 n = _storedIds.length;
        for (uint256 i; i < n; ++i) {
            uint256 orderId = _storedIds[(seed + i) % n];
            if (_ghost[orderId].unsettledWh != 0) return orderId;
        }
        return 0;
    }

    function _trader(uint256 seed) internal view returns (address) {
        return traders[seed % TRADERS];
    }

    function _priceNearCenter(uint8 seed) internal pure returns (uint128) {
        return uint128(bound(seed, CENTER_TICK - 6, CENTER_TICK + 6)) * TICK;
    }

    /// @dev A third of the orders expire within a minute, the rest within two days.
    function _expiry(uint32 seed) internal view returns (uint64) {
        uint256 lifetime = seed % 3 == 0 ? bound(seed, 1, 60) : bound(seed, 61, 2 days);
        return uint64(block.timestamp + lifetime);
    }

    /// @dev Mostly plain orders; IOC, FOK and post-only a sixth each; now and then an invalid combination.
    function _flags(uint8 seed) internal pure returns (uint8) {
        uint8 pick = seed % 13;
        if (pick < 6) return 0;
        if (pick < 8) return 1; // IOC
        if (pick < 10) return 2; // FOK
        if (pick < 12) return 4; // post-only
        return 3; // IOC | FOK: rejected
    }
}

/// @dev Stateful properties of EnergyTrading + Settlement (see IEnergyTrading and ISettlement). The market is
/// deployed as test/utils/MarketFixture.sol deploys it (zone limits 100 Wh – 1,000,000 Wh, 5,000,000 Wh per
/// account per day; fees 150 bps peak 17–21 UTC, 50 off-peak, protocol 20; tick 1,000; 64 fills per call;
/// ±50 % band around a fresh reference, Unbanded when stale), with EnergyToken's minter a plain address so
/// traders get credits without metering.
contract EnergyTradingInvariantTest is CommonBase, StdAssertions, StdUtils, StdInvariant {
    bytes32 internal constant EIP712_DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    bytes32 internal constant PRICE_REPORT_TYPEHASH = keccak256(
        "PriceReport(uint32 zone,uint64 round,uint64 observedAt,uint128 pricePerKWh,uint64 supplyW,uint64 demandW)"
    );
    uint256 internal constant TRADERS = 4;
    uint256 internal constant USD = 1e6;
    uint256 internal constant USD_PER_TRADER = 20_000 * USD;
    uint256 internal constant WH_PER_TRADER = 4_000_000;
    uint128 internal constant PRICE = 250_000; // 0.25 USD per kWh

    GridManagement internal grid;
    MockStablecoin internal usd;
    EnergyToken internal token;
    PriceOracle internal priceOracle;
    Settlement internal settlement;
    EnergyTrading internal trading;
    uint32 internal zone;
    address internal treasury = _addr("treasury");
    address internal protocolTreasury = _addr("protocolTreasury");
    address internal minter = _addr("minter");

    MarketHandler internal handler;
    address[TRADERS] internal traders;
    uint256 internal initialUsd;
    uint256 internal initialWh;

    function setUp() public {
        vm.warp(1_750_000_000); // mid-June 2025, 15:06 UTC: the first warps cross into the 17–21 peak
        GridXAccessManager manager = new GridXAccessManager(address(this));
        grid = new GridManagement(address(manager), 900);
        zone = grid.createZone(_zoneConfig());
        usd = new MockStablecoin();
        token = new EnergyToken(ISmartMeter(minter));
        priceOracle = new PriceOracle(address(manager), grid, 1, 1 hours, _priceFields());
        trading = new EnergyTrading(
            address(manager),
            IEnergyTrading.VaultTerms({
                paymentToken: address(usd),
                energyToken: address(token),
                protocolTreasury: protocolTreasury,
                protocolFeeBps: 20
            }),
            grid,
            priceOracle,
            1_000,
            64,
            5_000,
            IEnergyTrading.StaleReferencePolicy.Unbanded
        );
        settlement = Settlement(trading.settlement());
        grid.setMarket(address(trading));
        priceOracle.setMarket(address(trading));
        (address reporter, uint256 reporterKey) = _addrAndKey("priceReporter");
        manager.grantRole(Roles.ORACLE_OPERATOR, reporter, 0);
        _postReference(reporter, reporterKey); // the band applies until the reference goes stale

        traders = [_addr("alice"), _addr("bob"), _addr("carol"), _addr("dave")];
        for (uint256 i; i < TRADERS; ++i) _fundAndDepositHalf(traders[i]);
        initialUsd = TRADERS * USD_PER_TRADER;
        initialWh = TRADERS * WH_PER_TRADER;
        handler = new MarketHandler(trading, settlement, grid, zone, address(this), traders);

        bytes4[] memory selectors = new bytes4[](14);
        selectors[0] = MarketHandler.createOrder.selector;
        selectors[1] = MarketHandler.createOrder.selector; // twice: placing orders is the main activity
        selectors[2] = MarketHandler.cancelOrder.selector;
        selectors[3] = MarketHandler.expireOrders.selector;
        selectors[4] = MarketHandler.createDutchOrder.selector;
        selectors[5] = MarketHandler.takeDutchOrder.selector;
        selectors[6] = MarketHandler.matchOrders.selector;
        selectors[7] = MarketHandler.deposit.selector;
        selectors[8] = MarketHandler.withdraw.selector;
        selectors[9] = MarketHandler.warp.selector;
        selectors[10] = MarketHandler.sweepFees.selector;
        selectors[11] = MarketHandler.setMaxFills.selector;
        selectors[12] = MarketHandler.claimFills.selector;
        selectors[13] = MarketHandler.claimFills.selector; // twice: settling makers is a main activity too
        targetSelector(FuzzSelector({addr: address(handler), selectors: selectors}));
        targetContract(address(handler));
    }

    /// For each token the vault holds exactly the internal balances plus the unswept fees, adjusted by the
    /// makers' unsettled fills: a sell maker's buyers already paid the notional in (its Wh still sit in its
    /// locked credits although they were delivered), a buy maker's sellers already delivered the Wh (its
    /// notional still sits in its locked payment although the sellers were paid).
    function invariant_vaultHoldsBalancesPlusFeesPlusUnsettled() public view {
        int256 usdOwed = int256(_accruedFees());
        int256 whOwed;
        for (uint256 i; i < TRADERS; ++i) {
            usdOwed += int256(_vault(traders[i], address(usd)));
            whOwed += int256(_vault(traders[i], address(token)));
        }
        (int256 usdUnsettled, int256 whUnsettled) = _unsettledAll();
        assertEq(int256(usd.balanceOf(address(settlement))), usdOwed + usdUnsettled, "payment token");
        assertEq(int256(token.balanceOf(address(settlement))), whOwed + whUnsettled, "credits");
        // fees are kept per zone: nothing accrues in a zone that never traded
        assertEq(settlement.accruedZoneFees(zone + 1) + settlement.accruedProtocolFees(zone + 1), 0, "other zone");
    }

    /// Each trader's locked balances are exactly the escrow of its stored orders: what is left (buys at their
    /// limit price, sells and Dutch orders in Wh; expired orders not yet removed included) plus what makers
    /// filled and did not settle yet (a sell's Wh, a buy's notional at its price).
    function invariant_lockedEqualsEscrowPlusUnsettled() public view {
        uint256[TRADERS] memory lockedUsd;
        uint256[TRADERS] memory lockedWh;
        uint256 n = handler.storedCount();
        for (uint256 i; i < n; ++i) {
            uint256 orderId = handler.storedIdAt(i);
            IEnergyTrading.OrderView memory o = trading.getOrder(orderId);
            (address owner, IEnergyTrading.Side side, uint64 filledWh, uint256 notional) = trading.unsettledFills(orderId);
            assertEq(owner, o.owner, "unsettledFills owner");
            assertEq(uint8(side), uint8(o.side), "unsettledFills side");
            assertEq(filledWh, o.unsettledWh, "unsettledFills Wh");
            assertEq(notional, uint256(filledWh) * o.pricePerKWh / 1_000, "unsettledFills notional");
            assertTrue(o.remainingWh != 0 || filledWh != 0, "stored with nothing left and nothing to settle");
            uint256 t = _traderIndex(o.owner);
            if (o.side == IEnergyTrading.Side.Buy) lockedUsd[t] += uint256(o.remainingWh) * o.pricePerKWh / 1_000 + notional;
            else lockedWh[t] += uint256(o.remainingWh) + filledWh;
        }
        for (uint256 t; t < TRADERS; ++t) {
            assertEq(settlement.balanceOf(traders[t], address(usd)).locked, lockedUsd[t], "locked payment");
            assertEq(settlement.balanceOf(traders[t], address(token)).locked, lockedWh[t], "locked credits");
        }
    }

    /// No order ever fills beyond its amount: for every stored order amount − remaining = Σ fills seen, the
    /// unsettled maker fills are those seen since its last settlement (and never more than it filled), and every
    /// OrderFilled reported the remainder the fills imply. Orders that are gone have nothing left to settle.
    function invariant_noOrderFillsBeyondItsAmount() public view {
        assertEq(handler.overfills(), 0, "overfills");
        assertEq(handler.fillRemainderMismatches(), 0, "OrderFilled remainders");
        assertEq(handler.settledMismatches(), 0, "FillsSettled amounts");
        assertEq(handler.claimCountMismatches(), 0, "claimFills count");
        assertEq(handler.takerIdMismatches(), 0, "taker ids");
        assertEq(handler.reusedIds(), 0, "an order id issued twice");
        uint256 n = handler.knownCount();
        for (uint256 i; i < n; ++i) {
            uint256 orderId = handler.knownIdAt(i);
            MarketHandler.GhostOrder memory g = handler.ghostOf(orderId);
            (, , uint64 filledWh, uint256 notional) = trading.unsettledFills(orderId);
            assertEq(filledWh, g.unsettledWh, "unsettled fills != maker fills seen since settlement");
            try trading.getOrder(orderId) returns (IEnergyTrading.OrderView memory o) {
                assertLe(o.remainingWh, g.amountWh, "remaining above amount");
                assertEq(g.amountWh - o.remainingWh, g.filledWh, "amount - remaining != fills");
                assertLe(uint256(o.remainingWh) + o.unsettledWh, g.amountWh, "remaining + unsettled above amount");
            } catch {
                assertEq(filledWh, 0, "a deleted order kept unsettled fills");
                assertEq(notional, 0, "a deleted order kept an unsettled notional");
            }
        }
    }

    /// Fills happen at a price no worse than either limit (and within a Dutch order's schedule).
    function invariant_fillsRespectLimitPrices() public view {
        assertEq(handler.badFillPrices(), 0);
    }

    /// The book is never left crossed: best bid below best ask after every call.
    function invariant_bestBidBelowBestAsk() public view {
        assertEq(handler.crossedAfterCall(), 0, "crossed after some call");
        assertEq(handler.bestPriceMismatches(), 0, "best prices differ from the orders on the book");
        uint128 bid = trading.bestBid(zone);
        uint128 ask = trading.bestAsk(zone);
        if (bid != 0 && ask != 0) assertLt(bid, ask);
    }

    /// Rounding never creates value: per token, Σ (wallet + vault) of all traders, adjusted by the makers'
    /// unsettled fills, plus what the treasuries hold or are owed is constant (deposits and withdrawals only
    /// move between a wallet and the vault).
    function invariant_roundingNeverCreatesValue() public view {
        int256 usdTotal = int256(usd.balanceOf(treasury) + usd.balanceOf(protocolTreasury) + _accruedFees());
        int256 whTotal;
        for (uint256 i; i < TRADERS; ++i) {
            usdTotal += int256(usd.balanceOf(traders[i]) + _vault(traders[i], address(usd)));
            whTotal += int256(token.balanceOf(traders[i]) + _vault(traders[i], address(token)));
        }
        (int256 usdUnsettled, int256 whUnsettled) = _unsettledAll();
        assertEq(usdTotal + usdUnsettled, int256(initialUsd), "payment token");
        assertEq(whTotal + whUnsettled, int256(initialWh), "credits");
    }

    /// Each trader holds exactly what its settled trades imply: a taker paid the notional at the makers'
    /// prices plus ceil(notional × (grid + protocol) / 10,000) on its total (or received the notional less
    /// it), a maker got exactly the notional at its own price once settled, matchOrders charged the seller, a
    /// Dutch take the taker; the fees reached their side, split as documented.
    function invariant_holdingsFollowTheSettledLedger() public view {
        for (uint256 i; i < TRADERS; ++i) {
            address t = traders[i];
            assertEq(_held(t, usd), int256(USD_PER_TRADER) + handler.paymentDelta(t), "payment token");
            assertEq(_held(t, token), int256(WH_PER_TRADER) + handler.creditsDelta(t), "credits");
        }
        assertEq(
            usd.balanceOf(protocolTreasury) + settlement.accruedProtocolFees(zone),
            handler.expectedProtocolFees(),
            "protocol"
        );
        assertEq(usd.balanceOf(treasury) + settlement.accruedZoneFees(zone), handler.expectedGridFees(), "grid");
    }

    /// The same with every trade counted when it happens: a trader's holdings plus what its orders' unsettled
    /// fills owe it (a sell's notional, a buy's Wh) less what they still hold of the counterparty's (a sell's
    /// Wh, a buy's notional, both still in its locked escrow) follow the traded ledger.
    function invariant_holdingsPlusUnsettledFollowTheTradeLedger() public view {
        int256[TRADERS] memory usdOwed;
        int256[TRADERS] memory whOwed;
        uint256 n = handler.storedCount();
        for (uint256 i; i < n; ++i) {
            (address owner, IEnergyTrading.Side side, uint64 filledWh, uint256 notional) =
                trading.unsettledFills(handler.storedIdAt(i));
            if (filledWh == 0) continue;
            uint256 t = _traderIndex(owner);
            int256 sign = side == IEnergyTrading.Side.Sell ? int256(1) : int256(-1);
            usdOwed[t] += sign * int256(notional);
            whOwed[t] -= sign * int256(uint256(filledWh));
        }
        for (uint256 i; i < TRADERS; ++i) {
            address t = traders[i];
            assertEq(_held(t, usd) + usdOwed[i], int256(USD_PER_TRADER) + handler.tradedPaymentDelta(t), "payment");
            assertEq(_held(t, token) + whOwed[i], int256(WH_PER_TRADER) + handler.tradedCreditsDelta(t), "credits");
        }
    }

    // ─────────────────────────────────────────────────────────────── setup helpers

    function _vault(address account, address asset) internal view returns (uint256) {
        Settlement.Balance memory b = settlement.balanceOf(account, asset);
        return uint256(b.available) + b.locked;
    }

    function _held(address account, IERC20 asset) internal view returns (int256) {
        return int256(asset.balanceOf(account) + _vault(account, address(asset)));
    }

    function _accruedFees() internal view returns (uint256) {
        return settlement.accruedZoneFees(zone) + settlement.accruedProtocolFees(zone);
    }

    /// @dev Over all stored orders: Σ unsettled notional of sells − of buys, and Σ unsettled Wh of buys − of sells.
    function _unsettledAll() internal view returns (int256 usdAmount, int256 whAmount) {
        uint256 n = handler.storedCount();
        for (uint256 i; i < n; ++i) {
            (, IEnergyTrading.Side side, uint64 filledWh, uint256 notional) =
                trading.unsettledFills(handler.storedIdAt(i));
            if (side == IEnergyTrading.Side.Sell) {
                usdAmount += int256(notional);
                whAmount -= int256(uint256(filledWh));
            } else {
                usdAmount -= int256(notional);
                whAmount += int256(uint256(filledWh));
            }
        }
    }

    function _traderIndex(address owner) internal view returns (uint256) {
        for (uint256 i; i < TRADERS; ++i) {
            if (traders[i] == owner) return i;
        }
        revert("unknown owner");
    }

    /// @dev Half of each token in the wallet, half deposited; the vault approved for both.
    function _fundAndDepositHalf(address trader) internal {
        usd.faucet(trader, USD_PER_TRADER);
        vm.prank(minter);
        token.mint(trader, WH_PER_TRADER);
        vm.startPrank(trader);
        usd.approve(address(settlement), type(uint256).max);
        token.approve(address(settlement), type(uint256).max);
        settlement.deposit(address(usd), USD_PER_TRADER / 2);
        settlement.deposit(address(token), WH_PER_TRADER / 2);
        vm.stopPrank();
    }

    function _zoneConfig() internal view returns (IGridManagement.ZoneConfig memory) {
        return IGridManagement.ZoneConfig({
            name: "Riverside",
            treasury: treasury,
            emissionFactor_gCO2ePerKWh: 233,
            capacityWhPerInterval: 500_000,
            fees: IGridManagement.FeeSchedule({peakFeeBps: 150, offPeakFeeBps: 50, peakStartHour: 17, peakEndHour: 21}),
            limits: IGridManagement.ComplianceLimits({
                minOrderWh: 100,
                maxOrderWh: 1_000_000,
                maxDailyTradedWhPerAccount: 5_000_000
            })
        });
    }

    function _priceFields() internal pure returns (IQuorumOracle.FieldConfig[] memory configs) {
        configs = new IQuorumOracle.FieldConfig[](3);
        configs[0] = IQuorumOracle.FieldConfig({min: 1, max: 1e12, maxDeviationBps: 0});
        configs[1] = IQuorumOracle.FieldConfig({min: 0, max: 1e12, maxDeviationBps: 0});
        configs[2] = IQuorumOracle.FieldConfig({min: 0, max: 1e12, maxDeviationBps: 0});
    }

    /// @dev A fresh signed reference of 0.25 USD/kWh, as MarketFixture._postReference posts it.
    function _postReference(address reporter, uint256 reporterKey) internal {
        int256[] memory values = new int256[](3);
        values[0] = int256(uint256(PRICE));
        uint64 observedAt = uint64(block.timestamp);
        bytes32 structHash = keccak256(abi.encode(PRICE_REPORT_TYPEHASH, zone, uint64(1), observedAt, PRICE, 0, 0));
        bytes32 domainSeparator = keccak256(
            abi.encode(
                EIP712_DOMAIN_TYPEHASH, keccak256("GridX PriceOracle"), keccak256("1"), block.chainid, address(priceOracle)
            )
        );
        (uint8 v, bytes32 r, bytes32 s) =
            vm.sign(reporterKey, keccak256(abi.encodePacked("\x19\x01", domainSeparator, structHash)));
        IQuorumOracle.Observation[] memory list = new IQuorumOracle.Observation[](1);
        list[0] = IQuorumOracle.Observation({
            signer: reporter, observedAt: observedAt, values: values, signature: abi.encodePacked(r, s, v)
        });
        priceOracle.submitReport(zone, 1, list);
    }

    function _addrAndKey(string memory name) internal returns (address account, uint256 key) {
        key = uint256(keccak256(bytes(name)));
        account = vm.addr(key);
        vm.label(account, name);
    }

    function _addr(string memory name) internal returns (address account) {
        (account,) = _addrAndKey(name);
    }
}
