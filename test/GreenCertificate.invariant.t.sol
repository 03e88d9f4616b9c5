// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC1155} from "@openzeppelin/contracts/token/ERC1155/IERC1155.sol";
import {Vm} from "forge-std/Vm.sol";
import {GreenCertificate} from "../contracts/GreenCertificate.sol";
import {IGreenCertificate} from "../contracts/interfaces/IGreenCertificate.sol";
import {IGridManagement} from "../contracts/interfaces/IGridManagement.sol";
import {GridXFixture} from "./utils/GridXFixture.sol";
import {SlimTest} from "./utils/SlimTest.sol";

/// @dev Drives GreenCertificate as the market would: SmartMeter issuing in two zones across months, governance
/// changing emission factors, transfers among three holders (directly and through their shared operator) and
/// retirements. Keeps ghost books from its own inputs and, like an auditor, from the emitted events alone.
contract CertificateHandler is SlimTest {
    GreenCertificate internal immutable cert;
    IGridManagement internal immutable grid;
    address internal immutable meter;
    address internal immutable admin;
    address internal immutable operator;

    address[3] internal holders;
    uint32[2] internal zones;
    uint256[] internal ids;
    mapping(uint256 id => bool) internal known;

    // ghost books from the handler's own inputs
    mapping(uint256 id => uint256) public issuedWh;
    mapping(uint256 id => uint32) public factorAtFirstIssuance;
    uint256 public retirements;

    // ghost books from events alone
    mapping(uint256 id => mapping(address account => uint256)) public eventBalance;
    mapping(uint256 id => uint256) public issuedGFromEvents;
    mapping(uint256 id => uint256) public retiredGFromEvents;
    uint256 public totalIssuedGFromEvents;
    uint256 public totalRetiredGFromEvents;
    uint256 public totalRetiredWhFromEvents;
    /// @dev Events whose offset is not floor(amountWh × the id's factor / 1000), or a retirement event whose
    /// id disagrees with the retirement's sequence number.
    uint256 public wrongEvents;

    constructor(
        GreenCertificate cert_,
        IGridManagement grid_,
        address meter_,
        address admin_,
        address operator_,
        address[3] memory holders_,
        uint32[2] memory zones_
    ) {
        cert = cert_;
        grid = grid_;
        meter = meter_;
        admin = admin_;
        operator = operator_;
        holders = holders_;
        zones = zones_;
    }

    // ─────────────────────────────────────────────────────────────── actions

    function issue(uint256 holderSeed, uint256 zoneSeed, uint64 amountWh) external {
        address to = holders[bound(holderSeed, 0, 2)];
        uint32 zone = zones[bound(zoneSeed, 0, 1)];
        amountWh = uint64(bound(amountWh, 1, type(uint64).max));
        uint32 factorNow = grid.getZone(zone).emissionFactor_gCO2ePerKWh;

        vm.recordLogs();
        vm.prank(meter);
        uint256 id = cert.issue(to, zone, amountWh);
        if (!known[id]) {
            known[id] = true;
            ids.push(id);
            factorAtFirstIssuance[id] = factorNow;
        }
        issuedWh[id] += amountWh;
        _readEvents();
    }

    function transfer(uint256 fromSeed, uint256 toSeed, uint256 idSeed, uint256 amountWh, bool viaOperator)
        external
    {
        if (ids.length == 0) return;
        address from = holders[bound(fromSeed, 0, 2)];
        address to = holders[bound(toSeed, 0, 2)];
        uint256 id = ids[bound(idSeed, 0, ids.length - 1)];
        amountWh = bound(amountWh, 0, cert.balanceOf(from, id));

        vm.recordLogs();
        vm.prank(viaOperator ? operator : from);
        cert.safeTransferFrom(from, to, id, amountWh, "");
        _readEvents();
    }

    function retire(uint256 holderSeed, uint256 idSeed, uint256 amountWh, bool viaOperator, uint256 nameLength)
        external
    {
        if (ids.length == 0) return;
        address holder = holders[bound(holderSeed, 0, 2)];
        uint256 id = ids[bound(idSeed, 0, ids.length - 1)];
        uint256 held = cert.balanceOf(holder, id);
        if (held == 0) return;
        amountWh = bound(amountWh, 1, held);
        bytes memory beneficiary = new bytes(bound(nameLength, 1, cert.MAX_BENEFICIARY_LENGTH()));
        for (uint256 i; i < beneficiary.length; ++i) {
            beneficiary[i] = bytes1(uint8(0x61 + (i + retirements) % 26));
        }

        vm.recordLogs();
        if (viaOperator) {
            vm.prank(operator);
            cert.retireFrom(holder, id, amountWh, string(beneficiary));
        } else {
            vm.prank(holder);
            cert.retire(id, amountWh, string(beneficiary));
        }
        ++retirements;
        _readEvents();
    }

    /// Moves the clock up to 40 days, so issuance crosses months and years.
    function warp(uint256 seconds_) external {
        vm.warp(block.timestamp + bound(seconds_, 1, 40 days));
    }

    /// Governance changes a zone's factor; certificates of a month already issued must keep theirs.
    function setEmissionFactor(uint256 zoneSeed, uint32 emissionFactor) external {
        emissionFactor = uint32(bound(emissionFactor, 0, 2_000));
        vm.prank(admin);
        grid.setEmissionFactor(zones[bound(zoneSeed, 0, 1)], emissionFactor);
    }

    // ─────────────────────────────────────────────────────────────── views for the invariants

    function idCount() external view returns (uint256) {
        return ids.length;
    }

    function idAt(uint256 i) external view returns (uint256) {
        return ids[i];
    }

    function holderAt(uint256 i) external view returns (address) {
        return holders[i];
    }

    // ─────────────────────────────────────────────────────────────── the auditor's view

    function _readEvents() internal {
        Vm.Log[] memory logs = vm.getRecordedLogs();
        for (uint256 i; i < logs.length; ++i) {
            Vm.Log memory log = logs[i];
            if (log.emitter != address(cert)) continue;
            bytes32 topic = log.topics[0];
            if (topic == IERC1155.TransferSingle.selector) {
                (uint256 id, uint256 value) = abi.decode(log.data, (uint256, uint256));
                address from = address(uint160(uint256(log.topics[2])));
                address to = address(uint160(uint256(log.topics[3])));
                if (from != address(0)) eventBalance[id][from] -= value;
                if (to != address(0)) eventBalance[id][to] += value;
            } else if (topic == IGreenCertificate.CertificatesIssued.selector) {
                uint256 id = uint256(log.topics[2]);
                (, uint256 amountWh, uint256 gCO2e) = abi.decode(log.data, (uint32, uint256, uint256));
                if (gCO2e != amountWh * cert.emissionFactorOf(id) / 1_000) ++wrongEvents;
                issuedGFromEvents[id] += gCO2e;
                totalIssuedGFromEvents += gCO2e;
            } else if (topic == IGreenCertificate.CertificatesRetired.selector) {
                uint256 id = uint256(log.topics[3]);
                (uint256 amountWh, uint256 gCO2e,) = abi.decode(log.data, (uint256, uint256, string));
                if (gCO2e != amountWh * cert.emissionFactorOf(id) / 1_000) ++wrongEvents;
                if (uint256(log.topics[1]) != retirements) ++wrongEvents;
                retiredGFromEvents[id] += gCO2e;
                totalRetiredGFromEvents += gCO2e;
                totalRetiredWhFromEvents += amountWh;
            }
        }
    }
}

