// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IAccessManaged} from "@openzeppelin/contracts/access/manager/IAccessManaged.sol";
import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {Vm} from "forge-std/Vm.sol";
import {EnergyTrading} from "../contracts/EnergyTrading.sol";
import {Settlement} from "../contracts/Settlement.sol";
import {IEnergyTrading} from "../contracts/interfaces/IEnergyTrading.sol";
import {IGridManagement} from "../contracts/interfaces/IGridManagement.sol";
import {IPriceOracle} from "../contracts/interfaces/IPriceOracle.sol";
import {ISettlement} from "../contracts/interfaces/ISettlement.sol";
import {MarketFixture} from "./utils/MarketFixture.sol";

// ─────────────────────────────────────────────────────────────── test token

/// @dev A payment token that, once armed, makes one call of its choosing (as itself) from inside the next
/// transfer to or from the vault, and records how it was answered. Tokens only move in Settlement's deposit
/// and withdraw, so this is the only way a token can get control in the middle of a market call. It can also
/// act as a trader (`execute`) so that it owns orders it could try to cancel from inside a transfer.
contract TradingReentrantToken is ERC20 {
    address public vault;
    address public target;
    bytes public payload;
    bool public armed;
    uint256 public attempts;
    uint256 public refused;
    uint256 public succeeded;
    bytes public lastError;

    constructor() ERC20("Reentrant USD", "rUSD") {}

    function decimals() public pure override returns (uint8) {
        return 6;
    }

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function setVault(address vault_) external {
        vault = vault_;
    }

    /// @dev The next transfer to or from the vault calls `target_` with `payload_` (once).
    function arm(address target_, bytes calldata payload_) external {
        target = target_;
        payload = payload_;
        armed = true;
    }

    /// @dev Lets the token act as a market participant (unarmed calls).
    function execute(address target_, bytes calldata data) external returns (bytes memory result) {
        bool ok;
        (ok, result) = target_.call(data);
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(result, 0x20), mload(result))
            }
        }
    }

    function _update(address from, address to, uint256 value) internal override {
        super._update(from, to, value);
        if (!armed || (from != vault && to != vault)) return;
        armed = false;
        attempts += 1;
        (bool ok, bytes memory err) = target.call(payload);
        if (ok) {
            succeeded += 1;
        } else {
            lastError = err;
            if (err.length == 4 && bytes4(err) == ReentrancyGuardTransient.ReentrancyGuardReentrantCall.selector) {
                refused += 1;
            }
        }
    }
}

// ─────────────────────────────────────────────────────────────── fixture

/// @dev MarketFixture with four funded traders. Nobody has posted a reference price, so the stale policy
/// (Unbanded) applies until a test posts one. The clock starts at 2025-06-15 15:06:40 UTC: off-peak
/// (grid 50 bps + protocol 20 bps).
abstract contract EnergyTradingFixture is MarketFixture {
    uint256 internal constant FUNDS_USD = 100_000 * USD;
    uint256 internal constant FUNDS_WH = 3_000_000;
    uint64 internal constant MIN_WH = 100;
    uint64 internal constant MAX_WH = 1_000_000;
    uint64 internal constant DAILY_CAP_WH = 5_000_000;
    /// @dev Bit 63 of a sequence number: drawn from the market's counter, not a level's queue.
    uint64 internal constant COUNTER_SEQ = uint64(1) << 63;

    IEnergyTrading.Side internal constant BUY = IEnergyTrading.Side.Buy;
    IEnergyTrading.Side internal constant SELL = IEnergyTrading.Side.Sell;

    function setUp() public virtual override {
        super.setUp();
        _deposit(alice, FUNDS_USD, FUNDS_WH);
        _deposit(bob, FUNDS_USD, FUNDS_WH);
        _deposit(carol, FUNDS_USD, FUNDS_WH);
        _deposit(dave, FUNDS_USD, FUNDS_WH);
    }

    // ─────────────────────────────────────────────────────────────── ids

    function _limitId(IEnergyTrading.Side side, uint128 price, uint64 index) internal view returns (uint256) {
        return (uint256(zone) << 128) | (uint256(uint8(side)) << 96) | (uint256(price / TICK) << 64) | index;
    }

    function _immediateId(IEnergyTrading.Side side, uint128 price, uint64 nonce) internal view returns (uint256) {
        return _limitId(side, price, nonce) | (uint256(1) << 97);
    }

    function _dutchId(uint128 startPrice, uint64 nonce) internal view returns (uint256) {
        return _limitId(SELL, startPrice, nonce) | (uint256(2) << 97);
    }

    /// @dev A limit order that crossed the book at a price no order of its side had used: its sequence number
    /// is the market's counter (shared with immediate orders) with bit 63 set.
    function _counterId(IEnergyTrading.Side side, uint128 price, uint64 nonce) internal view returns (uint256) {
        return _limitId(side, price, COUNTER_SEQ | nonce);
    }

    // ─────────────────────────────────────────────────────────────── orders

    function _expiry() internal view returns (uint64) {
        return uint64(block.timestamp + ONE_DAY);
    }

    function _dutch(address seller, uint64 amountWh, uint128 start, uint128 floor, uint32 window)
        internal
        returns (uint256)
    {
        vm.prank(seller);
        return trading.createDutchOrder(zone, amountWh, start, floor, window, _expiry());
    }

    function _take(address buyer, uint256 orderId, uint64 amountWh, uint128 maxPrice) internal {
        vm.prank(buyer);
        trading.takeDutchOrder(orderId, amountWh, maxPrice);
    }

    function _cancel(address owner, uint256 orderId) internal {
        vm.prank(owner);
        trading.cancelOrder(orderId);
    }

    function _halt() internal {
        vm.prank(gridOperator);
        grid.haltZone(zone, "transformer fault");
    }

    function _pause() internal {
        vm.prank(guardian);
        grid.pause();
    }

    // ─────────────────────────────────────────────────────────────── money

    function _notional(uint64 amountWh, uint128 price) internal pure returns (uint256) {
        return (uint256(amountWh) * price) / 1_000;
    }

    /// @dev The fee on a notional now, as ISettlement specifies it: a taker's on the notional of all its fills,
    /// or the seller's on a matchOrders fill.
    function _fee(uint256 notional) internal view returns (uint256) {
        uint256 bps = uint256(grid.gridFeeBps(zone, uint64(block.timestamp))) + PROTOCOL_FEE_BPS;
        return Math.mulDiv(notional, bps, 10_000, Math.Rounding.Ceil);
    }

    /// @dev What a seller that pays the fee receives for one fill (a selling taker with one maker price, or
    /// the seller of a matchOrders fill).
    function _net(uint64 amountWh, uint128 price) internal view returns (uint256) {
        uint256 notional = _notional(amountWh, price);
        return notional - _fee(notional);
    }

    /// @dev What a buying taker pays for fills of `notional` in total: the notional and the fee on top.
    function _cost(uint256 notional) internal view returns (uint256) {
        return notional + _fee(notional);
    }

    /// @dev Anyone (the keeper) settles the makers' fills of `ids`.
    function _claim(uint256[] memory ids) internal returns (uint256 settled) {
        vm.prank(keeper);
        return trading.claimFills(ids);
    }

    function _month() internal view returns (uint32) {
        return settlement.monthOf(block.timestamp);
    }

    function _traders() internal view returns (address[4] memory) {
        return [alice, bob, carol, dave];
    }

    /// @dev Every trader's locked balances equal the escrow of its open orders among `ids` (ids that are gone
    /// count for nothing): the remaining amount, plus what filled as a maker and is not yet settled (a selling
    /// maker's sold credits and a buying maker's payment stay locked until claim, cancel or expiry).
    function _assertEscrow(uint256[] memory ids) internal view {
        address[4] memory traders = _traders();
        for (uint256 t; t < traders.length; ++t) {
            uint256 usdEscrow;
            uint256 whEscrow;
            for (uint256 i; i < ids.length; ++i) {
                (bool live, IEnergyTrading.OrderView memory o) = _find(ids[i]);
                if (!live || o.owner != traders[t]) continue;
                if (o.side == BUY) usdEscrow += _notional(o.remainingWh + o.unsettledWh, o.pricePerKWh);
                else whEscrow += o.remainingWh + o.unsettledWh;
            }
            assertEq(_lockedUsd(traders[t]), usdEscrow, "locked USD = escrow of open bids");
            assertEq(_lockedWh(traders[t]), whEscrow, "locked Wh = escrow of open asks");
        }
    }

    function _find(uint256 orderId) internal view returns (bool live, IEnergyTrading.OrderView memory o) {
        (bool ok, bytes memory data) = address(trading).staticcall(abi.encodeCall(IEnergyTrading.getOrder, (orderId)));
        if (ok) {
            live = true;
            o = abi.decode(data, (IEnergyTrading.OrderView));
        }
    }

    /// @dev The vault's holdings equal what it owes, and the traders' totals never change: nothing is created.
    /// Every maker fill is settled (nothing is unsettled).
    function _assertConserved() internal view {
        _assertConserved(new uint256[](0));
    }

    /// @dev As `_assertConserved()`, with the unsettled maker fills of `ids` (all orders that have any, each
    /// once): a selling maker is owed the notional its takers paid and still holds the sold credits in its
    /// locked balance; a buying maker is owed the credits and still holds the notional in its locked payment.
    function _assertConserved(uint256[] memory ids) internal view {
        address[4] memory traders = _traders();
        uint256 owedUsd = settlement.accruedZoneFees(zone) + settlement.accruedProtocolFees(zone);
        uint256 owedWh;
        for (uint256 t; t < traders.length; ++t) {
            owedUsd += _availableUsd(traders[t]) + _lockedUsd(traders[t]);
            owedWh += _availableWh(traders[t]) + _lockedWh(traders[t]);
        }
        for (uint256 i; i < ids.length; ++i) {
            (, IEnergyTrading.Side side, uint64 filledWh, uint256 notional) = trading.unsettledFills(ids[i]);
            if (side == SELL) {
                owedUsd += notional;
                owedWh -= filledWh;
            } else {
                owedUsd -= notional;
                owedWh += filledWh;
            }
        }
        assertEq(owedUsd, 4 * FUNDS_USD, "USD conserved");
        assertEq(owedWh, 4 * FUNDS_WH, "credits conserved");
        assertEq(usd.balanceOf(address(settlement)), 4 * FUNDS_USD, "vault USD unchanged");
        assertEq(token.balanceOf(address(settlement)), 4 * FUNDS_WH, "vault credits unchanged");
    }

    function _assertNotCrossed() internal view {
        uint128 bid = trading.bestBid(zone);
        uint128 ask = trading.bestAsk(zone);
        if (bid != 0 && ask != 0) assertLt(bid, ask, "book crossed");
    }

    function _ids(uint256 a) internal pure returns (uint256[] memory ids) {
        ids = new uint256[](1);
        ids[0] = a;
    }

    function _ids(uint256 a, uint256 b) internal pure returns (uint256[] memory ids) {
        ids = new uint256[](2);
        (ids[0], ids[1]) = (a, b);
    }

    function _ids(uint256 a, uint256 b, uint256 c) internal pure returns (uint256[] memory ids) {
        ids = new uint256[](3);
        (ids[0], ids[1], ids[2]) = (a, b, c);
    }

    function _ids(uint256 a, uint256 b, uint256 c, uint256 d) internal pure returns (uint256[] memory ids) {
        ids = new uint256[](4);
        (ids[0], ids[1], ids[2], ids[3]) = (a, b, c, d);
    }

    // ─────────────────────────────────────────────────────────────── errors

    function _unauthorized(address caller) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(IAccessManaged.AccessManagedUnauthorized.selector, caller);
    }

    function _zoneClosed() internal view returns (bytes memory) {
        return abi.encodeWithSelector(IEnergyTrading.TradingZoneClosed.selector, zone);
    }

    function _notFound(uint256 orderId) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(IEnergyTrading.TradingOrderNotFound.selector, orderId);
    }

    function _outsideBand(uint128 price, uint128 referencePrice) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(IEnergyTrading.TradingPriceOutsideBand.selector, price, referencePrice, PRICE_BAND_BPS);
    }

    function _stale(uint64 observedAt) internal view returns (bytes memory) {
        return abi.encodeWithSelector(IEnergyTrading.TradingReferencePriceStale.selector, zone, observedAt);
    }
}

// ─────────────────────────────────────────────────────────────── unit tests

