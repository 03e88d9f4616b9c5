// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Test} from "forge-std/Test.sol";
import {MockStablecoin} from "../contracts/MockStablecoin.sol";
import {IMockStablecoin} from "../contracts/interfaces/IMockStablecoin.sol";

contract MockStablecoinTest is Test {
    MockStablecoin internal usd;
    address internal alice = makeAddr("alice");

    function setUp() public {
        usd = new MockStablecoin();
    }

    function test_metadata() public view {
        assertEq(usd.decimals(), 6);
        assertEq(usd.symbol(), "mUSD");
    }

    function test_faucet_mintsAndEmits() public {
        vm.expectEmit(address(usd));
        emit IMockStablecoin.FaucetDrawn(address(this), alice, 100_000e6);
        usd.faucet(alice, 100_000e6);
        assertEq(usd.balanceOf(alice), 100_000e6);
    }

    function test_faucet_revertsAboveLimit() public {
        vm.expectRevert(
            abi.encodeWithSelector(IMockStablecoin.MockStablecoinFaucetLimitExceeded.selector, 100_000e6 + 1, 100_000e6)
        );
        usd.faucet(alice, 100_000e6 + 1);
    }

    function test_faucet_revertsOnInvalidRequest() public {
        vm.expectRevert(
            abi.encodeWithSelector(IMockStablecoin.MockStablecoinInvalidFaucetRequest.selector, address(0), 1)
        );
        usd.faucet(address(0), 1);
        vm.expectRevert(abi.encodeWithSelector(IMockStablecoin.MockStablecoinInvalidFaucetRequest.selector, alice, 0));
        usd.faucet(alice, 0);
    }
}
