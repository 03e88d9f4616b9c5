// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IAccessManaged} from "@openzeppelin/contracts/access/manager/IAccessManaged.sol";
import {ICertificateIssuer, ICreditsRecipient} from "../contracts/interfaces/IMeterHooks.sol";
import {ISmartMeter} from "../contracts/interfaces/ISmartMeter.sol";
import {GreenCertificate} from "../contracts/GreenCertificate.sol";
import {IGreenCertificate} from "../contracts/interfaces/IGreenCertificate.sol";
import {UtcMonth} from "../contracts/libraries/UtcMonth.sol";
import {GridXFixture} from "./utils/GridXFixture.sol";
import {ReadingSigner} from "./utils/ReadingSigner.sol";

/// @dev Records every `issue` SmartMeter makes (the real GreenCertificate has its own tests).
contract RecordingIssuer is ICertificateIssuer {
    address public immutable smartMeter;
    address[] public recipients;
    uint32[] public zones;
    uint64[] public amounts;

    constructor(address smartMeter_) {
        smartMeter = smartMeter_;
    }

    function issue(address to, uint32 zone, uint64 amountWh) external returns (uint256) {
        require(msg.sender == smartMeter, "not SmartMeter");
        recipients.push(to);
        zones.push(zone);
        amounts.push(amountWh);
        return (uint256(zone) << 32) | 202_506;
    }

    function calls() external view returns (uint256) {
        return amounts.length;
    }
}

/// @dev Records every `onCreditsClaimed` and the token balance it saw at that moment.
contract RecordingRegistry is ICreditsRecipient {
    address public immutable smartMeter;
    uint64[] public meterIds;
    uint64[] public amounts;
    uint256 public balanceSeen;

    constructor(address smartMeter_) {
        smartMeter = smartMeter_;
    }

    function onCreditsClaimed(uint64 meterId, uint64 amountWh) external {
        require(msg.sender == smartMeter, "not SmartMeter");
        meterIds.push(meterId);
        amounts.push(amountWh);
        balanceSeen = ISmartMeterToken(ISmartMeter(smartMeter).energyToken()).balanceOf(address(this));
    }

    function handBack(uint64 meterId, address to) external {
        ISmartMeter(smartMeter).transferMeterOwnership(meterId, to);
    }

    function calls() external view returns (uint256) {
        return amounts.length;
    }
}

interface ISmartMeterToken {
    function balanceOf(address account) external view returns (uint256);
}

