// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC1155Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {IERC1155} from "@openzeppelin/contracts/token/ERC1155/IERC1155.sol";
import {IERC1155Receiver} from "@openzeppelin/contracts/token/ERC1155/IERC1155Receiver.sol";
import {IERC1155MetadataURI} from "@openzeppelin/contracts/token/ERC1155/extensions/IERC1155MetadataURI.sol";
import {Base64} from "@openzeppelin/contracts/utils/Base64.sol";
import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";
import {GreenCertificate} from "../contracts/GreenCertificate.sol";
import {IGreenCertificate} from "../contracts/interfaces/IGreenCertificate.sol";
import {IGridManagement} from "../contracts/interfaces/IGridManagement.sol";
import {ICertificateIssuer} from "../contracts/interfaces/IMeterHooks.sol";
import {UtcMonth} from "../contracts/libraries/UtcMonth.sol";
import {GridXFixture} from "./utils/GridXFixture.sol";

/// @dev Accepts ERC-1155 transfers, as a smart wallet does.
contract CertificateReceiver is IERC1155Receiver {
    function onERC1155Received(address, address, uint256, uint256, bytes calldata) external pure returns (bytes4) {
        return IERC1155Receiver.onERC1155Received.selector;
    }

    function onERC1155BatchReceived(address, address, uint256[] calldata, uint256[] calldata, bytes calldata)
        external
        pure
        returns (bytes4)
    {
        return IERC1155Receiver.onERC1155BatchReceived.selector;
    }

    function supportsInterface(bytes4 interfaceId) external pure returns (bool) {
        return interfaceId == type(IERC1155Receiver).interfaceId;
    }
}

/// @dev A contract without the ERC-1155 receiver hook.
contract NotACertificateReceiver {}

