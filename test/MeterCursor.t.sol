// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Test} from "forge-std/Test.sol";
import {MeterCursor, MeterCursorLib} from "../contracts/libraries/MeterCursor.sol";

contract MeterCursorTest is Test {
    /// Every field reads back exactly what was packed, and no field leaks into another.
    function testFuzz_pack_roundTrips(
        uint32 seq,
        uint32 timestamp,
        uint48 productionWh,
        uint48 consumptionWh,
        uint48 claimableWh,
        uint48 uncoveredWh
    ) public pure {
        MeterCursor c =
            MeterCursorLib.pack(seq, timestamp, productionWh, consumptionWh, claimableWh, uncoveredWh);
        assertEq(c.seq(), seq);
        assertEq(c.timestamp(), timestamp);
        assertEq(c.productionWh(), productionWh);
        assertEq(c.consumptionWh(), consumptionWh);
        assertEq(c.claimableWh(), claimableWh);
        assertEq(c.uncoveredWh(), uncoveredWh);
    }

    /// Replacing one field leaves the other five untouched.
    function testFuzz_with_replacesOnlyItsField(uint256 raw, uint48 claimableWh, uint48 uncoveredWh) public pure {
        MeterCursor c = MeterCursor.wrap(raw);
        MeterCursor claimed = c.withClaimable(claimableWh);
        assertEq(claimed.claimableWh(), claimableWh);
        assertEq(claimed.uncoveredWh(), c.uncoveredWh());
        assertEq(claimed.seq(), c.seq());
        assertEq(claimed.timestamp(), c.timestamp());
        assertEq(claimed.productionWh(), c.productionWh());
        assertEq(claimed.consumptionWh(), c.consumptionWh());

        MeterCursor covered = c.withUncovered(uncoveredWh);
        assertEq(covered.uncoveredWh(), uncoveredWh);
        assertEq(covered.claimableWh(), c.claimableWh());
        assertEq(covered.consumptionWh(), c.consumptionWh());
    }

    function test_pack_layoutIsDocumented() public pure {
        MeterCursor c = MeterCursorLib.pack(1, 2, 3, 4, 5, 6);
        uint256 expected = 1 | (2 << 32) | (3 << 64) | (4 << 112) | (5 << 160) | (6 << 208);
        assertEq(MeterCursor.unwrap(c), expected);
    }
}
