// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IAccessManaged} from "@openzeppelin/contracts/access/manager/IAccessManaged.sol";
import {EnergyTrading} from "../contracts/EnergyTrading.sol";
import {GridManagement} from "../contracts/GridManagement.sol";
import {PriceOracle} from "../contracts/PriceOracle.sol";
import {IEnergyTrading} from "../contracts/interfaces/IEnergyTrading.sol";
import {IGridManagement} from "../contracts/interfaces/IGridManagement.sol";
import {IPriceOracle} from "../contracts/interfaces/IPriceOracle.sol";
import {IQuorumOracle} from "../contracts/interfaces/IQuorumOracle.sol";
import {MarketFixture} from "./utils/MarketFixture.sol";

/// @dev EnergyTrading checks copies of GridManagement's trading rules and PriceOracle's reference prices,
/// pushed by their owners in the transaction of every change. These tests hold the copies equal to the
/// truth after every kind of change, check the wiring (set once, ADMIN only, pushes what exists) and that
/// only the owners can write the copies.
contract MarketCopiesTest is MarketFixture {
    uint32 internal otherZone;

    function setUp() public virtual override {
        super.setUp();
        otherZone = grid.createZone(defaultZoneConfig("Hillside"));
        grid.setZoneOperator(otherZone, gridOperator, true);
    }

    // ─────────────────────────────────────────────────────────────── helpers

    function _assertRulesCopied(uint32 zone_) internal view {
        (bool open, IGridManagement.TradingRules memory copy) = trading.tradingRules(zone_);
        IGridManagement.TradingRules memory truth = grid.zoneTradingRules(zone_);
        assertEq(abi.encode(copy), abi.encode(truth), "rules copy");
        assertEq(open, grid.isTradingAllowed(zone_), "open");
    }

    function _assertReferenceCopied(uint32 zone_) internal view {
        (uint128 price, uint64 observedAt, bool fresh) = trading.referencePrice(zone_);
        (uint128 truthPrice, uint64 truthObservedAt, bool truthFresh) = priceOracle.referencePrice(zone_);
        assertEq(price, truthPrice, "price");
        assertEq(observedAt, truthObservedAt, "observedAt");
        assertEq(fresh, truthFresh, "fresh");
        assertEq(trading.referenceHeartbeat(), priceOracle.heartbeat(), "heartbeat");
    }

    function _freshMarket(GridManagement grid_, PriceOracle oracle_) internal returns (EnergyTrading) {
        return new EnergyTrading(
            address(manager),
            _vaultTerms(address(usd)),
            grid_,
            oracle_,
            TICK,
            MAX_FILLS,
            PRICE_BAND_BPS,
            IEnergyTrading.StaleReferencePolicy.Refuse
        );
    }

    function _newOracle(GridManagement grid_) internal returns (PriceOracle) {
        IQuorumOracle.FieldConfig[] memory configs = new IQuorumOracle.FieldConfig[](3);
        configs[0] = IQuorumOracle.FieldConfig({min: 1, max: 1e12, maxDeviationBps: 0});
        configs[1] = IQuorumOracle.FieldConfig({min: 0, max: 1e12, maxDeviationBps: 0});
        configs[2] = IQuorumOracle.FieldConfig({min: 0, max: 1e12, maxDeviationBps: 0});
        return new PriceOracle(address(manager), grid_, 1, ORACLE_HEARTBEAT, configs);
    }

    // ─────────────────────────────────────────────────────────────── the copies follow every change

    function test_wiredFixture_copiesEqualTheTruth() public view {
        _assertRulesCopied(zone);
        _assertRulesCopied(otherZone);
        _assertRulesCopied(77); // unknown: all zero, closed
        _assertReferenceCopied(zone);
        assertEq(grid.market(), address(trading));
        assertEq(priceOracle.market(), address(trading));
    }

    function test_createZone_pushesItsRules() public {
        vm.expectEmit(address(trading));
        emit IEnergyTrading.TradingRulesCopied(3, _rulesOf(defaultZoneConfig("Lakeside"), true));
        uint32 created = grid.createZone(defaultZoneConfig("Lakeside"));
        _assertRulesCopied(created);
    }

    function test_everyRulesChange_isCopied() public {
        grid.setFeeSchedule(
            zone, IGridManagement.FeeSchedule({peakFeeBps: 300, offPeakFeeBps: 10, peakStartHour: 22, peakEndHour: 5})
        );
        _assertRulesCopied(zone);
        grid.setComplianceLimits(
            zone,
            IGridManagement.ComplianceLimits({minOrderWh: 7, maxOrderWh: 70_000, maxDailyTradedWhPerAccount: 700_000})
        );
        _assertRulesCopied(zone);
        vm.prank(gridOperator);
        grid.haltZone(zone, "feeder fault");
        _assertRulesCopied(zone);
        vm.prank(gridOperator);
        grid.resumeZone(zone);
        _assertRulesCopied(zone);
        grid.setZoneActive(zone, false);
        _assertRulesCopied(zone);
        grid.setZoneActive(zone, true);
        _assertRulesCopied(zone);
        _assertRulesCopied(otherZone); // untouched
    }

    function test_pauseAndUnpause_areCopied() public {
        vm.expectEmit(address(trading));
        emit IEnergyTrading.PauseCopied(true);
        vm.prank(guardian);
        grid.pause();
        _assertRulesCopied(zone);
        _assertRulesCopied(otherZone);
        vm.expectEmit(address(trading));
        emit IEnergyTrading.PauseCopied(false);
        grid.unpause();
        _assertRulesCopied(zone);
    }

    function test_haltedCopy_refusesOrders_resumedCopy_acceptsThem() public {
        _deposit(alice, 100 * USD, 0);
        vm.prank(gridOperator);
        grid.haltZone(zone, "feeder fault");
        vm.expectRevert(abi.encodeWithSelector(IEnergyTrading.TradingZoneClosed.selector, zone));
        _buy(alice, 1_000, PRICE);
        vm.prank(gridOperator);
        grid.resumeZone(zone);
        _buy(alice, 1_000, PRICE);
    }

    function test_limitsCopy_governsOrderSizes() public {
        _deposit(alice, 100 * USD, 0);
        grid.setComplianceLimits(
            zone,
            IGridManagement.ComplianceLimits({minOrderWh: 500, maxOrderWh: 2_000, maxDailyTradedWhPerAccount: 1e9})
        );
        vm.expectRevert(abi.encodeWithSelector(IEnergyTrading.TradingOrderTooSmall.selector, 499, 500));
        _buy(alice, 499, PRICE);
        vm.expectRevert(abi.encodeWithSelector(IEnergyTrading.TradingOrderTooLarge.selector, 2_001, 2_000));
        _buy(alice, 2_001, PRICE);
        _buy(alice, 2_000, PRICE);
    }

    function testFuzz_rulesCopy_followsAnySequenceOfChanges(uint256 seed) public {
        for (uint256 i; i < 24; ++i) {
            uint256 r = uint256(keccak256(abi.encode(seed, i)));
            uint32 target = r & 1 == 0 ? zone : otherZone;
            uint256 action = (r >> 1) % 6;
            if (action == 0) {
                grid.setFeeSchedule(
                    target,
                    IGridManagement.FeeSchedule({
                        peakFeeBps: uint16((r >> 8) % 1_001),
                        offPeakFeeBps: uint16((r >> 24) % 1_001),
                        peakStartHour: uint8((r >> 40) % 24),
                        peakEndHour: uint8((r >> 48) % 24)
                    })
                );
            } else if (action == 1) {
                uint64 minWh = uint64((r >> 8) % 1_000) + 1;
                uint64 maxWh = minWh + uint64((r >> 24) % 1e9);
                grid.setComplianceLimits(
                    target,
                    IGridManagement.ComplianceLimits({
                        minOrderWh: minWh,
                        maxOrderWh: maxWh,
                        maxDailyTradedWhPerAccount: maxWh + uint64((r >> 56) % 1e9)
                    })
                );
            } else if (action == 2) {
                bool halted = grid.getZone(target).halted;
                vm.prank(gridOperator);
                if (halted) grid.resumeZone(target);
                else grid.haltZone(target, "test");
            } else if (action == 3) {
                grid.setZoneActive(target, !grid.getZone(target).active);
            } else if (action == 4) {
                if (grid.paused()) {
                    grid.unpause();
                } else {
                    vm.prank(guardian);
                    grid.pause();
                }
            } else {
                grid.setCapacity(target, uint64((r >> 8) % 1e9) + 1); // not a trading rule: nothing to push
            }
            _assertRulesCopied(zone);
            _assertRulesCopied(otherZone);
        }
    }

    function test_referencePrice_isCopiedWithEveryReport() public {
        _postReference(zone, 260_000);
        _assertReferenceCopied(zone);
        vm.warp(block.timestamp + 600);
        _postReference(zone, 255_000);
        _assertReferenceCopied(zone);
        _assertReferenceCopied(otherZone); // never reported
    }

    function testFuzz_referenceFreshness_equalsTheOracle(uint32 elapsed, uint32 heartbeat) public {
        heartbeat = uint32(bound(heartbeat, 1, 30 days));
        priceOracle.setHeartbeat(heartbeat);
        _postReference(zone, 240_000);
        vm.warp(block.timestamp + bound(elapsed, 0, 60 days));
        _assertReferenceCopied(zone);
    }

    function test_heartbeatChange_isCopied() public {
        vm.expectEmit(address(trading));
        emit IEnergyTrading.ReferenceHeartbeatCopied(90);
        priceOracle.setHeartbeat(90);
        _postReference(zone, 250_000);
        vm.warp(block.timestamp + 91);
        _assertReferenceCopied(zone);
        (,, bool fresh) = trading.referencePrice(zone);
        assertFalse(fresh);
    }

    // ─────────────────────────────────────────────────────────────── wiring

    function test_gridSetMarket_pushesEveryZoneAndThePause() public {
        GridManagement grid2 = new GridManagement(address(manager), TRADING_INTERVAL);
        uint32 a = grid2.createZone(defaultZoneConfig("A"));
        uint32 b = grid2.createZone(defaultZoneConfig("B"));
        // grid2's functions are ADMIN (the default role), which this test contract holds
        grid2.setZoneOperator(a, address(this), true);
        grid2.haltZone(a, "feeder fault");
        grid2.setZoneActive(b, false);
        grid2.pause();
        EnergyTrading market2 = _freshMarket(grid2, priceOracle);
        (bool open,) = market2.tradingRules(a);
        assertFalse(open, "closed before wiring");

        vm.expectEmit(address(grid2));
        emit IGridManagement.MarketSet(address(market2));
        grid2.setMarket(address(market2));
        assertEq(grid2.market(), address(market2));
        for (uint32 z = a; z <= b; ++z) {
            (bool open_, IGridManagement.TradingRules memory rules) = market2.tradingRules(z);
            assertEq(abi.encode(rules), abi.encode(grid2.zoneTradingRules(z)));
            assertFalse(open_, "paused");
        }
        grid2.unpause();
        (open,) = market2.tradingRules(a);
        assertFalse(open, "halted");
        grid2.resumeZone(a);
        (open,) = market2.tradingRules(a);
        assertTrue(open);
        (open,) = market2.tradingRules(b);
        assertFalse(open, "inactive");
    }

    function test_unwiredMarket_keepsEveryZoneClosed() public {
        GridManagement grid2 = new GridManagement(address(manager), TRADING_INTERVAL);
        uint32 a = grid2.createZone(defaultZoneConfig("A"));
        EnergyTrading market2 = _freshMarket(grid2, priceOracle);
        settlementDeposit(alice);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(IEnergyTrading.TradingZoneClosed.selector, a));
        market2.createOrder(a, IEnergyTrading.Side.Buy, 1_000, PRICE, uint64(block.timestamp + 1 days), 0);
    }

    function test_gridSetMarket_revertsForStranger_zero_andTwice() public {
        GridManagement grid2 = new GridManagement(address(manager), TRADING_INTERVAL);
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(IAccessManaged.AccessManagedUnauthorized.selector, stranger));
        grid2.setMarket(address(trading));
        vm.expectRevert(IGridManagement.GridManagementZeroAddress.selector);
        grid2.setMarket(address(0));
        vm.expectRevert(abi.encodeWithSelector(IGridManagement.GridManagementMarketAlreadySet.selector, address(trading)));
        grid.setMarket(address(0xBEEF));
    }

    function test_oracleSetMarket_pushesHeartbeatAndReportedZones() public {
        PriceOracle oracle2 = _newOracle(grid);
        EnergyTrading market2 = _freshMarket(grid, oracle2);
        assertEq(market2.referenceHeartbeat(), 0, "no copy before wiring");

        vm.expectEmit(address(oracle2));
        emit IPriceOracle.MarketSet(address(market2));
        oracle2.setMarket(address(market2));
        assertEq(oracle2.market(), address(market2));
        assertEq(market2.referenceHeartbeat(), ORACLE_HEARTBEAT);
        (uint128 price, uint64 observedAt, bool fresh) = market2.referencePrice(zone);
        assertEq(price, 0);
        assertEq(observedAt, 0);
        assertFalse(fresh);
    }

    function test_oracleSetMarket_copiesAnExistingReport() public {
        PriceOracle oracle = priceOracle;
        PriceOracle oracle2 = _newOracle(grid);
        EnergyTrading market3 = _freshMarket(grid, oracle2);
        priceOracle = oracle2; // _postReference signs for and submits to `priceOracle`
        _postReference(zone, 263_000);
        priceOracle = oracle;
        (uint128 before,,) = market3.referencePrice(zone);
        assertEq(before, 0, "nothing copied before wiring");
        oracle2.setMarket(address(market3));
        (uint128 price, uint64 observedAt, bool fresh) = market3.referencePrice(zone);
        (uint128 truth, uint64 truthAt, bool truthFresh) = oracle2.referencePrice(zone);
        assertEq(price, truth);
        assertEq(price, 263_000);
        assertEq(observedAt, truthAt);
        assertEq(fresh, truthFresh);
        assertTrue(fresh);
    }

    function test_oracleSetMarket_revertsForStranger_zero_andTwice() public {
        PriceOracle oracle2 = _newOracle(grid);
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(IAccessManaged.AccessManagedUnauthorized.selector, stranger));
        oracle2.setMarket(address(trading));
        vm.expectRevert(IQuorumOracle.QuorumOracleZeroAddress.selector);
        oracle2.setMarket(address(0));
        vm.expectRevert(abi.encodeWithSelector(IPriceOracle.PriceOracleMarketAlreadySet.selector, address(trading)));
        priceOracle.setMarket(address(0xBEEF));
    }

    // ─────────────────────────────────────────────────────────────── only the owners write the copies

    function test_hooks_revertForAnyoneButTheirOwner() public {
        IGridManagement.TradingRules memory open_ = grid.zoneTradingRules(zone);
        vm.startPrank(stranger);
        vm.expectRevert(abi.encodeWithSelector(IEnergyTrading.TradingCallerNotGridManagement.selector, stranger));
        trading.onZoneRulesChanged(zone, open_);
        vm.expectRevert(abi.encodeWithSelector(IEnergyTrading.TradingCallerNotGridManagement.selector, stranger));
        trading.onPauseChanged(true);
        vm.expectRevert(abi.encodeWithSelector(IEnergyTrading.TradingCallerNotPriceOracle.selector, stranger));
        trading.onReferencePrice(zone, 1, uint64(block.timestamp));
        vm.expectRevert(abi.encodeWithSelector(IEnergyTrading.TradingCallerNotPriceOracle.selector, stranger));
        trading.onReferenceHeartbeat(1);
        vm.stopPrank();
        // the oracle cannot write rules, nor the registry prices
        vm.prank(address(priceOracle));
        vm.expectRevert(
            abi.encodeWithSelector(IEnergyTrading.TradingCallerNotGridManagement.selector, address(priceOracle))
        );
        trading.onPauseChanged(true);
        vm.prank(address(grid));
        vm.expectRevert(abi.encodeWithSelector(IEnergyTrading.TradingCallerNotPriceOracle.selector, address(grid)));
        trading.onReferenceHeartbeat(1);
    }

    // ─────────────────────────────────────────────────────────────── internal

    function _rulesOf(IGridManagement.ZoneConfig memory config, bool active)
        internal
        pure
        returns (IGridManagement.TradingRules memory)
    {
        return IGridManagement.TradingRules({
            active: active,
            halted: false,
            peakFeeBps: config.fees.peakFeeBps,
            offPeakFeeBps: config.fees.offPeakFeeBps,
            peakStartHour: config.fees.peakStartHour,
            peakEndHour: config.fees.peakEndHour,
            minOrderWh: config.limits.minOrderWh,
            maxOrderWh: config.limits.maxOrderWh,
            maxDailyTradedWhPerAccount: config.limits.maxDailyTradedWhPerAccount
        });
    }

    function settlementDeposit(address account) internal {
        _deposit(account, 100 * USD, 0);
    }
}