contract GreenCertificateTest is GridXFixture {
    GreenCertificate internal cert;

    uint32 internal constant JUNE_2025 = 202_506;
    uint32 internal constant EMISSION_FACTOR = 233; // the fixture zone's, gCO2e/kWh
    uint256 internal constant JULY_1_2025 = 1_751_328_000;
    uint256 internal constant DECEMBER_1_2025 = 1_764_547_200;
    uint256 internal constant JANUARY_1_2026 = 1_767_225_600;

    address internal carol = makeAddr("carol");
    uint256 internal juneId;

    function setUp() public override {
        super.setUp();
        cert = new GreenCertificate(grid, address(meter));
        juneId = cert.certificateId(zone, JUNE_2025);
    }

    function _issue(address to, uint64 amountWh) internal returns (uint256) {
        return _issueIn(zone, to, amountWh);
    }

    function _issueIn(uint32 zone_, address to, uint64 amountWh) internal returns (uint256) {
        vm.prank(address(meter));
        return cert.issue(to, zone_, amountWh);
    }

    function _zoneWithFactor(uint32 emissionFactor) internal returns (uint32) {
        IGridManagement.ZoneConfig memory config = defaultZoneConfig("Hilltop");
        config.emissionFactor_gCO2ePerKWh = emissionFactor;
        return grid.createZone(config);
    }

    // ─────────────────────────────────────────────────────────────── constructor and metadata

    function test_constructor_wiresSmartMeterAndGridManagement() public view {
        assertEq(cert.smartMeter(), address(meter));
        assertEq(cert.gridManagement(), address(grid));
        assertEq(cert.name(), "GridX Green Certificate");
        assertEq(cert.symbol(), "GXREC");
        assertEq(cert.MAX_BENEFICIARY_LENGTH(), 128);
        assertEq(cert.retirementCount(), 0);
    }

    function test_constructor_revertsOnZeroGridManagement() public {
        vm.expectRevert(IGreenCertificate.GreenCertificateZeroAddress.selector);
        new GreenCertificate(IGridManagement(address(0)), address(meter));
    }

    function test_constructor_revertsOnZeroSmartMeter() public {
        vm.expectRevert(IGreenCertificate.GreenCertificateZeroAddress.selector);
        new GreenCertificate(grid, address(0));
    }

    function test_supportsInterface_erc1155AndMetadata() public view {
        assertTrue(cert.supportsInterface(type(IERC1155).interfaceId));
        assertTrue(cert.supportsInterface(type(IERC1155MetadataURI).interfaceId));
        assertTrue(cert.supportsInterface(type(IERC165).interfaceId));
        assertFalse(cert.supportsInterface(0xffffffff));
    }

    // ─────────────────────────────────────────────────────────────── ids

    function test_certificateId_packsZoneAndMonth() public view {
        assertEq(cert.certificateId(1, 202_506), 4_295_169_802); // 1 << 32 | 202506
        assertEq(cert.certificateId(0, 0), 0);
        assertEq(cert.certificateId(type(uint32).max, type(uint32).max), type(uint64).max);
    }

    function test_idParts_unpacksZoneAndMonth() public view {
        (uint32 z, uint32 month) = cert.idParts(4_295_169_802);
        assertEq(z, 1);
        assertEq(month, 202_506);
    }

    function test_idParts_revertsOnIdAbove64Bits() public {
        uint256 id = uint256(1) << 64;
        vm.expectRevert(abi.encodeWithSelector(IGreenCertificate.GreenCertificateInvalidId.selector, id));
        cert.idParts(id);
    }

    function testFuzz_certificateId_roundTrip(uint32 zone_, uint32 month) public view {
        uint256 id = cert.certificateId(zone_, month);
        assertLt(id, uint256(1) << 64);
        (uint32 z, uint32 m) = cert.idParts(id);
        assertEq(z, zone_);
        assertEq(m, month);
        assertEq(cert.certificateId(z, m), id);
    }

    function testFuzz_idParts_revertsOnInvalidId(uint256 id) public {
        id = bound(id, uint256(1) << 64, type(uint256).max);
        vm.expectRevert(abi.encodeWithSelector(IGreenCertificate.GreenCertificateInvalidId.selector, id));
        cert.idParts(id);
    }

    // ─────────────────────────────────────────────────────────────── issue

    function test_issue_mintsToHolderAndEmitsOffset() public {
        vm.expectEmit(address(cert));
        emit IGreenCertificate.CertificatesIssued(alice, juneId, zone, JUNE_2025, 1_500, 349); // 349.5 floored
        vm.expectEmit(address(cert));
        emit IERC1155.TransferSingle(address(meter), address(0), alice, juneId, 1_500);
        uint256 id = _issue(alice, 1_500);

        assertEq(id, juneId);
        assertEq(cert.balanceOf(alice, id), 1_500);
        assertEq(cert.totalIssued(id), 1_500);
        assertEq(cert.totalRetired(id), 0);
        assertEq(cert.totalSupply(id), 1_500);
        assertEq(cert.emissionFactorOf(id), EMISSION_FACTOR);
    }

    function test_issue_accumulatesWithinTheMonth() public {
        _issue(alice, 1_000);
        vm.warp(JULY_1_2025 - 1); // last second of June
        uint256 id = _issue(bob, 2_000);
        _issue(alice, 500);

        assertEq(id, juneId);
        assertEq(cert.balanceOf(alice, id), 1_500);
        assertEq(cert.balanceOf(bob, id), 2_000);
        assertEq(cert.totalIssued(id), 3_500);
        assertEq(cert.totalSupply(id), 3_500);
    }

    function test_issue_startsANewIdEachUtcMonth() public {
        _issue(alice, 1_000);
        vm.warp(JULY_1_2025);
        uint256 julyId = _issue(alice, 700);

        assertEq(julyId, cert.certificateId(zone, 202_507));
        assertEq(cert.balanceOf(alice, juneId), 1_000);
        assertEq(cert.balanceOf(alice, julyId), 700);
        assertEq(cert.totalIssued(juneId), 1_000);
        assertEq(cert.totalIssued(julyId), 700);
    }

    function test_issue_rollsOverTheYear() public {
        vm.warp(JANUARY_1_2026 - 1);
        assertEq(_issue(alice, 1), cert.certificateId(zone, 202_512));
        vm.warp(JANUARY_1_2026);
        assertEq(_issue(alice, 1), cert.certificateId(zone, 202_601));
    }

    function test_issue_keepsZonesApart() public {
        uint32 hilltop = _zoneWithFactor(812);
        uint256 riversideId = _issue(alice, 1_000);
        uint256 expectedId = cert.certificateId(hilltop, JUNE_2025);
        vm.expectEmit(address(cert));
        emit IGreenCertificate.CertificatesIssued(alice, expectedId, hilltop, JUNE_2025, 1_000, 812);
        uint256 hilltopId = _issueIn(hilltop, alice, 1_000);

        assertTrue(riversideId != hilltopId);
        assertEq(cert.emissionFactorOf(riversideId), EMISSION_FACTOR);
        assertEq(cert.emissionFactorOf(hilltopId), 812);
        assertEq(cert.balanceOf(alice, hilltopId), 1_000);
    }

    /// A month's certificates keep the factor of its first issuance; a change applies from the next month.
    function test_issue_fixesTheEmissionFactorAtAMonthsFirstIssuance() public {
        _issue(alice, 1_000);
        grid.setEmissionFactor(zone, 500);

        vm.expectEmit(address(cert));
        emit IGreenCertificate.CertificatesIssued(bob, juneId, zone, JUNE_2025, 1_000, 233);
        _issue(bob, 1_000);
        assertEq(cert.emissionFactorOf(juneId), EMISSION_FACTOR);

        vm.warp(JULY_1_2025);
        uint256 julyId = cert.certificateId(zone, 202_507);
        vm.expectEmit(address(cert));
        emit IGreenCertificate.CertificatesIssued(bob, julyId, zone, 202_507, 1_000, 500);
        _issue(bob, 1_000);
        assertEq(cert.emissionFactorOf(julyId), 500);
    }

    function test_issue_inAZeroEmissionZone() public {
        uint32 clean = _zoneWithFactor(0);
        uint256 id = cert.certificateId(clean, JUNE_2025);
        vm.expectEmit(address(cert));
        emit IGreenCertificate.CertificatesIssued(alice, id, clean, JUNE_2025, 5_000, 0);
        _issueIn(clean, alice, 5_000);
        // The second issuance of the id must not take the zero factor for "never issued".
        _issueIn(clean, bob, 5_000);
        assertEq(cert.totalIssued(id), 10_000);
        assertEq(cert.emissionFactorOf(id), 0);
    }

    function test_issue_toAContractThatAcceptsCertificates() public {
        CertificateReceiver wallet = new CertificateReceiver();
        _issue(address(wallet), 1_000);
        assertEq(cert.balanceOf(address(wallet), juneId), 1_000);
    }

    /// Issuance is not a safe mint: a redeeming contract wallet without IERC1155Receiver still gets its
    /// certificates (a redemption never fails on them), and only later transfers check the receiver.
    function test_issue_creditsAContractWithoutReceiverHook() public {
        address notReceiver = address(new NotACertificateReceiver());
        _issue(notReceiver, 1_000);
        assertEq(cert.balanceOf(notReceiver, juneId), 1_000);
        vm.prank(alice);
        cert.setApprovalForAll(address(this), true);
        _issue(alice, 10);
        vm.expectRevert(abi.encodeWithSelector(IERC1155Errors.ERC1155InvalidReceiver.selector, notReceiver));
        cert.safeTransferFrom(alice, notReceiver, juneId, 10, "");
    }

    function test_issue_revertsForZeroReceiver() public {
        vm.prank(address(meter));
        vm.expectRevert(abi.encodeWithSelector(IERC1155Errors.ERC1155InvalidReceiver.selector, address(0)));
        cert.issue(address(0), zone, 1_000);
    }

    function test_issue_revertsForAnyoneButSmartMeter() public {
        vm.prank(stranger);
        vm.expectRevert(
            abi.encodeWithSelector(IGreenCertificate.GreenCertificateCallerNotSmartMeter.selector, stranger)
        );
        cert.issue(stranger, zone, 1_000);

        vm.prank(address(token));
        vm.expectRevert(
            abi.encodeWithSelector(IGreenCertificate.GreenCertificateCallerNotSmartMeter.selector, address(token))
        );
        cert.issue(alice, zone, 1_000);
    }

    function test_issue_revertsOnZeroAmount() public {
        vm.prank(address(meter));
        vm.expectRevert(IGreenCertificate.GreenCertificateZeroAmount.selector);
        cert.issue(alice, zone, 0);
    }

    function test_issue_revertsOnUnknownZone() public {
        vm.prank(address(meter));
        vm.expectRevert(abi.encodeWithSelector(IGreenCertificate.GreenCertificateUnknownZone.selector, 9));
        cert.issue(alice, 9, 1_000);

        vm.prank(address(meter));
        vm.expectRevert(abi.encodeWithSelector(IGreenCertificate.GreenCertificateUnknownZone.selector, 0));
        cert.issue(alice, 0, 1_000);
    }

    // ─────────────────────────────────────────────────────────────── transfers

    function test_safeTransferFrom_movesCertificatesAndKeepsSupply() public {
        _issue(alice, 1_000);
        vm.prank(alice);
        cert.safeTransferFrom(alice, bob, juneId, 400, "");
        assertEq(cert.balanceOf(alice, juneId), 600);
        assertEq(cert.balanceOf(bob, juneId), 400);
        assertEq(cert.totalSupply(juneId), 1_000);
    }

    function test_safeTransferFrom_byOperatorAndNotByStranger() public {
        _issue(alice, 1_000);
        vm.prank(alice);
        cert.setApprovalForAll(bob, true);
        vm.prank(bob);
        cert.safeTransferFrom(alice, carol, juneId, 1_000, "");
        assertEq(cert.balanceOf(carol, juneId), 1_000);

        vm.prank(stranger);
        vm.expectRevert(
            abi.encodeWithSelector(IERC1155Errors.ERC1155MissingApprovalForAll.selector, stranger, carol)
        );
        cert.safeTransferFrom(carol, stranger, juneId, 1, "");
    }

    // ─────────────────────────────────────────────────────────────── retire

    function test_retire_burnsRecordsAndEmitsOffset() public {
        _issue(alice, 3_000);
        vm.warp(block.timestamp + 1 days);

        vm.expectEmit(address(cert));
        emit IERC1155.TransferSingle(alice, alice, address(0), juneId, 2_000);
        vm.expectEmit(address(cert));
        emit IGreenCertificate.CertificatesRetired(1, alice, juneId, 2_000, 466, "Acme Logistics GmbH");
        vm.prank(alice);
        uint256 retirementId = cert.retire(juneId, 2_000, "Acme Logistics GmbH");

        assertEq(retirementId, 1);
        assertEq(cert.retirementCount(), 1);
        assertEq(cert.balanceOf(alice, juneId), 1_000);
        assertEq(cert.totalIssued(juneId), 3_000);
        assertEq(cert.totalRetired(juneId), 2_000);
        assertEq(cert.totalSupply(juneId), 1_000);

        IGreenCertificate.Retirement memory r = cert.retirement(1);
        assertEq(r.retiree, alice);
        assertEq(r.retiredAt, block.timestamp);
        assertEq(r.id, juneId);
        assertEq(r.amountWh, 2_000);
        assertEq(r.gCO2e, 466);
        assertEq(r.beneficiary, "Acme Logistics GmbH");

        (uint256 retiredWh, uint256 gCO2e) = cert.retiredBy(alice);
        assertEq(retiredWh, 2_000);
        assertEq(gCO2e, 466);
    }

    function test_retire_numbersRecordsAndSumsPerAccountOverIds() public {
        uint32 hilltop = _zoneWithFactor(812);
        _issue(alice, 5_000);
        uint256 hilltopId = _issueIn(hilltop, alice, 5_000);
        _issue(bob, 5_000);

        vm.prank(alice);
        assertEq(cert.retire(juneId, 1_000, "Acme"), 1);
        vm.prank(bob);
        assertEq(cert.retire(juneId, 2_500, "Bob's Bakery"), 2);
        vm.prank(alice);
        assertEq(cert.retire(hilltopId, 3_000, "Acme"), 3);

        assertEq(cert.retirementCount(), 3);
        assertEq(cert.retirement(3).id, hilltopId);
        assertEq(cert.retirement(3).gCO2e, 2_436);
        assertEq(cert.retirement(2).retiree, bob);
        (uint256 aliceWh, uint256 aliceG) = cert.retiredBy(alice);
        assertEq(aliceWh, 4_000);
        assertEq(aliceG, 233 + 2_436);
        (uint256 bobWh, uint256 bobG) = cert.retiredBy(bob);
        assertEq(bobWh, 2_500);
        assertEq(bobG, 582); // 582.5 floored
        assertEq(cert.totalRetired(juneId), 3_500);
        assertEq(cert.totalRetired(hilltopId), 3_000);
    }

    function test_retire_floorsTheOffset() public {
        _issue(alice, 10);
        vm.prank(alice);
        cert.retire(juneId, 4, "Acme"); // 4 × 233 / 1000 = 0.932
        assertEq(cert.retirement(1).gCO2e, 0);
        vm.prank(alice);
        cert.retire(juneId, 6, "Acme"); // 1.398
        assertEq(cert.retirement(2).gCO2e, 1);
    }

    function test_retire_usesTheIdsFactorAfterTheZoneFactorChanges() public {
        _issue(alice, 1_000);
        grid.setEmissionFactor(zone, 900);
        vm.prank(alice);
        cert.retire(juneId, 1_000, "Acme");
        assertEq(cert.retirement(1).gCO2e, 233);
    }

    function test_retire_everythingHeld() public {
        _issue(alice, 1_000);
        vm.prank(alice);
        cert.retire(juneId, 1_000, "Acme");
        assertEq(cert.balanceOf(alice, juneId), 0);
        assertEq(cert.totalSupply(juneId), 0);
        assertEq(cert.totalRetired(juneId), 1_000);
    }

    function test_retire_storesALongBeneficiaryInFull() public {
        _issue(alice, 1_000);
        bytes memory longest = new bytes(128);
        for (uint256 i; i < longest.length; ++i) {
            longest[i] = bytes1(uint8(0x41 + i % 26));
        }
        vm.prank(alice);
        cert.retire(juneId, 1, string(longest));
        assertEq(cert.retirement(1).beneficiary, string(longest));
    }

    function test_retire_revertsOnZeroAmount() public {
        _issue(alice, 1_000);
        vm.prank(alice);
        vm.expectRevert(IGreenCertificate.GreenCertificateZeroAmount.selector);
        cert.retire(juneId, 0, "Acme");
    }

    function test_retire_revertsOnEmptyBeneficiary() public {
        _issue(alice, 1_000);
        vm.prank(alice);
        vm.expectRevert(IGreenCertificate.GreenCertificateEmptyBeneficiary.selector);
        cert.retire(juneId, 1_000, "");
    }

    function test_retire_revertsOnTooLongBeneficiary() public {
        _issue(alice, 1_000);
        string memory tooLong = string(new bytes(129));
        vm.prank(alice);
        vm.expectRevert(
            abi.encodeWithSelector(IGreenCertificate.GreenCertificateBeneficiaryTooLong.selector, 129, 128)
        );
        cert.retire(juneId, 1_000, tooLong);
    }

    function test_retire_revertsAboveBalance() public {
        _issue(alice, 1_000);
        vm.prank(alice);
        vm.expectRevert(
            abi.encodeWithSelector(
                IGreenCertificate.GreenCertificateInsufficientBalance.selector, alice, juneId, 1_000, 1_001
            )
        );
        cert.retire(juneId, 1_001, "Acme");

        // an id nobody holds
        uint256 otherId = cert.certificateId(zone, 202_507);
        vm.prank(alice);
        vm.expectRevert(
            abi.encodeWithSelector(IGreenCertificate.GreenCertificateInsufficientBalance.selector, alice, otherId, 0, 1)
        );
        cert.retire(otherId, 1, "Acme");
    }

    // ─────────────────────────────────────────────────────────────── retireFrom

    function test_retireFrom_byOperatorRecordsTheHolder() public {
        _issue(alice, 1_000);
        vm.prank(alice);
        cert.setApprovalForAll(bob, true);

        vm.expectEmit(address(cert));
        emit IERC1155.TransferSingle(bob, alice, address(0), juneId, 600);
        vm.expectEmit(address(cert));
        emit IGreenCertificate.CertificatesRetired(1, alice, juneId, 600, 139, "Acme");
        vm.prank(bob);
        cert.retireFrom(alice, juneId, 600, "Acme");

        assertEq(cert.retirement(1).retiree, alice);
        assertEq(cert.balanceOf(alice, juneId), 400);
        (uint256 aliceWh,) = cert.retiredBy(alice);
        (uint256 bobWh,) = cert.retiredBy(bob);
        assertEq(aliceWh, 600);
        assertEq(bobWh, 0);
    }

    function test_retireFrom_byTheHolderItself() public {
        _issue(alice, 1_000);
        vm.prank(alice);
        cert.retireFrom(alice, juneId, 1_000, "Acme");
        assertEq(cert.totalRetired(juneId), 1_000);
    }

    function test_retireFrom_revertsWithoutApproval() public {
        _issue(alice, 1_000);
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(IERC1155Errors.ERC1155MissingApprovalForAll.selector, bob, alice));
        cert.retireFrom(alice, juneId, 1_000, "Acme");

        vm.prank(alice);
        cert.setApprovalForAll(bob, true);
        vm.prank(alice);
        cert.setApprovalForAll(bob, false);
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(IERC1155Errors.ERC1155MissingApprovalForAll.selector, bob, alice));
        cert.retireFrom(alice, juneId, 1_000, "Acme");
    }

    // ─────────────────────────────────────────────────────────────── views

    function test_retirement_revertsForUnknownId() public {
        vm.expectRevert(abi.encodeWithSelector(IGreenCertificate.GreenCertificateUnknownRetirement.selector, 0));
        cert.retirement(0);
        vm.expectRevert(abi.encodeWithSelector(IGreenCertificate.GreenCertificateUnknownRetirement.selector, 1));
        cert.retirement(1);

        _issue(alice, 1_000);
        vm.prank(alice);
        cert.retire(juneId, 1_000, "Acme");
        cert.retirement(1);
        vm.expectRevert(abi.encodeWithSelector(IGreenCertificate.GreenCertificateUnknownRetirement.selector, 2));
        cert.retirement(2);
    }

    function test_supplyViews_areZeroForAnIdNeverIssued() public view {
        assertEq(cert.totalIssued(juneId), 0);
        assertEq(cert.totalRetired(juneId), 0);
        assertEq(cert.totalSupply(juneId), 0);
        assertEq(cert.emissionFactorOf(juneId), 0);
        (uint256 wh, uint256 g) = cert.retiredBy(alice);
        assertEq(wh + g, 0);
    }

    function test_uri_isOnChainJson() public {
        _issue(alice, 1);
        string memory json = string.concat(
            "{\"name\":\"GridX Green Certificate zone 1 2025-06\",",
            "\"description\":\"Renewable energy certificate: 1 unit = 1 Wh of renewable energy delivered in GridX grid",
            " zone 1 in 2025-06 (UTC)\",\"decimals\":3,",
            "\"properties\":{\"zone\":1,\"month\":202506,\"unit\":\"Wh\",\"emissionFactor_gCO2ePerKWh\":233}}"
        );
        assertEq(cert.uri(juneId), string.concat("data:application/json;base64,", Base64.encode(bytes(json))));
    }

    function test_uri_forAnIdNotYetIssued() public view {
        string memory json = string.concat(
            "{\"name\":\"GridX Green Certificate zone 42 2025-12\",",
            "\"description\":\"Renewable energy certificate: 1 unit = 1 Wh of renewable energy delivered in GridX grid",
            " zone 42 in 2025-12 (UTC)\",\"decimals\":3,",
            "\"properties\":{\"zone\":42,\"month\":202512,\"unit\":\"Wh\",\"emissionFactor_gCO2ePerKWh\":0}}"
        );
        assertEq(
            cert.uri(cert.certificateId(42, 202_512)),
            string.concat("data:application/json;base64,", Base64.encode(bytes(json)))
        );
    }

    function test_uri_revertsOnInvalidId() public {
        uint256 id = type(uint256).max;
        vm.expectRevert(abi.encodeWithSelector(IGreenCertificate.GreenCertificateInvalidId.selector, id));
        cert.uri(id);
    }

    // ─────────────────────────────────────────────────────────────── fuzz

    /// gCO2e = floor(amountWh × factor / 1000) on issuance and on retirement, for any amount and factor.
    function testFuzz_offset_isTheFlooredProduct(uint64 amountWh, uint32 emissionFactor, uint64 retiredWh) public {
        amountWh = uint64(bound(amountWh, 1, type(uint64).max));
        retiredWh = uint64(bound(retiredWh, 1, amountWh));
        uint32 z = _zoneWithFactor(emissionFactor);
        uint256 id = cert.certificateId(z, JUNE_2025);

        vm.expectEmit(address(cert));
        emit IGreenCertificate.CertificatesIssued(
            alice, id, z, JUNE_2025, amountWh, uint256(amountWh) * emissionFactor / 1_000
        );
        _issueIn(z, alice, amountWh);

        uint256 expected = uint256(retiredWh) * emissionFactor / 1_000;
        assertLe(expected * 1_000, uint256(retiredWh) * emissionFactor);
        assertGt((expected + 1) * 1_000, uint256(retiredWh) * emissionFactor);
        vm.expectEmit(address(cert));
        emit IGreenCertificate.CertificatesRetired(1, alice, id, retiredWh, expected, "Acme");
        vm.prank(alice);
        cert.retire(id, retiredWh, "Acme");
        assertEq(cert.retirement(1).gCO2e, expected);
        (, uint256 g) = cert.retiredBy(alice);
        assertEq(g, expected);
    }

    /// The id is the zone and the UTC month of the block, whenever the block is.
    function testFuzz_issue_idFollowsTheUtcMonth(uint64 timestamp) public {
        timestamp = uint64(bound(timestamp, 0, type(uint32).max));
        vm.warp(timestamp);
        uint256 id = _issue(alice, 1);
        (uint32 z, uint32 month) = cert.idParts(id);
        assertEq(z, zone);
        assertEq(month, UtcMonth.monthOf(timestamp));
        assertEq(cert.balanceOf(alice, id), 1);
    }

    /// Issue to two holders, transfer between them, retire from the receiver: every book adds up.
    function testFuzz_issueTransferRetire(uint64 toAlice, uint64 toBob, uint256 transferred, uint256 retired)
        public
    {
        toAlice = uint64(bound(toAlice, 1, type(uint64).max));
        toBob = uint64(bound(toBob, 1, type(uint64).max));
        _issue(alice, toAlice);
        _issue(bob, toBob);
        transferred = bound(transferred, 0, toAlice);
        vm.prank(alice);
        cert.safeTransferFrom(alice, bob, juneId, transferred, "");
        uint256 bobHeld = uint256(toBob) + transferred;
        retired = bound(retired, 1, bobHeld);
        vm.prank(bob);
        cert.retire(juneId, retired, "Acme");

        uint256 issued = uint256(toAlice) + toBob;
        assertEq(cert.totalIssued(juneId), issued);
        assertEq(cert.totalRetired(juneId), retired);
        assertEq(cert.balanceOf(alice, juneId), toAlice - transferred);
        assertEq(cert.balanceOf(bob, juneId), bobHeld - retired);
        assertEq(cert.balanceOf(alice, juneId) + cert.balanceOf(bob, juneId), cert.totalSupply(juneId));
        assertEq(cert.totalSupply(juneId) + retired, issued);
        assertEq(cert.retirement(1).amountWh, retired);
        assertEq(cert.retirement(1).gCO2e, retired * EMISSION_FACTOR / 1_000);
    }

    function testFuzz_retire_revertsAboveBalance(uint64 held, uint256 amount) public {
        held = uint64(bound(held, 1, type(uint64).max));
        amount = bound(amount, uint256(held) + 1, type(uint256).max);
        _issue(alice, held);
        vm.prank(alice);
        vm.expectRevert(
            abi.encodeWithSelector(
                IGreenCertificate.GreenCertificateInsufficientBalance.selector, alice, juneId, held, amount
            )
        );
        cert.retire(juneId, amount, "Acme");
    }

    function testFuzz_issue_revertsForAnyoneButSmartMeter(address caller) public {
        vm.assume(caller != address(meter));
        vm.prank(caller);
        vm.expectRevert(abi.encodeWithSelector(IGreenCertificate.GreenCertificateCallerNotSmartMeter.selector, caller));
        ICertificateIssuer(address(cert)).issue(alice, zone, 1);
    }
}