contract EnergyTradingTest is EnergyTradingFixture {
    // ─────────────────────────────────────────────────────────────── constructor

    function test_constructor_storesWiring() public view {
        assertEq(trading.settlement(), address(settlement));
        assertEq(trading.gridManagement(), address(grid));
        assertEq(trading.priceOracle(), address(priceOracle));
        assertEq(trading.tickSize(), TICK);
        assertEq(trading.maxFillsPerCall(), MAX_FILLS);
        assertEq(trading.priceBandBps(), PRICE_BAND_BPS);
        assertEq(uint8(trading.staleReferencePolicy()), uint8(IEnergyTrading.StaleReferencePolicy.Unbanded));
        assertEq(trading.authority(), address(manager));
    }

    function test_constants_haveDocumentedValues() public view {
        assertEq(trading.FLAG_IMMEDIATE_OR_CANCEL(), IOC);
        assertEq(trading.FLAG_FILL_OR_KILL(), FOK);
        assertEq(trading.FLAG_POST_ONLY(), POST_ONLY);
        assertEq(trading.MAX_FILLS_PER_CALL(), 256);
        assertEq(trading.MAX_SKIPS_PER_CALL(), 512);
        assertEq(trading.MAX_AMOUNT_WH(), type(uint32).max);
        assertEq(trading.MAX_TICK(), type(uint16).max);
    }

    function test_constructor_emitsConfiguration() public {
        vm.expectEmit();
        emit IEnergyTrading.MaxFillsPerCallUpdated(7);
        vm.expectEmit();
        emit IEnergyTrading.PriceBandUpdated(1_000);
        vm.expectEmit();
        emit IEnergyTrading.StaleReferencePolicyUpdated(IEnergyTrading.StaleReferencePolicy.Refuse);
        EnergyTrading market = _newTrading(address(usd), address(grid), address(priceOracle), 2 * TICK, 7, 1_000);
        assertEq(market.tickSize(), 2 * TICK);
        assertEq(uint8(market.staleReferencePolicy()), uint8(IEnergyTrading.StaleReferencePolicy.Refuse));
    }

    function test_constructor_deploysItsVault() public {
        vm.expectEmit(false, true, true, true);
        emit ISettlement.EnergyTradingSet(address(0)); // the market's address is not known before it exists
        EnergyTrading market = _newTrading(address(usd), address(grid), address(priceOracle), TICK, MAX_FILLS, 0);
        Settlement vault = Settlement(market.settlement());
        assertEq(vault.energyTrading(), address(market), "the vault's only caller is the market");
        assertEq(vault.paymentToken(), address(usd), "payment token");
        assertEq(vault.energyToken(), address(token), "credits");
        assertEq(vault.gridManagement(), address(grid), "zones");
        assertEq(vault.protocolTreasury(), protocolTreasury, "treasury");
        assertEq(market.protocolFeeBps(), PROTOCOL_FEE_BPS, "the protocol fee rate is the market's");
        assertEq(address(vault.authority()), address(manager), "the same AccessManager");
        assertTrue(address(vault) != address(settlement), "a new vault per market");
    }

    function test_constructor_revertsOnBadVaultTerms() public {
        vm.expectRevert(abi.encodeWithSelector(ISettlement.SettlementZeroAddress.selector));
        _newTrading(address(0), address(grid), address(priceOracle), TICK, MAX_FILLS, PRICE_BAND_BPS);
        IEnergyTrading.VaultTerms memory terms = _vaultTerms(address(usd));
        terms.protocolFeeBps = 501;
        vm.expectRevert(abi.encodeWithSelector(IEnergyTrading.TradingProtocolFeeTooHigh.selector, uint16(501), uint16(500)));
        new EnergyTrading(
            address(manager), terms, grid, priceOracle, TICK, MAX_FILLS, 0, IEnergyTrading.StaleReferencePolicy.Refuse
        );
    }

    function test_constructor_revertsOnZeroAddress() public {
        bytes memory err = abi.encodeWithSelector(IEnergyTrading.TradingZeroAddress.selector);
        vm.expectRevert(err);
        _newTrading(address(usd), address(0), address(priceOracle), TICK, MAX_FILLS, PRICE_BAND_BPS);
        vm.expectRevert(err);
        _newTrading(address(usd), address(grid), address(0), TICK, MAX_FILLS, PRICE_BAND_BPS);
    }

    function test_constructor_revertsOnInvalidTickSize() public {
        uint128[3] memory bad = [uint128(0), 999, 1_500];
        for (uint256 i; i < bad.length; ++i) {
            vm.expectRevert(abi.encodeWithSelector(IEnergyTrading.TradingInvalidTickSize.selector, bad[i]));
            _newTrading(address(usd), address(grid), address(priceOracle), bad[i], MAX_FILLS, PRICE_BAND_BPS);
        }
    }

    function test_constructor_revertsOnMaxFillsOutOfRange() public {
        vm.expectRevert(abi.encodeWithSelector(IEnergyTrading.TradingMaxFillsOutOfRange.selector, uint16(0)));
        _newTrading(address(usd), address(grid), address(priceOracle), TICK, 0, PRICE_BAND_BPS);
        vm.expectRevert(abi.encodeWithSelector(IEnergyTrading.TradingMaxFillsOutOfRange.selector, uint16(257)));
        _newTrading(address(usd), address(grid), address(priceOracle), TICK, 257, PRICE_BAND_BPS);
    }

    function test_constructor_revertsOnPriceBandTooWide() public {
        vm.expectRevert(abi.encodeWithSelector(IEnergyTrading.TradingPriceBandTooWide.selector, uint16(10_001)));
        _newTrading(address(usd), address(grid), address(priceOracle), TICK, MAX_FILLS, 10_001);
    }

    function _newTrading(
        address paymentToken_,
        address grid_,
        address oracle_,
        uint128 tickSize_,
        uint16 maxFills_,
        uint16 bandBps_
    ) internal returns (EnergyTrading) {
        return new EnergyTrading(
            address(manager),
            _vaultTerms(paymentToken_),
            IGridManagement(grid_),
            IPriceOracle(oracle_),
            tickSize_,
            maxFills_,
            bandBps_,
            IEnergyTrading.StaleReferencePolicy.Refuse
        );
    }

    // ─────────────────────────────────────────────────────────────── governance

    function test_setMaxFillsPerCall_updatesAndEmits() public {
        vm.expectEmit(address(trading));
        emit IEnergyTrading.MaxFillsPerCallUpdated(256);
        trading.setMaxFillsPerCall(256);
        assertEq(trading.maxFillsPerCall(), 256);
        vm.expectEmit(address(trading));
        emit IEnergyTrading.MaxFillsPerCallUpdated(1);
        trading.setMaxFillsPerCall(1);
        assertEq(trading.maxFillsPerCall(), 1);
    }

    function test_setMaxFillsPerCall_revertsOutOfRange() public {
        vm.expectRevert(abi.encodeWithSelector(IEnergyTrading.TradingMaxFillsOutOfRange.selector, uint16(0)));
        trading.setMaxFillsPerCall(0);
        vm.expectRevert(abi.encodeWithSelector(IEnergyTrading.TradingMaxFillsOutOfRange.selector, uint16(257)));
        trading.setMaxFillsPerCall(257);
        assertEq(trading.maxFillsPerCall(), MAX_FILLS);
    }

    function test_setMaxFillsPerCall_revertsForStranger() public {
        vm.prank(stranger);
        vm.expectRevert(_unauthorized(stranger));
        trading.setMaxFillsPerCall(10);
    }

    function test_setPriceBand_updatesAndEmits() public {
        vm.expectEmit(address(trading));
        emit IEnergyTrading.PriceBandUpdated(10_000);
        trading.setPriceBand(10_000);
        assertEq(trading.priceBandBps(), 10_000);
        vm.expectEmit(address(trading));
        emit IEnergyTrading.PriceBandUpdated(0);
        trading.setPriceBand(0);
        assertEq(trading.priceBandBps(), 0);
    }

    function test_setPriceBand_revertsWhenTooWide() public {
        vm.expectRevert(abi.encodeWithSelector(IEnergyTrading.TradingPriceBandTooWide.selector, uint16(10_001)));
        trading.setPriceBand(10_001);
        assertEq(trading.priceBandBps(), PRICE_BAND_BPS);
    }

    function test_setPriceBand_revertsForStranger() public {
        vm.prank(stranger);
        vm.expectRevert(_unauthorized(stranger));
        trading.setPriceBand(100);
    }

    function test_setStaleReferencePolicy_updatesAndEmits() public {
        vm.expectEmit(address(trading));
        emit IEnergyTrading.StaleReferencePolicyUpdated(IEnergyTrading.StaleReferencePolicy.Refuse);
        trading.setStaleReferencePolicy(IEnergyTrading.StaleReferencePolicy.Refuse);
        assertEq(uint8(trading.staleReferencePolicy()), uint8(IEnergyTrading.StaleReferencePolicy.Refuse));
        vm.expectEmit(address(trading));
        emit IEnergyTrading.StaleReferencePolicyUpdated(IEnergyTrading.StaleReferencePolicy.Unbanded);
        trading.setStaleReferencePolicy(IEnergyTrading.StaleReferencePolicy.Unbanded);
        assertEq(uint8(trading.staleReferencePolicy()), uint8(IEnergyTrading.StaleReferencePolicy.Unbanded));
    }

    function test_setStaleReferencePolicy_revertsForStranger() public {
        vm.prank(stranger);
        vm.expectRevert(_unauthorized(stranger));
        trading.setStaleReferencePolicy(IEnergyTrading.StaleReferencePolicy.Refuse);
    }

    function test_setProtocolFee_updatesAndEmits() public {
        assertEq(trading.MAX_PROTOCOL_FEE_BPS(), settlement.MAX_PROTOCOL_FEE_BPS(), "one ceiling for both");
        vm.expectEmit(address(trading));
        emit IEnergyTrading.ProtocolFeeUpdated(500);
        trading.setProtocolFee(500);
        assertEq(trading.protocolFeeBps(), 500);
        vm.expectEmit(address(trading));
        emit IEnergyTrading.ProtocolFeeUpdated(0);
        trading.setProtocolFee(0);
        assertEq(trading.protocolFeeBps(), 0);
    }

    function test_setProtocolFee_revertsAboveMax() public {
        vm.expectRevert(abi.encodeWithSelector(IEnergyTrading.TradingProtocolFeeTooHigh.selector, uint16(501), uint16(500)));
        trading.setProtocolFee(501);
        assertEq(trading.protocolFeeBps(), PROTOCOL_FEE_BPS);
    }

    function test_setProtocolFee_revertsForStranger() public {
        vm.prank(stranger);
        vm.expectRevert(_unauthorized(stranger));
        trading.setProtocolFee(1);
        vm.prank(address(settlement)); // the vault is no governor either
        vm.expectRevert(_unauthorized(address(settlement)));
        trading.setProtocolFee(1);
    }

    /// @dev Takes, Dutch takes and matchOrders settle at the rate governance set last, which the vault accrues.
    function test_setProtocolFee_appliesToTheNextTrades() public {
        trading.setProtocolFee(500);
        uint256 firstAsk = _sell(bob, 1_000, PRICE);
        vm.expectEmit(address(settlement));
        emit ISettlement.TradesSettled(zone, 50, 500, 250_000, 1_250, 12_500);
        _buy(alice, 1_000, PRICE);
        assertEq(_availableUsd(alice), FUNDS_USD - 250_000 - 13_750);

        trading.setProtocolFee(0);
        uint256 dutch = _dutch(carol, 1_000, PRICE, PRICE, 1);
        vm.expectEmit(address(settlement));
        emit ISettlement.TradesSettled(zone, 50, 0, 250_000, 1_250, 0);
        vm.prank(alice);
        trading.takeDutchOrder(dutch, 1_000, PRICE);

        trading.setProtocolFee(100);
        uint256 bid = _buy(bob, 1_000, PRICE);
        uint256 ask = _dutch(carol, 1_000, PRICE, PRICE, 1);
        vm.expectEmit(address(settlement));
        emit ISettlement.TradesSettled(zone, 50, 100, 250_000, 1_250, 2_500);
        vm.prank(keeper);
        trading.matchOrders(bid, ask);
        assertEq(settlement.accruedProtocolFees(zone), 12_500 + 2_500);
        _assertConserved(_ids(firstAsk));
    }

    // ─────────────────────────────────────────────────────────────── createOrder: resting

    function test_createOrder_restsBuyAndLocksNotional() public {
        uint256 id = _limitId(BUY, PRICE, 0);
        uint64 expiry = _expiry();
        vm.expectEmit(address(trading));
        emit IEnergyTrading.OrderCreated(id, zone, alice, BUY, IEnergyTrading.Kind.Limit, 2_000, PRICE, expiry, 0);
        assertEq(_order(alice, BUY, 2_000, PRICE, expiry, 0), id);

        IEnergyTrading.OrderView memory o = trading.getOrder(id);
        assertEq(o.owner, alice);
        assertEq(o.zone, zone);
        assertEq(uint8(o.side), uint8(BUY));
        assertEq(uint8(o.kind), uint8(IEnergyTrading.Kind.Limit));
        assertEq(o.pricePerKWh, PRICE);
        assertEq(o.remainingWh, 2_000);
        assertEq(o.expiry, expiry);
        assertEq(_lockedUsd(alice), 500_000); // 2 kWh × 0.25 USD
        assertEq(_availableUsd(alice), FUNDS_USD - 500_000);
        assertEq(trading.bestBid(zone), PRICE);
        assertEq(trading.bestAsk(zone), 0);
        IEnergyTrading.Level memory lvl = trading.level(zone, BUY, PRICE);
        assertEq(lvl.head, 0);
        assertEq(lvl.tail, 1);
        assertEq(lvl.live, 1);
        assertEq(trading.committedOn(zone, alice, uint64(block.timestamp / 1 days)), 2_000);
        _assertEscrow(_ids(id));
    }

    function test_createOrder_restsSellAndLocksCredits() public {
        uint256 first = _sell(bob, 1_500, PRICE);
        uint256 second = _sell(carol, 700, PRICE);
        assertEq(first, _limitId(SELL, PRICE, 0));
        assertEq(second, _limitId(SELL, PRICE, 1));
        assertEq(_lockedWh(bob), 1_500);
        assertEq(_lockedWh(carol), 700);
        assertEq(trading.bestAsk(zone), PRICE);
        assertEq(trading.level(zone, SELL, PRICE).live, 2);
        _assertEscrow(_ids(first, second));
    }

    function test_createOrder_bestPricesTrackTheBook() public {
        _buy(alice, 100, 200_000);
        _buy(bob, 100, 240_000);
        _sell(carol, 100, 300_000);
        uint256 bestAskId = _sell(dave, 100, 260_000);
        assertEq(trading.bestBid(zone), 240_000);
        assertEq(trading.bestAsk(zone), 260_000);
        _cancel(dave, bestAskId);
        assertEq(trading.bestAsk(zone), 300_000);
        // far-apart ticks sit in different bitmap words
        _sell(dave, 100, 65_535 * TICK);
        _buy(alice, 100, TICK);
        assertEq(trading.bestAsk(zone), 300_000);
        assertEq(trading.bestBid(zone), 240_000);
        _assertNotCrossed();
    }

    // ─────────────────────────────────────────────────────────────── createOrder: matching

    /// @dev Asks: bob 1,000 @ 0.25 (oldest), carol 1,000 @ 0.24, dave 1,000 @ 0.25. Alice buys 2,500 up to 0.26:
    /// carol first (best price), then bob before dave (time), each at the maker's price.
    function test_createOrder_reportsEachMakerFillAsOneTradeExecuted() public {
        uint256 bobAsk = _sell(bob, 1_000, 250_000);
        uint256 carolAsk = _sell(carol, 1_000, 240_000);
        vm.recordLogs();
        uint256 takerId = _buy(alice, 1_500, 250_000);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        uint256 trades;
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].emitter != address(trading)) continue;
            bytes32 topic = logs[i].topics[0];
            assertTrue(topic != IEnergyTrading.OrderFilled.selector, "no OrderFilled in a taker's walk");
            if (topic != IEnergyTrading.TradeExecuted.selector) continue;
            // each names the maker's order, so an auditor replays the maker's remainder from it
            assertEq(uint256(logs[i].topics[2]), takerId, "buy side: the taker");
            assertEq(uint256(logs[i].topics[3]), trades == 0 ? carolAsk : bobAsk, "sell side: the maker, best first");
            ++trades;
        }
        assertEq(trades, 2);
        assertEq(trading.getOrder(bobAsk).remainingWh, 500);
    }

    function test_bestPrices_followTheBookAcrossBitmapWords() public {
        uint256 low = _sell(bob, 100, 240_000); // tick 240, leaf word 0
        uint256 mid = _sell(carol, 100, 250_000); // tick 250, word 0
        _sell(dave, 100, 300_000); // tick 300, word 1
        assertEq(trading.bestAsk(zone), 240_000);
        _cancel(bob, low); // word 0 still has tick 250
        assertEq(trading.bestAsk(zone), 250_000);
        _sell(bob, 100, 260_000); // not better: the best stays
        assertEq(trading.bestAsk(zone), 250_000);
        _cancel(carol, mid);
        assertEq(trading.bestAsk(zone), 260_000);
        uint256 lowBid = _buy(alice, 100, 200_000);
        assertEq(trading.bestBid(zone), 200_000);
        uint256 highBid = _buy(carol, 100, 255_000); // a new best bid in the same word
        assertEq(trading.bestBid(zone), 255_000);
        _cancel(carol, highBid);
        assertEq(trading.bestBid(zone), 200_000);
        // takers empty the best levels: the next best is found in the next word, then nothing is left
        _buy(alice, 100, 260_000);
        assertEq(trading.bestAsk(zone), 300_000);
        _buy(alice, 100, 300_000);
        assertEq(trading.bestAsk(zone), 0);
        _sell(dave, 100, 200_000);
        assertEq(trading.bestBid(zone), 0);
        assertEq(trading.getOrder(lowBid).unsettledWh, 100);
        _assertNotCrossed();
    }

    function test_createOrder_fillsByPriceTimePriorityAtMakerPrices() public {
        uint256 bobAsk = _sell(bob, 1_000, 250_000);
        uint256 carolAsk = _sell(carol, 1_000, 240_000);
        uint256 daveAsk = _sell(dave, 1_000, 250_000);
        uint256 takerId = _counterId(BUY, 260_000, 1);
        uint64 expiry = _expiry();
        uint256 usdBefore = _availableUsd(alice);

        vm.expectEmit(address(trading));
        emit IEnergyTrading.OrderCreated(takerId, zone, alice, BUY, IEnergyTrading.Kind.Limit, 2_500, 260_000, expiry, 0);
        vm.expectEmit(address(trading));
        emit IEnergyTrading.TradeExecuted(zone, takerId, carolAsk, alice, carol, 1_000, 240_000);
        vm.expectEmit(address(trading));
        emit IEnergyTrading.TradeExecuted(zone, takerId, bobAsk, alice, bob, 1_000, 250_000);
        vm.expectEmit(address(trading));
        emit IEnergyTrading.TradeExecuted(zone, takerId, daveAsk, alice, dave, 500, 250_000);
        assertEq(_order(alice, BUY, 2_500, 260_000, expiry, 0), takerId);

        // the buyer paid the makers' prices, not its limit, and the fee on the total on top
        uint256 notional = 240_000 + 250_000 + 125_000;
        assertEq(usdBefore - _availableUsd(alice), _cost(notional));
        assertEq(_fee(notional), 4_305); // off-peak: 70 bps
        assertEq(settlement.accruedZoneFees(zone) + settlement.accruedProtocolFees(zone), 4_305);
        assertEq(_lockedUsd(alice), 0);
        assertEq(_availableWh(alice), FUNDS_WH + 2_500);
        // the makers' side waits: their sold credits stay locked, their proceeds show as unsettled
        address[3] memory makers = [carol, bob, dave];
        for (uint256 i; i < makers.length; ++i) {
            assertEq(_availableUsd(makers[i]), FUNDS_USD, "maker not paid before settlement");
            assertEq(_lockedWh(makers[i]), 1_000, "sold credits stay locked");
        }
        assertEq(trading.getOrder(daveAsk).remainingWh, 500);
        assertEq(trading.getOrder(daveAsk).unsettledWh, 500);
        assertEq(trading.getOrder(bobAsk).remainingWh, 0, "filled, not live, but unsettled");
        assertEq(trading.getOrder(bobAsk).unsettledWh, 1_000);
        vm.expectRevert(_notFound(takerId));
        trading.getOrder(takerId);
        assertEq(trading.bestAsk(zone), 250_000);
        assertEq(trading.bestBid(zone), 0);
        uint256[] memory ids = _ids(bobAsk, carolAsk, daveAsk, takerId);
        _assertEscrow(ids);
        _assertConserved(ids);

        // settled, each maker gets the exact notional at its own price, no fee
        assertEq(_claim(ids), 3);
        assertEq(_availableUsd(carol), FUNDS_USD + 240_000);
        assertEq(_availableUsd(bob), FUNDS_USD + 250_000);
        assertEq(_availableUsd(dave), FUNDS_USD + 125_000);
        assertEq(_lockedWh(carol), 0);
        assertEq(_lockedWh(bob), 0);
        assertEq(_lockedWh(dave), 500);
        vm.expectRevert(_notFound(bobAsk));
        trading.getOrder(bobAsk);
        vm.expectRevert(_notFound(carolAsk));
        trading.getOrder(carolAsk);
        assertEq(trading.getOrder(daveAsk).unsettledWh, 0);
        _assertEscrow(ids);
        _assertConserved();
    }

    function test_createOrder_partialFillRestsRemainderAtLimit() public {
        uint256 ask = _sell(bob, 1_000, 240_000);
        uint256 bid = _buy(alice, 1_500, 250_000);
        assertEq(bid, _counterId(BUY, 250_000, 1));
        assertEq(trading.getOrder(bid).remainingWh, 500);
        assertEq(_lockedUsd(alice), _notional(500, 250_000));
        assertEq(_availableUsd(alice), FUNDS_USD - _cost(_notional(1_000, 240_000)) - _notional(500, 250_000));
        assertEq(trading.bestBid(zone), 250_000);
        assertEq(trading.bestAsk(zone), 0);
        _assertEscrow(_ids(ask, bid));
        _assertConserved(_ids(ask, bid));
    }

    // ─────────────────────────────────────────────────────────────── createOrder: a price never used before

    function test_createOrder_takerAtUnusedPrice_drawsCounterIdAndLeavesLevelUnused() public {
        uint256 ask = _sell(bob, 1_000, 240_000);
        uint256 takerId = _counterId(BUY, 250_000, 1);
        vm.expectEmit(address(trading));
        emit IEnergyTrading.OrderCreated(takerId, zone, alice, BUY, IEnergyTrading.Kind.Limit, 1_000, 250_000, _expiry(), 0);
        vm.expectEmit(address(trading));
        emit IEnergyTrading.TradeExecuted(zone, takerId, ask, alice, bob, 1_000, 240_000);
        assertEq(_buy(alice, 1_000, 250_000), takerId);
        _assertLevel(BUY, 250_000, 0, 0, 0); // filled completely: it never queued, its level stays unused

        // the next crossing order there draws the next number; an immediate order shares the counter
        uint256 ask2 = _sell(carol, 2_000, 240_000);
        assertEq(_buy(alice, 1_000, 250_000), _counterId(BUY, 250_000, 2));
        assertEq(_order(alice, BUY, 1_000, 250_000, _expiry(), IOC), _immediateId(BUY, 250_000, 3));
        _assertLevel(BUY, 250_000, 0, 0, 0);

        // an order that does not cross starts the queue at 0, below every counter number
        uint256 resting = _buy(dave, 1_000, 250_000);
        assertEq(resting, _limitId(BUY, 250_000, 0));
        _assertLevel(BUY, 250_000, 0, 1, 1);
        uint256[] memory ids = _ids(ask, ask2, resting);
        _assertEscrow(ids);
        _assertConserved(ids);
    }

    function test_createOrder_takerAtUnusedPrice_restsItsRemainderUnderItsCounterId() public {
        uint256 ask = _sell(bob, 1_000, 240_000);
        uint256 bid = _buy(alice, 1_500, 250_000);
        assertEq(bid, _counterId(BUY, 250_000, 1));
        assertEq(trading.getOrder(bid).remainingWh, 500);
        assertEq(trading.bestBid(zone), 250_000);
        // the level's queue starts at the order's number and goes on from there
        _assertLevel(BUY, 250_000, COUNTER_SEQ | 1, COUNTER_SEQ | 2, 1);
        uint256 next = _buy(carol, 700, 250_000);
        assertEq(next, _limitId(BUY, 250_000, COUNTER_SEQ | 2));
        _assertLevel(BUY, 250_000, COUNTER_SEQ | 1, COUNTER_SEQ | 3, 2);

        // a seller fills them oldest first (its own price was unused too: the counter's next number)
        uint256 sellerId = _counterId(SELL, 250_000, 2);
        vm.expectEmit(address(trading));
        emit IEnergyTrading.TradeExecuted(zone, bid, sellerId, alice, dave, 500, 250_000);
        vm.expectEmit(address(trading));
        emit IEnergyTrading.TradeExecuted(zone, next, sellerId, carol, dave, 100, 250_000);
        assertEq(_sell(dave, 600, 250_000), sellerId);
        _assertLevel(BUY, 250_000, COUNTER_SEQ | 2, COUNTER_SEQ | 3, 1);
        _assertLevel(SELL, 250_000, 0, 0, 0);

        // cancelling the last one empties the level and the bid side
        vm.prank(carol);
        trading.cancelOrder(next);
        _assertLevel(BUY, 250_000, COUNTER_SEQ | 3, COUNTER_SEQ | 3, 0);
        assertEq(trading.bestBid(zone), 0);
        uint256[] memory ids = _ids(ask, bid, next);
        assertEq(_claim(ids), 2);
        _assertEscrow(ids);
        _assertConserved();
    }

    /// @dev A queue that started at a counter number continues above bit 63: a later order there that crosses
    /// and fills completely still takes (and skips) a queue index, so no id repeats.
    function test_createOrder_takerAtPriceFirstUsedByTheCounter_skipsItsQueueSlot() public {
        uint256 first = _sell(bob, 1_000, 240_000);
        uint256 bid = _buy(alice, 1_500, 250_000); // rests 500 under counter number 1
        _assertLevel(BUY, 250_000, COUNTER_SEQ | 1, COUNTER_SEQ | 2, 1);
        vm.prank(alice);
        trading.cancelOrder(bid);
        _assertLevel(BUY, 250_000, COUNTER_SEQ | 2, COUNTER_SEQ | 2, 0);

        uint256 ask = _sell(carol, 1_000, 240_000);
        uint256 takerId = _limitId(BUY, 250_000, COUNTER_SEQ | 2);
        vm.expectEmit(address(trading));
        emit IEnergyTrading.TradeExecuted(zone, takerId, ask, dave, carol, 1_000, 240_000);
        assertEq(_buy(dave, 1_000, 250_000), takerId);
        _assertLevel(BUY, 250_000, COUNTER_SEQ | 3, COUNTER_SEQ | 3, 0);
        uint256 next = _buy(dave, 1_000, 250_000);
        assertEq(next, _limitId(BUY, 250_000, COUNTER_SEQ | 3));
        _assertLevel(BUY, 250_000, COUNTER_SEQ | 3, COUNTER_SEQ | 4, 1);
        uint256[] memory ids = new uint256[](5);
        (ids[0], ids[1], ids[2], ids[3], ids[4]) = (first, bid, ask, takerId, next);
        _assertEscrow(ids);
        _assertConserved(ids);
    }

    function test_createOrder_takerAtUsedPrice_skipsItsQueueSlot() public {
        uint256 first = _buy(alice, 1_000, PRICE);
        vm.prank(alice);
        trading.cancelOrder(first);
        _assertLevel(BUY, PRICE, 1, 1, 0);
        uint256 ask = _sell(bob, 1_000, PRICE);
        // the level was used, so the crossing taker takes the next queue index and skips it
        uint256 takerId = _limitId(BUY, PRICE, 1);
        vm.expectEmit(address(trading));
        emit IEnergyTrading.TradeExecuted(zone, takerId, ask, alice, bob, 1_000, PRICE);
        assertEq(_buy(alice, 1_000, PRICE), takerId);
        _assertLevel(BUY, PRICE, 2, 2, 0);
        uint256 next = _buy(carol, 1_000, PRICE);
        assertEq(next, _limitId(BUY, PRICE, 2));
        _assertLevel(BUY, PRICE, 2, 3, 1);
        uint256[] memory ids = _ids(first, ask, takerId, next);
        _assertEscrow(ids);
        _assertConserved(ids);
    }

    function _assertLevel(IEnergyTrading.Side side, uint128 price, uint64 head, uint64 tail, uint64 live) internal view {
        IEnergyTrading.Level memory lvl = trading.level(zone, side, price);
        assertEq(lvl.head, head, "head");
        assertEq(lvl.tail, tail, "tail");
        assertEq(lvl.live, live, "live");
    }

    function test_createOrder_sellTakerHitsHighestBidFirst() public {
        uint256 lowBid = _buy(bob, 1_000, 250_000);
        uint256 highBid = _buy(carol, 1_000, 260_000);
        uint256 takerId = _counterId(SELL, 240_000, 1);
        vm.expectEmit(address(trading));
        emit IEnergyTrading.TradeExecuted(zone, highBid, takerId, carol, alice, 1_000, 260_000);
        vm.expectEmit(address(trading));
        emit IEnergyTrading.TradeExecuted(zone, lowBid, takerId, bob, alice, 500, 250_000);
        _sell(alice, 1_500, 240_000);

        // the selling taker receives the notional at the makers' prices less the fee on the total
        uint256 notional = _notional(1_000, 260_000) + _notional(500, 250_000);
        assertEq(_availableUsd(alice), FUNDS_USD + notional - _fee(notional));
        assertEq(_availableWh(alice), FUNDS_WH - 1_500);
        // the buying makers receive their credits on settlement; their payment stays locked until then
        assertEq(_availableWh(carol), FUNDS_WH);
        assertEq(_availableWh(bob), FUNDS_WH);
        assertEq(_lockedUsd(bob), _notional(1_000, 250_000));
        assertEq(_lockedUsd(carol), _notional(1_000, 260_000));
        uint256[] memory ids = _ids(lowBid, highBid, takerId);
        _assertEscrow(ids);
        _assertConserved(ids);

        assertEq(_claim(ids), 2);
        assertEq(_availableWh(carol), FUNDS_WH + 1_000);
        assertEq(_availableWh(bob), FUNDS_WH + 500);
        assertEq(_lockedUsd(bob), _notional(500, 250_000));
        assertEq(_lockedUsd(carol), 0);
        assertEq(_availableUsd(carol), FUNDS_USD - _notional(1_000, 260_000), "a buying maker pays its price, no fee");
        _assertEscrow(ids);
        _assertConserved();
    }

    function test_createOrder_doesNotCrossWorsePrices() public {
        _sell(bob, 1_000, 260_000);
        uint256 bid = _buy(alice, 1_000, 250_000);
        assertEq(trading.getOrder(bid).remainingWh, 1_000);
        assertEq(_availableWh(alice), FUNDS_WH);
        _assertNotCrossed();
    }

    function test_createOrder_returnsCrossingRemainderAtFillLimit() public {
        trading.setMaxFillsPerCall(3);
        uint256[5] memory asks;
        for (uint256 i; i < 5; ++i) {
            asks[i] = _sell(bob, 100, PRICE);
        }
        uint256 takerId = _counterId(BUY, PRICE, 1);
        vm.expectEmit(address(trading));
        emit IEnergyTrading.OrderCancelled(takerId, alice, 700, IEnergyTrading.CancelReason.FillLimit);
        _buy(alice, 1_000, PRICE);

        assertEq(_availableWh(alice), FUNDS_WH + 300, "three fills");
        assertEq(_lockedUsd(alice), 0, "nothing rests");
        assertEq(_availableUsd(alice), FUNDS_USD - _cost(_notional(300, PRICE)));
        vm.expectRevert(_notFound(takerId));
        trading.getOrder(takerId);
        assertEq(trading.bestBid(zone), 0);
        assertEq(trading.bestAsk(zone), PRICE);
        assertEq(trading.level(zone, SELL, PRICE).live, 2);
        // the taker crossed at a price no bid had used: it drew a counter number and its level stays unused
        _assertLevel(BUY, PRICE, 0, 0, 0);
        _assertNotCrossed();
        uint256[] memory ids = new uint256[](6);
        for (uint256 i; i < 5; ++i) {
            ids[i] = asks[i];
        }
        ids[5] = takerId;
        _assertEscrow(ids);
        _assertConserved(ids);
        assertEq(_claim(ids), 3, "the three filled asks");
        _assertEscrow(ids);
        _assertConserved();
    }

    function test_createOrder_restsRemainderWhenBoundIsHitButBookNoLongerCrosses() public {
        trading.setMaxFillsPerCall(3);
        for (uint256 i; i < 3; ++i) {
            _sell(bob, 100, PRICE);
        }
        _sell(bob, 100, PRICE + TICK); // above the taker's limit
        uint256 bid = _buy(alice, 1_000, PRICE);
        assertEq(trading.getOrder(bid).remainingWh, 700);
        assertEq(_lockedUsd(alice), _notional(700, PRICE));
        _assertNotCrossed();
    }

    function test_createOrder_sellTakerReturnsCrossingRemainderAtFillLimit() public {
        trading.setMaxFillsPerCall(2);
        uint256 b0 = _buy(bob, 100, 260_000);
        uint256 b1 = _buy(carol, 100, PRICE);
        uint256 b2 = _buy(dave, 100, 240_000);
        uint256 takerId = _counterId(SELL, 240_000, 1);
        vm.expectEmit(address(trading));
        emit IEnergyTrading.OrderCancelled(takerId, alice, 300, IEnergyTrading.CancelReason.FillLimit);
        _sell(alice, 500, 240_000);
        assertEq(_availableWh(alice), FUNDS_WH - 200, "only the fills left the seller");
        assertEq(_lockedWh(alice), 0);
        assertEq(trading.bestBid(zone), 240_000);
        assertEq(trading.bestAsk(zone), 0);
        _assertEscrow(_ids(b0, b1, b2, takerId));
        _assertConserved(_ids(b0, b1, b2, takerId));
    }

    /// @dev An immediate order stopped by the bound returns its remainder like any IOC (nothing rests, so the
    /// book cannot be left crossed); the reason stays ImmediateOrCancel.
    function test_createOrder_immediateOrCancelStoppedByTheFillLimitRestsNothing() public {
        trading.setMaxFillsPerCall(2);
        for (uint256 i; i < 3; ++i) {
            _sell(bob, 100, PRICE);
        }
        uint256 takerId = _immediateId(BUY, PRICE, 1);
        vm.expectEmit(address(trading));
        emit IEnergyTrading.OrderCancelled(takerId, alice, 100, IEnergyTrading.CancelReason.ImmediateOrCancel);
        _order(alice, BUY, 300, PRICE, _expiry(), IOC);
        assertEq(_availableWh(alice), FUNDS_WH + 200);
        assertEq(_lockedUsd(alice), 0);
        assertEq(trading.bestBid(zone), 0);
        assertEq(trading.level(zone, SELL, PRICE).live, 1);
    }

    function test_createOrder_expiredMakersCountTowardsFillLimit() public {
        trading.setMaxFillsPerCall(2);
        vm.prank(bob);
        uint256 expiring = trading.createOrder(zone, SELL, 100, PRICE, uint64(block.timestamp + 10), 0);
        uint256 live1 = _sell(carol, 100, PRICE);
        uint256 live2 = _sell(dave, 100, PRICE);
        vm.warp(block.timestamp + 10);
        uint256 takerId = _counterId(BUY, PRICE, 1);
        vm.expectEmit(address(trading));
        emit IEnergyTrading.OrderExpired(expiring, bob, 100);
        vm.expectEmit(address(trading));
        emit IEnergyTrading.TradeExecuted(zone, takerId, live1, alice, carol, 100, PRICE);
        vm.expectEmit(address(trading));
        emit IEnergyTrading.OrderCancelled(takerId, alice, 200, IEnergyTrading.CancelReason.FillLimit);
        _buy(alice, 300, PRICE);
        assertEq(_availableWh(alice), FUNDS_WH + 100);
        assertEq(_lockedWh(bob), 0);
        assertEq(_availableWh(bob), FUNDS_WH);
        _assertEscrow(_ids(expiring, live1, live2, takerId));
        _assertNotCrossed();
    }

    function test_createOrder_takerCanBeSelfMatched() public {
        uint256 ask = _sell(alice, 1_000, PRICE);
        _buy(alice, 1_000, PRICE);
        // as taker: paid notional + fee, received the credits; as maker: the sold credits wait in escrow
        assertEq(_availableWh(alice), FUNDS_WH);
        assertEq(_lockedWh(alice), 1_000);
        assertEq(_availableUsd(alice), FUNDS_USD - _cost(_notional(1_000, PRICE)));
        _assertEscrow(_ids(ask));
        _assertConserved(_ids(ask));
        _claim(_ids(ask));
        assertEq(_lockedWh(alice), 0);
        assertEq(_availableWh(alice), FUNDS_WH - 1_000 + 1_000);
        assertEq(_availableUsd(alice), FUNDS_USD - _fee(_notional(1_000, PRICE)), "only the fee is lost");
        _assertEscrow(_ids(ask));
        _assertConserved();
    }

    function test_createOrder_revertsWhenTakerCannotPay() public {
        _sell(bob, 1_000, PRICE);
        uint256 cost = _cost(_notional(1_000, PRICE));
        vm.prank(stranger);
        vm.expectRevert(
            abi.encodeWithSelector(ISettlement.SettlementInsufficientAvailable.selector, stranger, address(usd), 0, cost)
        );
        trading.createOrder(zone, BUY, 1_000, PRICE, _expiry(), 0);
    }

    /// @dev A buying taker pays the fees on top of the notional: covering only the notional is not enough.
    function test_createOrder_revertsWhenBuyingTakerCannotCoverTheFees() public {
        uint256 ask = _sell(bob, 1_000, PRICE);
        uint256 notional = _notional(1_000, PRICE);
        uint256 cost = _cost(notional);
        assertGt(cost, notional);
        _deposit(stranger, cost - 1, 0);
        vm.prank(stranger);
        vm.expectRevert(
            abi.encodeWithSelector(
                ISettlement.SettlementInsufficientAvailable.selector, stranger, address(usd), cost - 1, cost
            )
        );
        trading.createOrder(zone, BUY, 1_000, PRICE, _expiry(), IOC);
        assertEq(trading.getOrder(ask).remainingWh, 1_000, "nothing filled");
        assertEq(trading.getOrder(ask).unsettledWh, 0);
        // one more base unit and it pays exactly notional + fee
        _deposit(stranger, 1, 0);
        _order(stranger, BUY, 1_000, PRICE, _expiry(), IOC);
        assertEq(_availableUsd(stranger), 0);
        assertEq(_availableWh(stranger), 1_000);
        assertEq(trading.getOrder(ask).unsettledWh, 1_000);
    }

    // ─────────────────────────────────────────────────────────────── createOrder: flags

    function test_createOrder_immediateOrCancelReturnsTheRest() public {
        uint256 ask = _sell(bob, 600, PRICE);
        uint256 takerId = _immediateId(BUY, PRICE, 1);
        uint64 expiry = _expiry();
        vm.expectEmit(address(trading));
        emit IEnergyTrading.OrderCreated(takerId, zone, alice, BUY, IEnergyTrading.Kind.Immediate, 1_000, PRICE, expiry, IOC);
        vm.expectEmit(address(trading));
        emit IEnergyTrading.TradeExecuted(zone, takerId, ask, alice, bob, 600, PRICE);
        vm.expectEmit(address(trading));
        emit IEnergyTrading.OrderCancelled(takerId, alice, 400, IEnergyTrading.CancelReason.ImmediateOrCancel);
        assertEq(_order(alice, BUY, 1_000, PRICE, expiry, IOC), takerId);

        assertEq(_availableWh(alice), FUNDS_WH + 600);
        assertEq(_lockedUsd(alice), 0);
        assertEq(trading.bestBid(zone), 0);
        vm.expectRevert(_notFound(takerId));
        trading.getOrder(takerId);
        // immediate ids come from their own counter
        assertEq(_order(alice, BUY, 100, PRICE, expiry, IOC), _immediateId(BUY, PRICE, 2));
        _assertConserved(_ids(ask));
    }

    function test_createOrder_immediateOrCancelWithoutMatchNeedsNoBalance() public {
        uint256 takerId = _immediateId(SELL, PRICE, 1);
        vm.expectEmit(address(trading));
        emit IEnergyTrading.OrderCancelled(takerId, stranger, 500, IEnergyTrading.CancelReason.ImmediateOrCancel);
        _order(stranger, SELL, 500, PRICE, _expiry(), IOC);
        assertEq(trading.bestAsk(zone), 0);
    }

    function test_createOrder_fillOrKillFillsCompletely() public {
        _sell(bob, 600, PRICE);
        _sell(carol, 400, 240_000);
        vm.recordLogs();
        _order(alice, BUY, 1_000, PRICE, _expiry(), FOK);
        assertEq(_availableWh(alice), FUNDS_WH + 1_000);
        assertEq(_availableUsd(alice), FUNDS_USD - _cost(_notional(600, PRICE) + _notional(400, 240_000)));
        assertEq(trading.bestAsk(zone), 0);
        bytes32 cancelled = IEnergyTrading.OrderCancelled.selector;
        assertEq(cancelled, keccak256("OrderCancelled(uint256,address,uint64,uint8)"));
        _assertNoLog(cancelled);
    }

    function test_createOrder_fillOrKillRevertsWhenNotFilled() public {
        uint256 ask = _sell(bob, 600, PRICE);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(IEnergyTrading.TradingFillOrKillNotFilled.selector, uint64(600), uint64(1_000)));
        trading.createOrder(zone, BUY, 1_000, PRICE, _expiry(), FOK);
        assertEq(trading.getOrder(ask).remainingWh, 600);
        assertEq(_availableWh(alice), FUNDS_WH);
    }

    function test_createOrder_fillOrKillRevertsAtFillLimit() public {
        trading.setMaxFillsPerCall(2);
        for (uint256 i; i < 3; ++i) {
            _sell(bob, 100, PRICE);
        }
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(IEnergyTrading.TradingFillOrKillNotFilled.selector, uint64(200), uint64(300)));
        trading.createOrder(zone, BUY, 300, PRICE, _expiry(), FOK);
    }

    function test_createOrder_postOnlyRests() public {
        _sell(bob, 100, 260_000);
        uint256 bid = _order(alice, BUY, 1_000, PRICE, _expiry(), POST_ONLY);
        assertEq(bid, _limitId(BUY, PRICE, 0));
        assertEq(trading.getOrder(bid).remainingWh, 1_000);
        assertEq(_lockedUsd(alice), _notional(1_000, PRICE));
    }

    function test_createOrder_postOnlyRevertsWhenItWouldCross() public {
        _sell(bob, 100, PRICE);
        _buy(carol, 100, 240_000);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(IEnergyTrading.TradingPostOnlyWouldCross.selector, PRICE, PRICE));
        trading.createOrder(zone, BUY, 1_000, PRICE, _expiry(), POST_ONLY);
        vm.prank(alice);
        vm.expectRevert(
            abi.encodeWithSelector(IEnergyTrading.TradingPostOnlyWouldCross.selector, uint128(230_000), uint128(240_000))
        );
        trading.createOrder(zone, SELL, 1_000, 230_000, _expiry(), POST_ONLY);
    }

    function test_createOrder_revertsOnInvalidFlags() public {
        uint8[6] memory bad = [IOC | FOK, IOC | POST_ONLY, FOK | POST_ONLY, IOC | FOK | POST_ONLY, 8, 0xff];
        for (uint256 i; i < bad.length; ++i) {
            vm.prank(alice);
            vm.expectRevert(abi.encodeWithSelector(IEnergyTrading.TradingInvalidFlags.selector, bad[i]));
            trading.createOrder(zone, BUY, 1_000, PRICE, _expiry(), bad[i]);
        }
    }

    // ─────────────────────────────────────────────────────────────── createOrder: validation

    function test_createOrder_revertsOnZeroAmount() public {
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(IEnergyTrading.TradingZeroAmount.selector));
        trading.createOrder(zone, BUY, 0, PRICE, _expiry(), 0);
    }

    function test_createOrder_revertsOnAmountTooLarge() public {
        grid.setComplianceLimits(
            zone,
            IGridManagement.ComplianceLimits({
                minOrderWh: MIN_WH,
                maxOrderWh: type(uint64).max,
                maxDailyTradedWhPerAccount: type(uint64).max
            })
        );
        uint64 tooLarge = uint64(type(uint32).max) + 1;
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(IEnergyTrading.TradingAmountTooLarge.selector, tooLarge));
        trading.createOrder(zone, SELL, tooLarge, PRICE, _expiry(), IOC);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(IEnergyTrading.TradingAmountTooLarge.selector, type(uint64).max));
        trading.createOrder(zone, SELL, type(uint64).max, PRICE, _expiry(), IOC);
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(IEnergyTrading.TradingAmountTooLarge.selector, tooLarge));
        trading.createDutchOrder(zone, tooLarge, PRICE, PRICE, 1, _expiry());
        // the largest amount is accepted (nothing to match, so the IOC needs no balance)
        _order(alice, SELL, type(uint32).max, PRICE, _expiry(), IOC);
    }

    /// @dev An order of MAX_AMOUNT_WH = 2^32 − 1 Wh rests, fills completely as a maker and settles: the
    /// packed uint32 remaining and filled amounts hold it exactly.
    function test_createOrder_largestAmountRestsFillsAndSettles() public {
        grid.setComplianceLimits(
            zone,
            IGridManagement.ComplianceLimits({
                minOrderWh: MIN_WH,
                maxOrderWh: type(uint64).max,
                maxDailyTradedWhPerAccount: type(uint64).max
            })
        );
        uint64 maxWh = type(uint32).max;
        _deposit(alice, 0, maxWh);
        // every packed field at its largest: amount and expiry both 2^32 − 1
        uint256 ask = _order(alice, SELL, maxWh, TICK, type(uint32).max, 0);
        assertEq(trading.getOrder(ask).remainingWh, maxWh);
        assertEq(_lockedWh(alice), maxWh);
        uint256 notional = _notional(maxWh, TICK); // 4,294,967,295 base units
        assertEq(notional, maxWh);
        _buy(bob, maxWh - MIN_WH, TICK);
        IEnergyTrading.OrderView memory o = trading.getOrder(ask);
        assertEq(o.owner, alice);
        assertEq(o.remainingWh, MIN_WH);
        assertEq(o.unsettledWh, maxWh - MIN_WH);
        assertEq(o.expiry, type(uint32).max);
        _buy(carol, MIN_WH, TICK);
        assertEq(_availableWh(bob), FUNDS_WH + maxWh - MIN_WH);
        assertEq(_availableUsd(bob), FUNDS_USD - _cost(notional - MIN_WH));
        o = trading.getOrder(ask);
        assertEq(o.owner, alice);
        assertEq(o.remainingWh, 0);
        assertEq(o.unsettledWh, maxWh);
        assertEq(o.expiry, type(uint32).max);
        (address owner, IEnergyTrading.Side side, uint64 filledWh, uint256 owed) = trading.unsettledFills(ask);
        assertEq(owner, alice);
        assertEq(uint8(side), uint8(SELL));
        assertEq(filledWh, maxWh);
        assertEq(owed, notional);
        vm.expectEmit(address(trading));
        emit IEnergyTrading.FillsSettled(ask, alice, maxWh, notional);
        _claim(_ids(ask));
        assertEq(_lockedWh(alice), 0);
        assertEq(_availableUsd(alice), FUNDS_USD + notional);
        assertEq(_availableWh(alice), FUNDS_WH);
    }

    function test_createOrder_enforcesMinOrderSize() public {
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(IEnergyTrading.TradingOrderTooSmall.selector, MIN_WH - 1, MIN_WH));
        trading.createOrder(zone, BUY, MIN_WH - 1, PRICE, _expiry(), 0);
        uint256 id = _buy(alice, MIN_WH, PRICE);
        assertEq(trading.getOrder(id).remainingWh, MIN_WH);
    }

    function test_createOrder_enforcesMaxOrderSize() public {
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(IEnergyTrading.TradingOrderTooLarge.selector, MAX_WH + 1, MAX_WH));
        trading.createOrder(zone, SELL, MAX_WH + 1, PRICE, _expiry(), 0);
        uint256 id = _sell(alice, MAX_WH, PRICE);
        assertEq(trading.getOrder(id).remainingWh, MAX_WH);
    }

    function test_createOrder_revertsOnInvalidPrice() public {
        uint128[4] memory bad = [uint128(0), PRICE + 1, PRICE + TICK / 2, (uint128(type(uint16).max) + 1) * TICK];
        for (uint256 i; i < bad.length; ++i) {
            vm.prank(alice);
            vm.expectRevert(abi.encodeWithSelector(IEnergyTrading.TradingInvalidPrice.selector, bad[i]));
            trading.createOrder(zone, SELL, 1_000, bad[i], _expiry(), 0);
        }
        // the lowest and highest ticks are valid (no reference posted: unbanded)
        _sell(alice, 1_000, uint128(type(uint16).max) * TICK);
        _buy(alice, 1_000, TICK);
        assertEq(trading.bestAsk(zone), uint128(type(uint16).max) * TICK);
        assertEq(trading.bestBid(zone), TICK);
    }

    function test_createOrder_revertsWhenExpiryIsNowOrPast() public {
        uint64 nowTs = uint64(block.timestamp);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(IEnergyTrading.TradingExpiryNotInFuture.selector, nowTs, nowTs));
        trading.createOrder(zone, BUY, 1_000, PRICE, nowTs, 0);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(IEnergyTrading.TradingExpiryNotInFuture.selector, nowTs - 1, nowTs));
        trading.createOrder(zone, BUY, 1_000, PRICE, nowTs - 1, 0);
        _order(alice, BUY, 1_000, PRICE, nowTs + 1, 0);
    }

    function test_createOrder_revertsWhenExpiryTooFar() public {
        uint64 tooFar = uint64(type(uint32).max) + 1;
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(IEnergyTrading.TradingExpiryTooFar.selector, tooFar));
        trading.createOrder(zone, BUY, 1_000, PRICE, tooFar, 0);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(IEnergyTrading.TradingExpiryTooFar.selector, type(uint64).max));
        trading.createOrder(zone, BUY, 1_000, PRICE, type(uint64).max, 0);
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(IEnergyTrading.TradingExpiryTooFar.selector, tooFar));
        trading.createDutchOrder(zone, 1_000, PRICE, PRICE, 1, tooFar);
        // the last second that fits 32 bits (2106-02-07 06:28:15 UTC) is accepted and stored exactly
        uint256 id = _order(alice, BUY, 1_000, PRICE, type(uint32).max, 0);
        assertEq(trading.getOrder(id).expiry, type(uint32).max);
        vm.prank(bob);
        uint256 dutch = trading.createDutchOrder(zone, 1_000, PRICE, PRICE, 1, type(uint32).max);
        assertEq(trading.getOrder(dutch).expiry, type(uint32).max);
        // and it is live until then
        vm.warp(uint256(type(uint32).max) - 1);
        vm.prank(keeper);
        assertEq(trading.expireOrders(_ids(id, dutch)), 0);
        vm.warp(type(uint32).max);
        vm.prank(keeper);
        assertEq(trading.expireOrders(_ids(id, dutch)), 2);
    }

    function test_createOrder_revertsInUnknownOrInactiveZone() public {
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(IEnergyTrading.TradingZoneClosed.selector, uint32(999)));
        trading.createOrder(999, BUY, 1_000, PRICE, _expiry(), 0);
        grid.setZoneActive(zone, false);
        vm.prank(alice);
        vm.expectRevert(_zoneClosed());
        trading.createOrder(zone, BUY, 1_000, PRICE, _expiry(), 0);
    }

    // ─────────────────────────────────────────────────────────────── halts and pause

    function test_createOrder_revertsWhileZoneHalted() public {
        _halt();
        vm.prank(alice);
        vm.expectRevert(_zoneClosed());
        trading.createOrder(zone, BUY, 1_000, PRICE, _expiry(), 0);
        vm.prank(gridOperator);
        grid.resumeZone(zone);
        _buy(alice, 1_000, PRICE);
    }

    function test_createOrder_revertsWhilePaused() public {
        _pause();
        vm.prank(alice);
        vm.expectRevert(_zoneClosed());
        trading.createOrder(zone, SELL, 1_000, PRICE, _expiry(), 0);
    }

    function test_createDutchOrder_revertsWhileHaltedOrPaused() public {
        _halt();
        vm.prank(bob);
        vm.expectRevert(_zoneClosed());
        trading.createDutchOrder(zone, 1_000, 300_000, 200_000, 1_000, _expiry());
        vm.prank(gridOperator);
        grid.resumeZone(zone);
        _pause();
        vm.prank(bob);
        vm.expectRevert(_zoneClosed());
        trading.createDutchOrder(zone, 1_000, 300_000, 200_000, 1_000, _expiry());
    }

    function test_takeDutchOrder_revertsWhileHaltedOrPaused() public {
        uint256 id = _dutch(bob, 1_000, 300_000, 200_000, 1_000);
        _halt();
        vm.prank(alice);
        vm.expectRevert(_zoneClosed());
        trading.takeDutchOrder(id, 500, 300_000);
        vm.prank(gridOperator);
        grid.resumeZone(zone);
        _pause();
        vm.prank(alice);
        vm.expectRevert(_zoneClosed());
        trading.takeDutchOrder(id, 500, 300_000);
        assertEq(trading.getOrder(id).remainingWh, 1_000);
    }

    function test_matchOrders_revertsWhileHaltedOrPaused() public {
        uint256 bid = _buy(alice, 1_000, PRICE);
        uint256 ask = _dutch(bob, 1_000, PRICE, PRICE, 1_000);
        _halt();
        vm.prank(keeper);
        vm.expectRevert(_zoneClosed());
        trading.matchOrders(bid, ask);
        vm.prank(gridOperator);
        grid.resumeZone(zone);
        _pause();
        vm.prank(keeper);
        vm.expectRevert(_zoneClosed());
        trading.matchOrders(bid, ask);
    }

    // ─────────────────────────────────────────────────────────────── cancelOrder

    function test_cancelOrder_returnsEscrowAndLeavesTheBook() public {
        uint256 bid = _buy(alice, 2_000, PRICE);
        vm.expectEmit(address(trading));
        emit IEnergyTrading.OrderCancelled(bid, alice, 2_000, IEnergyTrading.CancelReason.Owner);
        _cancel(alice, bid);
        assertEq(_lockedUsd(alice), 0);
        assertEq(_availableUsd(alice), FUNDS_USD);
        assertEq(trading.bestBid(zone), 0);
        IEnergyTrading.Level memory lvl = trading.level(zone, BUY, PRICE);
        assertEq(lvl.live, 0);
        assertEq(lvl.head, lvl.tail);
        vm.expectRevert(_notFound(bid));
        trading.getOrder(bid);
        // the cancelled amount stays counted against the daily cap
        assertEq(trading.committedOn(zone, alice, uint64(block.timestamp / 1 days)), 2_000);
    }

    /// @dev Cancelling a partially filled order settles its unsettled fills (exact notional, no fee) and
    /// unlocks the rest of its escrow, in one call.
    function test_cancelOrder_returnsOnlyTheRemainderOfAPartialFill() public {
        uint256 ask = _sell(bob, 1_000, PRICE);
        _buy(alice, 400, PRICE);
        assertEq(_lockedWh(bob), 1_000, "the sold 400 Wh stay locked until settlement");
        assertEq(_availableUsd(bob), FUNDS_USD);
        vm.expectEmit(address(trading));
        emit IEnergyTrading.OrderCancelled(ask, bob, 600, IEnergyTrading.CancelReason.Owner);
        vm.expectEmit(address(trading));
        emit IEnergyTrading.FillsSettled(ask, bob, 400, _notional(400, PRICE));
        vm.expectEmit(address(settlement));
        emit ISettlement.Unlocked(bob, address(token), 600);
        vm.expectEmit(address(settlement));
        emit ISettlement.MakerSettled(bob, false, 400, _notional(400, PRICE));
        _cancel(bob, ask);
        assertEq(_lockedWh(bob), 0);
        assertEq(_availableWh(bob), FUNDS_WH - 400);
        assertEq(_availableUsd(bob), FUNDS_USD + _notional(400, PRICE));
        ISettlement.Statement memory st = settlement.statement(bob, _month());
        assertEq(st.soldWh, 400);
        assertEq(st.earned, _notional(400, PRICE));
        assertEq(st.fees, 0, "a maker pays no fee");
        vm.expectRevert(_notFound(ask));
        trading.getOrder(ask);
        (address owner,, uint64 filledWh, uint256 notional) = trading.unsettledFills(ask);
        assertEq(owner, address(0));
        assertEq(filledWh, 0);
        assertEq(notional, 0);
        assertEq(trading.bestAsk(zone), 0);
        _assertConserved();
    }

    function test_cancelOrder_keepsFifoOfTheOthers() public {
        uint256 first = _sell(bob, 100, PRICE);
        uint256 second = _sell(carol, 100, PRICE);
        uint256 third = _sell(dave, 100, PRICE);
        _cancel(carol, second);
        assertEq(trading.level(zone, SELL, PRICE).live, 2);
        vm.expectEmit(true, false, true, true, address(trading)); // the buying taker's id is not checked
        emit IEnergyTrading.TradeExecuted(zone, 0, first, alice, bob, 100, PRICE);
        vm.expectEmit(true, false, true, true, address(trading)); // the buying taker's id is not checked
        emit IEnergyTrading.TradeExecuted(zone, 0, third, alice, dave, 50, PRICE);
        _buy(alice, 150, PRICE);
        _assertEscrow(_ids(first, second, third));
        _assertConserved(_ids(first, second, third));
    }

    function test_cancelOrder_revertsForUnknownOrder() public {
        uint256 unknown = _limitId(BUY, PRICE, 42);
        vm.prank(alice);
        vm.expectRevert(_notFound(unknown));
        trading.cancelOrder(unknown);
    }

    function test_cancelOrder_revertsTwice() public {
        uint256 bid = _buy(alice, 1_000, PRICE);
        _cancel(alice, bid);
        vm.prank(alice);
        vm.expectRevert(_notFound(bid));
        trading.cancelOrder(bid);
    }

    function test_cancelOrder_revertsForNonOwner() public {
        uint256 bid = _buy(alice, 1_000, PRICE);
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(IEnergyTrading.TradingNotOrderOwner.selector, bid, bob));
        trading.cancelOrder(bid);
    }

    function test_cancelOrder_worksWhileZoneHalted() public {
        uint256 bid = _buy(alice, 1_000, PRICE);
        uint256 dutch = _dutch(bob, 1_000, 300_000, 200_000, 1_000);
        _halt();
        _cancel(alice, bid);
        _cancel(bob, dutch);
        assertEq(_lockedUsd(alice), 0);
        assertEq(_lockedWh(bob), 0);
    }

    function test_cancelOrder_worksWhilePaused() public {
        uint256 ask = _sell(bob, 1_000, PRICE);
        _pause();
        _cancel(bob, ask);
        assertEq(_lockedWh(bob), 0);
        assertEq(trading.bestAsk(zone), 0);
    }

    function test_cancelOrder_worksWhileReferenceRefused() public {
        uint256 ask = _sell(bob, 1_000, PRICE);
        trading.setStaleReferencePolicy(IEnergyTrading.StaleReferencePolicy.Refuse);
        _cancel(bob, ask);
        assertEq(_lockedWh(bob), 0);
    }

    function test_cancelOrder_cancelsDutchOrder() public {
        uint256 id = _dutch(bob, 1_000, 300_000, 200_000, 1_000);
        vm.expectEmit(address(trading));
        emit IEnergyTrading.OrderCancelled(id, bob, 1_000, IEnergyTrading.CancelReason.Owner);
        _cancel(bob, id);
        assertEq(_lockedWh(bob), 0);
        vm.expectRevert(_notFound(id));
        trading.dutchTerms(id);
        vm.expectRevert(_notFound(id));
        trading.dutchPrice(id);
    }

    // ─────────────────────────────────────────────────────────────── races in one block

    function test_cancelOrder_thenTakeInSameBlockDoesNotFill() public {
        uint256 ask = _sell(bob, 1_000, PRICE);
        _cancel(bob, ask);
        uint256 bid = _buy(alice, 1_000, PRICE);
        assertEq(trading.getOrder(bid).remainingWh, 1_000, "nothing filled: the bid rests");
        assertEq(_availableWh(alice), FUNDS_WH);
        assertEq(_availableWh(bob), FUNDS_WH);
        assertEq(_lockedWh(bob), 0);
        _assertEscrow(_ids(ask, bid));
    }

    function test_cancelOrder_afterFullFillInSameBlockReverts() public {
        uint256 ask = _sell(bob, 1_000, PRICE);
        _buy(alice, 1_000, PRICE);
        // filled: no longer live (nothing to cancel), but its fills wait for claimFills
        vm.prank(bob);
        vm.expectRevert(_notFound(ask));
        trading.cancelOrder(ask);
        assertEq(trading.getOrder(ask).unsettledWh, 1_000);
        assertEq(_availableUsd(bob), FUNDS_USD);
        assertEq(_lockedWh(bob), 1_000);
        vm.prank(bob);
        assertEq(trading.claimFills(_ids(ask)), 1);
        assertEq(_availableUsd(bob), FUNDS_USD + _notional(1_000, PRICE));
        assertEq(_lockedWh(bob), 0);
        vm.prank(bob);
        vm.expectRevert(_notFound(ask));
        trading.cancelOrder(ask);
    }

    function test_cancelOrder_afterPartialFillInSameBlockReturnsRemainder() public {
        uint256 bid = _buy(bob, 1_000, PRICE);
        _sell(alice, 300, 240_000);
        assertEq(_availableWh(bob), FUNDS_WH, "the bought credits wait for settlement");
        assertEq(_lockedUsd(bob), _notional(1_000, PRICE));
        vm.expectEmit(address(trading));
        emit IEnergyTrading.OrderCancelled(bid, bob, 700, IEnergyTrading.CancelReason.Owner);
        vm.expectEmit(address(trading));
        emit IEnergyTrading.FillsSettled(bid, bob, 300, _notional(300, PRICE));
        _cancel(bob, bid);
        assertEq(_lockedUsd(bob), 0);
        assertEq(_availableUsd(bob), FUNDS_USD - _notional(300, PRICE));
        assertEq(_availableWh(bob), FUNDS_WH + 300);
        _assertConserved();
    }

    // ─────────────────────────────────────────────────────────────── expiry

    function test_createOrder_makerExpiringNextSecondFillsNow() public {
        vm.prank(bob);
        uint256 ask = trading.createOrder(zone, SELL, 1_000, PRICE, uint64(block.timestamp + 1), 0);
        _buy(alice, 1_000, PRICE);
        assertEq(_availableWh(alice), FUNDS_WH + 1_000);
        assertEq(trading.getOrder(ask).remainingWh, 0);
        // after its expiry the filled order is not expired again, and its fills still settle
        vm.warp(block.timestamp + 1);
        vm.prank(keeper);
        assertEq(trading.expireOrders(_ids(ask)), 0);
        assertEq(_claim(_ids(ask)), 1);
        assertEq(_availableUsd(bob), FUNDS_USD + _notional(1_000, PRICE));
        vm.expectRevert(_notFound(ask));
        trading.getOrder(ask);
    }

    function test_createOrder_makerAtItsExpiryDoesNotFillAndIsRefunded() public {
        vm.prank(bob);
        uint256 ask = trading.createOrder(zone, SELL, 1_000, PRICE, uint64(block.timestamp + 1), 0);
        vm.warp(block.timestamp + 1);
        vm.expectEmit(address(trading));
        emit IEnergyTrading.OrderExpired(ask, bob, 1_000);
        uint256 bid = _buy(alice, 1_000, PRICE);
        assertEq(_availableWh(alice), FUNDS_WH, "expired maker never fills");
        assertEq(_lockedWh(bob), 0);
        assertEq(_availableWh(bob), FUNDS_WH);
        assertEq(trading.getOrder(bid).remainingWh, 1_000);
        assertEq(trading.bestAsk(zone), 0);
        _assertEscrow(_ids(ask, bid));
        _assertNotCrossed();
    }

    function test_createOrder_expiredBidFoundByMatchingUnlocksPayment() public {
        vm.prank(bob);
        uint256 bid = trading.createOrder(zone, BUY, 1_000, PRICE, uint64(block.timestamp + 60), 0);
        uint256 liveBid = _buy(carol, 500, 240_000);
        vm.warp(block.timestamp + 60);
        vm.expectEmit(address(trading));
        emit IEnergyTrading.OrderExpired(bid, bob, 1_000);
        vm.expectEmit(true, true, false, true, address(trading)); // the selling taker's id is not checked
        emit IEnergyTrading.TradeExecuted(zone, liveBid, 0, carol, alice, 500, 240_000);
        _sell(alice, 500, 240_000);
        assertEq(_lockedUsd(bob), 0);
        assertEq(_availableUsd(bob), FUNDS_USD);
        assertEq(_availableUsd(alice), FUNDS_USD + _net(500, 240_000));
        _assertEscrow(_ids(bid, liveBid));
        _assertConserved(_ids(bid, liveBid));
    }

    function test_expireOrders_removesExpiredAndSkipsTheRest() public {
        vm.prank(alice);
        uint256 bid = trading.createOrder(zone, BUY, 1_000, PRICE, uint64(block.timestamp + 100), 0);
        vm.prank(bob);
        uint256 ask = trading.createOrder(zone, SELL, 800, 300_000, uint64(block.timestamp + 100), 0);
        vm.prank(carol);
        uint256 dutch = trading.createDutchOrder(zone, 700, 400_000, 300_000, 50, uint64(block.timestamp + 100));
        uint256 live = _sell(dave, 100, 310_000);
        uint256 unknown = _limitId(SELL, 990_000, 5);
        vm.warp(block.timestamp + 99);
        vm.prank(keeper);
        assertEq(trading.expireOrders(_ids(bid, ask, dutch)), 0, "nothing is expired one second before");
        vm.warp(block.timestamp + 1);

        uint256[] memory ids = new uint256[](6);
        (ids[0], ids[1], ids[2], ids[3], ids[4], ids[5]) = (bid, live, ask, unknown, dutch, bid);
        vm.expectEmit(address(trading));
        emit IEnergyTrading.OrderExpired(bid, alice, 1_000);
        vm.expectEmit(address(trading));
        emit IEnergyTrading.OrderExpired(ask, bob, 800);
        vm.expectEmit(address(trading));
        emit IEnergyTrading.OrderExpired(dutch, carol, 700);
        vm.prank(keeper);
        assertEq(trading.expireOrders(ids), 3);

        assertEq(_lockedUsd(alice), 0);
        assertEq(_lockedWh(bob), 0);
        assertEq(_lockedWh(carol), 0);
        assertEq(trading.bestBid(zone), 0);
        assertEq(trading.bestAsk(zone), 310_000);
        assertEq(trading.getOrder(live).remainingWh, 100);
        _assertEscrow(_ids(bid, ask, dutch, live));
    }

    function test_expireOrders_leavesASlotThatMatchingSkips() public {
        uint256 first = _sell(carol, 100, PRICE);
        vm.prank(bob);
        uint256 middle = trading.createOrder(zone, SELL, 100, PRICE, uint64(block.timestamp + 10), 0);
        uint256 last = _sell(dave, 100, PRICE);
        vm.warp(block.timestamp + 10);
        vm.prank(keeper);
        assertEq(trading.expireOrders(_ids(middle)), 1);
        IEnergyTrading.Level memory lvl = trading.level(zone, SELL, PRICE);
        assertEq(lvl.live, 2);
        assertEq(lvl.tail, 3);
        vm.expectEmit(true, false, true, true, address(trading)); // the buying taker's id is not checked
        emit IEnergyTrading.TradeExecuted(zone, 0, first, alice, carol, 100, PRICE);
        vm.expectEmit(true, false, true, true, address(trading)); // the buying taker's id is not checked
        emit IEnergyTrading.TradeExecuted(zone, 0, last, alice, dave, 100, PRICE);
        _buy(alice, 200, PRICE);
        assertEq(_availableWh(alice), FUNDS_WH + 200);
        assertEq(trading.bestAsk(zone), 0);
        _assertEscrow(_ids(first, middle, last));
        _assertConserved(_ids(first, middle, last));
    }

    function test_expireOrders_worksWhileHaltedPausedAndRefused() public {
        vm.prank(alice);
        uint256 bid = trading.createOrder(zone, BUY, 1_000, PRICE, uint64(block.timestamp + 10), 0);
        vm.warp(block.timestamp + 10);
        _halt();
        _pause();
        trading.setStaleReferencePolicy(IEnergyTrading.StaleReferencePolicy.Refuse);
        vm.prank(stranger);
        assertEq(trading.expireOrders(_ids(bid)), 1);
        assertEq(_lockedUsd(alice), 0);
    }

    function test_expireOrders_emptyListRemovesNothing() public {
        vm.prank(stranger);
        assertEq(trading.expireOrders(new uint256[](0)), 0);
    }

    function test_cancelOrder_ownerMayCancelAnExpiredOrder() public {
        vm.prank(alice);
        uint256 bid = trading.createOrder(zone, BUY, 1_000, PRICE, uint64(block.timestamp + 10), 0);
        vm.warp(block.timestamp + 11);
        _cancel(alice, bid);
        assertEq(_lockedUsd(alice), 0);
    }

    // ─────────────────────────────────────────────────────────────── Dutch auctions

    function test_createDutchOrder_locksCreditsAndEmits() public {
        uint256 id = _dutchId(300_000, 1);
        uint64 expiry = _expiry();
        vm.expectEmit(address(trading));
        emit IEnergyTrading.OrderCreated(id, zone, bob, SELL, IEnergyTrading.Kind.Dutch, 1_000, 300_000, expiry, 0);
        vm.expectEmit(address(trading));
        emit IEnergyTrading.DutchAuctionStarted(id, 300_000, 200_000, uint64(block.timestamp), 3_600);
        vm.prank(bob);
        assertEq(trading.createDutchOrder(zone, 1_000, 300_000, 200_000, 3_600, expiry), id);

        assertEq(_lockedWh(bob), 1_000);
        IEnergyTrading.DutchTerms memory terms = trading.dutchTerms(id);
        assertEq(terms.startPricePerKWh, 300_000);
        assertEq(terms.floorPricePerKWh, 200_000);
        assertEq(terms.startTime, block.timestamp);
        assertEq(terms.window, 3_600);
        IEnergyTrading.OrderView memory o = trading.getOrder(id);
        assertEq(uint8(o.kind), uint8(IEnergyTrading.Kind.Dutch));
        assertEq(uint8(o.side), uint8(SELL));
        assertEq(o.pricePerKWh, 300_000);
        // a Dutch order is not in the limit book
        assertEq(trading.bestAsk(zone), 0);
        assertEq(_dutch(bob, 100, 300_000, 300_000, 1), _dutchId(300_000, 2));
        assertEq(trading.committedOn(zone, bob, uint64(block.timestamp / 1 days)), 1_100);
    }

    /// @dev 0.30 → 0.20 USD/kWh over an hour: linear, rounded up to the tick, then flat at the floor.
    function test_dutchPrice_decaysLinearlyAndRoundsUpToTheTick() public {
        uint256 id = _dutch(bob, 1_000, 300_000, 200_000, 3_600);
        uint256 t0 = block.timestamp;
        assertEq(trading.dutchPrice(id), 300_000, "at t0");
        vm.warp(t0 + 1); // 299,972.2 → 300,000
        assertEq(trading.dutchPrice(id), 300_000);
        vm.warp(t0 + 1_800);
        assertEq(trading.dutchPrice(id), 250_000, "mid-window");
        vm.warp(t0 + 1_801); // 249,972.2 → 250,000
        assertEq(trading.dutchPrice(id), 250_000);
        vm.warp(t0 + 1_837); // 248,972.2 → 249,000
        assertEq(trading.dutchPrice(id), 249_000);
        assertEq(trading.getOrder(id).pricePerKWh, 249_000);
        vm.warp(t0 + 3_599); // 200,027.7 → 201,000
        assertEq(trading.dutchPrice(id), 201_000);
        vm.warp(t0 + 3_600);
        assertEq(trading.dutchPrice(id), 200_000, "end of window");
        vm.warp(t0 + 20_000);
        assertEq(trading.dutchPrice(id), 200_000, "after the window: the floor");
    }

    function test_createDutchOrder_revertsOnInvalidTerms() public {
        vm.prank(bob);
        vm.expectRevert(
            abi.encodeWithSelector(IEnergyTrading.TradingInvalidDutchTerms.selector, uint128(200_000), uint128(300_000), uint32(60))
        );
        trading.createDutchOrder(zone, 1_000, 200_000, 300_000, 60, _expiry());
        vm.prank(bob);
        vm.expectRevert(
            abi.encodeWithSelector(IEnergyTrading.TradingInvalidDutchTerms.selector, uint128(300_000), uint128(200_000), uint32(0))
        );
        trading.createDutchOrder(zone, 1_000, 300_000, 200_000, 0, _expiry());
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(IEnergyTrading.TradingInvalidPrice.selector, uint128(0)));
        trading.createDutchOrder(zone, 1_000, 300_000, 0, 60, _expiry());
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(IEnergyTrading.TradingInvalidPrice.selector, uint128(300_500)));
        trading.createDutchOrder(zone, 1_000, 300_500, 200_000, 60, _expiry());
    }

    function test_createDutchOrder_validatesSizeAndExpiry() public {
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(IEnergyTrading.TradingOrderTooSmall.selector, MIN_WH - 1, MIN_WH));
        trading.createDutchOrder(zone, MIN_WH - 1, 300_000, 200_000, 60, _expiry());
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(IEnergyTrading.TradingZeroAmount.selector));
        trading.createDutchOrder(zone, 0, 300_000, 200_000, 60, _expiry());
        uint64 nowTs = uint64(block.timestamp);
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(IEnergyTrading.TradingExpiryNotInFuture.selector, nowTs, nowTs));
        trading.createDutchOrder(zone, 1_000, 300_000, 200_000, 60, nowTs);
    }

    function test_takeDutchOrder_buysAtTheCurrentPrice() public {
        uint256 id = _dutch(bob, 1_000, 300_000, 200_000, 1_000);
        vm.warp(block.timestamp + 250); // 275,000
        vm.expectEmit(address(trading));
        emit IEnergyTrading.OrderFilled(id, bob, 400, 275_000, 600);
        vm.expectEmit(address(trading));
        emit IEnergyTrading.TradeExecuted(zone, 0, id, alice, bob, 400, 275_000);
        _take(alice, id, 400, 275_000);

        // both sides settle at once: the taker pays notional + fee, the Dutch seller gets the exact notional
        assertEq(_availableWh(alice), FUNDS_WH + 400);
        assertEq(_availableUsd(alice), FUNDS_USD - _cost(_notional(400, 275_000)));
        assertEq(_availableUsd(bob), FUNDS_USD + _notional(400, 275_000));
        assertEq(_lockedWh(bob), 600);
        assertEq(trading.getOrder(id).unsettledWh, 0);
        ISettlement.Statement memory buyer = settlement.statement(alice, _month());
        assertEq(buyer.boughtWh, 400);
        assertEq(buyer.paid, _notional(400, 275_000));
        assertEq(buyer.buyFees, _fee(_notional(400, 275_000)));
        ISettlement.Statement memory seller = settlement.statement(bob, _month());
        assertEq(seller.soldWh, 400);
        assertEq(seller.earned, _notional(400, 275_000));
        assertEq(seller.fees, 0);
        assertEq(trading.getOrder(id).remainingWh, 600);
        assertEq(trading.committedOn(zone, alice, uint64(block.timestamp / 1 days)), 400);

        // more than is left takes what is left, and removes the order
        vm.warp(block.timestamp + 10_000);
        vm.expectEmit(address(trading));
        emit IEnergyTrading.OrderFilled(id, bob, 600, 200_000, 0);
        _take(carol, id, 5_000, 200_000);
        assertEq(_availableWh(carol), FUNDS_WH + 600);
        assertEq(_availableUsd(carol), FUNDS_USD - _cost(_notional(600, 200_000)));
        assertEq(_availableUsd(bob), FUNDS_USD + _notional(400, 275_000) + _notional(600, 200_000));
        assertEq(_lockedWh(bob), 0);
        vm.expectRevert(_notFound(id));
        trading.getOrder(id);
        vm.expectRevert(_notFound(id));
        trading.dutchTerms(id);
        _assertConserved();
    }

    function test_takeDutchOrder_revertsAboveMaxPrice() public {
        uint256 id = _dutch(bob, 1_000, 300_000, 200_000, 1_000);
        vm.warp(block.timestamp + 250);
        vm.prank(alice);
        vm.expectRevert(
            abi.encodeWithSelector(IEnergyTrading.TradingPriceAboveMax.selector, uint128(275_000), uint128(274_000))
        );
        trading.takeDutchOrder(id, 400, 274_000);
    }

    function test_takeDutchOrder_revertsOnTooSmallTakeButAllowsTheWholeRest() public {
        uint256 id = _dutch(bob, 150, 300_000, 300_000, 1);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(IEnergyTrading.TradingTakeTooSmall.selector, uint64(99), MIN_WH));
        trading.takeDutchOrder(id, 99, 300_000);
        _take(alice, id, 100, 300_000);
        _take(carol, id, 50, 300_000); // the whole remainder may be below the minimum
        vm.expectRevert(_notFound(id));
        trading.getOrder(id);
    }

    function test_takeDutchOrder_revertsOnZeroAmount() public {
        uint256 id = _dutch(bob, 1_000, 300_000, 200_000, 1_000);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(IEnergyTrading.TradingZeroAmount.selector));
        trading.takeDutchOrder(id, 0, 300_000);
    }

    function test_takeDutchOrder_revertsOnLimitOrder() public {
        uint256 ask = _sell(bob, 1_000, PRICE);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(IEnergyTrading.TradingWrongOrderKind.selector, ask));
        trading.takeDutchOrder(ask, 1_000, PRICE);
    }

    function test_takeDutchOrder_revertsOnUnknownOrder() public {
        uint256 id = _dutchId(300_000, 9);
        vm.prank(alice);
        vm.expectRevert(_notFound(id));
        trading.takeDutchOrder(id, 1_000, 300_000);
    }

    function test_takeDutchOrder_revertsWhenExpired() public {
        vm.prank(bob);
        uint256 id = trading.createDutchOrder(zone, 1_000, 300_000, 200_000, 100, uint64(block.timestamp + 1));
        _take(alice, id, 100, 300_000); // live at now
        vm.warp(block.timestamp + 1);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(IEnergyTrading.TradingOrderExpired.selector, id, uint64(block.timestamp)));
        trading.takeDutchOrder(id, 100, 300_000);
    }

    function test_dutchTerms_revertsForLimitOrders() public {
        uint256 ask = _sell(bob, 1_000, PRICE);
        vm.expectRevert(_notFound(ask));
        trading.dutchTerms(ask);
        vm.expectRevert(_notFound(ask));
        trading.dutchPrice(ask);
    }

    // ─────────────────────────────────────────────────────────────── matchOrders

    function test_matchOrders_crossesBidWithDutchAtItsCurrentPriceAndRefundsTheBuyer() public {
        uint256 bid = _buy(bob, 1_500, PRICE);
        uint256 ask = _dutch(carol, 1_000, 300_000, 200_000, 1_000);
        vm.warp(block.timestamp + 700); // 230,000
        vm.expectEmit(address(trading));
        emit IEnergyTrading.OrderFilled(bid, bob, 1_000, 230_000, 500);
        vm.expectEmit(address(trading));
        emit IEnergyTrading.OrderFilled(ask, carol, 1_000, 230_000, 0);
        vm.expectEmit(address(trading));
        emit IEnergyTrading.TradeExecuted(zone, bid, ask, bob, carol, 1_000, 230_000);
        vm.prank(keeper); // anyone may match
        trading.matchOrders(bid, ask);

        assertEq(_availableWh(bob), FUNDS_WH + 1_000);
        // the buyer escrowed at 0.25, paid 0.23: the difference came back
        assertEq(_lockedUsd(bob), _notional(500, PRICE));
        assertEq(_availableUsd(bob), FUNDS_USD - _notional(1_500, PRICE) + 20_000);
        assertEq(_availableUsd(carol), FUNDS_USD + _net(1_000, 230_000));
        assertEq(_lockedWh(carol), 0);
        assertEq(trading.getOrder(bid).remainingWh, 500);
        vm.expectRevert(_notFound(ask));
        trading.getOrder(ask);
        _assertEscrow(_ids(bid, ask));
        _assertConserved();
    }

    function test_matchOrders_fillsTheSmallerBidCompletely() public {
        uint256 bid = _buy(bob, 400, PRICE);
        uint256 ask = _dutch(carol, 1_000, PRICE, PRICE, 1);
        vm.prank(stranger);
        trading.matchOrders(bid, ask);
        vm.expectRevert(_notFound(bid));
        trading.getOrder(bid);
        assertEq(trading.getOrder(ask).remainingWh, 600);
        assertEq(trading.bestBid(zone), 0);
        assertEq(trading.level(zone, BUY, PRICE).live, 0);
        assertEq(_lockedUsd(bob), 0);
        _assertEscrow(_ids(bid, ask));
        _assertConserved();
    }

    function test_matchOrders_revertsWhenOrdersDoNotCross() public {
        uint256 bid = _buy(bob, 1_000, PRICE);
        uint256 dutch = _dutch(carol, 1_000, 300_000, 200_000, 1_000);
        vm.expectRevert(
            abi.encodeWithSelector(IEnergyTrading.TradingOrdersDoNotCross.selector, PRICE, uint128(300_000))
        );
        trading.matchOrders(bid, dutch);
        uint256 ask = _sell(dave, 1_000, 260_000);
        vm.expectRevert(abi.encodeWithSelector(IEnergyTrading.TradingOrdersDoNotCross.selector, PRICE, uint128(260_000)));
        trading.matchOrders(bid, ask);
        // at exactly the bid it crosses
        vm.warp(block.timestamp + 500);
        trading.matchOrders(bid, dutch);
        assertEq(_availableWh(bob), FUNDS_WH + 1_000);
    }

    function test_matchOrders_revertsOnWrongKinds() public {
        uint256 bid = _buy(bob, 1_000, PRICE);
        uint256 ask = _sell(carol, 1_000, 300_000);
        uint256 dutch = _dutch(dave, 1_000, PRICE, PRICE, 1);
        uint256 immediate = _immediateId(SELL, PRICE, 1);
        bytes4 wrongKind = IEnergyTrading.TradingWrongOrderKind.selector;
        vm.expectRevert(abi.encodeWithSelector(wrongKind, ask));
        trading.matchOrders(ask, dutch); // a sell as the bid
        vm.expectRevert(abi.encodeWithSelector(wrongKind, dutch));
        trading.matchOrders(dutch, ask); // a Dutch as the bid
        vm.expectRevert(abi.encodeWithSelector(wrongKind, bid));
        trading.matchOrders(bid, bid); // a bid as the ask
        vm.expectRevert(abi.encodeWithSelector(wrongKind, immediate));
        trading.matchOrders(bid, immediate); // an immediate order never rests
        uint256 immediateBid = _immediateId(BUY, PRICE, 1);
        vm.expectRevert(abi.encodeWithSelector(wrongKind, immediateBid));
        trading.matchOrders(immediateBid, dutch);
    }

    function test_matchOrders_revertsOnZoneMismatch() public {
        uint32 otherZone = grid.createZone(defaultZoneConfig("Hillside"));
        vm.prank(bob);
        uint256 bid = trading.createOrder(otherZone, BUY, 1_000, PRICE, _expiry(), 0);
        uint256 dutch = _dutch(carol, 1_000, PRICE, PRICE, 1);
        vm.expectRevert(abi.encodeWithSelector(IEnergyTrading.TradingZoneMismatch.selector, bid, dutch));
        trading.matchOrders(bid, dutch);
    }

    function test_matchOrders_revertsOnMissingOrExpiredOrders() public {
        vm.prank(bob);
        uint256 bid = trading.createOrder(zone, BUY, 1_000, PRICE, uint64(block.timestamp + 100), 0);
        uint256 dutch = _dutch(carol, 1_000, PRICE, PRICE, 1);
        uint256 missingBid = _limitId(BUY, PRICE, 77);
        vm.expectRevert(_notFound(missingBid));
        trading.matchOrders(missingBid, dutch);
        uint256 missingAsk = _dutchId(PRICE, 77);
        vm.expectRevert(_notFound(missingAsk));
        trading.matchOrders(bid, missingAsk);
        uint256 cancelled = _dutch(dave, 1_000, PRICE, PRICE, 1);
        _cancel(dave, cancelled);
        vm.expectRevert(_notFound(cancelled));
        trading.matchOrders(bid, cancelled);
        vm.warp(block.timestamp + 100);
        vm.expectRevert(
            abi.encodeWithSelector(IEnergyTrading.TradingOrderExpired.selector, bid, uint64(block.timestamp))
        );
        trading.matchOrders(bid, dutch);
    }

    function test_matchOrders_settlesBothSidesAtOnceTheSellerPayingTheFees() public {
        uint256 bid = _buy(bob, 1_000, PRICE);
        uint256 ask = _dutch(carol, 1_000, PRICE, PRICE, 1);
        uint256 notional = _notional(1_000, PRICE);
        uint256 protocolFee = (notional * PROTOCOL_FEE_BPS) / 10_000;
        uint256 gridFee = _fee(notional) - protocolFee;
        vm.expectEmit(address(settlement));
        emit ISettlement.TradesSettled(zone, 50, PROTOCOL_FEE_BPS, notional, gridFee, protocolFee);
        vm.prank(keeper);
        trading.matchOrders(bid, ask);
        assertEq(_availableWh(bob), FUNDS_WH + 1_000);
        assertEq(_availableUsd(carol), FUNDS_USD + notional - _fee(notional));
        ISettlement.Statement memory buyer = settlement.statement(bob, _month());
        assertEq(buyer.boughtWh, 1_000);
        assertEq(buyer.paid, notional);
        assertEq(buyer.buyFees, 0, "a resting buyer pays no fee");
        ISettlement.Statement memory seller = settlement.statement(carol, _month());
        assertEq(seller.soldWh, 1_000);
        assertEq(seller.earned, notional - _fee(notional));
        assertEq(seller.fees, _fee(notional));
        // nothing waits for settlement
        vm.expectRevert(_notFound(bid));
        trading.getOrder(bid);
        assertEq(_claim(_ids(bid, ask)), 0);
        _assertConserved();
    }

    /// @dev A bid that already holds unsettled maker fills is crossed by matchOrders: those fills settle at once
    /// and are not added to its unsettled amount; once its remaining amount hits 0 it leaves the book, but its
    /// slot stays until the earlier fills are claimed.
    function test_matchOrders_onABidWithUnsettledFillsLeavesThemClaimable() public {
        uint256 bid = _buy(bob, 1_000, PRICE);
        _sell(alice, 400, PRICE); // taker: 400 Wh of bob's bid wait for settlement
        assertEq(trading.getOrder(bid).unsettledWh, 400);
        uint256 small = _dutch(carol, 200, PRICE, PRICE, 1);
        uint256 cheap = _dutch(dave, 1_000, 240_000, 240_000, 1);

        vm.prank(keeper);
        trading.matchOrders(bid, small);
        IEnergyTrading.OrderView memory o = trading.getOrder(bid);
        assertEq(o.remainingWh, 400);
        assertEq(o.unsettledWh, 400, "a matchOrders fill is not added to the unsettled fills");
        assertEq(_availableWh(bob), FUNDS_WH + 200, "the matched 200 Wh arrive at once");
        assertEq(_lockedUsd(bob), _notional(800, PRICE));

        vm.expectEmit(address(trading));
        emit IEnergyTrading.OrderFilled(bid, bob, 400, 240_000, 0);
        vm.prank(keeper);
        trading.matchOrders(bid, cheap);
        o = trading.getOrder(bid);
        assertEq(o.remainingWh, 0);
        assertEq(o.unsettledWh, 400);
        assertEq(_availableWh(bob), FUNDS_WH + 600);
        assertEq(_lockedUsd(bob), _notional(400, PRICE), "only the unsettled fills' payment stays locked");
        assertEq(trading.bestBid(zone), 0, "off the book");
        IEnergyTrading.Level memory lvl = trading.level(zone, BUY, PRICE);
        assertEq(lvl.live, 0);
        assertEq(lvl.head, lvl.tail);
        uint256[] memory ids = _ids(bid, small, cheap);
        _assertEscrow(ids);
        _assertConserved(ids);

        // not live: it can neither be cancelled, matched nor filled again
        vm.prank(bob);
        vm.expectRevert(_notFound(bid));
        trading.cancelOrder(bid);
        vm.expectRevert(_notFound(bid));
        trading.matchOrders(bid, cheap);
        uint256 next = _buy(carol, 100, PRICE);
        assertEq(next, _limitId(BUY, PRICE, 1));
        vm.expectEmit(true, true, false, true, address(trading)); // the selling taker's id is not checked
        emit IEnergyTrading.TradeExecuted(zone, next, 0, carol, alice, 100, PRICE);
        _sell(alice, 100, PRICE);
        assertEq(trading.getOrder(bid).unsettledWh, 400);

        // the earlier fills are claimable later
        vm.expectEmit(address(trading));
        emit IEnergyTrading.FillsSettled(bid, bob, 400, _notional(400, PRICE));
        assertEq(_claim(ids), 1);
        assertEq(_availableWh(bob), FUNDS_WH + 1_000);
        assertEq(_lockedUsd(bob), 0);
        assertEq(_availableUsd(bob), FUNDS_USD - _notional(600, PRICE) - _notional(400, 240_000));
        vm.expectRevert(_notFound(bid));
        trading.getOrder(bid);
        _assertConserved(_ids(next));
    }

    /// @dev A bid filled to 0 by matchOrders with no earlier maker fills leaves nothing behind.
    function test_matchOrders_fillingABidWithoutUnsettledFillsDeletesIt() public {
        uint256 bid = _buy(bob, 500, PRICE);
        uint256 ask = _dutch(carol, 500, PRICE, PRICE, 1);
        trading.matchOrders(bid, ask);
        vm.expectRevert(_notFound(bid));
        trading.getOrder(bid);
        (address owner,, uint64 filledWh, uint256 notional) = trading.unsettledFills(bid);
        assertEq(owner, address(0));
        assertEq(filledWh, 0);
        assertEq(notional, 0);
    }

    // ─────────────────────────────────────────────────────────────── fees: the taker pays

    /// @dev Two fills of 150 Wh at 0.001 USD/kWh: 70 bps of each 150 rounds up to 2, of the total 300 to 3. The
    /// taker's fee is computed once on its total notional, and the makers pay none.
    function test_createOrder_takerFeeIsChargedOnceOnItsTotalNotional() public {
        uint256 a1 = _sell(bob, 150, TICK);
        uint256 a2 = _sell(carol, 150, TICK);
        assertEq(_fee(150), 2);
        assertEq(_fee(300), 3);
        vm.expectEmit(address(settlement));
        emit ISettlement.TradesSettled(zone, 50, PROTOCOL_FEE_BPS, 300, 3, 0);
        _buy(alice, 300, TICK);
        assertEq(_availableUsd(alice), FUNDS_USD - 303);
        assertEq(settlement.accruedZoneFees(zone), 3);
        assertEq(settlement.accruedProtocolFees(zone), 0);
        ISettlement.Statement memory st = settlement.statement(alice, _month());
        assertEq(st.boughtWh, 300);
        assertEq(st.paid, 300);
        assertEq(st.buyFees, 3);
        assertEq(st.soldWh, 0);
        assertEq(st.fees, 0);

        _claim(_ids(a1, a2));
        assertEq(_availableUsd(bob), FUNDS_USD + 150);
        assertEq(_availableUsd(carol), FUNDS_USD + 150);
        st = settlement.statement(bob, _month());
        assertEq(st.soldWh, 150);
        assertEq(st.earned, 150);
        assertEq(st.fees, 0);
        _assertConserved();
    }

    /// @dev A selling taker: its statement records the proceeds after fees and the fees; a buying maker's
    /// statement (at settlement) records the notional and no fee.
    function test_createOrder_sellingTakerPaysTheFeeOutOfItsProceeds() public {
        uint256 bid = _buy(bob, 1_000, PRICE);
        uint256 notional = _notional(1_000, PRICE);
        _sell(alice, 1_000, 240_000);
        assertEq(_availableUsd(alice), FUNDS_USD + notional - _fee(notional));
        ISettlement.Statement memory st = settlement.statement(alice, _month());
        assertEq(st.soldWh, 1_000);
        assertEq(st.earned, notional - _fee(notional));
        assertEq(st.fees, _fee(notional));
        assertEq(st.buyFees, 0);
        assertEq(settlement.statement(bob, _month()).boughtWh, 0, "the maker's side is recorded on settlement");
        _claim(_ids(bid));
        st = settlement.statement(bob, _month());
        assertEq(st.boughtWh, 1_000);
        assertEq(st.paid, notional);
        assertEq(st.buyFees, 0);
        _assertConserved();
    }

    /// @dev The grid fee follows the zone's schedule from the market's copy: 150 bps within 17–21 UTC.
    function test_createOrder_buyingTakerPaysThePeakFee() public {
        vm.warp(block.timestamp - (block.timestamp % 1 days) + 18 hours);
        assertEq(grid.gridFeeBps(zone, uint64(block.timestamp)), 150);
        uint256 ask = _sell(bob, 1_000, PRICE);
        vm.expectEmit(address(settlement));
        emit ISettlement.TradesSettled(zone, 150, PROTOCOL_FEE_BPS, 250_000, 3_750, 500);
        _buy(alice, 1_000, PRICE);
        assertEq(_availableUsd(alice), FUNDS_USD - 254_250);
        assertEq(settlement.accruedZoneFees(zone), 3_750);
        assertEq(settlement.accruedProtocolFees(zone), 500);
        _claim(_ids(ask));
        assertEq(_availableUsd(bob), FUNDS_USD + 250_000);
        _assertConserved();
    }

    /// @dev Protocol fees accrue per zone and are swept per zone.
    function test_accruedProtocolFees_arePerZone() public {
        uint32 otherZone = grid.createZone(defaultZoneConfig("Hillside"));
        _sell(bob, 1_000, PRICE);
        _buy(alice, 1_000, PRICE);
        vm.prank(bob);
        trading.createOrder(otherZone, SELL, 2_000, PRICE, _expiry(), 0);
        vm.prank(alice);
        trading.createOrder(otherZone, BUY, 2_000, PRICE, _expiry(), 0);
        assertEq(settlement.accruedProtocolFees(zone), 500);
        assertEq(settlement.accruedProtocolFees(otherZone), 1_000);
        assertEq(settlement.accruedZoneFees(zone), 1_250);
        assertEq(settlement.accruedZoneFees(otherZone), 2_500);

        vm.prank(stranger);
        assertEq(settlement.sweepProtocolFees(otherZone), 1_000);
        assertEq(usd.balanceOf(protocolTreasury), 1_000);
        assertEq(settlement.accruedProtocolFees(otherZone), 0);
        assertEq(settlement.accruedProtocolFees(zone), 500, "the other zone's fees stay");
        vm.expectRevert(abi.encodeWithSelector(ISettlement.SettlementNoFeesAccrued.selector));
        settlement.sweepProtocolFees(otherZone);
    }

    // ─────────────────────────────────────────────────────────────── claimFills and unsettled fills

    function test_claimFills_byAStrangerPaysTheOwner() public {
        uint256 ask = _sell(bob, 1_000, PRICE);
        _buy(alice, 1_000, PRICE);
        uint256 notional = _notional(1_000, PRICE);
        vm.expectEmit(address(trading));
        emit IEnergyTrading.FillsSettled(ask, bob, 1_000, notional);
        vm.expectEmit(address(settlement));
        emit ISettlement.MakerSettled(bob, false, 1_000, notional);
        vm.prank(stranger);
        assertEq(trading.claimFills(_ids(ask)), 1);

        assertEq(_availableUsd(bob), FUNDS_USD + notional, "proceeds go to the owner");
        assertEq(_lockedWh(bob), 0);
        assertEq(_availableWh(bob), FUNDS_WH - 1_000);
        assertEq(_availableUsd(stranger), 0, "never to the caller");
        assertEq(_availableWh(stranger), 0);
        // a fully filled order's slot is deleted once settled
        vm.expectRevert(_notFound(ask));
        trading.getOrder(ask);
        (address owner,, uint64 filledWh, uint256 owed) = trading.unsettledFills(ask);
        assertEq(owner, address(0));
        assertEq(filledWh, 0);
        assertEq(owed, 0);
        vm.prank(stranger);
        assertEq(trading.claimFills(_ids(ask)), 0, "nothing left to settle");
        assertEq(_availableUsd(bob), FUNDS_USD + notional);
        _assertConserved();
    }

    function test_claimFills_skipsOrdersWithNothingToSettle() public {
        uint256 filled = _sell(bob, 1_000, PRICE);
        _buy(alice, 1_000, PRICE);
        uint256 resting = _sell(carol, 500, 260_000);
        uint256 dutch = _dutch(dave, 500, 300_000, 300_000, 1);
        uint256 unknown = _limitId(SELL, 990_000, 5);
        uint256 immediate = _immediateId(BUY, PRICE, 1);
        uint256[] memory ids = new uint256[](6);
        (ids[0], ids[1], ids[2], ids[3], ids[4], ids[5]) = (unknown, resting, filled, dutch, filled, immediate);

        vm.recordLogs();
        vm.prank(keeper);
        assertEq(trading.claimFills(ids), 1, "only the filled order, once");
        Vm.Log[] memory logs = vm.getRecordedLogs();
        uint256 settledEvents;
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].emitter == address(trading) && logs[i].topics[0] == IEnergyTrading.FillsSettled.selector) {
                ++settledEvents;
                assertEq(logs[i].topics[1], bytes32(filled));
            }
        }
        assertEq(settledEvents, 1);
        assertEq(_availableUsd(bob), FUNDS_USD + _notional(1_000, PRICE), "paid once");
        assertEq(trading.getOrder(resting).remainingWh, 500, "the unfilled order is untouched");
        assertEq(_lockedWh(carol), 500);
        assertEq(trading.getOrder(dutch).remainingWh, 500);
        assertEq(_lockedWh(dave), 500);
        vm.prank(keeper);
        assertEq(trading.claimFills(new uint256[](0)), 0);
        _assertEscrow(ids);
        _assertConserved();
    }

    function test_claimFills_partialFillKeepsTheOrderLiveAndResetsItsFills() public {
        uint256 ask = _sell(bob, 1_000, PRICE);
        _buy(alice, 400, PRICE);
        IEnergyTrading.OrderView memory o = trading.getOrder(ask);
        assertEq(o.remainingWh, 600);
        assertEq(o.unsettledWh, 400);
        (address owner, IEnergyTrading.Side side, uint64 filledWh, uint256 notional) = trading.unsettledFills(ask);
        assertEq(owner, bob);
        assertEq(uint8(side), uint8(SELL));
        assertEq(filledWh, 400);
        assertEq(notional, _notional(400, PRICE));

        vm.expectEmit(address(trading));
        emit IEnergyTrading.FillsSettled(ask, bob, 400, _notional(400, PRICE));
        _claim(_ids(ask));
        o = trading.getOrder(ask);
        assertEq(o.remainingWh, 600, "still live");
        assertEq(o.unsettledWh, 0, "fills reset");
        (owner, side, filledWh, notional) = trading.unsettledFills(ask);
        assertEq(owner, bob);
        assertEq(filledWh, 0);
        assertEq(notional, 0);
        assertEq(_lockedWh(bob), 600);
        assertEq(_availableUsd(bob), FUNDS_USD + _notional(400, PRICE));
        assertEq(trading.bestAsk(zone), PRICE);
        assertEq(trading.level(zone, SELL, PRICE).live, 1);
        _assertEscrow(_ids(ask));
        _assertConserved();

        // it keeps trading, and its next fills settle on their own
        vm.expectEmit(true, false, true, true, address(trading)); // the buying taker's id is not checked
        emit IEnergyTrading.TradeExecuted(zone, 0, ask, carol, bob, 600, PRICE);
        _buy(carol, 600, PRICE);
        assertEq(trading.getOrder(ask).unsettledWh, 600);
        vm.expectEmit(address(trading));
        emit IEnergyTrading.FillsSettled(ask, bob, 600, _notional(600, PRICE));
        assertEq(_claim(_ids(ask)), 1);
        assertEq(_availableUsd(bob), FUNDS_USD + _notional(1_000, PRICE));
        assertEq(_lockedWh(bob), 0);
        vm.expectRevert(_notFound(ask));
        trading.getOrder(ask);
        _assertConserved();
    }

    /// @dev Fills from several takers add up in the order until one settlement pays them all.
    function test_claimFills_settlesTheFillsOfSeveralTakersAtOnce() public {
        uint256 bid = _buy(bob, 1_000, PRICE);
        _sell(alice, 300, PRICE);
        _sell(carol, 200, 240_000);
        assertEq(trading.getOrder(bid).unsettledWh, 500);
        (,, uint64 filledWh, uint256 notional) = trading.unsettledFills(bid);
        assertEq(filledWh, 500);
        assertEq(notional, _notional(500, PRICE), "at the maker's own price");
        _assertConserved(_ids(bid));
        vm.expectEmit(address(trading));
        emit IEnergyTrading.FillsSettled(bid, bob, 500, _notional(500, PRICE));
        vm.expectEmit(address(settlement));
        emit ISettlement.MakerSettled(bob, true, 500, _notional(500, PRICE));
        _claim(_ids(bid));
        assertEq(_availableWh(bob), FUNDS_WH + 500);
        assertEq(_lockedUsd(bob), _notional(500, PRICE));
        assertEq(_availableUsd(bob), FUNDS_USD - _notional(1_000, PRICE));
        ISettlement.Statement memory st = settlement.statement(bob, _month());
        assertEq(st.boughtWh, 500);
        assertEq(st.paid, _notional(500, PRICE));
        assertEq(st.buyFees, 0);
        _assertEscrow(_ids(bid));
        _assertConserved();
    }

    function test_claimFills_worksWhileHaltedPausedAndRefused() public {
        uint256 ask = _sell(bob, 1_000, PRICE);
        _buy(alice, 1_000, PRICE);
        _halt();
        _pause();
        trading.setStaleReferencePolicy(IEnergyTrading.StaleReferencePolicy.Refuse);
        vm.prank(stranger);
        assertEq(trading.claimFills(_ids(ask)), 1);
        assertEq(_availableUsd(bob), FUNDS_USD + _notional(1_000, PRICE));
        _assertConserved();
    }

    /// @dev A maker's fills count in its statement of the month they settle in; the taker's in the month of the
    /// trade.
    function test_claimFills_recordsTheMakersStatementInTheMonthOfSettlement() public {
        uint32 june = _month();
        assertEq(june, 202506);
        uint256 ask = _sell(bob, 1_000, PRICE);
        _buy(alice, 1_000, PRICE);
        vm.warp(1_751_328_000); // 2025-07-01 00:00:00 UTC, after the order's expiry
        uint32 july = _month();
        assertEq(july, 202507);
        assertEq(_claim(_ids(ask)), 1);
        assertEq(settlement.statement(bob, june).soldWh, 0);
        ISettlement.Statement memory st = settlement.statement(bob, july);
        assertEq(st.soldWh, 1_000);
        assertEq(st.earned, _notional(1_000, PRICE));
        assertEq(settlement.statement(alice, june).boughtWh, 1_000);
        assertEq(settlement.statement(alice, july).boughtWh, 0);
    }

    function test_unsettledFills_isZeroWithoutMakerFills() public {
        uint256 bid = _buy(bob, 1_000, PRICE);
        (address owner, IEnergyTrading.Side side, uint64 filledWh, uint256 notional) = trading.unsettledFills(bid);
        assertEq(owner, bob);
        assertEq(uint8(side), uint8(BUY));
        assertEq(filledWh, 0);
        assertEq(notional, 0);
        assertEq(trading.getOrder(bid).unsettledWh, 0);
        uint256 dutch = _dutch(carol, 1_000, PRICE, PRICE, 1);
        _take(alice, dutch, 400, PRICE);
        (, , filledWh, notional) = trading.unsettledFills(dutch);
        assertEq(filledWh, 0, "a Dutch order settles at once");
        assertEq(notional, 0);
        (owner,, filledWh, notional) = trading.unsettledFills(_limitId(SELL, PRICE, 9));
        assertEq(owner, address(0));
        assertEq(filledWh, 0);
        assertEq(notional, 0);
    }

    // ─────────────────────────────────────────────────────────────── expiry of partially filled orders

    function test_expireOrders_settlesTheFillsOfAPartiallyFilledOrder() public {
        vm.prank(bob);
        uint256 ask = trading.createOrder(zone, SELL, 1_000, PRICE, uint64(block.timestamp + 100), 0);
        _buy(alice, 400, PRICE);
        vm.warp(block.timestamp + 100);
        vm.expectEmit(address(trading));
        emit IEnergyTrading.OrderExpired(ask, bob, 600);
        vm.expectEmit(address(trading));
        emit IEnergyTrading.FillsSettled(ask, bob, 400, _notional(400, PRICE));
        vm.prank(keeper);
        assertEq(trading.expireOrders(_ids(ask)), 1);
        assertEq(_lockedWh(bob), 0);
        assertEq(_availableWh(bob), FUNDS_WH - 400);
        assertEq(_availableUsd(bob), FUNDS_USD + _notional(400, PRICE));
        vm.expectRevert(_notFound(ask));
        trading.getOrder(ask);
        assertEq(_claim(_ids(ask)), 0, "nothing left to claim");
        assertEq(trading.bestAsk(zone), 0);
        _assertConserved();
    }

    function test_createOrder_expiredPartiallyFilledMakerMetDuringMatchingIsSettled() public {
        vm.prank(bob);
        uint256 bid = trading.createOrder(zone, BUY, 1_000, PRICE, uint64(block.timestamp + 100), 0);
        _sell(alice, 400, PRICE);
        vm.warp(block.timestamp + 100);
        vm.expectEmit(address(trading));
        emit IEnergyTrading.OrderExpired(bid, bob, 600);
        vm.expectEmit(address(trading));
        emit IEnergyTrading.FillsSettled(bid, bob, 400, _notional(400, PRICE));
        uint256 ask = _sell(carol, 500, PRICE);
        assertEq(trading.getOrder(ask).remainingWh, 500, "the expired bid never fills: the ask rests");
        assertEq(_lockedUsd(bob), 0);
        assertEq(_availableWh(bob), FUNDS_WH + 400);
        assertEq(_availableUsd(bob), FUNDS_USD - _notional(400, PRICE));
        vm.expectRevert(_notFound(bid));
        trading.getOrder(bid);
        assertEq(trading.bestBid(zone), 0);
        _assertEscrow(_ids(bid, ask));
        _assertConserved();
    }

    // ─────────────────────────────────────────────────────────────── price bands

    function test_createOrder_acceptsPricesInsideTheBandAndAtItsEdges() public {
        _postReference(zone, PRICE); // band 125,000 … 375,000
        _buy(alice, 100, 125_000);
        _sell(bob, 100, 375_000);
        _buy(alice, 100, 200_000);
        assertEq(trading.bestBid(zone), 200_000);
        assertEq(trading.bestAsk(zone), 375_000);
    }

    function test_createOrder_revertsOutsideTheBand() public {
        _postReference(zone, PRICE);
        vm.prank(alice);
        vm.expectRevert(_outsideBand(124_000, PRICE));
        trading.createOrder(zone, BUY, 100, 124_000, _expiry(), 0);
        vm.prank(bob);
        vm.expectRevert(_outsideBand(376_000, PRICE));
        trading.createOrder(zone, SELL, 100, 376_000, _expiry(), 0);
    }

    function test_createOrder_noBandWhenBandIsZero() public {
        _postReference(zone, PRICE);
        trading.setPriceBand(0);
        _sell(bob, 100, 900_000);
        _buy(alice, 100, TICK);
    }

    function test_createOrder_unbandedWhileReferenceStale() public {
        // never reported
        _sell(bob, 100, 900_000);
        _postReference(zone, PRICE);
        vm.warp(block.timestamp + ORACLE_HEARTBEAT); // still fresh at exactly the heartbeat
        vm.prank(bob);
        vm.expectRevert(_outsideBand(900_000, PRICE));
        trading.createOrder(zone, SELL, 100, 900_000, _expiry(), 0);
        vm.warp(block.timestamp + 1); // stale
        _sell(bob, 100, 900_000);
        _dutch(bob, 100, 900_000, 10_000, 60);
        assertEq(trading.level(zone, SELL, 900_000).live, 2);
    }

    function test_createOrder_refusesWhileReferenceStale() public {
        trading.setStaleReferencePolicy(IEnergyTrading.StaleReferencePolicy.Refuse);
        vm.prank(alice);
        vm.expectRevert(_stale(0)); // never reported
        trading.createOrder(zone, BUY, 100, PRICE, _expiry(), 0);

        _postReference(zone, PRICE);
        uint64 observedAt = uint64(block.timestamp);
        _buy(alice, 100, PRICE);
        vm.warp(block.timestamp + ORACLE_HEARTBEAT);
        _buy(alice, 100, PRICE);
        vm.warp(block.timestamp + 1);
        vm.prank(alice);
        vm.expectRevert(_stale(observedAt));
        trading.createOrder(zone, BUY, 100, PRICE, _expiry(), 0);
        vm.prank(bob);
        vm.expectRevert(_stale(observedAt));
        trading.createDutchOrder(zone, 100, PRICE, PRICE, 60, _expiry());

        _postReference(zone, PRICE);
        _buy(alice, 100, PRICE);
    }

    function test_createOrder_refuseWithoutBandStillNeedsAFreshReference() public {
        trading.setPriceBand(0);
        trading.setStaleReferencePolicy(IEnergyTrading.StaleReferencePolicy.Refuse);
        vm.prank(alice);
        vm.expectRevert(_stale(0));
        trading.createOrder(zone, BUY, 100, PRICE, _expiry(), 0);
        _postReference(zone, PRICE);
        _buy(alice, 100, 5_000_000); // fresh and no band: any price
    }

    function test_createDutchOrder_bandAppliesToStartAndFloor() public {
        _postReference(zone, PRICE);
        vm.prank(bob);
        vm.expectRevert(_outsideBand(400_000, PRICE));
        trading.createDutchOrder(zone, 1_000, 400_000, 200_000, 60, _expiry());
        vm.prank(bob);
        vm.expectRevert(_outsideBand(120_000, PRICE));
        trading.createDutchOrder(zone, 1_000, 300_000, 120_000, 60, _expiry());
        _dutch(bob, 1_000, 375_000, 125_000, 60);
    }

    function test_takeDutchOrder_revertsWhenCurrentPriceLeftTheBand() public {
        _postReference(zone, PRICE);
        uint256 id = _dutch(bob, 1_000, 370_000, 130_000, 1_000);
        vm.warp(block.timestamp + 1_000); // at the floor, 130,000
        _postReference(zone, 350_000); // band 175,000 … 525,000
        vm.prank(alice);
        vm.expectRevert(_outsideBand(130_000, 350_000));
        trading.takeDutchOrder(id, 500, 130_000);
    }

    function test_takeDutchOrder_refusesWhileReferenceStale() public {
        _postReference(zone, PRICE);
        uint64 observedAt = uint64(block.timestamp);
        uint256 id = _dutch(bob, 1_000, 300_000, 200_000, 1_000);
        trading.setStaleReferencePolicy(IEnergyTrading.StaleReferencePolicy.Refuse);
        vm.warp(block.timestamp + ORACLE_HEARTBEAT + 1);
        vm.prank(alice);
        vm.expectRevert(_stale(observedAt));
        trading.takeDutchOrder(id, 500, 300_000);
        // Unbanded: the stale reference does not block the take
        trading.setStaleReferencePolicy(IEnergyTrading.StaleReferencePolicy.Unbanded);
        _take(alice, id, 500, 300_000);
        assertEq(_availableWh(alice), FUNDS_WH + 500);
    }

    // ─────────────────────────────────────────────────────────────── compliance: daily cap

    function test_createOrder_enforcesDailyCapAndResetsNextUtcDay() public {
        uint64 today = uint64(block.timestamp / 1 days);
        for (uint256 i; i < 4; ++i) {
            _buy(alice, MAX_WH, TICK);
        }
        uint256 last = _buy(alice, MAX_WH - MIN_WH, TICK);
        _buy(alice, MIN_WH, TICK); // exactly the cap
        assertEq(trading.committedOn(zone, alice, today), DAILY_CAP_WH);

        vm.prank(alice);
        vm.expectRevert(
            abi.encodeWithSelector(
                IEnergyTrading.TradingDailyLimitExceeded.selector, alice, DAILY_CAP_WH, MIN_WH, DAILY_CAP_WH
            )
        );
        trading.createOrder(zone, BUY, MIN_WH, TICK, _expiry(), 0);
        // cancelling does not give volume back
        _cancel(alice, last);
        vm.prank(alice);
        vm.expectRevert(
            abi.encodeWithSelector(
                IEnergyTrading.TradingDailyLimitExceeded.selector, alice, DAILY_CAP_WH, MIN_WH, DAILY_CAP_WH
            )
        );
        trading.createOrder(zone, BUY, MIN_WH, TICK, _expiry(), 0);
        // another account has its own cap
        _buy(bob, MIN_WH, TICK);

        vm.warp((uint256(today) + 1) * 1 days - 1); // last second of the day
        vm.prank(alice);
        vm.expectRevert(
            abi.encodeWithSelector(
                IEnergyTrading.TradingDailyLimitExceeded.selector, alice, DAILY_CAP_WH, MIN_WH, DAILY_CAP_WH
            )
        );
        trading.createOrder(zone, BUY, MIN_WH, TICK, _expiry(), 0);
        vm.warp((uint256(today) + 1) * 1 days); // 00:00 UTC
        _buy(alice, MIN_WH, TICK);
        assertEq(trading.committedOn(zone, alice, today + 1), MIN_WH);
        assertEq(trading.committedOn(zone, alice, today), 0);
    }

    function test_createOrder_dailyCapCountsTheFullAmountOfEveryOrder() public {
        _setDailyCap(1_000);
        _sell(bob, 300, PRICE);
        _order(alice, BUY, 600, PRICE, _expiry(), IOC); // fills 300, returns 300: still 600 counted
        vm.prank(alice);
        vm.expectRevert(
            abi.encodeWithSelector(IEnergyTrading.TradingDailyLimitExceeded.selector, alice, uint64(600), uint64(500), uint64(1_000))
        );
        trading.createOrder(zone, BUY, 500, PRICE, _expiry(), 0);
        _buy(alice, 400, PRICE);
    }

    function test_takeDutchOrder_countsTowardsTheDailyCap() public {
        _setDailyCap(1_000);
        uint256 id = _dutch(bob, 1_000, PRICE, PRICE, 1);
        uint256 other = _dutch(carol, 1_000, PRICE, PRICE, 1);
        _take(alice, id, 800, PRICE);
        vm.prank(alice);
        vm.expectRevert(
            abi.encodeWithSelector(IEnergyTrading.TradingDailyLimitExceeded.selector, alice, uint64(800), uint64(300), uint64(1_000))
        );
        trading.takeDutchOrder(other, 300, PRICE);
        _take(alice, other, 200, PRICE); // exactly the cap
        vm.prank(alice);
        vm.expectRevert(
            abi.encodeWithSelector(IEnergyTrading.TradingDailyLimitExceeded.selector, alice, uint64(1_000), uint64(100), uint64(1_000))
        );
        trading.createOrder(zone, SELL, 100, PRICE, _expiry(), 0);
        vm.prank(bob);
        vm.expectRevert(
            abi.encodeWithSelector(IEnergyTrading.TradingDailyLimitExceeded.selector, bob, uint64(1_000), uint64(100), uint64(1_000))
        );
        trading.createDutchOrder(zone, 100, PRICE, PRICE, 1, _expiry());
    }

    function _setDailyCap(uint64 capWh) internal {
        grid.setComplianceLimits(
            zone, IGridManagement.ComplianceLimits({minOrderWh: MIN_WH, maxOrderWh: MAX_WH, maxDailyTradedWhPerAccount: capWh})
        );
    }

    // ─────────────────────────────────────────────────────────────── adversarial: dust and cancelled slots

    /// @dev 1,000 minimum-size asks at worse prices (one per tick above the real ask) cost a taker nothing.
    function test_createOrder_dustAtWorsePricesDoesNotBlockARealTrade() public {
        for (uint256 i; i < 1_000; ++i) {
            _sell(dave, MIN_WH, uint128(251 + i) * TICK);
        }
        uint256 real = _sell(bob, 10_000, PRICE);
        uint256 gasBefore = gasleft();
        uint256 bid = _buy(alice, 10_000, PRICE);
        uint256 gasUsed = gasBefore - gasleft();
        emit log_named_uint("gas: taker against 1,000 worse dust asks", gasUsed);
        assertEq(_availableWh(alice), FUNDS_WH + 10_000, "filled");
        assertEq(trading.getOrder(real).remainingWh, 0);
        assertEq(trading.getOrder(real).unsettledWh, 10_000);
        vm.expectRevert(_notFound(bid));
        trading.getOrder(bid);
        assertEq(trading.bestAsk(zone), 251_000);
        _assertNotCrossed();
    }

    /// @dev A taker willing to pay up walks the dust too, but never more than maxFillsPerCall makers per call.
    function test_createOrder_dustAtWorsePricesIsBoundedByTheFillLimit() public {
        for (uint256 i; i < 1_000; ++i) {
            _sell(dave, MIN_WH, uint128(251 + i) * TICK);
        }
        _sell(bob, 10_000, PRICE);
        uint256 takerId = _counterId(BUY, 1_250_000, 1);
        vm.expectEmit(address(trading));
        emit IEnergyTrading.OrderCancelled(takerId, alice, 20_000 - 10_000 - 63 * MIN_WH, IEnergyTrading.CancelReason.FillLimit);
        uint256 gasBefore = gasleft();
        _buy(alice, 20_000, 1_250_000);
        emit log_named_uint("gas: taker filling 64 makers", gasBefore - gasleft());
        assertEq(_availableWh(alice), FUNDS_WH + 10_000 + 63 * MIN_WH);
        assertEq(trading.bestAsk(zone), uint128(251 + 63) * TICK);
        assertEq(_lockedUsd(alice), 0);
        _assertNotCrossed();
    }

    /// @dev 1,000 minimum-size asks at the best price, ahead of the real one: each call fills up to the bound,
    /// and repeated calls get through to the real order.
    function test_createOrder_dustAtTheBestPriceStillTrades() public {
        for (uint256 i; i < 1_000; ++i) {
            _sell(dave, MIN_WH, PRICE);
        }
        uint256 real = _sell(bob, 50_000, PRICE);
        uint256 gasBefore = gasleft();
        _buy(alice, 50_000, PRICE);
        emit log_named_uint("gas: taker against 1,000 dust asks at the best price", gasBefore - gasleft());
        assertEq(_availableWh(alice), FUNDS_WH + 64 * MIN_WH, "a real taker still trades");
        assertEq(_lockedUsd(alice), 0, "the crossing remainder does not rest");
        _assertNotCrossed();

        uint256 calls = 1;
        while (trading.getOrder(real).remainingWh == 50_000) {
            uint256 before = _availableWh(alice);
            _buy(alice, 50_000, PRICE);
            assertGt(_availableWh(alice), before, "every call fills");
            ++calls;
        }
        assertEq(calls, 16, "1,000 dust orders take ceil(1,000 / 64) calls");
        assertEq(_availableWh(alice), FUNDS_WH + 1_000 * MIN_WH + 50_000 - 40 * MIN_WH);
        assertEq(trading.getOrder(real).remainingWh, 40 * MIN_WH);
        _assertNotCrossed();
    }

    /// @dev 999 cancelled slots in front of a real ask at one level: a call skips at most MAX_SKIPS_PER_CALL of
    /// them, returns its crossing remainder, and the next call reaches the real order.
    function test_createOrder_skipsAtMostMaxSkipsCancelledSlotsPerCall() public {
        uint256[] memory dust = new uint256[](1_000);
        for (uint256 i; i < dust.length; ++i) {
            dust[i] = _sell(dave, MIN_WH, PRICE);
        }
        uint256 real = _sell(bob, 1_000, PRICE);
        // cancel from the back, so only the last cancel (the head) advances the queue: 999 holes remain
        for (uint256 i = dust.length; i > 0; --i) {
            _cancel(dave, dust[i - 1]);
        }
        IEnergyTrading.Level memory lvl = trading.level(zone, SELL, PRICE);
        assertEq(lvl.head, 1);
        assertEq(lvl.tail, 1_001);
        assertEq(lvl.live, 1);
        assertEq(_lockedWh(dave), 0);

        uint256 takerId = _counterId(BUY, PRICE, 1);
        vm.expectEmit(address(trading));
        emit IEnergyTrading.OrderCancelled(takerId, alice, 1_000, IEnergyTrading.CancelReason.FillLimit);
        uint256 gasBefore = gasleft();
        _buy(alice, 1_000, PRICE);
        emit log_named_uint("gas: taker skipping 512 cancelled slots", gasBefore - gasleft());
        lvl = trading.level(zone, SELL, PRICE);
        assertEq(lvl.head, 1 + trading.MAX_SKIPS_PER_CALL());
        assertEq(_availableWh(alice), FUNDS_WH);
        assertEq(_availableUsd(alice), FUNDS_USD, "nothing paid, nothing locked");
        assertEq(trading.bestAsk(zone), PRICE, "the real order is still there");
        assertEq(trading.bestBid(zone), 0);

        // the book stays usable meanwhile
        uint256 other = _buy(carol, 100, 240_000);
        assertEq(trading.bestBid(zone), 240_000);

        _buy(alice, 1_000, PRICE);
        assertEq(_availableWh(alice), FUNDS_WH + 1_000, "the second call reaches the real order");
        assertEq(trading.getOrder(real).remainingWh, 0);
        lvl = trading.level(zone, SELL, PRICE);
        assertEq(lvl.live, 0);
        assertEq(lvl.head, lvl.tail);
        assertEq(trading.bestAsk(zone), 0);
        _assertEscrow(_ids(real, other));
        _assertConserved(_ids(real, other));
        _claim(_ids(real));
        vm.expectRevert(_notFound(real));
        trading.getOrder(real);
        _assertEscrow(_ids(real, other));
        _assertConserved();
    }

    // ─────────────────────────────────────────────────────────────── views

    function test_getOrder_revertsForUnknownOrder() public {
        uint256 id = _limitId(SELL, PRICE, 3);
        vm.expectRevert(_notFound(id));
        trading.getOrder(id);
    }

    function test_level_revertsOnInvalidPrice() public {
        vm.expectRevert(abi.encodeWithSelector(IEnergyTrading.TradingInvalidPrice.selector, uint128(1)));
        trading.level(zone, BUY, 1);
    }

    function test_bestBid_isZeroForAnEmptyBook() public view {
        assertEq(trading.bestBid(zone), 0);
        assertEq(trading.bestAsk(zone), 0);
        assertEq(trading.committedOn(zone, alice, uint64(block.timestamp / 1 days)), 0);
    }

    // ─────────────────────────────────────────────────────────────── helpers

    function _assertNoLog(bytes32 topic0) internal {
        Vm.Log[] memory logs = vm.getRecordedLogs();
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].emitter == address(trading) && logs[i].topics.length != 0) {
                assertTrue(logs[i].topics[0] != topic0, "unexpected event");
            }
        }
    }
}

