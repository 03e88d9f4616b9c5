// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Test} from "forge-std/Test.sol";
import {EnergyToken} from "../contracts/EnergyToken.sol";
import {SmartMeter} from "../contracts/SmartMeter.sol";
import {ISmartMeter} from "../contracts/interfaces/ISmartMeter.sol";
import {GridXFixture} from "./utils/GridXFixture.sol";
import {ReadingSigner} from "./utils/ReadingSigner.sol";

/// @dev Drives SmartMeter and EnergyToken with valid and deliberately bad readings for three meters of
/// three owners, plus transfers and redemptions, and keeps ghost books of what should have happened.
contract MeteringHandler is Test {
    SmartMeter internal immutable meter;
    EnergyToken internal immutable token;
    address internal immutable operator;

    uint64[3] internal meterIds;
    uint256[3] internal keys;
    address[3] internal owners;

    // ghost state per meter index
    uint64[3] public seq;
    uint64[3] public lastTimestamp;
    uint64[3] public production;
    uint64[3] public consumption;
    uint64[3] public baseProduction;
    uint64[3] public baseConsumption;
    uint256[3] public credited;
    uint256[3] public claimed;
    uint256[3] public deficit;
    uint256[3] public redeemed;
    uint256 public rejected;
    /// @dev Readings the contract accepted that it should have rejected, or the reverse.
    uint256 public wrongDecisions;
    /// @dev Claims that minted a different amount than was claimable, or to someone else.
    uint256 public wrongClaims;

    constructor(
        SmartMeter meter_,
        EnergyToken token_,
        address operator_,
        uint64[3] memory meterIds_,
        uint256[3] memory keys_,
        address[3] memory owners_
    ) {
        meter = meter_;
        token = token_;
        operator = operator_;
        meterIds = meterIds_;
        keys = keys_;
        owners = owners_;
    }

    function meterIdAt(uint256 i) external view returns (uint64) {
        return meterIds[i];
    }

    function ownerAt(uint256 i) external view returns (address) {
        return owners[i];
    }

    /// A reading that should be accepted, or (when `fault` picks one) a corrupted one that must be skipped.
    function submit(uint256 index, uint32 elapsed, uint16 producedWh, uint16 consumedWh, uint8 fault) external {
        index = bound(index, 0, 2);
        elapsed = uint32(bound(elapsed, 1, 2 days));
        fault = uint8(bound(fault, 0, 9)); // 0–4: valid; 5–9: one fault each
        vm.warp(block.timestamp + elapsed);

        ISmartMeter.Reading memory r = ReadingSigner.reading(
            meterIds[index],
            seq[index] + 1,
            uint64(block.timestamp),
            production[index] + producedWh,
            consumption[index] + consumedWh
        );
        uint256 signingKey = keys[index];
        bool baseline = lastTimestamp[index] == 0;
        if (fault == 5) signingKey = keys[(index + 1) % 3];
        if (fault == 6) r.seq = seq[index];
        if (fault == 7) r.timestamp = uint64(block.timestamp) + 1 days;
        bool registerCanDecrease = !baseline && production[index] != 0;
        if (fault == 8 && registerCanDecrease) r.productionWh = production[index] - 1;
        if (fault == 9 && !baseline) r.timestamp = lastTimestamp[index];
        bool shouldReject =
            fault == 5 || fault == 6 || fault == 7 || (fault == 8 && registerCanDecrease) || (fault == 9 && !baseline);

        ISmartMeter.Reading[] memory readings = new ISmartMeter.Reading[](1);
        bytes[] memory signatures = new bytes[](1);
        readings[0] = r;
        signatures[0] = ReadingSigner.sign(signingKey, r, address(meter), block.chainid);
        vm.prank(operator);
        uint256 accepted = meter.submitReadings(readings, signatures);
        if (accepted != (shouldReject ? 0 : 1)) ++wrongDecisions;
        if (accepted == 0) {
            ++rejected;
            return;
        }

        _record(index, r, baseline);
    }

    function _record(uint256 index, ISmartMeter.Reading memory r, bool baseline) internal {
        if (baseline) {
            baseProduction[index] = r.productionWh;
            baseConsumption[index] = r.consumptionWh;
        } else {
            uint64 producedDelta = r.productionWh - production[index];
            uint64 consumedDelta = r.consumptionWh - consumption[index];
            if (producedDelta > consumedDelta) credited[index] += producedDelta - consumedDelta;
            else deficit[index] += consumedDelta - producedDelta;
        }
        seq[index] = r.seq;
        lastTimestamp[index] = r.timestamp;
        production[index] = r.productionWh;
        consumption[index] = r.consumptionWh;
    }

    function transfer(uint256 from, uint256 to, uint256 amount) external {
        from = bound(from, 0, 2);
        to = bound(to, 0, 2);
        amount = bound(amount, 0, token.balanceOf(owners[from]));
        vm.prank(owners[from]);
        token.transfer(owners[to], amount);
    }

    /// Anyone triggers a claim; the meter's accrued credits must land, exactly, with its owner.
    function claim(uint256 index) external {
        index = bound(index, 0, 2);
        uint64[] memory ids = new uint64[](1);
        ids[0] = meterIds[index];
        uint256 expected = meter.claimableCredits(ids[0]);
        uint256 balanceBefore = token.balanceOf(owners[index]);
        uint256 amount = meter.claimCredits(ids);
        claimed[index] += amount;
        if (amount != expected || token.balanceOf(owners[index]) != balanceBefore + amount) ++wrongClaims;
    }

    function redeem(uint256 index, uint64 amount) external {
        index = bound(index, 0, 2);
        uint256 cap = meter.uncoveredConsumption(meterIds[index]);
        uint256 balance = token.balanceOf(owners[index]);
        if (balance < cap) cap = balance;
        if (cap == 0) return;
        amount = uint64(bound(amount, 1, cap));
        vm.prank(owners[index]);
        token.redeem(meterIds[index], amount);
        redeemed[index] += amount;
    }
}