/// SmartMeter's hooks for issue 4: the renewable credit mix, certificate issuance on redemption and the
/// asset registry callback on claims.
contract SmartMeterHooksTest is GridXFixture {
    uint256 internal constant SOLAR_KEY = 0x5014;
    uint256 internal constant BATTERY_KEY = 0xBA77;
    uint256 internal constant HOME_KEY = 0x4013;

    address internal carol = makeAddr("carol");
    uint64 internal solar; // alice's rooftop solar
    uint64 internal battery; // carol's battery
    uint64 internal home; // bob's household meter
    uint64 internal t0;
    RecordingIssuer internal issuer;
    RecordingRegistry internal registry;

    function setUp() public override {
        super.setUp();
        vm.startPrank(registrar);
        solar = meter.registerMeter(alice, zone, ISmartMeter.MeterKind.SolarProsumer, vm.addr(SOLAR_KEY), 10_000, "SOL-1");
        battery = meter.registerMeter(carol, zone, ISmartMeter.MeterKind.Battery, vm.addr(BATTERY_KEY), 10_000, "BAT-1");
        home = meter.registerMeter(bob, zone, ISmartMeter.MeterKind.Consumer, vm.addr(HOME_KEY), 10_000, "HOM-1");
        vm.stopPrank();
        t0 = uint64(block.timestamp);
        issuer = new RecordingIssuer(address(meter));
        registry = new RecordingRegistry(address(meter));
        // baselines
        _post(SOLAR_KEY, ReadingSigner.reading(solar, 1, t0, 0, 0));
        _post(BATTERY_KEY, ReadingSigner.reading(battery, 1, t0, 0, 0));
        _post(HOME_KEY, ReadingSigner.reading(home, 1, t0, 0, 0));
        vm.warp(t0 + 900);
    }

    function _post(uint256 key, ISmartMeter.Reading memory r) internal {
        ISmartMeter.Reading[] memory readings = new ISmartMeter.Reading[](1);
        bytes[] memory signatures = new bytes[](1);
        readings[0] = r;
        signatures[0] = ReadingSigner.sign(key, r, address(meter), block.chainid);
        vm.prank(oracleOperator);
        assertEq(meter.submitReadings(readings, signatures), 1);
    }

    function _claim(uint64 meterId) internal returns (uint256) {
        uint64[] memory ids = new uint64[](1);
        ids[0] = meterId;
        vm.prank(stranger);
        return meter.claimCredits(ids);
    }

    /// alice's solar earns 600 Wh, carol's battery 400 Wh, bob consumes 1,500 Wh; both producers claim.
    function _earnAndClaim() internal {
        _post(SOLAR_KEY, ReadingSigner.reading(solar, 2, t0 + 900, 600, 0));
        _post(BATTERY_KEY, ReadingSigner.reading(battery, 2, t0 + 900, 400, 0));
        _post(HOME_KEY, ReadingSigner.reading(home, 2, t0 + 900, 0, 1_500));
        _claim(solar);
        _claim(battery);
    }

    // ─────────────────────────────────────────────────────────────── wiring

    function test_setGreenCertificate_onceByAdmin() public {
        assertEq(meter.greenCertificate(), address(0));
        vm.expectEmit(address(meter));
        emit ISmartMeter.GreenCertificateSet(address(issuer));
        meter.setGreenCertificate(address(issuer));
        assertEq(meter.greenCertificate(), address(issuer));

        vm.expectRevert(
            abi.encodeWithSelector(ISmartMeter.SmartMeterGreenCertificateAlreadySet.selector, address(issuer))
        );
        meter.setGreenCertificate(alice);
    }

    function test_setGreenCertificate_revertsOnZeroAndForStranger() public {
        vm.expectRevert(ISmartMeter.SmartMeterZeroAddress.selector);
        meter.setGreenCertificate(address(0));
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(IAccessManaged.AccessManagedUnauthorized.selector, stranger));
        meter.setGreenCertificate(address(issuer));
    }

    function test_setAssetRegistry_onceByAdmin() public {
        assertEq(meter.assetRegistry(), address(0));
        vm.expectEmit(address(meter));
        emit ISmartMeter.AssetRegistrySet(address(registry));
        meter.setAssetRegistry(address(registry));
        assertEq(meter.assetRegistry(), address(registry));

        vm.expectRevert(
            abi.encodeWithSelector(ISmartMeter.SmartMeterAssetRegistryAlreadySet.selector, address(registry))
        );
        meter.setAssetRegistry(alice);
    }

    function test_setAssetRegistry_revertsOnZeroAndForStranger() public {
        vm.expectRevert(ISmartMeter.SmartMeterZeroAddress.selector);
        meter.setAssetRegistry(address(0));
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(IAccessManaged.AccessManagedUnauthorized.selector, stranger));
        meter.setAssetRegistry(address(registry));
    }

    // ─────────────────────────────────────────────────────────────── credit mix

    function test_isRenewableKind() public view {
        assertTrue(meter.isRenewableKind(ISmartMeter.MeterKind.SolarProsumer));
        assertTrue(meter.isRenewableKind(ISmartMeter.MeterKind.Hybrid));
        assertFalse(meter.isRenewableKind(ISmartMeter.MeterKind.Battery));
        assertFalse(meter.isRenewableKind(ISmartMeter.MeterKind.Consumer));
    }

    function test_creditMix_countsMintsByKind() public {
        (uint128 minted, uint128 renewable) = meter.creditMix();
        assertEq(minted, 0);
        assertEq(renewable, 0);
        _earnAndClaim();
        (minted, renewable) = meter.creditMix();
        assertEq(minted, 1_000);
        assertEq(renewable, 600);
        assertEq(token.totalSupply(), minted);
    }

    function test_creditMix_countsTransferPayouts() public {
        _post(SOLAR_KEY, ReadingSigner.reading(solar, 2, t0 + 900, 250, 0));
        vm.prank(alice);
        meter.transferMeterOwnership(solar, carol); // pays alice's 250 Wh out first
        (uint128 minted, uint128 renewable) = meter.creditMix();
        assertEq(minted, 250);
        assertEq(renewable, 250);
    }

    // ─────────────────────────────────────────────────────────────── certificates on redemption

    function test_redeem_issuesCertificatesForRenewableShare() public {
        meter.setGreenCertificate(address(issuer));
        _earnAndClaim();
        vm.prank(alice);
        token.transfer(bob, 500);
        vm.prank(bob);
        token.redeem(home, 500);
        // 500 × 600 / 1,000 = 300 renewable Wh
        assertEq(issuer.calls(), 1);
        assertEq(issuer.recipients(0), bob);
        assertEq(issuer.zones(0), zone);
        assertEq(issuer.amounts(0), 300);
        assertEq(meter.uncoveredConsumption(home), 1_000);
    }

    function test_redeem_roundsTheShareDown() public {
        meter.setGreenCertificate(address(issuer));
        _earnAndClaim();
        vm.prank(carol);
        token.transfer(bob, 7);
        vm.prank(bob);
        token.redeem(home, 7); // 7 × 0.6 = 4.2 → 4
        assertEq(issuer.amounts(0), 4);
    }

    function test_redeem_issuesNothingWhenTheShareRoundsToZero() public {
        meter.setGreenCertificate(address(issuer));
        _earnAndClaim();
        vm.prank(carol);
        token.transfer(bob, 1);
        vm.prank(bob);
        token.redeem(home, 1); // 0.6 → 0: no call at all
        assertEq(issuer.calls(), 0);
        assertEq(meter.uncoveredConsumption(home), 1_499);
    }

    function test_redeem_issuesNothingWithoutRenewableCredits() public {
        meter.setGreenCertificate(address(issuer));
        _post(BATTERY_KEY, ReadingSigner.reading(battery, 2, t0 + 900, 400, 0));
        _post(HOME_KEY, ReadingSigner.reading(home, 2, t0 + 900, 0, 1_500));
        _claim(battery);
        vm.prank(carol);
        token.transfer(bob, 400);
        vm.prank(bob);
        token.redeem(home, 400);
        assertEq(issuer.calls(), 0);
    }

    function test_redeem_beforeWiringIssuesNothing() public {
        _earnAndClaim();
        vm.prank(alice);
        token.transfer(bob, 500);
        vm.prank(bob);
        token.redeem(home, 500);
        assertEq(meter.uncoveredConsumption(home), 1_000);
        assertEq(issuer.calls(), 0);
    }

    /// The issued share never exceeds the redeemed amount and equals floor(amount × renewable / minted).
    function testFuzz_redeem_issuesExactShare(uint32 solarWh, uint32 batteryWh, uint32 redeemWh) public {
        solarWh = uint32(bound(solarWh, 0, 2_500));
        batteryWh = uint32(bound(batteryWh, 0, 2_500));
        vm.assume(solarWh + batteryWh != 0);
        meter.setGreenCertificate(address(issuer));
        _post(SOLAR_KEY, ReadingSigner.reading(solar, 2, t0 + 900, solarWh, 0));
        _post(BATTERY_KEY, ReadingSigner.reading(battery, 2, t0 + 900, batteryWh, 0));
        _post(HOME_KEY, ReadingSigner.reading(home, 2, t0 + 900, 0, 2_500));
        _claim(solar);
        _claim(battery);
        redeemWh = uint32(bound(redeemWh, 1, solarWh + batteryWh > 2_500 ? 2_500 : solarWh + batteryWh));
        vm.prank(alice);
        token.transfer(bob, redeemWh > solarWh ? solarWh : redeemWh);
        if (redeemWh > solarWh) {
            vm.prank(carol);
            token.transfer(bob, redeemWh - solarWh);
        }
        vm.prank(bob);
        token.redeem(home, redeemWh);
        uint256 expected = (uint256(redeemWh) * solarWh) / (uint256(solarWh) + batteryWh);
        if (expected == 0) {
            assertEq(issuer.calls(), 0);
        } else {
            assertEq(issuer.calls(), 1);
            assertEq(issuer.amounts(0), expected);
            assertLe(expected, redeemWh);
        }
    }

    /// End to end with the real GreenCertificate: a household redeems bought credits and holds certificates
    /// of its zone and month for the renewable share, with the zone's carbon offset in the event.
    function test_redeem_issuesRealCertificates() public {
        GreenCertificate certificate = new GreenCertificate(grid, address(meter));
        meter.setGreenCertificate(address(certificate));
        _earnAndClaim();
        vm.prank(alice);
        token.transfer(bob, 500);
        uint256 id = certificate.certificateId(zone, UtcMonth.monthOf(block.timestamp));
        vm.expectEmit(address(certificate));
        emit IGreenCertificate.CertificatesIssued(bob, id, zone, UtcMonth.monthOf(block.timestamp), 300, 69); // 300 Wh × 233 g/kWh
        vm.prank(bob);
        token.redeem(home, 500);
        assertEq(certificate.balanceOf(bob, id), 300);
        assertEq(certificate.totalIssued(id), 300);
        assertEq(token.balanceOf(bob), 0);

        vm.prank(bob);
        certificate.retire(id, 300, "Riverside Bakery Ltd");
        assertEq(certificate.totalRetired(id), 300);
        assertEq(certificate.balanceOf(bob, id), 0);
    }

    // ─────────────────────────────────────────────────────────────── asset registry callback

    function test_claim_reportsCreditsMintedToTheRegistry() public {
        meter.setAssetRegistry(address(registry));
        vm.prank(alice);
        meter.transferMeterOwnership(solar, address(registry));
        _post(SOLAR_KEY, ReadingSigner.reading(solar, 2, t0 + 900, 600, 0));
        _claim(solar);
        assertEq(registry.calls(), 1);
        assertEq(registry.meterIds(0), solar);
        assertEq(registry.amounts(0), 600);
        assertEq(registry.balanceSeen(), 600, "the mint happens before the callback");
    }

    function test_claim_doesNotCallOtherOwners() public {
        meter.setAssetRegistry(address(registry));
        _earnAndClaim();
        assertEq(registry.calls(), 0);
        assertEq(token.balanceOf(alice), 600);
    }

    function test_claim_nothingToClaimMakesNoCallback() public {
        meter.setAssetRegistry(address(registry));
        vm.prank(alice);
        meter.transferMeterOwnership(solar, address(registry));
        _claim(solar);
        assertEq(registry.calls(), 0);
    }

    function test_transferFromRegistry_reportsThePayout() public {
        meter.setAssetRegistry(address(registry));
        vm.prank(alice);
        meter.transferMeterOwnership(solar, address(registry));
        _post(SOLAR_KEY, ReadingSigner.reading(solar, 2, t0 + 900, 300, 0));
        registry.handBack(solar, alice); // the registry's 300 Wh are minted to it, then reported
        assertEq(registry.calls(), 1);
        assertEq(registry.amounts(0), 300);
        assertEq(token.balanceOf(address(registry)), 300);
        assertEq(meter.getMeter(solar).owner, alice);
    }

    function test_registryNotWired_creditsStillMint() public {
        vm.prank(alice);
        meter.transferMeterOwnership(solar, address(registry));
        _post(SOLAR_KEY, ReadingSigner.reading(solar, 2, t0 + 900, 600, 0));
        _claim(solar);
        assertEq(registry.calls(), 0);
        assertEq(token.balanceOf(address(registry)), 600);
    }
}
