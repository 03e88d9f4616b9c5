// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IAccessManaged} from "@openzeppelin/contracts/access/manager/IAccessManaged.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {GridManagement} from "../contracts/GridManagement.sol";
import {IGridManagement} from "../contracts/interfaces/IGridManagement.sol";
import {GridXFixture} from "./utils/GridXFixture.sol";

contract GridManagementTest is GridXFixture {
    // ─────────────────────────────────────────────────────────────── createZone

    function test_createZone_storesConfigAndEmits() public {
        IGridManagement.ZoneConfig memory config = defaultZoneConfig("Hilltop");
        config.emissionFactor_gCO2ePerKWh = 180;
        vm.expectEmit(address(grid));
        emit IGridManagement.ZoneCreated(2, "Hilltop", treasury);
        vm.expectEmit(address(grid));
        emit IGridManagement.TreasuryUpdated(2, treasury);
        vm.expectEmit(address(grid));
        emit IGridManagement.EmissionFactorUpdated(2, 180);
        vm.expectEmit(address(grid));
        emit IGridManagement.CapacityUpdated(2, 500_000);
        vm.expectEmit(address(grid));
        emit IGridManagement.FeeScheduleUpdated(2, 150, 50, 17, 21);
        vm.expectEmit(address(grid));
        emit IGridManagement.ComplianceLimitsUpdated(2, 100, 1_000_000, 5_000_000);
        uint32 id = grid.createZone(config);

        assertEq(id, 2);
        assertEq(grid.zoneCount(), 2);
        assertTrue(grid.zoneExists(2));
        IGridManagement.Zone memory z = grid.getZone(2);
        assertEq(z.name, "Hilltop");
        assertEq(z.treasury, treasury);
        assertEq(z.emissionFactor_gCO2ePerKWh, 180);
        assertEq(z.capacityWhPerInterval, 500_000);
        assertEq(z.peakFeeBps, 150);
        assertEq(z.offPeakFeeBps, 50);
        assertEq(z.peakStartHour, 17);
        assertEq(z.peakEndHour, 21);
        assertEq(z.minOrderWh, 100);
        assertEq(z.maxOrderWh, 1_000_000);
        assertEq(z.maxDailyTradedWhPerAccount, 5_000_000);
        assertTrue(z.active);
        assertFalse(z.halted);
    }

    function test_createZone_revertsForStranger() public {
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(IAccessManaged.AccessManagedUnauthorized.selector, stranger));
        grid.createZone(defaultZoneConfig("Hilltop"));
    }

    function test_createZone_revertsOnEmptyName() public {
        vm.expectRevert(IGridManagement.GridManagementEmptyName.selector);
        grid.createZone(defaultZoneConfig(""));
    }

    function test_createZone_revertsOnZeroTreasury() public {
        IGridManagement.ZoneConfig memory config = defaultZoneConfig("Hilltop");
        config.treasury = address(0);
        vm.expectRevert(IGridManagement.GridManagementZeroAddress.selector);
        grid.createZone(config);
    }

    function test_createZone_revertsOnZeroCapacity() public {
        IGridManagement.ZoneConfig memory config = defaultZoneConfig("Hilltop");
        config.capacityWhPerInterval = 0;
        vm.expectRevert(abi.encodeWithSelector(IGridManagement.GridManagementZeroCapacity.selector, 2));
        grid.createZone(config);
    }

    // ─────────────────────────────────────────────────────────────── fees

    function test_setFeeSchedule_acceptsCeilingAndRejectsAbove() public {
        grid.setFeeSchedule(zone, IGridManagement.FeeSchedule(1_000, 1_000, 0, 0));
        assertEq(grid.getZone(zone).peakFeeBps, 1_000);

        vm.expectRevert(abi.encodeWithSelector(IGridManagement.GridManagementFeeTooHigh.selector, 1_001, 1_000));
        grid.setFeeSchedule(zone, IGridManagement.FeeSchedule(1_001, 0, 17, 21));
        vm.expectRevert(abi.encodeWithSelector(IGridManagement.GridManagementFeeTooHigh.selector, 1_001, 1_000));
        grid.setFeeSchedule(zone, IGridManagement.FeeSchedule(0, 1_001, 17, 21));
    }

    function test_setFeeSchedule_revertsOnInvalidHours() public {
        vm.expectRevert(abi.encodeWithSelector(IGridManagement.GridManagementInvalidHour.selector, 24));
        grid.setFeeSchedule(zone, IGridManagement.FeeSchedule(100, 50, 24, 3));
        vm.expectRevert(abi.encodeWithSelector(IGridManagement.GridManagementInvalidHour.selector, 24));
        grid.setFeeSchedule(zone, IGridManagement.FeeSchedule(100, 50, 3, 24));
        grid.setFeeSchedule(zone, IGridManagement.FeeSchedule(100, 50, 23, 23));
    }

    function test_setFeeSchedule_revertsForStrangerAndUnknownZone() public {
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(IAccessManaged.AccessManagedUnauthorized.selector, stranger));
        grid.setFeeSchedule(zone, IGridManagement.FeeSchedule(100, 50, 17, 21));
        vm.expectRevert(abi.encodeWithSelector(IGridManagement.GridManagementUnknownZone.selector, 9));
        grid.setFeeSchedule(9, IGridManagement.FeeSchedule(100, 50, 17, 21));
    }

    function test_gridFeeBps_followsPeakWindow() public view {
        uint64 midnight = uint64(block.timestamp / 1 days * 1 days);
        assertEq(grid.gridFeeBps(zone, midnight + 16 hours + 59 minutes), 50);
        assertEq(grid.gridFeeBps(zone, midnight + 17 hours), 150);
        assertEq(grid.gridFeeBps(zone, midnight + 20 hours + 59 minutes), 150);
        assertEq(grid.gridFeeBps(zone, midnight + 21 hours), 50);
    }

    function test_isPeak_wrapsPastMidnight() public {
        grid.setFeeSchedule(zone, IGridManagement.FeeSchedule(200, 20, 22, 6));
        uint64 midnight = uint64(block.timestamp / 1 days * 1 days);
        assertTrue(grid.isPeak(zone, midnight + 23 hours));
        assertTrue(grid.isPeak(zone, midnight + 5 hours));
        assertFalse(grid.isPeak(zone, midnight + 6 hours));
        assertFalse(grid.isPeak(zone, midnight + 21 hours));
        assertEq(grid.gridFeeBps(zone, midnight + 2 hours), 200);
    }

    function test_isPeak_revertsForUnknownZone() public {
        vm.expectRevert(abi.encodeWithSelector(IGridManagement.GridManagementUnknownZone.selector, 0));
        grid.isPeak(0, 0);
    }

    /// Property: the fee is the peak fee exactly when the hour lies in the (possibly wrapping) window.
    function testFuzz_gridFeeBps_matchesReferenceSchedule(uint8 start, uint8 end, uint64 timestamp) public {
        start = uint8(bound(start, 0, 23));
        end = uint8(bound(end, 0, 23));
        grid.setFeeSchedule(zone, IGridManagement.FeeSchedule(321, 123, start, end));
        uint256 hour = (timestamp / 3600) % 24;
        bool expectedPeak;
        for (uint256 h = start; h != end; h = (h + 1) % 24) {
            if (h == hour) expectedPeak = true;
        }
        assertEq(grid.isPeak(zone, timestamp), expectedPeak);
        assertEq(grid.gridFeeBps(zone, timestamp), expectedPeak ? 321 : 123);
    }

    // ─────────────────────────────────────────────────────────────── other setters

    function test_setters_updateAndEmit() public {
        vm.expectEmit(address(grid));
        emit IGridManagement.CapacityUpdated(zone, 42);
        grid.setCapacity(zone, 42);
        vm.expectEmit(address(grid));
        emit IGridManagement.EmissionFactorUpdated(zone, 0);
        grid.setEmissionFactor(zone, 0);
        vm.expectEmit(address(grid));
        emit IGridManagement.TreasuryUpdated(zone, alice);
        grid.setTreasury(zone, alice);
        vm.expectEmit(address(grid));
        emit IGridManagement.ComplianceLimitsUpdated(zone, 1, 1, 1);
        grid.setComplianceLimits(zone, IGridManagement.ComplianceLimits(1, 1, 1));
        vm.expectEmit(address(grid));
        emit IGridManagement.ZoneActiveSet(zone, false);
        grid.setZoneActive(zone, false);
        vm.expectEmit(address(grid));
        emit IGridManagement.TradingIntervalUpdated(3600);
        grid.setTradingInterval(3600);

        IGridManagement.Zone memory z = grid.getZone(zone);
        assertEq(z.capacityWhPerInterval, 42);
        assertEq(z.emissionFactor_gCO2ePerKWh, 0);
        assertEq(z.treasury, alice);
        assertEq(z.minOrderWh, 1);
        assertFalse(z.active);
        assertEq(grid.tradingInterval(), 3600);
    }

    function test_setters_revertForStranger() public {
        vm.startPrank(stranger);
        bytes memory unauthorized = abi.encodeWithSelector(IAccessManaged.AccessManagedUnauthorized.selector, stranger);
        vm.expectRevert(unauthorized);
        grid.setCapacity(zone, 1);
        vm.expectRevert(unauthorized);
        grid.setEmissionFactor(zone, 1);
        vm.expectRevert(unauthorized);
        grid.setTreasury(zone, alice);
        vm.expectRevert(unauthorized);
        grid.setComplianceLimits(zone, IGridManagement.ComplianceLimits(1, 1, 1));
        vm.expectRevert(unauthorized);
        grid.setZoneActive(zone, false);
        vm.expectRevert(unauthorized);
        grid.setTradingInterval(3600);
        vm.expectRevert(unauthorized);
        grid.setZoneOperator(zone, alice, true);
        vm.expectRevert(unauthorized);
        grid.unpause();
        vm.stopPrank();
    }

    function test_setters_revertForUnknownZone() public {
        bytes memory unknown = abi.encodeWithSelector(IGridManagement.GridManagementUnknownZone.selector, 2);
        vm.expectRevert(unknown);
        grid.setCapacity(2, 1);
        vm.expectRevert(unknown);
        grid.setEmissionFactor(2, 1);
        vm.expectRevert(unknown);
        grid.setTreasury(2, alice);
        vm.expectRevert(unknown);
        grid.setComplianceLimits(2, IGridManagement.ComplianceLimits(1, 1, 1));
        vm.expectRevert(unknown);
        grid.setZoneActive(2, false);
        vm.expectRevert(unknown);
        grid.setZoneOperator(2, alice, true);
        vm.expectRevert(unknown);
        grid.getZone(2);
        vm.startPrank(gridOperator);
        vm.expectRevert(unknown);
        grid.haltZone(2, "x");
        vm.expectRevert(unknown);
        grid.resumeZone(2);
        vm.stopPrank();
    }

    function test_setCapacity_revertsOnZero() public {
        vm.expectRevert(abi.encodeWithSelector(IGridManagement.GridManagementZeroCapacity.selector, zone));
        grid.setCapacity(zone, 0);
    }

    function test_setTreasury_revertsOnZero() public {
        vm.expectRevert(IGridManagement.GridManagementZeroAddress.selector);
        grid.setTreasury(zone, address(0));
    }

    function test_setComplianceLimits_revertsOnInvalidLimits() public {
        vm.expectRevert(abi.encodeWithSelector(IGridManagement.GridManagementInvalidLimits.selector, 0, 10, 10));
        grid.setComplianceLimits(zone, IGridManagement.ComplianceLimits(0, 10, 10));
        vm.expectRevert(abi.encodeWithSelector(IGridManagement.GridManagementInvalidLimits.selector, 11, 10, 10));
        grid.setComplianceLimits(zone, IGridManagement.ComplianceLimits(11, 10, 10));
        vm.expectRevert(abi.encodeWithSelector(IGridManagement.GridManagementInvalidLimits.selector, 1, 10, 0));
        grid.setComplianceLimits(zone, IGridManagement.ComplianceLimits(1, 10, 0));
    }

    function test_setTradingInterval_boundaries() public {
        grid.setTradingInterval(60);
        grid.setTradingInterval(1 days);
        vm.expectRevert(abi.encodeWithSelector(IGridManagement.GridManagementInvalidTradingInterval.selector, 59));
        grid.setTradingInterval(59);
        vm.expectRevert(
            abi.encodeWithSelector(IGridManagement.GridManagementInvalidTradingInterval.selector, 1 days + 1)
        );
        grid.setTradingInterval(1 days + 1);
    }

    function test_constructor_revertsOnInvalidTradingInterval() public {
        vm.expectRevert(abi.encodeWithSelector(IGridManagement.GridManagementInvalidTradingInterval.selector, 0));
        new GridManagement(address(manager), 0);
    }

    function test_setZoneOperator_updatesAndRejectsZero() public {
        vm.expectEmit(address(grid));
        emit IGridManagement.ZoneOperatorSet(zone, alice, true);
        grid.setZoneOperator(zone, alice, true);
        assertTrue(grid.isZoneOperator(zone, alice));
        grid.setZoneOperator(zone, alice, false);
        assertFalse(grid.isZoneOperator(zone, alice));
        vm.expectRevert(IGridManagement.GridManagementZeroAddress.selector);
        grid.setZoneOperator(zone, address(0), true);
    }

    // ─────────────────────────────────────────────────────────────── halts

    function test_haltZone_andResume_byZoneOperator() public {
        vm.expectEmit(address(grid));
        emit IGridManagement.ZoneHalted(zone, gridOperator, "frequency excursion");
        vm.prank(gridOperator);
        grid.haltZone(zone, "frequency excursion");
        assertTrue(grid.getZone(zone).halted);
        assertFalse(grid.isTradingAllowed(zone));

        vm.expectEmit(address(grid));
        emit IGridManagement.ZoneResumed(zone, gridOperator);
        vm.prank(gridOperator);
        grid.resumeZone(zone);
        assertFalse(grid.getZone(zone).halted);
        assertTrue(grid.isTradingAllowed(zone));
    }

    function test_haltZone_revertsWithoutRole() public {
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(IAccessManaged.AccessManagedUnauthorized.selector, stranger));
        grid.haltZone(zone, "x");
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(IAccessManaged.AccessManagedUnauthorized.selector, stranger));
        grid.resumeZone(zone);
    }

    function test_haltZone_revertsForOperatorOfAnotherZone() public {
        uint32 other = grid.createZone(defaultZoneConfig("Hilltop"));
        vm.prank(gridOperator);
        vm.expectRevert(abi.encodeWithSelector(IGridManagement.GridManagementNotZoneOperator.selector, other, gridOperator));
        grid.haltZone(other, "not mine");
        vm.prank(gridOperator);
        vm.expectRevert(abi.encodeWithSelector(IGridManagement.GridManagementNotZoneOperator.selector, other, gridOperator));
        grid.resumeZone(other);
    }

    function test_haltZone_revertsOnEmptyReasonAndDoubleHalt() public {
        vm.startPrank(gridOperator);
        vm.expectRevert(IGridManagement.GridManagementEmptyReason.selector);
        grid.haltZone(zone, "");
        grid.haltZone(zone, "maintenance");
        vm.expectRevert(abi.encodeWithSelector(IGridManagement.GridManagementZoneAlreadyHalted.selector, zone));
        grid.haltZone(zone, "again");
        vm.stopPrank();
    }

    function test_resumeZone_revertsWhenNotHalted() public {
        vm.prank(gridOperator);
        vm.expectRevert(abi.encodeWithSelector(IGridManagement.GridManagementZoneNotHalted.selector, zone));
        grid.resumeZone(zone);
    }

    // ─────────────────────────────────────────────────────────────── pause

    function test_pause_byGuardian_unpauseByAdmin() public {
        vm.prank(guardian);
        grid.pause();
        assertTrue(grid.paused());
        assertFalse(grid.isTradingAllowed(zone));

        vm.prank(guardian);
        vm.expectRevert(abi.encodeWithSelector(IAccessManaged.AccessManagedUnauthorized.selector, guardian));
        grid.unpause();

        grid.unpause();
        assertFalse(grid.paused());
        assertTrue(grid.isTradingAllowed(zone));
    }

    function test_pause_revertsForStrangerAndWhenPaused() public {
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(IAccessManaged.AccessManagedUnauthorized.selector, stranger));
        grid.pause();
        vm.prank(guardian);
        grid.pause();
        vm.prank(guardian);
        vm.expectRevert(Pausable.EnforcedPause.selector);
        grid.pause();
    }

    function test_isTradingAllowed_falseForInactiveOrUnknownZone() public {
        assertFalse(grid.isTradingAllowed(0));
        assertFalse(grid.isTradingAllowed(7));
        grid.setZoneActive(zone, false);
        assertFalse(grid.isTradingAllowed(zone));
    }

    function test_tradingRules_matchesIsTradingAllowedAndLimits() public {
        (bool allowed, IGridManagement.ComplianceLimits memory limits) = grid.tradingRules(zone);
        assertTrue(allowed);
        assertEq(limits.minOrderWh, 100);
        assertEq(limits.maxOrderWh, 1_000_000);
        assertEq(limits.maxDailyTradedWhPerAccount, 5_000_000);

        vm.prank(gridOperator);
        grid.haltZone(zone, "feeder fault");
        (allowed,) = grid.tradingRules(zone);
        assertFalse(allowed);
        vm.prank(gridOperator);
        grid.resumeZone(zone);

        vm.prank(guardian);
        grid.pause();
        (allowed,) = grid.tradingRules(zone);
        assertFalse(allowed);
        grid.unpause();

        grid.setZoneActive(zone, false);
        (allowed,) = grid.tradingRules(zone);
        assertFalse(allowed);
    }

    function test_tradingRules_unknownZoneIsClosedWithZeroLimits() public view {
        (bool allowed, IGridManagement.ComplianceLimits memory limits) = grid.tradingRules(7);
        assertFalse(allowed);
        assertEq(limits.minOrderWh, 0);
        assertEq(limits.maxOrderWh, 0);
        assertEq(limits.maxDailyTradedWhPerAccount, 0);
    }
}
