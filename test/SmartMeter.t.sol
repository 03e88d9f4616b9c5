// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IAccessManaged} from "@openzeppelin/contracts/access/manager/IAccessManaged.sol";
import {SmartMeter} from "../contracts/SmartMeter.sol";
import {IGridManagement} from "../contracts/interfaces/IGridManagement.sol";
import {ISmartMeter} from "../contracts/interfaces/ISmartMeter.sol";
import {GridXFixture} from "./utils/GridXFixture.sol";
import {ReadingSigner} from "./utils/ReadingSigner.sol";

contract SmartMeterTest is GridXFixture {
    uint256 internal constant SOLAR_KEY = 0x5014;
    uint256 internal constant HOME_KEY = 0x4013;
    uint32 internal constant SOLAR_CAPACITY_W = 10_000;
    uint32 internal constant HOME_CAPACITY_W = 5_000;

    uint64 internal solar; // alice's rooftop solar
    uint64 internal home; // bob's household meter
    uint64 internal t0;

    function setUp() public override {
        super.setUp();
        vm.startPrank(registrar);
        solar = meter.registerMeter(
            alice, zone, ISmartMeter.MeterKind.SolarProsumer, vm.addr(SOLAR_KEY), SOLAR_CAPACITY_W, "SOL-0001"
        );
        home = meter.registerMeter(
            bob, zone, ISmartMeter.MeterKind.Consumer, vm.addr(HOME_KEY), HOME_CAPACITY_W, "HOM-0001"
        );
        vm.stopPrank();
        t0 = uint64(block.timestamp);
    }

    // ─────────────────────────────────────────────────────────────── helpers

    function _signed(uint256 key, ISmartMeter.Reading memory r) internal view returns (bytes memory) {
        return ReadingSigner.sign(key, r, address(meter), block.chainid);
    }

    function _post(ISmartMeter.Reading memory r, bytes memory signature) internal returns (uint256) {
        ISmartMeter.Reading[] memory readings = new ISmartMeter.Reading[](1);
        bytes[] memory signatures = new bytes[](1);
        readings[0] = r;
        signatures[0] = signature;
        vm.prank(oracleOperator);
        return meter.submitReadings(readings, signatures);
    }

    function _post(uint256 key, ISmartMeter.Reading memory r) internal returns (uint256) {
        return _post(r, _signed(key, r));
    }

    function _expectRejected(uint64 meterId, uint64 seq, ISmartMeter.RejectionReason reason) internal {
        vm.expectEmit(address(meter));
        emit ISmartMeter.ReadingRejected(meterId, seq, reason);
    }

    function _claim(uint64 meterId) internal returns (uint256) {
        uint64[] memory ids = new uint64[](1);
        ids[0] = meterId;
        vm.prank(stranger); // anyone may trigger a claim; credits still go to the owner
        return meter.claimCredits(ids);
    }

    /// Baseline the solar meter at t0 with registers (1000, 200), then advance 15 minutes.
    function _baselineSolar() internal {
        assertEq(_post(SOLAR_KEY, ReadingSigner.reading(solar, 1, t0, 1_000, 200)), 1);
        vm.warp(t0 + 900);
    }

    // ─────────────────────────────────────────────────────────────── registerMeter

    function test_registerMeter_storesAndEmits() public {
        address device = vm.addr(0xBEEF);
        vm.expectEmit(address(meter));
        emit ISmartMeter.MeterRegistered(3, alice, zone, ISmartMeter.MeterKind.Battery, device, 7_000, "BAT-1");
        vm.prank(registrar);
        uint64 id = meter.registerMeter(alice, zone, ISmartMeter.MeterKind.Battery, device, 7_000, "BAT-1");

        assertEq(id, 3);
        assertEq(meter.meterCount(), 3);
        assertEq(meter.meterIdBySerial("BAT-1"), 3);
        assertEq(meter.meterIdBySerial("nope"), 0);
        ISmartMeter.Meter memory m = meter.getMeter(id);
        assertEq(m.owner, alice);
        assertEq(m.zone, zone);
        assertEq(uint8(m.kind), uint8(ISmartMeter.MeterKind.Battery));
        assertTrue(m.active);
        assertEq(m.deviceSigner, device);
        assertEq(m.ratedCapacityW, 7_000);
        assertEq(m.uncoveredWh, 0);
    }

    function test_registerMeter_revertsForStranger() public {
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(IAccessManaged.AccessManagedUnauthorized.selector, stranger));
        meter.registerMeter(alice, zone, ISmartMeter.MeterKind.SolarProsumer, alice, 1, "X");
    }

    function test_registerMeter_revertsOnZeroAddresses() public {
        vm.startPrank(registrar);
        vm.expectRevert(ISmartMeter.SmartMeterZeroAddress.selector);
        meter.registerMeter(address(0), zone, ISmartMeter.MeterKind.SolarProsumer, alice, 1, "X");
        vm.expectRevert(ISmartMeter.SmartMeterZeroAddress.selector);
        meter.registerMeter(alice, zone, ISmartMeter.MeterKind.SolarProsumer, address(0), 1, "X");
        vm.stopPrank();
    }

    function test_registerMeter_revertsOnZeroCapacity() public {
        vm.prank(registrar);
        vm.expectRevert(ISmartMeter.SmartMeterZeroCapacity.selector);
        meter.registerMeter(alice, zone, ISmartMeter.MeterKind.SolarProsumer, alice, 0, "X");
    }

    function test_registerMeter_serialLengthBoundaries() public {
        string memory longest = "0123456789012345678901234567890123456789012345678901234567890123"; // 64
        string memory tooLong = string.concat(longest, "4");
        vm.startPrank(registrar);
        meter.registerMeter(alice, zone, ISmartMeter.MeterKind.SolarProsumer, alice, 1, longest);
        vm.expectRevert(abi.encodeWithSelector(ISmartMeter.SmartMeterInvalidSerial.selector, tooLong));
        meter.registerMeter(alice, zone, ISmartMeter.MeterKind.SolarProsumer, alice, 1, tooLong);
        vm.expectRevert(abi.encodeWithSelector(ISmartMeter.SmartMeterInvalidSerial.selector, ""));
        meter.registerMeter(alice, zone, ISmartMeter.MeterKind.SolarProsumer, alice, 1, "");
        vm.stopPrank();
    }

    function test_registerMeter_revertsOnDuplicateSerial() public {
        vm.prank(registrar);
        vm.expectRevert(abi.encodeWithSelector(ISmartMeter.SmartMeterSerialTaken.selector, "SOL-0001", solar));
        meter.registerMeter(bob, zone, ISmartMeter.MeterKind.SolarProsumer, bob, 1, "SOL-0001");
    }

    function test_registerMeter_revertsOnUnknownOrInactiveZone() public {
        vm.prank(registrar);
        vm.expectRevert(abi.encodeWithSelector(ISmartMeter.SmartMeterZoneUnavailable.selector, 5));
        meter.registerMeter(alice, 5, ISmartMeter.MeterKind.SolarProsumer, alice, 1, "X");

        grid.setZoneActive(zone, false);
        vm.prank(registrar);
        vm.expectRevert(abi.encodeWithSelector(ISmartMeter.SmartMeterZoneUnavailable.selector, zone));
        meter.registerMeter(alice, zone, ISmartMeter.MeterKind.SolarProsumer, alice, 1, "X");
    }

    function test_constructor_revertsOnZeroGridManagement() public {
        vm.expectRevert(ISmartMeter.SmartMeterZeroAddress.selector);
        new SmartMeter(address(manager), IGridManagement(address(0)), 60);
    }

    // ─────────────────────────────────────────────────────────────── registry maintenance

    function test_registryMaintenance_updatesAndEmits() public {
        address newDevice = vm.addr(0xD00D);
        vm.startPrank(registrar);
        vm.expectEmit(address(meter));
        emit ISmartMeter.MeterActiveSet(solar, false);
        meter.setMeterActive(solar, false);
        vm.expectEmit(address(meter));
        emit ISmartMeter.DeviceSignerUpdated(solar, newDevice);
        meter.setDeviceSigner(solar, newDevice);
        vm.expectEmit(address(meter));
        emit ISmartMeter.RatedCapacityUpdated(solar, 12_345);
        meter.setRatedCapacity(solar, 12_345);
        vm.stopPrank();

        ISmartMeter.Meter memory m = meter.getMeter(solar);
        assertFalse(m.active);
        assertEq(m.deviceSigner, newDevice);
        assertEq(m.ratedCapacityW, 12_345);
    }

    function test_registryMaintenance_revertsForStranger() public {
        bytes memory unauthorized = abi.encodeWithSelector(IAccessManaged.AccessManagedUnauthorized.selector, stranger);
        vm.startPrank(stranger);
        vm.expectRevert(unauthorized);
        meter.setMeterActive(solar, false);
        vm.expectRevert(unauthorized);
        meter.setDeviceSigner(solar, stranger);
        vm.expectRevert(unauthorized);
        meter.setRatedCapacity(solar, 1);
        vm.stopPrank();
    }

    function test_registryMaintenance_revertsOnUnknownMeterAndBadValues() public {
        vm.startPrank(registrar);
        vm.expectRevert(abi.encodeWithSelector(ISmartMeter.SmartMeterUnknownMeter.selector, 99));
        meter.setMeterActive(99, false);
        vm.expectRevert(abi.encodeWithSelector(ISmartMeter.SmartMeterUnknownMeter.selector, 99));
        meter.setDeviceSigner(99, alice);
        vm.expectRevert(abi.encodeWithSelector(ISmartMeter.SmartMeterUnknownMeter.selector, 99));
        meter.setRatedCapacity(99, 1);
        vm.expectRevert(ISmartMeter.SmartMeterZeroAddress.selector);
        meter.setDeviceSigner(solar, address(0));
        vm.expectRevert(ISmartMeter.SmartMeterZeroCapacity.selector);
        meter.setRatedCapacity(solar, 0);
        vm.stopPrank();
    }

    function test_views_revertOnUnknownMeter() public {
        bytes memory unknown = abi.encodeWithSelector(ISmartMeter.SmartMeterUnknownMeter.selector, 0);
        vm.expectRevert(unknown);
        meter.getMeter(0);
        vm.expectRevert(unknown);
        meter.getLatestReading(0);
        vm.expectRevert(unknown);
        meter.getDailyProduction(0, 0);
        vm.expectRevert(unknown);
        meter.getDailyConsumption(0, 0);
        vm.expectRevert(unknown);
        meter.uncoveredConsumption(0);
    }

    function test_transferMeterOwnership_byOwner() public {
        vm.expectEmit(address(meter));
        emit ISmartMeter.MeterOwnershipTransferred(solar, alice, bob);
        vm.prank(alice);
        meter.transferMeterOwnership(solar, bob);
        assertEq(meter.getMeter(solar).owner, bob);
        assertEq(token.balanceOf(alice), 0);
    }

    function test_transferMeterOwnership_paysEarnedCreditsToPreviousOwner() public {
        _baselineSolar();
        _post(SOLAR_KEY, ReadingSigner.reading(solar, 2, t0 + 900, 1_500, 200)); // alice earns 500
        vm.expectEmit(address(meter));
        emit ISmartMeter.CreditsClaimed(solar, alice, 500);
        vm.prank(alice);
        meter.transferMeterOwnership(solar, bob);
        assertEq(token.balanceOf(alice), 500);
        assertEq(meter.claimableCredits(solar), 0);

        vm.warp(t0 + 1_800);
        _post(SOLAR_KEY, ReadingSigner.reading(solar, 3, t0 + 1_800, 1_900, 200)); // bob's now
        _claim(solar);
        assertEq(token.balanceOf(bob), 400);
        assertEq(token.balanceOf(alice), 500);
    }

    function test_transferMeterOwnership_revertsWhilePaused() public {
        vm.prank(guardian);
        grid.pause();
        vm.prank(alice);
        vm.expectRevert(ISmartMeter.SmartMeterSystemPaused.selector);
        meter.transferMeterOwnership(solar, bob);
    }

    function test_transferMeterOwnership_reverts() public {
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(ISmartMeter.SmartMeterNotMeterOwner.selector, solar, bob));
        meter.transferMeterOwnership(solar, bob);
        vm.prank(alice);
        vm.expectRevert(ISmartMeter.SmartMeterZeroAddress.selector);
        meter.transferMeterOwnership(solar, address(0));
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(ISmartMeter.SmartMeterUnknownMeter.selector, 42));
        meter.transferMeterOwnership(42, bob);
    }

    // ─────────────────────────────────────────────────────────────── submitReadings: batch-level checks

    function test_submitReadings_revertsForStranger() public {
        ISmartMeter.Reading[] memory readings = new ISmartMeter.Reading[](1);
        bytes[] memory signatures = new bytes[](1);
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(IAccessManaged.AccessManagedUnauthorized.selector, stranger));
        meter.submitReadings(readings, signatures);
    }

    function test_submitReadings_revertsOnLengthMismatch() public {
        vm.prank(oracleOperator);
        vm.expectRevert(abi.encodeWithSelector(ISmartMeter.SmartMeterLengthMismatch.selector, 2, 1));
        meter.submitReadings(new ISmartMeter.Reading[](2), new bytes[](1));
    }

    function test_submitReadings_revertsOnEmptyOrOversizedBatch() public {
        vm.startPrank(oracleOperator);
        vm.expectRevert(abi.encodeWithSelector(ISmartMeter.SmartMeterInvalidBatchSize.selector, 0, 200));
        meter.submitReadings(new ISmartMeter.Reading[](0), new bytes[](0));
        vm.expectRevert(abi.encodeWithSelector(ISmartMeter.SmartMeterInvalidBatchSize.selector, 201, 200));
        meter.submitReadings(new ISmartMeter.Reading[](201), new bytes[](201));
        vm.stopPrank();
    }

    function test_submitReadings_revertsWhilePaused() public {
        vm.prank(guardian);
        grid.pause();
        vm.prank(oracleOperator);
        vm.expectRevert(ISmartMeter.SmartMeterSystemPaused.selector);
        meter.submitReadings(new ISmartMeter.Reading[](1), new bytes[](1));
    }

    function test_submitReadings_continuesInHaltedZone() public {
        vm.prank(gridOperator);
        grid.haltZone(zone, "feeder fault");
        _baselineSolar();
        assertEq(_post(SOLAR_KEY, ReadingSigner.reading(solar, 2, t0 + 900, 1_500, 200)), 1);
        assertEq(meter.claimableCredits(solar), 500);
    }

    function test_submitReadings_revertsBeforeTokenIsWired() public {
        SmartMeter unwired = new SmartMeter(address(manager), grid, FUTURE_SKEW);
        _assign(address(unwired), 2, unwired.submitReadings.selector);
        vm.prank(oracleOperator);
        vm.expectRevert(ISmartMeter.SmartMeterEnergyTokenNotSet.selector);
        unwired.submitReadings(new ISmartMeter.Reading[](1), new bytes[](1));
    }

    // ─────────────────────────────────────────────────────────────── accepted readings

    function test_submitReadings_firstReadingIsBaseline() public {
        vm.expectEmit(address(meter));
        emit ISmartMeter.ReadingAccepted(solar, 1, t0, 1_000, 200, 230_000, 50_000, 0, 0);
        assertEq(_post(SOLAR_KEY, ReadingSigner.reading(solar, 1, t0, 1_000, 200)), 1);
        assertEq(meter.claimableCredits(solar), 0);
        assertEq(meter.uncoveredConsumption(solar), 0);
        ISmartMeter.LatestReading memory latest = meter.getLatestReading(solar);
        assertEq(latest.seq, 1);
        assertEq(latest.timestamp, t0);
        assertEq(latest.productionWh, 1_000);
        assertEq(latest.consumptionWh, 200);
    }

    function test_submitReadings_creditsSurplusToMeter() public {
        _baselineSolar();
        vm.expectEmit(address(meter));
        emit ISmartMeter.ReadingAccepted(solar, 2, t0 + 900, 2_000, 300, 230_000, 50_000, 900, 0);
        assertEq(_post(SOLAR_KEY, ReadingSigner.reading(solar, 2, t0 + 900, 2_000, 300)), 1);
        assertEq(meter.claimableCredits(solar), 900);
        assertEq(meter.getMeter(solar).claimableWh, 900);
        assertEq(meter.uncoveredConsumption(solar), 0);
        assertEq(token.totalSupply(), 0, "credits accrue until claimed");
    }

    function test_submitReadings_booksDeficitAsUncovered() public {
        _baselineSolar();
        vm.expectEmit(address(meter));
        emit ISmartMeter.ReadingAccepted(solar, 2, t0 + 900, 1_100, 600, 230_000, 50_000, 0, 300);
        _post(SOLAR_KEY, ReadingSigner.reading(solar, 2, t0 + 900, 1_100, 600));
        assertEq(meter.claimableCredits(solar), 0);
        assertEq(meter.uncoveredConsumption(solar), 300);
        assertEq(meter.getMeter(solar).uncoveredWh, 300);
    }

    function test_submitReadings_equalRegistersAccepted() public {
        _baselineSolar();
        assertEq(_post(SOLAR_KEY, ReadingSigner.reading(solar, 2, t0 + 900, 1_000, 200)), 1);
        assertEq(meter.claimableCredits(solar), 0);
        assertEq(meter.uncoveredConsumption(solar), 0);
    }

    function test_submitReadings_badReadingDoesNotBlockBatch() public {
        _post(HOME_KEY, ReadingSigner.reading(home, 1, t0, 0, 0));
        _baselineSolar();
        ISmartMeter.Reading[] memory readings = new ISmartMeter.Reading[](3);
        bytes[] memory signatures = new bytes[](3);
        readings[0] = ReadingSigner.reading(solar, 2, t0 + 900, 1_600, 200);
        readings[1] = ReadingSigner.reading(solar, 3, t0 + 900, 9_999_999, 200); // impossible for 10 kW
        readings[2] = ReadingSigner.reading(home, 2, t0 + 900, 0, 400);
        for (uint256 i; i < 3; ++i) {
            signatures[i] = _signed(readings[i].meterId == solar ? SOLAR_KEY : HOME_KEY, readings[i]);
        }
        _expectRejected(solar, 3, ISmartMeter.RejectionReason.TimestampNotAfterLast);
        vm.prank(oracleOperator);
        assertEq(meter.submitReadings(readings, signatures), 2);
        assertEq(meter.claimableCredits(solar), 600);
        assertEq(meter.uncoveredConsumption(home), 400);
    }

    function test_submitReadings_skippedReadingLosesNoEnergy() public {
        _baselineSolar();
        ISmartMeter.Reading memory lost = ReadingSigner.reading(solar, 2, t0 + 900, 1_400, 200);
        _expectRejected(solar, 2, ISmartMeter.RejectionReason.InvalidSignature);
        _post(lost, _signed(HOME_KEY, lost));
        vm.warp(t0 + 1_800);
        _post(SOLAR_KEY, ReadingSigner.reading(solar, 3, t0 + 1_800, 2_000, 200));
        assertEq(meter.claimableCredits(solar), 1_000, "the next reading carries the skipped energy");
    }

    // ─────────────────────────────────────────────────────────────── rejections

    function test_submitReadings_rejectsUnknownMeter() public {
        _expectRejected(77, 1, ISmartMeter.RejectionReason.UnknownMeter);
        assertEq(_post(SOLAR_KEY, ReadingSigner.reading(77, 1, t0, 0, 0)), 0);
    }

    function test_submitReadings_rejectsInactiveMeter() public {
        vm.prank(registrar);
        meter.setMeterActive(solar, false);
        _expectRejected(solar, 1, ISmartMeter.RejectionReason.MeterInactive);
        assertEq(_post(SOLAR_KEY, ReadingSigner.reading(solar, 1, t0, 0, 0)), 0);
    }

    function test_submitReadings_rejectsForeignKey() public {
        _expectRejected(solar, 1, ISmartMeter.RejectionReason.InvalidSignature);
        assertEq(_post(HOME_KEY, ReadingSigner.reading(solar, 1, t0, 0, 0)), 0);
    }

    function test_submitReadings_rejectsMalformedSignatures() public {
        ISmartMeter.Reading memory r = ReadingSigner.reading(solar, 1, t0, 0, 0);
        bytes memory good = _signed(SOLAR_KEY, r);
        (bytes32 rr, bytes32 s) = abi.decode(good, (bytes32, bytes32));
        uint8 v = uint8(good[64]);

        // 64-byte (truncated), empty, and malleated high-s versions of a valid signature.
        _expectRejected(solar, 1, ISmartMeter.RejectionReason.InvalidSignature);
        _post(r, abi.encodePacked(rr, s));
        _expectRejected(solar, 1, ISmartMeter.RejectionReason.InvalidSignature);
        _post(r, "");
        uint256 n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;
        bytes memory malleated = abi.encodePacked(rr, bytes32(n - uint256(s)), v == 27 ? uint8(28) : uint8(27));
        _expectRejected(solar, 1, ISmartMeter.RejectionReason.InvalidSignature);
        _post(r, malleated);

        assertEq(_post(r, good), 1);
    }

    function test_submitReadings_rejectsTamperedField() public {
        ISmartMeter.Reading memory r = ReadingSigner.reading(solar, 1, t0, 5, 5);
        bytes memory signature = _signed(SOLAR_KEY, r);
        r.productionWh = 6;
        _expectRejected(solar, 1, ISmartMeter.RejectionReason.InvalidSignature);
        assertEq(_post(r, signature), 0);
    }

    function test_submitReadings_rejectsReplay() public {
        _baselineSolar();
        ISmartMeter.Reading memory r = ReadingSigner.reading(solar, 2, t0 + 900, 1_500, 200);
        bytes memory signature = _signed(SOLAR_KEY, r);
        assertEq(_post(r, signature), 1);
        _expectRejected(solar, 2, ISmartMeter.RejectionReason.SequenceNotIncreasing);
        assertEq(_post(r, signature), 0);
        assertEq(meter.claimableCredits(solar), 500, "a replay credits nothing");
    }

    function test_submitReadings_rejectsSignatureForAnotherChain() public {
        ISmartMeter.Reading memory r = ReadingSigner.reading(solar, 1, t0, 0, 0);
        bytes memory otherChain = ReadingSigner.sign(SOLAR_KEY, r, address(meter), block.chainid + 1);
        _expectRejected(solar, 1, ISmartMeter.RejectionReason.InvalidSignature);
        assertEq(_post(r, otherChain), 0);

        // And a signature made for this chain stops working once the chain id changes (fork replay).
        bytes memory thisChain = _signed(SOLAR_KEY, r);
        vm.chainId(block.chainid + 7);
        _expectRejected(solar, 1, ISmartMeter.RejectionReason.InvalidSignature);
        assertEq(_post(r, thisChain), 0);
    }

    function test_submitReadings_rejectsSignatureForAnotherContract() public {
        SmartMeter other = new SmartMeter(address(manager), grid, FUTURE_SKEW);
        ISmartMeter.Reading memory r = ReadingSigner.reading(solar, 1, t0, 0, 0);
        bytes memory signature = ReadingSigner.sign(SOLAR_KEY, r, address(other), block.chainid);
        _expectRejected(solar, 1, ISmartMeter.RejectionReason.InvalidSignature);
        assertEq(_post(r, signature), 0);
    }

    function test_submitReadings_rejectsOldDeviceKeyAfterRotation() public {
        vm.prank(registrar);
        meter.setDeviceSigner(solar, vm.addr(0xD00D));
        _expectRejected(solar, 1, ISmartMeter.RejectionReason.InvalidSignature);
        assertEq(_post(SOLAR_KEY, ReadingSigner.reading(solar, 1, t0, 0, 0)), 0);
        assertEq(_post(0xD00D, ReadingSigner.reading(solar, 1, t0, 0, 0)), 1);
    }

    function test_submitReadings_sequenceBoundaries() public {
        _post(SOLAR_KEY, ReadingSigner.reading(solar, 5, t0, 1_000, 200));
        vm.warp(t0 + 900);
        _expectRejected(solar, 5, ISmartMeter.RejectionReason.SequenceNotIncreasing);
        _post(SOLAR_KEY, ReadingSigner.reading(solar, 5, t0 + 900, 1_000, 200));
        _expectRejected(solar, 4, ISmartMeter.RejectionReason.SequenceNotIncreasing);
        _post(SOLAR_KEY, ReadingSigner.reading(solar, 4, t0 + 900, 1_000, 200));
        uint64 tooLarge = uint64(type(uint32).max) + 1;
        _expectRejected(solar, tooLarge, ISmartMeter.RejectionReason.SequenceTooLarge);
        _post(SOLAR_KEY, ReadingSigner.reading(solar, tooLarge, t0 + 900, 1_000, 200));
        assertEq(_post(SOLAR_KEY, ReadingSigner.reading(solar, type(uint32).max, t0 + 900, 1_000, 200)), 1);
    }

    function test_submitReadings_rejectsSequenceZero() public {
        _expectRejected(solar, 0, ISmartMeter.RejectionReason.SequenceNotIncreasing);
        assertEq(_post(SOLAR_KEY, ReadingSigner.reading(solar, 0, t0, 0, 0)), 0);
    }

    function test_submitReadings_timestampBoundaries() public {
        _post(SOLAR_KEY, ReadingSigner.reading(solar, 1, t0, 1_000, 200));
        _expectRejected(solar, 2, ISmartMeter.RejectionReason.TimestampNotAfterLast);
        _post(SOLAR_KEY, ReadingSigner.reading(solar, 2, t0, 1_000, 200));
        _expectRejected(solar, 2, ISmartMeter.RejectionReason.TimestampInFuture);
        _post(SOLAR_KEY, ReadingSigner.reading(solar, 2, t0 + FUTURE_SKEW + 1, 1_000, 200));
        assertEq(_post(SOLAR_KEY, ReadingSigner.reading(solar, 2, t0 + FUTURE_SKEW, 1_000, 200)), 1);
        assertEq(_post(SOLAR_KEY, ReadingSigner.reading(solar, 3, t0 + FUTURE_SKEW + 1, 1_000, 200)), 0);
    }

    function test_submitReadings_registerBoundaries() public {
        _baselineSolar();
        _expectRejected(solar, 2, ISmartMeter.RejectionReason.ProductionRegisterDecreased);
        _post(SOLAR_KEY, ReadingSigner.reading(solar, 2, t0 + 900, 999, 200));
        _expectRejected(solar, 2, ISmartMeter.RejectionReason.ConsumptionRegisterDecreased);
        _post(SOLAR_KEY, ReadingSigner.reading(solar, 2, t0 + 900, 1_000, 199));
        assertEq(meter.getLatestReading(solar).seq, 1);
    }

    function test_submitReadings_capacityBoundaries() public {
        _baselineSolar();
        // 10 kW for 900 s is at most 2,500 Wh.
        _expectRejected(solar, 2, ISmartMeter.RejectionReason.ProductionExceedsCapacity);
        _post(SOLAR_KEY, ReadingSigner.reading(solar, 2, t0 + 900, 1_000 + 2_501, 200));
        _expectRejected(solar, 2, ISmartMeter.RejectionReason.ConsumptionExceedsCapacity);
        _post(SOLAR_KEY, ReadingSigner.reading(solar, 2, t0 + 900, 1_000, 200 + 2_501));
        assertEq(_post(SOLAR_KEY, ReadingSigner.reading(solar, 2, t0 + 900, 1_000 + 2_500, 200 + 2_500)), 1);
    }

    function test_submitReadings_registerRange() public {
        uint64 max = meter.MAX_REGISTER_WH();
        assertEq(max, type(uint48).max);
        _expectRejected(solar, 1, ISmartMeter.RejectionReason.RegisterOutOfRange);
        _post(SOLAR_KEY, ReadingSigner.reading(solar, 1, t0, max + 1, 0));
        _expectRejected(solar, 1, ISmartMeter.RejectionReason.RegisterOutOfRange);
        _post(SOLAR_KEY, ReadingSigner.reading(solar, 1, t0, 0, max + 1));
        assertEq(_post(SOLAR_KEY, ReadingSigner.reading(solar, 1, t0, max - 2_500, max)), 1);
        vm.warp(t0 + 900);
        assertEq(_post(SOLAR_KEY, ReadingSigner.reading(solar, 2, t0 + 900, max, max)), 1);
        assertEq(meter.claimableCredits(solar), 2_500);
    }

    // ─────────────────────────────────────────────────────────────── claimCredits

    function test_claimCredits_mintsToOwnersWhoeverCalls() public {
        _post(HOME_KEY, ReadingSigner.reading(home, 1, t0, 0, 0));
        _baselineSolar();
        _post(SOLAR_KEY, ReadingSigner.reading(solar, 2, t0 + 900, 1_700, 200));
        _post(HOME_KEY, ReadingSigner.reading(home, 2, t0 + 900, 300, 100));

        uint64[] memory ids = new uint64[](2);
        ids[0] = solar;
        ids[1] = home;
        vm.expectEmit(address(meter));
        emit ISmartMeter.CreditsClaimed(solar, alice, 700);
        vm.expectEmit(address(meter));
        emit ISmartMeter.CreditsClaimed(home, bob, 200);
        vm.prank(stranger);
        assertEq(meter.claimCredits(ids), 900);

        assertEq(token.balanceOf(alice), 700);
        assertEq(token.balanceOf(bob), 200);
        assertEq(token.balanceOf(stranger), 0);
        assertEq(meter.claimableCredits(solar), 0);
        vm.prank(alice);
        assertEq(meter.claimCredits(ids), 0, "nothing twice");
        assertEq(token.totalSupply(), 900);
    }

    function test_claimCredits_revertsOnEmptyOrOversizedList() public {
        vm.expectRevert(abi.encodeWithSelector(ISmartMeter.SmartMeterInvalidClaimSize.selector, 0, 200));
        meter.claimCredits(new uint64[](0));
        vm.expectRevert(abi.encodeWithSelector(ISmartMeter.SmartMeterInvalidClaimSize.selector, 201, 200));
        meter.claimCredits(new uint64[](201));
    }

    function test_claimCredits_revertsOnUnknownMeter() public {
        uint64[] memory ids = new uint64[](1);
        ids[0] = 404;
        vm.expectRevert(abi.encodeWithSelector(ISmartMeter.SmartMeterUnknownMeter.selector, 404));
        meter.claimCredits(ids);
    }

    function test_claimCredits_revertsWhilePaused() public {
        _baselineSolar();
        _post(SOLAR_KEY, ReadingSigner.reading(solar, 2, t0 + 900, 1_700, 200));
        vm.prank(guardian);
        grid.pause();
        vm.expectRevert(ISmartMeter.SmartMeterSystemPaused.selector);
        _claim(solar);
        grid.unpause();
        assertEq(_claim(solar), 700, "credits wait out the pause");
    }

    function test_claimCredits_revertsBeforeTokenIsWired() public {
        SmartMeter unwired = new SmartMeter(address(manager), grid, FUTURE_SKEW);
        _assign(address(unwired), 3, unwired.registerMeter.selector);
        vm.prank(registrar);
        uint64 id = unwired.registerMeter(alice, zone, ISmartMeter.MeterKind.SolarProsumer, alice, 1, "U-1");
        uint64[] memory ids = new uint64[](1);
        ids[0] = id;
        vm.expectRevert(ISmartMeter.SmartMeterEnergyTokenNotSet.selector);
        unwired.claimCredits(ids);
    }

    function test_claimableCredits_revertsOnUnknownMeter() public {
        vm.expectRevert(abi.encodeWithSelector(ISmartMeter.SmartMeterUnknownMeter.selector, 9));
        meter.claimableCredits(9);
    }

    // ─────────────────────────────────────────────────────────────── daily totals

    function test_dailyTotals_rollOverAtUtcMidnight() public {
        uint64 midnight = (t0 / 1 days + 1) * 1 days;
        uint32 day1 = uint32(midnight / 1 days) - 1;
        uint32 day2 = day1 + 1;
        vm.warp(midnight - 1_000);
        _post(SOLAR_KEY, ReadingSigner.reading(solar, 1, midnight - 1_000, 1_000, 200)); // baseline, day 1
        vm.warp(midnight - 100);
        _post(SOLAR_KEY, ReadingSigner.reading(solar, 2, midnight - 100, 1_200, 250)); // day 1: +200 / +50
        vm.warp(midnight + 500);
        _post(SOLAR_KEY, ReadingSigner.reading(solar, 3, midnight + 500, 1_500, 260)); // day 2: +300 / +10
        vm.warp(midnight + 600);
        _post(SOLAR_KEY, ReadingSigner.reading(solar, 4, midnight + 600, 1_550, 300)); // day 2: +50 / +40

        assertEq(meter.getDailyProduction(solar, day1), 200);
        assertEq(meter.getDailyConsumption(solar, day1), 50);
        assertEq(meter.getDailyProduction(solar, day2), 350);
        assertEq(meter.getDailyConsumption(solar, day2), 50);
        assertEq(meter.getDailyProduction(solar, day2 + 1), 0);
        assertEq(meter.getDailyProduction(solar, day1 - 1), 0);

        // Skip a whole day: day 3 has no readings, day 4 gets the next delta.
        vm.warp(midnight + 2 days + 10);
        _post(SOLAR_KEY, ReadingSigner.reading(solar, 5, midnight + 2 days + 10, 1_560, 300));
        assertEq(meter.getDailyProduction(solar, day2), 350);
        assertEq(meter.getDailyProduction(solar, day2 + 1), 0);
        assertEq(meter.getDailyProduction(solar, day2 + 2), 10);
        assertEq(meter.getDailyConsumption(solar, day2 + 2), 0);
    }

    function test_dailyTotals_zeroBeforeFirstReading() public view {
        assertEq(meter.getDailyProduction(solar, uint32(t0 / 1 days)), 0);
        assertEq(meter.getDailyConsumption(solar, uint32(t0 / 1 days)), 0);
    }

    // ─────────────────────────────────────────────────────────────── governance

    function test_setMaxFutureSkew_boundsAndRoles() public {
        vm.expectEmit(address(meter));
        emit ISmartMeter.MaxFutureSkewUpdated(3600);
        meter.setMaxFutureSkew(3600);
        assertEq(meter.maxFutureSkew(), 3600);
        vm.expectRevert(abi.encodeWithSelector(ISmartMeter.SmartMeterInvalidFutureSkew.selector, 3601));
        meter.setMaxFutureSkew(3601);
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(IAccessManaged.AccessManagedUnauthorized.selector, stranger));
        meter.setMaxFutureSkew(1);
    }

    function test_setEnergyToken_onceByAdmin() public {
        assertEq(meter.energyToken(), address(token));
        vm.expectRevert(abi.encodeWithSelector(ISmartMeter.SmartMeterEnergyTokenAlreadySet.selector, address(token)));
        meter.setEnergyToken(alice);
        vm.expectRevert(ISmartMeter.SmartMeterZeroAddress.selector);
        meter.setEnergyToken(address(0));
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(IAccessManaged.AccessManagedUnauthorized.selector, stranger));
        meter.setEnergyToken(alice);
    }

    function test_coverConsumption_onlyEnergyToken() public {
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(ISmartMeter.SmartMeterCallerNotEnergyToken.selector, alice));
        meter.coverConsumption(solar, alice, 1);
    }

    function test_readingDigest_matchesSpec() public view {
        ISmartMeter.Reading memory r = ReadingSigner.reading(solar, 9, t0, 123, 456);
        assertEq(meter.readingDigest(r), ReadingSigner.digest(r, address(meter), block.chainid));
        assertEq(meter.READING_TYPEHASH(), ReadingSigner.READING_TYPEHASH);
    }

    // ─────────────────────────────────────────────────────────────── fuzz

    /// The capacity check admits exactly the energy ratedCapacityW × elapsed / 3600 and no Wh more.
    function testFuzz_submitReadings_capacityBoundary(uint32 capacityW, uint32 elapsed, bool overByOne) public {
        capacityW = uint32(bound(capacityW, 1, type(uint32).max));
        elapsed = uint32(bound(elapsed, 1, 30 days));
        vm.prank(registrar);
        meter.setRatedCapacity(solar, capacityW);
        _post(SOLAR_KEY, ReadingSigner.reading(solar, 1, t0, 0, 0));
        vm.warp(t0 + elapsed);

        uint64 maxWh = uint64(uint256(capacityW) * elapsed / 3600); // floored: the largest whole Wh allowed
        uint64 produced = overByOne ? maxWh + 1 : maxWh;
        uint256 accepted = _post(SOLAR_KEY, ReadingSigner.reading(solar, 2, t0 + elapsed, produced, 0));
        assertEq(accepted, overByOne ? 0 : 1);
        assertEq(meter.claimableCredits(solar), overByOne ? 0 : produced);
    }

    /// Whatever the readings, credits minted minus consumption owed equals net metered energy since the
    /// baseline, and the day totals add up to the register movement.
    function testFuzz_submitReadings_conservesEnergy(uint16[8] memory produced, uint16[8] memory consumed) public {
        vm.prank(registrar);
        meter.setRatedCapacity(solar, type(uint32).max);
        _post(SOLAR_KEY, ReadingSigner.reading(solar, 1, t0, 10_000, 5_000));
        uint64 production = 10_000;
        uint64 consumption = 5_000;
        uint64 timestamp = t0;
        for (uint64 i; i < 8; ++i) {
            timestamp += 6 hours;
            vm.warp(timestamp);
            production += produced[i];
            consumption += consumed[i];
            assertEq(_post(SOLAR_KEY, ReadingSigner.reading(solar, i + 2, timestamp, production, consumption)), 1);
        }
        int256 net = int256(uint256(production - 10_000)) - int256(uint256(consumption - 5_000));
        assertEq(int256(uint256(meter.claimableCredits(solar))) - int256(uint256(meter.uncoveredConsumption(solar))), net);
        _claim(solar);
        assertEq(token.balanceOf(alice) + meter.claimableCredits(solar), token.totalSupply());

        uint256 dailyProduction;
        uint256 dailyConsumption;
        for (uint32 day = uint32(t0 / 1 days); day <= timestamp / 1 days; ++day) {
            dailyProduction += meter.getDailyProduction(solar, day);
            dailyConsumption += meter.getDailyConsumption(solar, day);
        }
        assertEq(dailyProduction, production - 10_000);
        assertEq(dailyConsumption, consumption - 5_000);
    }

    /// Reading timestamps up to the configured skew ahead of block time pass; one second more fails.
    function testFuzz_submitReadings_futureSkew(uint32 skew, uint32 ahead) public {
        skew = uint32(bound(skew, 0, 3600));
        ahead = uint32(bound(ahead, 0, 7200));
        meter.setMaxFutureSkew(skew);
        uint256 accepted = _post(SOLAR_KEY, ReadingSigner.reading(solar, 1, t0 + ahead, 0, 0));
        assertEq(accepted, ahead <= skew ? 1 : 0);
    }
}