contract SmartMeterInvariantTest is GridXFixture {
    MeteringHandler internal handler;

    function setUp() public override {
        super.setUp();
        uint64[3] memory ids;
        uint256[3] memory keys = [uint256(0x111), 0x222, 0x333];
        address[3] memory owners = [alice, bob, makeAddr("carol")];
        ISmartMeter.MeterKind[3] memory kinds =
            [ISmartMeter.MeterKind.SolarProsumer, ISmartMeter.MeterKind.Consumer, ISmartMeter.MeterKind.Hybrid];
        vm.startPrank(registrar);
        for (uint256 i; i < 3; ++i) {
            ids[i] = meter.registerMeter(
                owners[i], zone, kinds[i], vm.addr(keys[i]), type(uint32).max, string(abi.encodePacked("INV-", i))
            );
        }
        vm.stopPrank();
        handler = new MeteringHandler(meter, token, oracleOperator, ids, keys, owners);
        targetContract(address(handler));
    }

    /// Every valid reading is accepted and every corrupted one skipped; every claim pays its owner exactly.
    function invariant_acceptsExactlyTheValidReadings() public view {
        assertEq(handler.wrongDecisions(), 0);
        assertEq(handler.wrongClaims(), 0);
    }

    /// Credits in existence are exactly the credits claimed minus what was redeemed.
    function invariant_supplyEqualsClaimedMinusRedeemed() public view {
        uint256 totalClaimed;
        uint256 totalRedeemed;
        for (uint256 i; i < 3; ++i) {
            totalClaimed += handler.claimed(i);
            totalRedeemed += handler.redeemed(i);
        }
        assertEq(token.totalSupply(), totalClaimed - totalRedeemed);
    }

    /// Per meter: surplus credited − deficit booked = net metered energy since the baseline; what is still
    /// claimable is the credit less what was claimed; the uncovered consumption is the deficit less what its
    /// owner redeemed.
    function invariant_meterBooksMatchRegisters() public view {
        for (uint256 i; i < 3; ++i) {
            uint64 id = handler.meterIdAt(i);
            ISmartMeter.LatestReading memory latest = meter.getLatestReading(id);
            assertEq(latest.seq, handler.seq(i));
            assertEq(latest.productionWh, handler.production(i));
            int256 net = int256(uint256(latest.productionWh - handler.baseProduction(i)))
                - int256(uint256(latest.consumptionWh - handler.baseConsumption(i)));
            assertEq(int256(handler.credited(i)) - int256(handler.deficit(i)), net);
            assertEq(meter.claimableCredits(id), handler.credited(i) - handler.claimed(i));
            assertEq(meter.uncoveredConsumption(id), handler.deficit(i) - handler.redeemed(i));
        }
    }
}
