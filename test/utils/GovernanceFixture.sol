// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IGovernor} from "@openzeppelin/contracts/governance/IGovernor.sol";
import {GridXFixture} from "./GridXFixture.sol";
import {EnergyGovernor} from "../../contracts/EnergyGovernor.sol";
import {GovernanceToken} from "../../contracts/GovernanceToken.sol";
import {GridXTimelock} from "../../contracts/GridXTimelock.sol";
import {Roles} from "../../contracts/libraries/Roles.sol";

/// @dev The metering fixture handed over to governance as production hands it over: GXG minted to four
/// holders who delegate to themselves, an EnergyGovernor driving a GridXTimelock (governor = only proposer
/// and canceller, open executor, timelock = its own only admin), and the timelock as the only ADMIN of the
/// AccessManager: this contract, which deployed and wired everything, renounced both admin roles.
/// Supply 1,000,000 GXG: alice 40 %, bob 30 %, carol 27 %, dave 3 % (above the 1 % proposal threshold and
/// below the 4 % quorum, so dave alone can propose but not pass anything).
abstract contract GovernanceFixture is GridXFixture {
    uint256 internal constant GXG = 1e18;
    uint256 internal constant ALICE_GXG = 400_000 * GXG;
    uint256 internal constant BOB_GXG = 300_000 * GXG;
    uint256 internal constant CAROL_GXG = 270_000 * GXG;
    uint256 internal constant DAVE_GXG = 30_000 * GXG;
    uint256 internal constant TOTAL_GXG = ALICE_GXG + BOB_GXG + CAROL_GXG + DAVE_GXG;

    uint48 internal constant VOTING_DELAY = 1 days;
    uint32 internal constant VOTING_PERIOD = 1 weeks;
    uint256 internal constant PROPOSAL_THRESHOLD = 10_000 * GXG;
    uint256 internal constant QUORUM_PERCENT = 4;
    uint256 internal constant TIMELOCK_DELAY = 2 days;

    uint8 internal constant AGAINST = 0;
    uint8 internal constant FOR = 1;
    uint8 internal constant ABSTAIN = 2;

    GovernanceToken internal gxg;
    GridXTimelock internal timelock;
    EnergyGovernor internal governor;

    address internal carol = makeAddr("carol");
    address internal dave = makeAddr("dave");

    function setUp() public virtual override {
        super.setUp();

        address[] memory holders = new address[](4);
        uint256[] memory amounts = new uint256[](4);
        (holders[0], holders[1], holders[2], holders[3]) = (alice, bob, carol, dave);
        (amounts[0], amounts[1], amounts[2], amounts[3]) = (ALICE_GXG, BOB_GXG, CAROL_GXG, DAVE_GXG);
        gxg = new GovernanceToken(holders, amounts);
        for (uint256 i; i < holders.length; ++i) {
            vm.prank(holders[i]);
            gxg.delegate(holders[i]);
        }

        // The deployer is the timelock's temporary admin only to grant the governor its roles.
        address[] memory executors = new address[](1); // address(0): anyone may execute a ready operation
        timelock = new GridXTimelock(TIMELOCK_DELAY, new address[](0), executors, address(this));
        governor = new EnergyGovernor(gxg, timelock, VOTING_DELAY, VOTING_PERIOD, PROPOSAL_THRESHOLD, QUORUM_PERCENT);
        timelock.grantRole(timelock.PROPOSER_ROLE(), address(governor));
        timelock.grantRole(timelock.CANCELLER_ROLE(), address(governor));
        timelock.renounceRole(timelock.DEFAULT_ADMIN_ROLE(), address(this));

        // Handover: the timelock becomes the AccessManager's only admin.
        manager.grantRole(Roles.ADMIN, address(timelock), 0);
        manager.renounceRole(Roles.ADMIN, address(this));

        vm.warp(block.timestamp + 1); // delegations are now in the past: holders may propose
    }

    // ─────────────────────────────────────────────────────────────── proposals

    struct Proposal {
        address[] targets;
        uint256[] values;
        bytes[] calldatas;
        string description;
    }

    function _single(address target, bytes memory data, string memory description)
        internal
        pure
        returns (Proposal memory p)
    {
        p.targets = new address[](1);
        p.values = new uint256[](1);
        p.calldatas = new bytes[](1);
        p.targets[0] = target;
        p.calldatas[0] = data;
        p.description = description;
    }

    function _propose(address proposer, Proposal memory p) internal returns (uint256 proposalId) {
        vm.prank(proposer);
        proposalId = governor.propose(p.targets, p.values, p.calldatas, p.description);
    }

    function _queue(Proposal memory p) internal returns (uint256) {
        return governor.queue(p.targets, p.values, p.calldatas, keccak256(bytes(p.description)));
    }

    function _execute(Proposal memory p) internal returns (uint256) {
        return governor.execute(p.targets, p.values, p.calldatas, keccak256(bytes(p.description)));
    }

    function _vote(address voter, uint256 proposalId, uint8 support) internal returns (uint256 weight) {
        vm.prank(voter);
        weight = governor.castVote(proposalId, support);
    }

    /// @dev Moves the clock to the first second votes are accepted (one past the snapshot).
    function _toVoting(uint256 proposalId) internal {
        vm.warp(governor.proposalSnapshot(proposalId) + 1);
    }

    /// @dev Moves the clock to the first second after voting closed.
    function _toVoteEnd(uint256 proposalId) internal {
        vm.warp(governor.proposalDeadline(proposalId) + 1);
    }

    /// @dev Proposes (as alice), passes with alice and bob voting For, and queues `p`; returns its id.
    function _proposePassQueue(Proposal memory p) internal returns (uint256 proposalId) {
        proposalId = _propose(alice, p);
        _toVoting(proposalId);
        _vote(alice, proposalId, FOR);
        _vote(bob, proposalId, FOR);
        _toVoteEnd(proposalId);
        _queue(p);
    }

    /// @dev Runs `p` through the whole lifecycle; returns its id.
    function _enact(Proposal memory p) internal returns (uint256 proposalId) {
        proposalId = _proposePassQueue(p);
        vm.warp(governor.proposalEta(proposalId));
        _execute(p);
    }

    /// @dev The timelock operation id of `p` as GovernorTimelockControl queues it.
    function _operationId(Proposal memory p) internal view returns (bytes32) {
        bytes32 salt = bytes20(address(governor)) ^ keccak256(bytes(p.description));
        return timelock.hashOperationBatch(p.targets, p.values, p.calldatas, 0, salt);
    }

    function _stateBitmap(IGovernor.ProposalState state) internal pure returns (bytes32) {
        return bytes32(1 << uint8(state));
    }
}
