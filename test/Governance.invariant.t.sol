// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {CommonBase} from "forge-std/Base.sol";
import {StdUtils} from "forge-std/StdUtils.sol";
import {GovernanceToken} from "../contracts/GovernanceToken.sol";
import {SlimTest} from "./utils/SlimTest.sol";

/// @dev Moves GXG and delegations among four holders, in small clock steps, and records, one second after
/// each step, every holder's votes and the total supply at the previous second: those timepoints are final,
/// so the invariants can check later that nothing ever rewrites them. Keeps its own book of who delegates to
/// whom, independent of the token.
contract VotesHandler is CommonBase, StdUtils {
    uint256 internal constant HOLDERS = 4;
    uint256 internal constant MAX_RECORDS = 256;

    struct Record {
        uint48 timepoint;
        uint256[HOLDERS] votes;
        uint256 totalSupply;
    }

    GovernanceToken internal immutable gxg;
    address[HOLDERS] internal holders;
    /// @dev Ghost delegation: index of the delegatee in `holders`, or HOLDERS for "nobody".
    uint256[HOLDERS] public ghostDelegatee;
    Record[] internal _records;
    uint256 public transfers;
    uint256 public delegations;

    constructor(GovernanceToken gxg_, address[HOLDERS] memory holders_) {
        gxg = gxg_;
        holders = holders_;
        for (uint256 i; i < HOLDERS; ++i) {
            ghostDelegatee[i] = HOLDERS;
        }
    }

    // ─────────────────────────────────────────────────────────────── actions

    function transfer(uint256 fromIndex, uint256 toIndex, uint256 amount, uint32 elapsed) external {
        _step(elapsed);
        address from = holders[bound(fromIndex, 0, HOLDERS - 1)];
        address to = holders[bound(toIndex, 0, HOLDERS - 1)];
        amount = bound(amount, 0, gxg.balanceOf(from));
        vm.prank(from);
        gxg.transfer(to, amount);
        ++transfers;
    }

    /// `delegateeIndex` == HOLDERS delegates to the zero address, i.e. withdraws the delegation.
    function delegate(uint256 holderIndex, uint256 delegateeIndex, uint32 elapsed) external {
        _step(elapsed);
        holderIndex = bound(holderIndex, 0, HOLDERS - 1);
        delegateeIndex = bound(delegateeIndex, 0, HOLDERS);
        vm.prank(holders[holderIndex]);
        gxg.delegate(delegateeIndex == HOLDERS ? address(0) : holders[delegateeIndex]);
        ghostDelegatee[holderIndex] = delegateeIndex;
        ++delegations;
    }

    /// Several changes within one second share one checkpoint; only the last state of a second is recorded.
    function sameSecondShuffle(uint256 a, uint256 b, uint256 amount) external {
        address from = holders[bound(a, 0, HOLDERS - 1)];
        address to = holders[bound(b, 0, HOLDERS - 1)];
        amount = bound(amount, 0, gxg.balanceOf(from));
        vm.startPrank(from);
        gxg.transfer(to, amount);
        gxg.delegate(to);
        vm.stopPrank();
        ghostDelegatee[bound(a, 0, HOLDERS - 1)] = bound(b, 0, HOLDERS - 1);
        ++transfers;
        ++delegations;
    }

    // ─────────────────────────────────────────────────────────────── views for the invariants

    function holderAt(uint256 i) external view returns (address) {
        return holders[i];
    }

    function recordCount() external view returns (uint256) {
        return _records.length;
    }

    function recordAt(uint256 i)
        external
        view
        returns (uint48 timepoint, uint256[HOLDERS] memory votes, uint256 totalSupply)
    {
        Record storage r = _records[i];
        return (r.timepoint, r.votes, r.totalSupply);
    }

    // ─────────────────────────────────────────────────────────────── internal

    /// @dev Advances the clock by at least a second, then records the (now final) previous second.
    function _step(uint32 elapsed) internal {
        vm.warp(block.timestamp + bound(elapsed, 1, 3 days));
        if (_records.length == MAX_RECORDS) return;
        uint48 timepoint = uint48(block.timestamp - 1);
        Record storage r = _records.push();
        r.timepoint = timepoint;
        for (uint256 i; i < HOLDERS; ++i) {
            r.votes[i] = gxg.getPastVotes(holders[i], timepoint);
        }
        r.totalSupply = gxg.getPastTotalSupply(timepoint);
    }
}

contract GovernanceTokenInvariantTest is SlimTest {
    uint256 internal constant HOLDERS = 4;
    uint256 internal constant SUPPLY = 1_000_000e18;

    GovernanceToken internal gxg;
    VotesHandler internal handler;
    address[HOLDERS] internal holders;

    function setUp() public {
        vm.warp(1_750_000_000);
        address[] memory recipients = new address[](HOLDERS);
        uint256[] memory amounts = new uint256[](HOLDERS);
        for (uint256 i; i < HOLDERS; ++i) {
            holders[i] = makeAddr(string.concat("holder", vm.toString(i)));
            recipients[i] = holders[i];
            amounts[i] = SUPPLY / HOLDERS;
        }
        gxg = new GovernanceToken(recipients, amounts);
        handler = new VotesHandler(gxg, holders);
        targetContract(address(handler));
    }

    /// Votes are conserved: what the delegatees hold is exactly the balance of holders who delegate, which
    /// never exceeds the fixed supply; the token's delegations match the handler's book.
    function invariant_votesEqualDelegatedSupply() public view {
        uint256 votes;
        uint256 delegatedBalance;
        for (uint256 i; i < HOLDERS; ++i) {
            votes += gxg.getVotes(holders[i]);
            address delegatee = gxg.delegates(holders[i]);
            uint256 ghost = handler.ghostDelegatee(i);
            assertEq(delegatee, ghost == HOLDERS ? address(0) : holders[ghost]);
            if (delegatee != address(0)) delegatedBalance += gxg.balanceOf(holders[i]);
        }
        assertEq(votes, delegatedBalance);
        assertLe(votes, gxg.totalSupply());
        assertEq(gxg.totalSupply(), SUPPLY);
    }

    /// Each holder's current votes equal the sum of balances delegated to it.
    function invariant_votesPerDelegatee() public view {
        for (uint256 d; d < HOLDERS; ++d) {
            uint256 expected;
            for (uint256 h; h < HOLDERS; ++h) {
                if (gxg.delegates(holders[h]) == holders[d]) expected += gxg.balanceOf(holders[h]);
            }
            assertEq(gxg.getVotes(holders[d]), expected);
        }
    }

    /// A past timepoint's votes and supply never change, whatever happens afterwards.
    function invariant_pastVotesImmutable() public view {
        uint256 count = handler.recordCount();
        for (uint256 i; i < count; ++i) {
            (uint48 timepoint, uint256[HOLDERS] memory votes, uint256 totalSupply) = handler.recordAt(i);
            uint256 sum;
            for (uint256 h; h < HOLDERS; ++h) {
                assertEq(gxg.getPastVotes(holders[h], timepoint), votes[h]);
                sum += votes[h];
            }
            assertEq(gxg.getPastTotalSupply(timepoint), totalSupply);
            assertEq(totalSupply, SUPPLY);
            assertLe(sum, totalSupply);
        }
    }
}