contract GreenCertificateInvariantTest is GridXFixture {
    GreenCertificate internal cert;
    CertificateHandler internal handler;
    address internal carol = makeAddr("carol");
    address internal broker = makeAddr("broker");

    function setUp() public override {
        super.setUp();
        IGridManagement.ZoneConfig memory config = defaultZoneConfig("Hilltop");
        config.emissionFactor_gCO2ePerKWh = 812;
        uint32 hilltop = grid.createZone(config);
        cert = new GreenCertificate(grid, address(meter));

        address[3] memory holders = [alice, bob, carol];
        for (uint256 i; i < 3; ++i) {
            vm.prank(holders[i]);
            cert.setApprovalForAll(broker, true);
        }
        handler = new CertificateHandler(cert, grid, address(meter), address(this), broker, holders, [zone, hilltop]);
        targetContract(address(handler));
    }

    /// Per id: what the holders hold plus what was retired is exactly what was issued; outstanding supply is
    /// what the holders hold.
    function invariant_balancesPlusRetiredEqualIssued() public view {
        for (uint256 i; i < handler.idCount(); ++i) {
            uint256 id = handler.idAt(i);
            uint256 held;
            for (uint256 h; h < 3; ++h) {
                held += cert.balanceOf(handler.holderAt(h), id);
            }
            assertEq(cert.balanceOf(broker, id), 0);
            assertEq(cert.totalIssued(id), handler.issuedWh(id));
            assertEq(held + cert.totalRetired(id), cert.totalIssued(id));
            assertEq(cert.totalSupply(id), held);
        }
    }

    /// An auditor replaying TransferSingle events alone gets every balance.
    function invariant_balancesFollowFromTransferEvents() public view {
        for (uint256 i; i < handler.idCount(); ++i) {
            uint256 id = handler.idAt(i);
            for (uint256 h; h < 3; ++h) {
                address holder = handler.holderAt(h);
                assertEq(handler.eventBalance(id, holder), cert.balanceOf(holder, id));
            }
        }
    }

    /// Every offset is floor(amountWh × factor / 1000) at the factor the id got on its first issuance, whatever
    /// governance did to the zone's factor since; no id's events claim more than its unrounded offset.
    function invariant_offsetsUseTheIdsFixedFactor() public view {
        assertEq(handler.wrongEvents(), 0);
        for (uint256 i; i < handler.idCount(); ++i) {
            uint256 id = handler.idAt(i);
            uint256 factor = cert.emissionFactorOf(id);
            assertEq(factor, handler.factorAtFirstIssuance(id));
            assertLe(handler.issuedGFromEvents(id), cert.totalIssued(id) * factor / 1_000);
            assertLe(handler.retiredGFromEvents(id), cert.totalRetired(id) * factor / 1_000);
        }
    }

    /// The on-chain retirement records, the per-account totals, the per-id totals and the events tell the same
    /// story: same count, same energy, same offset.
    function invariant_retirementRecordsMatchEvents() public view {
        uint256 count = cert.retirementCount();
        assertEq(count, handler.retirements());
        uint256 recordedWh;
        uint256 recordedG;
        for (uint256 r = 1; r <= count; ++r) {
            IGreenCertificate.Retirement memory record = cert.retirement(r);
            recordedWh += record.amountWh;
            recordedG += record.gCO2e;
            assertEq(record.gCO2e, record.amountWh * cert.emissionFactorOf(record.id) / 1_000);
        }
        assertEq(recordedWh, handler.totalRetiredWhFromEvents());
        assertEq(recordedG, handler.totalRetiredGFromEvents());

        uint256 perIdWh;
        for (uint256 i; i < handler.idCount(); ++i) {
            perIdWh += cert.totalRetired(handler.idAt(i));
        }
        assertEq(perIdWh, recordedWh);

        uint256 byAccountWh;
        uint256 byAccountG;
        for (uint256 h; h < 3; ++h) {
            (uint256 wh, uint256 g) = cert.retiredBy(handler.holderAt(h));
            byAccountWh += wh;
            byAccountG += g;
        }
        (uint256 brokerWh,) = cert.retiredBy(broker);
        assertEq(brokerWh, 0);
        assertEq(byAccountWh, recordedWh);
        assertEq(byAccountG, recordedG);
    }
}