// ─────────────────────────────────────────────────────────────── fuzz tests

contract EnergyTradingFuzzTest is EnergyTradingFixture {
    uint256 internal constant MAKERS = 3;

    struct Book {
        address[MAKERS] makers;
        uint64[MAKERS] amounts;
        uint128[MAKERS] prices;
        uint64[MAKERS] fills;
    }

    /// @dev Three makers on one side at random prices, a taker on the other at a random amount and limit:
    /// the taker fills at most its amount, best price first and oldest first, pays (or receives) exactly the
    /// makers' prices, each seller gets its notional less fees, and nothing is created.
    function testFuzz_createOrder_buyTakerPaysExactlyTheMakersPrices(
        uint64[3] memory amounts,
        uint16[3] memory ticks,
        uint64 takerAmount,
        uint16 limitTick
    ) public {
        Book memory book = _book(amounts, ticks);
        takerAmount = uint64(bound(takerAmount, MIN_WH, MAX_WH));
        uint128 limit = uint128(bound(limitTick, 200, 300)) * TICK;
        uint256[] memory ids = new uint256[](MAKERS + 1);
        for (uint256 i; i < MAKERS; ++i) {
            ids[i] = _sell(book.makers[i], book.amounts[i], book.prices[i]);
        }
        uint256 filled = _expectFills(book, takerAmount, limit, true);
        uint256 paid;
        for (uint256 i; i < MAKERS; ++i) {
            paid += _notional(book.fills[i], book.prices[i]);
        }

        ids[MAKERS] = _buy(alice, takerAmount, limit);

        assertLe(filled, takerAmount);
        assertEq(_availableWh(alice), FUNDS_WH + filled, "taker receives the fills");
        uint256 rest = takerAmount - filled;
        assertEq(_lockedUsd(alice), _notional(uint64(rest), limit), "the remainder rests at the limit");
        assertEq(
            _availableUsd(alice),
            FUNDS_USD - paid - _fee(paid) - _notional(uint64(rest), limit),
            "pays the makers' prices and the fee on the total"
        );
        uint256 filledMakers;
        for (uint256 i; i < MAKERS; ++i) {
            (,, uint64 unsettled, uint256 owed) = trading.unsettledFills(ids[i]);
            assertEq(unsettled, book.fills[i], "the fill waits in the maker's order");
            assertEq(owed, _notional(book.fills[i], book.prices[i]));
            assertEq(_availableUsd(book.makers[i]), FUNDS_USD, "not paid before settlement");
            assertEq(_lockedWh(book.makers[i]), book.amounts[i]);
            if (book.fills[i] != 0) ++filledMakers;
        }
        _assertEscrow(ids);
        _assertConserved(ids);
        _assertNotCrossed();

        assertEq(_claim(ids), filledMakers);
        for (uint256 i; i < MAKERS; ++i) {
            assertEq(
                _availableUsd(book.makers[i]),
                FUNDS_USD + _notional(book.fills[i], book.prices[i]),
                "seller gets the exact notional at its price"
            );
            assertEq(_lockedWh(book.makers[i]), book.amounts[i] - book.fills[i]);
        }
        _assertEscrow(ids);
        _assertConserved();
    }

    function testFuzz_createOrder_sellTakerReceivesNotionalLessFees(
        uint64[3] memory amounts,
        uint16[3] memory ticks,
        uint64 takerAmount,
        uint16 limitTick
    ) public {
        Book memory book = _book(amounts, ticks);
        takerAmount = uint64(bound(takerAmount, MIN_WH, MAX_WH));
        uint128 limit = uint128(bound(limitTick, 200, 300)) * TICK;
        uint256[] memory ids = new uint256[](MAKERS + 1);
        for (uint256 i; i < MAKERS; ++i) {
            ids[i] = _buy(book.makers[i], book.amounts[i], book.prices[i]);
        }
        uint256 filled = _expectFills(book, takerAmount, limit, false);
        uint256 notional;
        for (uint256 i; i < MAKERS; ++i) {
            notional += _notional(book.fills[i], book.prices[i]);
        }

        ids[MAKERS] = _sell(alice, takerAmount, limit);

        assertLe(filled, takerAmount);
        assertEq(
            _availableUsd(alice), FUNDS_USD + notional - _fee(notional), "seller gets the notional less the fee on it"
        );
        assertEq(_lockedWh(alice), takerAmount - filled);
        assertEq(_availableWh(alice), FUNDS_WH - takerAmount);
        for (uint256 i; i < MAKERS; ++i) {
            address maker = book.makers[i];
            assertEq(_availableWh(maker), FUNDS_WH, "credits wait for settlement");
            assertEq(_lockedUsd(maker), _notional(book.amounts[i], book.prices[i]), "payment stays locked");
            assertEq(trading.getOrder(ids[i]).unsettledWh, book.fills[i]);
        }
        _assertEscrow(ids);
        _assertConserved(ids);
        _assertNotCrossed();

        _claim(ids);
        for (uint256 i; i < MAKERS; ++i) {
            address maker = book.makers[i];
            assertEq(_availableWh(maker), FUNDS_WH + book.fills[i], "buyer receives credits");
            assertEq(
                _availableUsd(maker), FUNDS_USD - _notional(book.amounts[i], book.prices[i]), "buyer paid at its own price"
            );
            assertEq(_lockedUsd(maker), _notional(book.amounts[i] - book.fills[i], book.prices[i]));
        }
        _assertEscrow(ids);
        _assertConserved();
    }

    /// @dev The Dutch price stays within [floor, start], on the tick grid, at or above the exact linear price
    /// and less than one tick above it, and never rises.
    function testFuzz_dutchPrice_decaysOnTheTickGrid(uint16 startTick, uint16 floorTick, uint32 window, uint32 elapsed)
        public
    {
        floorTick = uint16(bound(floorTick, 1, type(uint16).max));
        startTick = uint16(bound(startTick, floorTick, type(uint16).max));
        window = uint32(bound(window, 1, 30 days));
        elapsed = uint32(bound(elapsed, 0, uint256(window) * 2));
        uint256 start = uint256(startTick) * TICK;
        uint256 floor = uint256(floorTick) * TICK;
        vm.prank(bob);
        uint256 id = trading.createDutchOrder(
            zone, MIN_WH, uint128(start), uint128(floor), window, uint64(block.timestamp + 2 * uint256(window) + 2)
        );
        vm.warp(block.timestamp + elapsed);
        uint256 price = trading.dutchPrice(id);
        uint256 e = elapsed > window ? window : elapsed;
        assertGe(price, floor);
        assertLe(price, start);
        assertEq(price % TICK, 0);
        uint256 exactTimesWindow = start * window - (start - floor) * e;
        assertGe(price * window, exactTimesWindow, "never below the exact price");
        assertLt((price - TICK) * window, exactTimesWindow + window, "less than a tick above it");
        vm.warp(block.timestamp + 1);
        assertLe(trading.dutchPrice(id), price, "never rises");
    }

    /// @dev An order with expiry `now + ttl` fills at every second before it and never at or after it.
    function testFuzz_createOrder_expiryIsExclusive(uint32 ttl, uint32 waited) public {
        ttl = uint32(bound(ttl, 1, 7 days));
        waited = uint32(bound(waited, 0, 2 * uint256(ttl)));
        vm.prank(bob);
        uint256 ask = trading.createOrder(zone, SELL, 1_000, PRICE, uint64(block.timestamp + ttl), 0);
        vm.warp(block.timestamp + waited);
        _order(alice, BUY, 1_000, PRICE, uint64(block.timestamp + 1), IOC);
        assertEq(_availableWh(alice), waited < ttl ? FUNDS_WH + 1_000 : FUNDS_WH);
        // filled: the sold credits wait for claimFills; expired: the order was removed and refunded
        assertEq(_lockedWh(bob), waited < ttl ? 1_000 : 0);
        assertEq(_claim(_ids(ask)), waited < ttl ? 1 : 0);
        assertEq(_lockedWh(bob), 0);
        assertEq(_availableUsd(bob), waited < ttl ? FUNDS_USD + _notional(1_000, PRICE) : FUNDS_USD);
        _assertConserved();
    }

    function _book(uint64[3] memory amounts, uint16[3] memory ticks) internal view returns (Book memory book) {
        book.makers = [bob, carol, dave];
        for (uint256 i; i < MAKERS; ++i) {
            book.amounts[i] = uint64(bound(amounts[i], MIN_WH, MAX_WH));
            book.prices[i] = uint128(bound(ticks[i], 200, 300)) * TICK;
        }
    }

    /// @dev Price-time priority, computed independently: repeatedly the best-priced (then oldest) maker that
    /// crosses the limit and has not been visited.
    function _expectFills(Book memory book, uint64 amount, uint128 limit, bool takerBuys)
        internal
        pure
        returns (uint256 filled)
    {
        bool[MAKERS] memory visited;
        uint256 remaining = amount;
        for (uint256 round; round < MAKERS && remaining != 0; ++round) {
            uint256 best = type(uint256).max;
            for (uint256 i; i < MAKERS; ++i) {
                if (visited[i]) continue;
                bool crosses = takerBuys ? book.prices[i] <= limit : book.prices[i] >= limit;
                if (!crosses) continue;
                if (best == type(uint256).max) {
                    best = i;
                } else if (takerBuys ? book.prices[i] < book.prices[best] : book.prices[i] > book.prices[best]) {
                    best = i; // strictly better price; on a tie the earlier (lower index) maker keeps priority
                }
            }
            if (best == type(uint256).max) break;
            visited[best] = true;
            uint256 fill = remaining < book.amounts[best] ? remaining : book.amounts[best];
            book.fills[best] = uint64(fill);
            remaining -= fill;
            filled += fill;
        }
    }
}

