// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {EnergyToken} from "../contracts/EnergyToken.sol";
import {IEnergyToken} from "../contracts/interfaces/IEnergyToken.sol";
import {ISmartMeter} from "../contracts/interfaces/ISmartMeter.sol";
import {GridXFixture} from "./utils/GridXFixture.sol";
import {ReadingSigner} from "./utils/ReadingSigner.sol";

contract EnergyTokenTest is GridXFixture {
    uint256 internal constant ALICE_DEVICE = 0xA1;
    uint256 internal constant BOB_DEVICE = 0xB0;
    uint64 internal aliceMeter;
    uint64 internal bobMeter;

    /// Alice earns and claims 2,000 Wh of credits; Bob's household consumes 1,500 Wh uncovered.
    function setUp() public override {
        super.setUp();
        vm.startPrank(registrar);
        aliceMeter = meter.registerMeter(
            alice, zone, ISmartMeter.MeterKind.SolarProsumer, vm.addr(ALICE_DEVICE), 20_000, "A-1"
        );
        bobMeter = meter.registerMeter(bob, zone, ISmartMeter.MeterKind.Consumer, vm.addr(BOB_DEVICE), 20_000, "B-1");
        vm.stopPrank();
        uint64 t0 = uint64(block.timestamp);
        _post(ALICE_DEVICE, ReadingSigner.reading(aliceMeter, 1, t0, 0, 0));
        _post(BOB_DEVICE, ReadingSigner.reading(bobMeter, 1, t0, 0, 0));
        vm.warp(t0 + 900);
        _post(ALICE_DEVICE, ReadingSigner.reading(aliceMeter, 2, t0 + 900, 2_000, 0));
        _post(BOB_DEVICE, ReadingSigner.reading(bobMeter, 2, t0 + 900, 0, 1_500));
        uint64[] memory ids = new uint64[](1);
        ids[0] = aliceMeter;
        meter.claimCredits(ids);
    }

    function _post(uint256 key, ISmartMeter.Reading memory r) internal {
        ISmartMeter.Reading[] memory readings = new ISmartMeter.Reading[](1);
        bytes[] memory signatures = new bytes[](1);
        readings[0] = r;
        signatures[0] = ReadingSigner.sign(key, r, address(meter), block.chainid);
        vm.prank(oracleOperator);
        assertEq(meter.submitReadings(readings, signatures), 1);
    }

    function test_metadata() public view {
        assertEq(token.decimals(), 3);
        assertEq(token.name(), "GridX Energy Credit");
        assertEq(token.symbol(), "GXE");
        assertEq(token.smartMeter(), address(meter));
        assertEq(token.balanceOf(alice), 2_000);
    }

    function test_constructor_revertsOnZeroSmartMeter() public {
        vm.expectRevert(IEnergyToken.EnergyTokenZeroSmartMeter.selector);
        new EnergyToken(ISmartMeter(address(0)));
    }

    function test_mint_revertsForAnyoneButSmartMeter() public {
        vm.expectRevert(abi.encodeWithSelector(IEnergyToken.EnergyTokenUnauthorizedMinter.selector, address(this)));
        token.mint(address(this), 1);
        vm.prank(oracleOperator);
        vm.expectRevert(abi.encodeWithSelector(IEnergyToken.EnergyTokenUnauthorizedMinter.selector, oracleOperator));
        token.mint(oracleOperator, 1);
    }

    function test_redeem_burnsAgainstOwnUncoveredConsumption() public {
        vm.prank(alice);
        token.transfer(bob, 1_200);

        vm.expectEmit(address(meter));
        emit ISmartMeter.ConsumptionCovered(bobMeter, bob, 1_000, 500);
        vm.expectEmit(address(token));
        emit IEnergyToken.Redeemed(bob, bobMeter, 1_000);
        vm.prank(bob);
        token.redeem(bobMeter, 1_000);

        assertEq(token.balanceOf(bob), 200);
        assertEq(token.totalSupply(), 1_000);
        assertEq(meter.uncoveredConsumption(bobMeter), 500);
    }

    function test_redeem_revertsOnZeroAmount() public {
        vm.prank(bob);
        vm.expectRevert(IEnergyToken.EnergyTokenZeroAmount.selector);
        token.redeem(bobMeter, 0);
    }

    function test_redeem_revertsAgainstSomeoneElsesMeter() public {
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(ISmartMeter.SmartMeterNotMeterOwner.selector, bobMeter, alice));
        token.redeem(bobMeter, 100);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(ISmartMeter.SmartMeterNotMeterOwner.selector, 99, alice));
        token.redeem(99, 100);
    }

    function test_redeem_revertsAboveUncoveredConsumption() public {
        vm.prank(alice);
        token.transfer(bob, 2_000);
        vm.prank(bob);
        vm.expectRevert(
            abi.encodeWithSelector(ISmartMeter.SmartMeterInsufficientUncovered.selector, bobMeter, 1_500, 1_501)
        );
        token.redeem(bobMeter, 1_501);
    }

    function test_redeem_revertsWithoutCredits() public {
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(IERC20Errors.ERC20InsufficientBalance.selector, bob, 0, 1));
        token.redeem(bobMeter, 1);
    }

    function test_redeem_worksWhilePausedAndHalted() public {
        vm.prank(alice);
        token.transfer(bob, 1_500);
        vm.prank(guardian);
        grid.pause();
        vm.prank(gridOperator);
        grid.haltZone(zone, "storm");
        vm.prank(bob);
        token.redeem(bobMeter, 1_500);
        assertEq(meter.uncoveredConsumption(bobMeter), 0);
    }

    function test_permit_setsAllowanceFromSignature() public {
        uint256 ownerKey = 0xC0FFEE;
        address owner = vm.addr(ownerKey);
        vm.prank(alice);
        token.transfer(owner, 500);
        uint256 deadline = block.timestamp + 1 hours;
        bytes32 structHash = keccak256(
            abi.encode(
                keccak256("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)"),
                owner,
                bob,
                500,
                token.nonces(owner),
                deadline
            )
        );
        bytes32 digest = keccak256(abi.encodePacked("\x19\x01", token.DOMAIN_SEPARATOR(), structHash));
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(ownerKey, digest);
        token.permit(owner, bob, 500, deadline, v, r, s);
        assertEq(token.allowance(owner, bob), 500);
        vm.prank(bob);
        token.transferFrom(owner, bob, 500);
        assertEq(token.balanceOf(bob), 500);
    }

    /// Redemption never exceeds what the meter recorded and never burns more than it covers.
    function testFuzz_redeem_boundedByUncovered(uint64 amount) public {
        amount = uint64(bound(amount, 0, 2_000)); // Bob holds 2,000 Wh, so only the uncovered bound can bind
        vm.prank(alice);
        token.transfer(bob, 2_000);
        vm.prank(bob);
        if (amount == 0) {
            vm.expectRevert(IEnergyToken.EnergyTokenZeroAmount.selector);
        } else if (amount > 1_500) {
            vm.expectRevert(
                abi.encodeWithSelector(ISmartMeter.SmartMeterInsufficientUncovered.selector, bobMeter, 1_500, amount)
            );
        }
        token.redeem(bobMeter, amount);
        if (amount != 0 && amount <= 1_500) {
            assertEq(token.balanceOf(bob), 2_000 - amount);
            assertEq(meter.uncoveredConsumption(bobMeter), 1_500 - amount);
        }
    }
}
