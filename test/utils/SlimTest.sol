// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {TestBase} from "forge-std/Base.sol";
import {StdAssertions} from "forge-std/StdAssertions.sol";
import {StdChains} from "forge-std/StdChains.sol";
import {StdCheats} from "forge-std/StdCheats.sol";
import {StdInvariant} from "forge-std/StdInvariant.sol";
import {StdUtils} from "forge-std/StdUtils.sol";

/// @dev forge-std's `Test` without its console imports. `Test` pulls in console.sol and safeconsole.sol
/// (~0.5 MB of source); Hardhat hands each isolated compile job to the wasm solc as one input, and jobs
/// above ~1.3 MB crash it ("memory access out of bounds", HHE908). The fixtures inherit this instead, so a
/// large test file on top of the whole market still compiles. Same contracts, same cheatcodes, same asserts.
abstract contract SlimTest is TestBase, StdAssertions, StdChains, StdCheats, StdInvariant, StdUtils {
    // Note: IS_TEST() must return true.
    bool public IS_TEST = true;
}