// ─────────────────────────────────────────────────────────────── re-entrancy

/// @dev A second market whose payment token calls back into EnergyTrading and Settlement from inside its
/// transfers. Every re-entry must be refused with ReentrancyGuardReentrantCall and change nothing.
contract EnergyTradingReentrancyTest is MarketFixture {
    TradingReentrantToken internal rusd;
    Settlement internal vault;
    EnergyTrading internal market;

    uint256 internal bidId; // bob: 2,000 Wh at 0.25
    uint256 internal askId; // carol: 1,000 Wh at 0.30
    uint256 internal dutchId; // carol: 1,000 Wh, 0.25 flat
    uint256 internal tokenAskId; // the token's own order, 500 Wh at 0.40, expiring in 10 s

    struct Snapshot {
        uint256[8] balances;
        uint256 vaultUsd;
        uint256 vaultWh;
        uint64 bidLeft;
        uint64 askLeft;
        uint64 dutchLeft;
        uint64 tokenAskLeft;
        uint64 bidUnsettled;
        uint128 bestBid;
        uint128 bestAsk;
        uint64 tokenCommitted;
    }

    function setUp() public override {
        super.setUp();
        rusd = new TradingReentrantToken();
        market = _newMarket(address(rusd));
        vault = Settlement(market.settlement());
        _pushCopies(market, zone);
        rusd.setVault(address(vault));

        _fundVault(alice, 1_000 * USD, 0);
        _fundVault(bob, 1_000 * USD, 0);
        _fundVault(carol, 0, 10_000);
        vm.prank(bob);
        bidId = market.createOrder(zone, IEnergyTrading.Side.Buy, 2_000, PRICE, uint64(block.timestamp + ONE_DAY), 0);
        vm.startPrank(carol);
        askId = market.createOrder(zone, IEnergyTrading.Side.Sell, 1_000, 300_000, uint64(block.timestamp + ONE_DAY), 0);
        dutchId = market.createDutchOrder(zone, 1_000, PRICE, PRICE, 1, uint64(block.timestamp + ONE_DAY));
        vm.stopPrank();

        // the token itself trades: credits deposited and one short-lived ask
        deal(address(token), address(rusd), 1_000, true);
        rusd.execute(address(token), abi.encodeCall(IERC20.approve, (address(vault), type(uint256).max)));
        rusd.execute(address(vault), abi.encodeCall(ISettlement.deposit, (address(token), 1_000)));
        bytes memory created = rusd.execute(
            address(market),
            abi.encodeCall(
                IEnergyTrading.createOrder,
                (zone, IEnergyTrading.Side.Sell, 500, 400_000, uint64(block.timestamp + 10), 0)
            )
        );
        tokenAskId = abi.decode(created, (uint256));
    }

    function _fundVault(address account, uint256 usdAmount, uint256 creditsWh) internal {
        vm.startPrank(account);
        if (usdAmount != 0) {
            rusd.mint(account, usdAmount);
            rusd.approve(address(vault), type(uint256).max);
            vault.deposit(address(rusd), usdAmount);
        }
        if (creditsWh != 0) {
            deal(address(token), account, creditsWh, true);
            token.approve(address(vault), type(uint256).max);
            vault.deposit(address(token), creditsWh);
        }
        vm.stopPrank();
    }

    // ─────────────────────────────────────────────────────────────── one test per entry point

    function test_createOrder_reentryFromPaymentTokenReverts() public {
        _expectRefusedOnWithdraw(
            address(market),
            abi.encodeCall(
                IEnergyTrading.createOrder, (zone, IEnergyTrading.Side.Sell, 500, 300_000, uint64(block.timestamp + 60), 0)
            )
        );
    }

    function test_createOrder_reentryFromDepositReverts() public {
        // an order that would fill against bob's bid
        _expectRefusedOnDeposit(
            address(market),
            abi.encodeCall(
                IEnergyTrading.createOrder, (zone, IEnergyTrading.Side.Sell, 100, PRICE, uint64(block.timestamp + 60), 0)
            )
        );
    }

    function test_cancelOrder_reentryFromPaymentTokenReverts() public {
        _expectRefusedOnWithdraw(address(market), abi.encodeCall(IEnergyTrading.cancelOrder, (tokenAskId)));
    }

    function test_matchOrders_reentryFromPaymentTokenReverts() public {
        _expectRefusedOnWithdraw(address(market), abi.encodeCall(IEnergyTrading.matchOrders, (bidId, dutchId)));
    }

    function test_takeDutchOrder_reentryFromPaymentTokenReverts() public {
        _expectRefusedOnDeposit(address(market), abi.encodeCall(IEnergyTrading.takeDutchOrder, (dutchId, 500, PRICE)));
    }

    function test_expireOrders_reentryFromPaymentTokenReverts() public {
        vm.warp(block.timestamp + 10);
        uint256[] memory ids = new uint256[](1);
        ids[0] = tokenAskId;
        _expectRefusedOnWithdraw(address(market), abi.encodeCall(IEnergyTrading.expireOrders, (ids)));
    }

    function test_claimFills_reentryFromPaymentTokenReverts() public {
        _sellIntoBobsBid(300);
        _expectRefusedOnWithdraw(address(market), abi.encodeCall(IEnergyTrading.claimFills, (_bidIds())));
        assertEq(market.getOrder(bidId).unsettledWh, 300, "still unsettled");
        assertEq(vault.balanceOf(bob, address(token)).available, 0);
    }

    function test_claimFills_reentryFromDepositReverts() public {
        _sellIntoBobsBid(300);
        _expectRefusedOnDeposit(address(market), abi.encodeCall(IEnergyTrading.claimFills, (_bidIds())));
        assertEq(market.getOrder(bidId).unsettledWh, 300, "still unsettled");
    }

    function test_withdraw_reentryFromPaymentTokenReverts() public {
        _expectRefusedOnWithdraw(address(vault), abi.encodeCall(ISettlement.withdraw, (address(token), 100)));
    }

    function test_deposit_reentryFromPaymentTokenReverts() public {
        _expectRefusedOnDeposit(address(vault), abi.encodeCall(ISettlement.deposit, (address(token), 100)));
    }

    /// @dev Control: unarmed, the same calls go through (so the refusals above are the guard's doing).
    function test_reentrancy_sameCallsSucceedWhenNotReentered() public {
        vm.warp(block.timestamp + 10);
        uint256[] memory ids = new uint256[](1);
        ids[0] = tokenAskId;
        rusd.execute(address(market), abi.encodeCall(IEnergyTrading.expireOrders, (ids)));
        assertEq(vault.balanceOf(address(rusd), address(token)).locked, 0);
        rusd.execute(address(vault), abi.encodeCall(ISettlement.withdraw, (address(token), 100)));
        rusd.execute(
            address(market),
            abi.encodeCall(
                IEnergyTrading.createOrder, (zone, IEnergyTrading.Side.Sell, 100, PRICE, uint64(block.timestamp + 60), 0)
            )
        );
        vm.prank(keeper);
        market.matchOrders(bidId, dutchId);
        // the matchOrders fill settled at once, the taker's 100 Wh wait in bob's bid
        assertEq(vault.balanceOf(bob, address(token)).available, 1_000);
        assertEq(market.getOrder(bidId).unsettledWh, 100);
        assertEq(rusd.execute(address(market), abi.encodeCall(IEnergyTrading.claimFills, (_bidIds()))), abi.encode(1));
        assertEq(vault.balanceOf(bob, address(token)).available, 1_100);
        assertEq(market.getOrder(bidId).unsettledWh, 0);
    }

    /// @dev The token sells `amountWh` into bob's bid as a taker: bob's bid holds unsettled maker fills.
    function _sellIntoBobsBid(uint64 amountWh) internal {
        rusd.execute(
            address(market),
            abi.encodeCall(
                IEnergyTrading.createOrder,
                (zone, IEnergyTrading.Side.Sell, amountWh, PRICE, uint64(block.timestamp + 60), 0)
            )
        );
        assertEq(market.getOrder(bidId).unsettledWh, amountWh);
    }

    function _bidIds() internal view returns (uint256[] memory ids) {
        ids = new uint256[](1);
        ids[0] = bidId;
    }

    // ─────────────────────────────────────────────────────────────── harness

    function _expectRefusedOnWithdraw(address target, bytes memory payload) internal {
        Snapshot memory before = _snapshot();
        rusd.arm(target, payload);
        vm.prank(alice);
        vault.withdraw(address(rusd), 1);
        before.balances[0] -= 1; // alice's available rUSD: the withdrawal itself
        before.vaultUsd -= 1;
        _assertRefused(before);
    }

    function _expectRefusedOnDeposit(address target, bytes memory payload) internal {
        rusd.mint(alice, 1);
        Snapshot memory before = _snapshot();
        rusd.arm(target, payload);
        vm.prank(alice);
        vault.deposit(address(rusd), 1);
        before.balances[0] += 1;
        before.vaultUsd += 1;
        _assertRefused(before);
    }

    function _assertRefused(Snapshot memory expected) internal view {
        assertEq(rusd.attempts(), 1, "one re-entry tried");
        assertEq(rusd.succeeded(), 0, "re-entry succeeded");
        assertEq(rusd.refused(), 1, "refused by the guard");
        assertEq(rusd.lastError(), abi.encodeWithSelector(ReentrancyGuardTransient.ReentrancyGuardReentrantCall.selector));
        Snapshot memory actual = _snapshot();
        for (uint256 i; i < expected.balances.length; ++i) {
            assertEq(actual.balances[i], expected.balances[i], "balance changed");
        }
        assertEq(actual.vaultUsd, expected.vaultUsd);
        assertEq(actual.vaultWh, expected.vaultWh);
        assertEq(actual.bidLeft, expected.bidLeft);
        assertEq(actual.askLeft, expected.askLeft);
        assertEq(actual.dutchLeft, expected.dutchLeft);
        assertEq(actual.tokenAskLeft, expected.tokenAskLeft);
        assertEq(actual.bidUnsettled, expected.bidUnsettled);
        assertEq(actual.bestBid, expected.bestBid);
        assertEq(actual.bestAsk, expected.bestAsk);
        assertEq(actual.tokenCommitted, expected.tokenCommitted);
    }

    function _snapshot() internal view returns (Snapshot memory s) {
        address[4] memory accounts = [alice, bob, carol, address(rusd)];
        for (uint256 i; i < accounts.length; ++i) {
            ISettlement.Balance memory u = vault.balanceOf(accounts[i], address(rusd));
            ISettlement.Balance memory w = vault.balanceOf(accounts[i], address(token));
            s.balances[2 * i] = u.available + (uint256(u.locked) << 128);
            s.balances[2 * i + 1] = w.available + (uint256(w.locked) << 128);
        }
        s.vaultUsd = rusd.balanceOf(address(vault));
        s.vaultWh = token.balanceOf(address(vault));
        s.bidLeft = market.getOrder(bidId).remainingWh;
        s.askLeft = market.getOrder(askId).remainingWh;
        s.dutchLeft = market.getOrder(dutchId).remainingWh;
        s.tokenAskLeft = market.getOrder(tokenAskId).remainingWh;
        s.bidUnsettled = market.getOrder(bidId).unsettledWh;
        s.bestBid = market.bestBid(zone);
        s.bestAsk = market.bestAsk(zone);
        s.tokenCommitted = market.committedOn(zone, address(rusd), uint64(block.timestamp / 1 days));
    }
}