/// @dev Gas of `issue` and `retire` as the hot path sees them, each measured in its own test so every slot
/// starts cold, as in a fresh transaction. The certificate contract and the holder are warmed first: inside
/// EnergyToken.redeem SmartMeter's call pays the contract's cold access (2,600) itself and the holder is the
/// transaction's sender. Numbers are reported, not asserted.
contract GreenCertificateGasTest is GridXFixture {
    GreenCertificate internal cert;
    uint256 internal juneId;
    address internal carol = makeAddr("carol");
    address internal dave = makeAddr("dave");

    function setUp() public override {
        super.setUp();
        cert = new GreenCertificate(grid, address(meter));
        vm.startPrank(address(meter));
        juneId = cert.issue(bob, zone, 10_000);
        cert.issue(carol, zone, 10_000);
        vm.stopPrank();
        vm.prank(bob);
        cert.retire(juneId, 1_000, "Acme Logistics GmbH");
    }

    uint256 internal sink;

    /// Touches the holder's account and the certificate contract's code, none of its storage.
    function _warm(address holder) internal {
        sink = holder.code.length + uint160(cert.smartMeter());
    }

    /// The test's own storage (`cert`, `zone`, `juneId`) is read into locals before measuring, so the
    /// number holds the call (≈ 0.8k of argument encoding, CALL and return on the caller's side) and `issue`.
    function _issueGas(address to) internal returns (uint256 gasUsed) {
        _warm(to);
        GreenCertificate certificate = cert;
        uint32 zone_ = zone;
        vm.prank(address(meter));
        uint256 gasBefore = gasleft();
        certificate.issue(to, zone_, 1_000);
        gasUsed = gasBefore - gasleft();
    }

    function _retireGas(address holder) internal returns (uint256 gasUsed) {
        _warm(holder);
        GreenCertificate certificate = cert;
        uint256 id = juneId;
        vm.prank(holder);
        uint256 gasBefore = gasleft();
        certificate.retire(id, 1_000, "Acme Logistics GmbH");
        gasUsed = gasBefore - gasleft();
    }

    function test_gas_issueFirstToANewHolder() public {
        emit log_named_uint("gas: issue, first to a new holder (id exists)", _issueGas(dave));
        assertEq(cert.balanceOf(dave, juneId), 1_000);
    }

    function test_gas_issueToAnExistingHolder() public {
        emit log_named_uint("gas: issue, to an existing holder", _issueGas(bob));
        assertEq(cert.balanceOf(bob, juneId), 10_000);
    }

    /// The month's first issuance also creates the id's books and reads the zone's factor (GridManagement cold).
    function test_gas_issueFirstOfTheMonthToANewHolder() public {
        vm.warp(1_751_328_000); // 2025-07-01
        emit log_named_uint("gas: issue, first of a month (new id) to a new holder", _issueGas(dave));
        assertEq(cert.totalIssued(cert.certificateId(zone, 202_507)), 1_000);
    }

    function test_gas_retireFirstOfAHolder() public {
        emit log_named_uint("gas: retire, holder's first retirement (19-byte beneficiary)", _retireGas(carol));
        assertEq(cert.retirementCount(), 2);
    }

    function test_gas_retireAgain() public {
        emit log_named_uint("gas: retire, holder's later retirement (19-byte beneficiary)", _retireGas(bob));
        assertEq(cert.retirementCount(), 2);
    }
}
