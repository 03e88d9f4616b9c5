// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {ERC20Votes} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Votes.sol";
import {IVotes} from "@openzeppelin/contracts/governance/utils/IVotes.sol";
import {Votes} from "@openzeppelin/contracts/governance/utils/Votes.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";
import {GovernanceToken} from "../contracts/GovernanceToken.sol";
import {IGovernanceToken} from "../contracts/interfaces/IGovernanceToken.sol";
import {SlimTest} from "./utils/SlimTest.sol";

contract GovernanceTokenTest is SlimTest {
    bytes32 internal constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    bytes32 internal constant PERMIT_TYPEHASH =
        keccak256("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)");
    bytes32 internal constant DELEGATION_TYPEHASH =
        keccak256("Delegation(address delegatee,uint256 nonce,uint256 expiry)");

    uint256 internal constant GXG = 1e18;

    GovernanceToken internal gxg;
    address internal alice;
    uint256 internal aliceKey;
    address internal bob = makeAddr("bob");
    address internal carol = makeAddr("carol");

    function setUp() public {
        vm.warp(1_750_000_000);
        (alice, aliceKey) = makeAddrAndKey("alice");
        gxg = new GovernanceToken(_pair(alice, bob), _amounts(600 * GXG, 400 * GXG));
    }

    // ─────────────────────────────────────────────────────────────── helpers

    function _pair(address a, address b) internal pure returns (address[] memory list) {
        list = new address[](2);
        (list[0], list[1]) = (a, b);
    }

    function _amounts(uint256 a, uint256 b) internal pure returns (uint256[] memory list) {
        list = new uint256[](2);
        (list[0], list[1]) = (a, b);
    }

    function _digest(bytes32 structHash) internal view returns (bytes32) {
        bytes32 domainSeparator = keccak256(
            abi.encode(DOMAIN_TYPEHASH, keccak256("GridX Governance"), keccak256("1"), block.chainid, address(gxg))
        );
        return keccak256(abi.encodePacked("\x19\x01", domainSeparator, structHash));
    }

    // ─────────────────────────────────────────────────────────────── constructor

    function test_constructor_mintsFixedSupplyToRecipients() public {
        address[] memory recipients = _pair(alice, bob);
        uint256[] memory amounts = _amounts(7 * GXG, 3 * GXG);
        vm.expectEmit();
        emit IERC20.Transfer(address(0), alice, 7 * GXG);
        vm.expectEmit();
        emit IERC20.Transfer(address(0), bob, 3 * GXG);
        GovernanceToken token = new GovernanceToken(recipients, amounts);

        assertEq(token.name(), "GridX Governance");
        assertEq(token.symbol(), "GXG");
        assertEq(token.decimals(), 18);
        assertEq(token.totalSupply(), 10 * GXG);
        assertEq(token.balanceOf(alice), 7 * GXG);
        assertEq(token.balanceOf(bob), 3 * GXG);
        // Nobody votes until they delegate.
        assertEq(token.getVotes(alice), 0);
        assertEq(token.delegates(alice), address(0));
    }

    function test_constructor_acceptsRepeatedRecipient() public {
        GovernanceToken token = new GovernanceToken(_pair(carol, carol), _amounts(1, 2));
        assertEq(token.balanceOf(carol), 3);
        assertEq(token.totalSupply(), 3);
    }

    function test_constructor_revertsOnNoRecipients() public {
        vm.expectRevert(IGovernanceToken.GovernanceTokenNoRecipients.selector);
        new GovernanceToken(new address[](0), new uint256[](0));
    }

    function test_constructor_revertsOnLengthMismatch() public {
        vm.expectRevert(abi.encodeWithSelector(IGovernanceToken.GovernanceTokenLengthMismatch.selector, 2, 1));
        new GovernanceToken(_pair(alice, bob), new uint256[](1));
        vm.expectRevert(abi.encodeWithSelector(IGovernanceToken.GovernanceTokenLengthMismatch.selector, 1, 2));
        new GovernanceToken(new address[](1), _amounts(1, 1));
    }

    function test_constructor_revertsOnZeroRecipient() public {
        vm.expectRevert(abi.encodeWithSelector(IGovernanceToken.GovernanceTokenZeroRecipient.selector, 1));
        new GovernanceToken(_pair(alice, address(0)), _amounts(1, 1));
    }

    function test_constructor_revertsOnZeroAmount() public {
        vm.expectRevert(abi.encodeWithSelector(IGovernanceToken.GovernanceTokenZeroAmount.selector, 1, bob));
        new GovernanceToken(_pair(alice, bob), _amounts(1, 0));
    }

    function test_constructor_revertsAboveVotesSupplyCap() public {
        uint256 cap = type(uint208).max;
        vm.expectRevert(abi.encodeWithSelector(ERC20Votes.ERC20ExceededSafeSupply.selector, cap + 1, cap));
        new GovernanceToken(_pair(alice, bob), _amounts(cap, 1));
    }

    function testFuzz_constructor_mintsExactAmounts(uint256 count, uint256 seed) public {
        count = bound(count, 1, 16);
        address[] memory recipients = new address[](count);
        uint256[] memory amounts = new uint256[](count);
        uint256 total;
        for (uint256 i; i < count; ++i) {
            recipients[i] = address(uint160(uint256(keccak256(abi.encode(seed, i))) % 8 + 0x1000)); // repeats likely
            amounts[i] = bound(uint256(keccak256(abi.encode(i, seed))), 1, 1e36);
            total += amounts[i];
        }
        GovernanceToken token = new GovernanceToken(recipients, amounts);
        assertEq(token.totalSupply(), total);
        uint256 sumOfBalances;
        for (uint256 k; k < 8; ++k) {
            sumOfBalances += token.balanceOf(address(uint160(0x1000 + k)));
        }
        assertEq(sumOfBalances, total);
    }

    // ─────────────────────────────────────────────────────────────── fixed supply

    function test_supply_cannotGrow() public {
        uint256 supply = gxg.totalSupply();
        (bool minted,) = address(gxg).call(abi.encodeWithSignature("mint(address,uint256)", alice, 1));
        assertFalse(minted);
        (bool burned,) = address(gxg).call(abi.encodeWithSignature("burn(uint256)", 1));
        assertFalse(burned);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(IERC20Errors.ERC20InvalidReceiver.selector, address(0)));
        gxg.transfer(address(0), 1);
        assertEq(gxg.totalSupply(), supply);
    }

    // ─────────────────────────────────────────────────────────────── clock

    function test_clock_isBlockTimestamp() public {
        assertEq(gxg.clock(), block.timestamp);
        assertEq(gxg.CLOCK_MODE(), "mode=timestamp");
        vm.roll(block.number + 100);
        vm.warp(block.timestamp + 12);
        assertEq(gxg.clock(), 1_750_000_012);
    }

    function test_votes_checkpointByTimestamp() public {
        uint256 t0 = block.timestamp;
        vm.prank(alice);
        gxg.delegate(alice);
        vm.prank(bob);
        gxg.delegate(bob);

        vm.warp(t0 + 100);
        vm.prank(alice);
        gxg.transfer(bob, 100 * GXG);
        vm.warp(t0 + 200);
        vm.prank(bob);
        gxg.delegate(alice);
        vm.warp(t0 + 300);

        assertEq(gxg.getPastVotes(alice, t0 - 1), 0);
        assertEq(gxg.getPastVotes(alice, t0), 600 * GXG);
        assertEq(gxg.getPastVotes(alice, t0 + 99), 600 * GXG);
        assertEq(gxg.getPastVotes(alice, t0 + 100), 500 * GXG);
        assertEq(gxg.getPastVotes(bob, t0 + 100), 500 * GXG);
        assertEq(gxg.getPastVotes(alice, t0 + 200), 1_000 * GXG);
        assertEq(gxg.getPastVotes(bob, t0 + 200), 0);
        assertEq(gxg.getPastTotalSupply(t0 + 250), 1_000 * GXG);
        assertEq(gxg.numCheckpoints(alice), 3);
        assertEq(gxg.checkpoints(alice, 1)._key, t0 + 100);
    }

    function test_getPastVotes_revertsForCurrentOrFutureTimepoint() public {
        uint48 now_ = uint48(block.timestamp);
        vm.expectRevert(abi.encodeWithSelector(Votes.ERC5805FutureLookup.selector, now_, now_));
        gxg.getPastVotes(alice, now_);
        vm.expectRevert(abi.encodeWithSelector(Votes.ERC5805FutureLookup.selector, now_ + 1, now_));
        gxg.getPastTotalSupply(now_ + 1);
    }

    // ─────────────────────────────────────────────────────────────── signatures

    function test_permit_approvesBySignature() public {
        uint256 deadline = block.timestamp + 1 hours;
        bytes32 structHash = keccak256(abi.encode(PERMIT_TYPEHASH, alice, carol, 50 * GXG, 0, deadline));
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(aliceKey, _digest(structHash));
        vm.prank(carol);
        gxg.permit(alice, carol, 50 * GXG, deadline, v, r, s);
        assertEq(gxg.allowance(alice, carol), 50 * GXG);
        assertEq(gxg.nonces(alice), 1);
        assertEq(
            gxg.DOMAIN_SEPARATOR(),
            keccak256(
                abi.encode(DOMAIN_TYPEHASH, keccak256("GridX Governance"), keccak256("1"), block.chainid, address(gxg))
            )
        );
    }

    function test_delegateBySig_sharesNonceWithPermit() public {
        uint256 expiry = block.timestamp + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) =
            vm.sign(aliceKey, _digest(keccak256(abi.encode(DELEGATION_TYPEHASH, carol, 0, expiry))));
        vm.expectEmit(address(gxg));
        emit IVotes.DelegateChanged(alice, address(0), carol);
        gxg.delegateBySig(carol, 0, expiry, v, r, s);
        assertEq(gxg.delegates(alice), carol);
        assertEq(gxg.getVotes(carol), 600 * GXG);
        assertEq(gxg.nonces(alice), 1);

        // Replay: the nonce is spent.
        vm.expectRevert(abi.encodeWithSelector(Nonces.InvalidAccountNonce.selector, alice, 1));
        gxg.delegateBySig(carol, 0, expiry, v, r, s);

        // Expired.
        (v, r, s) = vm.sign(aliceKey, _digest(keccak256(abi.encode(DELEGATION_TYPEHASH, bob, 1, expiry))));
        vm.warp(expiry + 1);
        vm.expectRevert(abi.encodeWithSelector(IVotes.VotesExpiredSignature.selector, expiry));
        gxg.delegateBySig(bob, 1, expiry, v, r, s);
    }

    // ─────────────────────────────────────────────────────────────── fuzz

    /// Transfers move votes between the holders' delegates and never create or destroy votes.
    function testFuzz_transfer_movesVotesBetweenDelegates(uint256 amount, bool aliceDelegates, bool bobDelegates)
        public
    {
        amount = bound(amount, 0, 600 * GXG);
        if (aliceDelegates) {
            vm.prank(alice);
            gxg.delegate(carol);
        }
        if (bobDelegates) {
            vm.prank(bob);
            gxg.delegate(bob);
        }
        vm.prank(alice);
        gxg.transfer(bob, amount);

        uint256 carolVotes = aliceDelegates ? 600 * GXG - amount : 0;
        uint256 bobVotes = bobDelegates ? 400 * GXG + amount : 0;
        assertEq(gxg.getVotes(carol), carolVotes);
        assertEq(gxg.getVotes(bob), bobVotes);
        assertEq(gxg.getVotes(alice), 0);
        assertLe(carolVotes + bobVotes, gxg.totalSupply());
        assertEq(gxg.totalSupply(), 1_000 * GXG);
    }
}
