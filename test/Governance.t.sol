// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {IAccessManaged} from "@openzeppelin/contracts/access/manager/IAccessManaged.sol";
import {IAccessManager} from "@openzeppelin/contracts/access/manager/IAccessManager.sol";
import {IGovernor} from "@openzeppelin/contracts/governance/IGovernor.sol";
import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";
import {GovernorSettings} from "@openzeppelin/contracts/governance/extensions/GovernorSettings.sol";
import {GovernorTimelockControl} from "@openzeppelin/contracts/governance/extensions/GovernorTimelockControl.sol";
import {GovernorVotesQuorumFraction} from
    "@openzeppelin/contracts/governance/extensions/GovernorVotesQuorumFraction.sol";
import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {stdError} from "forge-std/StdError.sol";
import {EnergyGovernor} from "../contracts/EnergyGovernor.sol";
import {GovernanceToken} from "../contracts/GovernanceToken.sol";
import {GridXTimelock} from "../contracts/GridXTimelock.sol";
import {IGridManagement} from "../contracts/interfaces/IGridManagement.sol";
import {ISmartMeter} from "../contracts/interfaces/ISmartMeter.sol";
import {Roles} from "../contracts/libraries/Roles.sol";
import {GovernanceFixture} from "./utils/GovernanceFixture.sol";
import {ReadingSigner} from "./utils/ReadingSigner.sol";

contract GovernanceTest is GovernanceFixture {
    bytes32 internal constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    bytes32 internal constant BALLOT_TYPEHASH =
        keccak256("Ballot(uint256 proposalId,uint8 support,address voter,uint256 nonce)");

    uint256 internal constant DEVICE_KEY = 0xD00D;
    uint16 internal constant NEW_PEAK_FEE_BPS = 300;
    uint16 internal constant NEW_OFF_PEAK_FEE_BPS = 80;

    address internal newOperator = makeAddr("newOracleOperator");

    // ─────────────────────────────────────────────────────────────── helpers

    /// @dev The issue's proposal: raise the zone's grid fees and add an oracle operator.
    function _feeAndOperatorProposal() internal view returns (Proposal memory p) {
        p.targets = new address[](2);
        p.values = new uint256[](2);
        p.calldatas = new bytes[](2);
        p.targets[0] = address(grid);
        p.calldatas[0] = abi.encodeCall(
            IGridManagement.setFeeSchedule,
            (zone, IGridManagement.FeeSchedule(NEW_PEAK_FEE_BPS, NEW_OFF_PEAK_FEE_BPS, 17, 21))
        );
        p.targets[1] = address(manager);
        p.calldatas[1] = abi.encodeCall(IAccessManager.grantRole, (Roles.ORACLE_OPERATOR, newOperator, 0));
        p.description = "GIP-1: raise Riverside grid fees to 300/80 bps and add an oracle operator";
    }

    /// @dev A one-call proposal that only dave (3 %) supports.
    function _smallProposal(string memory description) internal view returns (Proposal memory) {
        return _single(
            address(grid), abi.encodeCall(IGridManagement.setEmissionFactor, (zone, uint32(200))), description
        );
    }

    function _ballotDigest(uint256 proposalId, uint8 support, address voter, uint256 nonce)
        internal
        view
        returns (bytes32)
    {
        bytes32 domainSeparator = keccak256(
            abi.encode(
                DOMAIN_TYPEHASH, keccak256("GridX EnergyGovernor"), keccak256("1"), block.chainid, address(governor)
            )
        );
        bytes32 structHash = keccak256(abi.encode(BALLOT_TYPEHASH, proposalId, support, voter, nonce));
        return keccak256(abi.encodePacked("\x19\x01", domainSeparator, structHash));
    }

    function _signBallot(uint256 key, uint256 proposalId, uint8 support, address voter, uint256 nonce)
        internal
        view
        returns (bytes memory)
    {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, _ballotDigest(proposalId, support, voter, nonce));
        return abi.encodePacked(r, s, v);
    }

    function _keyOf(string memory name) internal pure returns (uint256) {
        return uint256(keccak256(abi.encodePacked(name))); // how forge-std's makeAddr derives keys
    }

    /// @dev Submits one device-signed reading for a fresh meter as `operator`; returns how many were accepted.
    function _submitReading(address operator) internal returns (uint256) {
        vm.prank(registrar);
        uint64 meterId =
            meter.registerMeter(alice, zone, ISmartMeter.MeterKind.SolarProsumer, vm.addr(DEVICE_KEY), 10_000, "GOV-1");
        ISmartMeter.Reading[] memory readings = new ISmartMeter.Reading[](1);
        bytes[] memory signatures = new bytes[](1);
        readings[0] = ReadingSigner.reading(meterId, 1, uint64(block.timestamp), 1_000, 200);
        signatures[0] = ReadingSigner.sign(DEVICE_KEY, readings[0], address(meter), block.chainid);
        vm.prank(operator);
        return meter.submitReadings(readings, signatures);
    }

    function _atHour(uint256 hourOfDay) internal view returns (uint64) {
        return uint64(block.timestamp / 1 days * 1 days + hourOfDay * 1 hours);
    }

    // ─────────────────────────────────────────────────────────────── handover

    function test_setUp_timelockIsTheOnlyAccessManagerAdmin() public view {
        (bool timelockIsAdmin, uint32 delay) = manager.hasRole(Roles.ADMIN, address(timelock));
        assertTrue(timelockIsAdmin);
        assertEq(delay, 0);
        address[10] memory others = [
            address(this),
            address(governor),
            alice,
            bob,
            carol,
            dave,
            gridOperator,
            oracleOperator,
            registrar,
            guardian
        ];
        for (uint256 i; i < others.length; ++i) {
            (bool isAdmin,) = manager.hasRole(Roles.ADMIN, others[i]);
            assertFalse(isAdmin);
        }
    }

    function test_setUp_timelockRoles() public view {
        assertTrue(timelock.hasRole(timelock.PROPOSER_ROLE(), address(governor)));
        assertTrue(timelock.hasRole(timelock.CANCELLER_ROLE(), address(governor)));
        assertTrue(timelock.hasRole(timelock.EXECUTOR_ROLE(), address(0)));
        assertTrue(timelock.hasRole(timelock.DEFAULT_ADMIN_ROLE(), address(timelock)));
        assertFalse(timelock.hasRole(timelock.DEFAULT_ADMIN_ROLE(), address(this)));
        assertFalse(timelock.hasRole(timelock.DEFAULT_ADMIN_ROLE(), address(governor)));
        assertFalse(timelock.hasRole(timelock.PROPOSER_ROLE(), address(this)));
        assertFalse(timelock.hasRole(timelock.CANCELLER_ROLE(), address(this)));
        assertEq(timelock.getMinDelay(), TIMELOCK_DELAY);
    }

    function test_governor_configuration() public {
        assertEq(governor.name(), "GridX EnergyGovernor");
        assertEq(governor.version(), "1");
        assertEq(governor.clock(), block.timestamp);
        assertEq(governor.CLOCK_MODE(), "mode=timestamp");
        assertEq(governor.votingDelay(), VOTING_DELAY);
        assertEq(governor.votingPeriod(), VOTING_PERIOD);
        assertEq(governor.proposalThreshold(), PROPOSAL_THRESHOLD);
        assertEq(governor.quorumNumerator(), QUORUM_PERCENT);
        assertEq(governor.quorumDenominator(), 100);
        assertEq(governor.quorum(block.timestamp - 1), TOTAL_GXG * QUORUM_PERCENT / 100);
        assertEq(address(governor.token()), address(gxg));
        assertEq(governor.timelock(), address(timelock));
        assertEq(governor.COUNTING_MODE(), "support=bravo&quorum=for,abstain");
        assertTrue(governor.proposalNeedsQueuing(0));
        assertTrue(governor.supportsInterface(type(IGovernor).interfaceId));
        assertTrue(governor.supportsInterface(type(IERC165).interfaceId));

        vm.deal(alice, 1 ether);
        vm.prank(alice);
        (bool sent, bytes memory reason) = payable(address(governor)).call{value: 1 ether}("");
        assertFalse(sent); // funds belong to the timelock, the executor
        assertEq(reason, abi.encodeWithSelector(IGovernor.GovernorDisabledDeposit.selector));
    }

    function test_constructor_validatesSettings() public {
        vm.expectRevert(abi.encodeWithSelector(IGovernor.GovernorInvalidVotingPeriod.selector, 0));
        new EnergyGovernor(gxg, timelock, VOTING_DELAY, 0, PROPOSAL_THRESHOLD, QUORUM_PERCENT);
        vm.expectRevert(
            abi.encodeWithSelector(GovernorVotesQuorumFraction.GovernorInvalidQuorumFraction.selector, 101, 100)
        );
        new EnergyGovernor(gxg, timelock, VOTING_DELAY, VOTING_PERIOD, PROPOSAL_THRESHOLD, 101);
    }

    // ─────────────────────────────────────────────────────────────── end to end

    function test_enact_changesGridFeeAndAddsOracleOperator() public {
        Proposal memory p = _feeAndOperatorProposal();
        vm.prank(newOperator);
        vm.expectRevert(abi.encodeWithSelector(IAccessManaged.AccessManagedUnauthorized.selector, newOperator));
        meter.submitReadings(new ISmartMeter.Reading[](0), new bytes[](0));

        uint256 proposalId = _propose(alice, p);
        assertEq(uint8(governor.state(proposalId)), uint8(IGovernor.ProposalState.Pending));
        assertEq(governor.proposalSnapshot(proposalId), block.timestamp + VOTING_DELAY);
        assertEq(governor.proposalDeadline(proposalId), block.timestamp + VOTING_DELAY + VOTING_PERIOD);
        assertEq(governor.proposalProposer(proposalId), alice);

        _toVoting(proposalId);
        assertEq(uint8(governor.state(proposalId)), uint8(IGovernor.ProposalState.Active));
        vm.expectEmit(address(governor));
        emit IGovernor.VoteCast(alice, proposalId, FOR, ALICE_GXG, "");
        assertEq(_vote(alice, proposalId, FOR), ALICE_GXG);
        assertEq(_vote(bob, proposalId, FOR), BOB_GXG);
        assertEq(_vote(carol, proposalId, AGAINST), CAROL_GXG);
        assertEq(_vote(dave, proposalId, ABSTAIN), DAVE_GXG);
        (uint256 against, uint256 forVotes, uint256 abstain) = governor.proposalVotes(proposalId);
        assertEq(against, CAROL_GXG);
        assertEq(forVotes, ALICE_GXG + BOB_GXG);
        assertEq(abstain, DAVE_GXG);

        _toVoteEnd(proposalId);
        assertEq(uint8(governor.state(proposalId)), uint8(IGovernor.ProposalState.Succeeded));
        vm.expectEmit(address(timelock));
        emit TimelockController.CallScheduled(
            _operationId(p), 0, p.targets[0], 0, p.calldatas[0], bytes32(0), TIMELOCK_DELAY
        );
        vm.expectEmit(address(governor));
        emit IGovernor.ProposalQueued(proposalId, block.timestamp + TIMELOCK_DELAY);
        _queue(p);
        assertEq(uint8(governor.state(proposalId)), uint8(IGovernor.ProposalState.Queued));
        assertEq(governor.proposalEta(proposalId), block.timestamp + TIMELOCK_DELAY);
        assertTrue(timelock.isOperationPending(_operationId(p)));

        vm.warp(governor.proposalEta(proposalId));
        vm.expectEmit(address(grid));
        emit IGridManagement.FeeScheduleUpdated(zone, NEW_PEAK_FEE_BPS, NEW_OFF_PEAK_FEE_BPS, 17, 21);
        vm.expectEmit(address(manager));
        emit IAccessManager.RoleGranted(Roles.ORACLE_OPERATOR, newOperator, 0, uint48(block.timestamp), true);
        vm.expectEmit(address(governor));
        emit IGovernor.ProposalExecuted(proposalId);
        vm.prank(stranger); // the executor role is open: anyone may execute a ready proposal
        governor.execute(p.targets, p.values, p.calldatas, keccak256(bytes(p.description)));

        assertEq(uint8(governor.state(proposalId)), uint8(IGovernor.ProposalState.Executed));
        assertTrue(timelock.isOperationDone(_operationId(p)));
        assertEq(grid.gridFeeBps(zone, _atHour(18)), NEW_PEAK_FEE_BPS);
        assertEq(grid.gridFeeBps(zone, _atHour(3)), NEW_OFF_PEAK_FEE_BPS);
        (bool isOperator, uint32 executionDelay) = manager.hasRole(Roles.ORACLE_OPERATOR, newOperator);
        assertTrue(isOperator);
        assertEq(executionDelay, 0);
        assertEq(_submitReading(newOperator), 1); // the new operator posts meter readings
    }

    function test_enact_changesGovernanceSettingsAndTimelockDelay() public {
        Proposal memory p;
        p.targets = new address[](4);
        p.values = new uint256[](4);
        p.calldatas = new bytes[](4);
        (p.targets[0], p.targets[1], p.targets[2], p.targets[3]) =
            (address(governor), address(governor), address(governor), address(timelock));
        p.calldatas[0] = abi.encodeCall(GovernorSettings.setVotingPeriod, (3 days));
        p.calldatas[1] = abi.encodeCall(GovernorVotesQuorumFraction.updateQuorumNumerator, (10));
        p.calldatas[2] = abi.encodeCall(GovernorSettings.setProposalThreshold, (50_000 * GXG));
        p.calldatas[3] = abi.encodeCall(TimelockController.updateDelay, (3 days));
        p.description = "GIP-2: shorter votes, higher quorum and threshold, longer timelock";

        uint256 proposalId = _enact(p);
        uint256 snapshot = governor.proposalSnapshot(proposalId);
        assertEq(governor.votingPeriod(), 3 days);
        assertEq(governor.quorumNumerator(), 10);
        assertEq(governor.proposalThreshold(), 50_000 * GXG);
        assertEq(timelock.getMinDelay(), 3 days);
        // quorum is historical: the old snapshot keeps 4 %, later timepoints use 10 %
        assertEq(governor.quorum(snapshot), TOTAL_GXG * 4 / 100);
        vm.warp(block.timestamp + 1);
        assertEq(governor.quorum(block.timestamp - 1), TOTAL_GXG * 10 / 100);

        vm.expectRevert(
            abi.encodeWithSelector(IGovernor.GovernorInsufficientProposerVotes.selector, dave, DAVE_GXG, 50_000 * GXG)
        );
        _propose(dave, _smallProposal("too small now"));
    }

    function test_execute_revertsBeforeTimelockDelay() public {
        Proposal memory p = _feeAndOperatorProposal();
        uint256 proposalId = _proposePassQueue(p);
        bytes32 ready = bytes32(1 << uint8(TimelockController.OperationState.Ready));

        vm.expectRevert(
            abi.encodeWithSelector(TimelockController.TimelockUnexpectedOperationState.selector, _operationId(p), ready)
        );
        _execute(p);

        vm.warp(governor.proposalEta(proposalId) - 1);
        vm.expectRevert(
            abi.encodeWithSelector(TimelockController.TimelockUnexpectedOperationState.selector, _operationId(p), ready)
        );
        _execute(p);
        assertEq(grid.gridFeeBps(zone, _atHour(18)), 150);

        vm.warp(block.timestamp + 1);
        _execute(p);
        assertEq(grid.gridFeeBps(zone, _atHour(18)), NEW_PEAK_FEE_BPS);
    }

    function test_execute_revertsWithoutQueue() public {
        Proposal memory p = _feeAndOperatorProposal();
        uint256 proposalId = _propose(alice, p);
        _toVoting(proposalId);
        _vote(alice, proposalId, FOR);
        _toVoteEnd(proposalId);
        vm.expectRevert(
            abi.encodeWithSelector(
                TimelockController.TimelockUnexpectedOperationState.selector,
                _operationId(p),
                bytes32(1 << uint8(TimelockController.OperationState.Ready))
            )
        );
        _execute(p);
    }

    function test_execute_revertsWhenExecutedTwice() public {
        Proposal memory p = _feeAndOperatorProposal();
        uint256 proposalId = _enact(p);
        bytes32 allowed =
            _stateBitmap(IGovernor.ProposalState.Succeeded) | _stateBitmap(IGovernor.ProposalState.Queued);
        vm.expectRevert(
            abi.encodeWithSelector(
                IGovernor.GovernorUnexpectedProposalState.selector,
                proposalId,
                IGovernor.ProposalState.Executed,
                allowed
            )
        );
        _execute(p);
    }

    function test_execute_revertsWhenQuorumNotReached() public {
        Proposal memory p = _smallProposal("GIP-3: dave alone");
        uint256 proposalId = _propose(dave, p);
        _toVoting(proposalId);
        _vote(dave, proposalId, FOR); // 3 % For, 0 Against: a majority, but under the 4 % quorum
        _toVoteEnd(proposalId);
        assertLt(DAVE_GXG, governor.quorum(governor.proposalSnapshot(proposalId)));
        assertEq(uint8(governor.state(proposalId)), uint8(IGovernor.ProposalState.Defeated));

        vm.expectRevert(
            abi.encodeWithSelector(
                IGovernor.GovernorUnexpectedProposalState.selector,
                proposalId,
                IGovernor.ProposalState.Defeated,
                _stateBitmap(IGovernor.ProposalState.Succeeded)
            )
        );
        _queue(p);
        vm.expectRevert(
            abi.encodeWithSelector(
                IGovernor.GovernorUnexpectedProposalState.selector,
                proposalId,
                IGovernor.ProposalState.Defeated,
                _stateBitmap(IGovernor.ProposalState.Succeeded) | _stateBitmap(IGovernor.ProposalState.Queued)
            )
        );
        _execute(p);
        assertEq(grid.getZone(zone).emissionFactor_gCO2ePerKWh, 233);
    }

    function test_state_defeatedByMajorityAgainst() public {
        Proposal memory p = _feeAndOperatorProposal();
        uint256 proposalId = _propose(alice, p);
        _toVoting(proposalId);
        _vote(alice, proposalId, FOR);
        _vote(bob, proposalId, AGAINST);
        _vote(carol, proposalId, AGAINST);
        _toVoteEnd(proposalId);
        assertEq(uint8(governor.state(proposalId)), uint8(IGovernor.ProposalState.Defeated));
    }

    function test_state_abstainCountsTowardsQuorumOnly() public {
        Proposal memory p = _smallProposal("GIP-4: dave with carol abstaining");
        uint256 proposalId = _propose(dave, p);
        _toVoting(proposalId);
        _vote(dave, proposalId, FOR);
        _vote(carol, proposalId, ABSTAIN); // lifts For + Abstain over quorum; For still beats Against (0)
        _toVoteEnd(proposalId);
        assertEq(uint8(governor.state(proposalId)), uint8(IGovernor.ProposalState.Succeeded));
    }

    function test_timelock_executesPassedOperationDirectly() public {
        Proposal memory p = _feeAndOperatorProposal();
        uint256 proposalId = _proposePassQueue(p);
        vm.warp(governor.proposalEta(proposalId));
        bytes32 salt = bytes20(address(governor)) ^ keccak256(bytes(p.description));
        vm.prank(stranger);
        timelock.executeBatch(p.targets, p.values, p.calldatas, 0, salt);
        assertEq(uint8(governor.state(proposalId)), uint8(IGovernor.ProposalState.Executed));
        assertEq(grid.gridFeeBps(zone, _atHour(18)), NEW_PEAK_FEE_BPS);
    }

    // ─────────────────────────────────────────────────────────────── cancel

    function test_cancel_byProposerWhilePending() public {
        Proposal memory p = _feeAndOperatorProposal();
        uint256 proposalId = _propose(alice, p);
        vm.expectEmit(address(governor));
        emit IGovernor.ProposalCanceled(proposalId);
        vm.prank(alice);
        governor.cancel(p.targets, p.values, p.calldatas, keccak256(bytes(p.description)));
        assertEq(uint8(governor.state(proposalId)), uint8(IGovernor.ProposalState.Canceled));

        _toVoting(proposalId);
        vm.prank(bob);
        vm.expectRevert(
            abi.encodeWithSelector(
                IGovernor.GovernorUnexpectedProposalState.selector,
                proposalId,
                IGovernor.ProposalState.Canceled,
                _stateBitmap(IGovernor.ProposalState.Active)
            )
        );
        governor.castVote(proposalId, FOR);
    }

    function test_cancel_revertsForOthersAndOnceVotingStarted() public {
        Proposal memory p = _feeAndOperatorProposal();
        bytes32 descriptionHash = keccak256(bytes(p.description));
        uint256 proposalId = _propose(alice, p);
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(IGovernor.GovernorUnableToCancel.selector, proposalId, bob));
        governor.cancel(p.targets, p.values, p.calldatas, descriptionHash);

        _toVoting(proposalId);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(IGovernor.GovernorUnableToCancel.selector, proposalId, alice));
        governor.cancel(p.targets, p.values, p.calldatas, descriptionHash);
    }

    function test_cancel_queuedOperationByTimelockCanceller() public {
        Proposal memory p = _feeAndOperatorProposal();
        uint256 proposalId = _proposePassQueue(p);
        bytes32 operationId = _operationId(p);
        bytes32 cancellerRole = timelock.CANCELLER_ROLE();
        vm.prank(stranger);
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, stranger, cancellerRole)
        );
        timelock.cancel(operationId);

        vm.prank(address(governor)); // the only canceller
        timelock.cancel(operationId);
        assertEq(uint8(governor.state(proposalId)), uint8(IGovernor.ProposalState.Canceled));
        vm.warp(block.timestamp + TIMELOCK_DELAY);
        vm.expectRevert(
            abi.encodeWithSelector(
                IGovernor.GovernorUnexpectedProposalState.selector,
                proposalId,
                IGovernor.ProposalState.Canceled,
                _stateBitmap(IGovernor.ProposalState.Succeeded) | _stateBitmap(IGovernor.ProposalState.Queued)
            )
        );
        _execute(p);
    }

    // ─────────────────────────────────────────────────────────────── propose

    function test_propose_revertsUnderThreshold() public {
        uint256 held = PROPOSAL_THRESHOLD - 1;
        vm.prank(alice);
        gxg.transfer(stranger, held);
        vm.prank(stranger);
        gxg.delegate(stranger);
        vm.warp(block.timestamp + 1);
        vm.expectRevert(
            abi.encodeWithSelector(
                IGovernor.GovernorInsufficientProposerVotes.selector, stranger, held, PROPOSAL_THRESHOLD
            )
        );
        _propose(stranger, _feeAndOperatorProposal());
    }

    function test_propose_countsDelegatedVotesNotBalance() public {
        // A holder that never delegated has a balance but no votes.
        vm.prank(alice);
        gxg.transfer(stranger, 2 * PROPOSAL_THRESHOLD);
        vm.warp(block.timestamp + 1);
        vm.expectRevert(
            abi.encodeWithSelector(
                IGovernor.GovernorInsufficientProposerVotes.selector, stranger, 0, PROPOSAL_THRESHOLD
            )
        );
        _propose(stranger, _feeAndOperatorProposal());

        // Votes delegated in this very second do not count yet: the threshold reads the previous second.
        vm.prank(stranger);
        gxg.delegate(stranger);
        vm.expectRevert(
            abi.encodeWithSelector(
                IGovernor.GovernorInsufficientProposerVotes.selector, stranger, 0, PROPOSAL_THRESHOLD
            )
        );
        _propose(stranger, _feeAndOperatorProposal());

        vm.warp(block.timestamp + 1);
        uint256 proposalId = _propose(stranger, _feeAndOperatorProposal());
        assertEq(governor.proposalProposer(proposalId), stranger);
    }

    function test_propose_revertsOnDuplicateAndEmptyProposal() public {
        Proposal memory p = _feeAndOperatorProposal();
        uint256 proposalId = _propose(alice, p);
        vm.expectRevert(
            abi.encodeWithSelector(
                IGovernor.GovernorUnexpectedProposalState.selector, proposalId, IGovernor.ProposalState.Pending, 0
            )
        );
        _propose(bob, p);

        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(IGovernor.GovernorInvalidProposalLength.selector, 0, 0, 0));
        governor.propose(new address[](0), new uint256[](0), new bytes[](0), "empty");
    }

    // ─────────────────────────────────────────────────────────────── voting

    function test_castVote_revertsOnDoubleVote() public {
        uint256 proposalId = _propose(alice, _feeAndOperatorProposal());
        _toVoting(proposalId);
        _vote(alice, proposalId, FOR);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(IGovernor.GovernorAlreadyCastVote.selector, alice));
        governor.castVote(proposalId, AGAINST);
        assertTrue(governor.hasVoted(proposalId, alice));
    }

    function test_castVote_revertsOutsideVotingWindow() public {
        uint256 proposalId = _propose(alice, _feeAndOperatorProposal());
        vm.warp(governor.proposalSnapshot(proposalId)); // voting opens one second after the snapshot
        vm.prank(bob);
        vm.expectRevert(
            abi.encodeWithSelector(
                IGovernor.GovernorUnexpectedProposalState.selector,
                proposalId,
                IGovernor.ProposalState.Pending,
                _stateBitmap(IGovernor.ProposalState.Active)
            )
        );
        governor.castVote(proposalId, FOR);

        vm.warp(governor.proposalDeadline(proposalId)); // the deadline second is still open
        _vote(bob, proposalId, FOR);

        vm.warp(block.timestamp + 1);
        vm.prank(alice);
        vm.expectRevert(
            abi.encodeWithSelector(
                IGovernor.GovernorUnexpectedProposalState.selector,
                proposalId,
                IGovernor.ProposalState.Succeeded,
                _stateBitmap(IGovernor.ProposalState.Active)
            )
        );
        governor.castVote(proposalId, FOR);
    }

    function test_castVote_revertsOnInvalidSupportAndUnknownProposal() public {
        uint256 proposalId = _propose(alice, _feeAndOperatorProposal());
        _toVoting(proposalId);
        vm.prank(alice);
        vm.expectRevert(IGovernor.GovernorInvalidVoteType.selector);
        governor.castVote(proposalId, 3);

        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(IGovernor.GovernorNonexistentProposal.selector, 42));
        governor.castVote(42, FOR);
    }

    function test_castVote_lateBuyerCannotVote() public {
        address lateBuyer = makeAddr("lateBuyer");
        uint256 proposalId = _propose(alice, _feeAndOperatorProposal());
        uint256 snapshot = governor.proposalSnapshot(proposalId);
        _toVoting(proposalId);

        // After the snapshot alice sells a quarter of her stake; the buyer delegates to itself at once.
        vm.prank(alice);
        gxg.transfer(lateBuyer, 100_000 * GXG);
        vm.prank(lateBuyer);
        gxg.delegate(lateBuyer);
        vm.warp(block.timestamp + 1);
        assertEq(gxg.getVotes(lateBuyer), 100_000 * GXG);
        assertEq(gxg.getVotes(alice), ALICE_GXG - 100_000 * GXG);
        assertEq(governor.getVotes(lateBuyer, snapshot), 0);
        assertEq(governor.getVotes(alice, snapshot), ALICE_GXG);

        vm.expectEmit(address(governor));
        emit IGovernor.VoteCast(lateBuyer, proposalId, FOR, 0, "");
        assertEq(_vote(lateBuyer, proposalId, FOR), 0);
        assertEq(_vote(alice, proposalId, AGAINST), ALICE_GXG); // the seller keeps her snapshot weight

        (uint256 against, uint256 forVotes, uint256 abstain) = governor.proposalVotes(proposalId);
        assertEq(against, ALICE_GXG);
        assertEq(forVotes, 0);
        assertEq(abstain, 0);
    }

    function test_castVote_transferAtSnapshotCountsOneSecondLaterDoesNot() public {
        address earlyBuyer = makeAddr("earlyBuyer");
        address lateBuyer = makeAddr("lateBuyer");
        uint256 proposalId = _propose(alice, _feeAndOperatorProposal());
        uint256 snapshot = governor.proposalSnapshot(proposalId);

        vm.warp(snapshot); // still Pending: the snapshot second itself is part of the snapshot
        vm.startPrank(bob);
        gxg.transfer(earlyBuyer, 50_000 * GXG);
        vm.stopPrank();
        vm.prank(earlyBuyer);
        gxg.delegate(earlyBuyer);

        vm.warp(snapshot + 1);
        vm.prank(bob);
        gxg.transfer(lateBuyer, 50_000 * GXG);
        vm.prank(lateBuyer);
        gxg.delegate(lateBuyer);

        assertEq(_vote(earlyBuyer, proposalId, FOR), 50_000 * GXG);
        assertEq(_vote(lateBuyer, proposalId, FOR), 0);
        assertEq(_vote(bob, proposalId, FOR), BOB_GXG - 50_000 * GXG);
    }

    function test_castVote_redelegationAfterSnapshotDoesNotMoveVotes() public {
        uint256 proposalId = _propose(alice, _feeAndOperatorProposal());
        _toVoting(proposalId);
        vm.prank(bob);
        gxg.delegate(alice);
        assertEq(gxg.getVotes(alice), ALICE_GXG + BOB_GXG);
        assertEq(_vote(alice, proposalId, FOR), ALICE_GXG);
        assertEq(_vote(bob, proposalId, AGAINST), BOB_GXG);
    }

    function test_castVoteWithReason_emitsReason() public {
        uint256 proposalId = _propose(alice, _feeAndOperatorProposal());
        _toVoting(proposalId);
        vm.expectEmit(address(governor));
        emit IGovernor.VoteCast(carol, proposalId, AGAINST, CAROL_GXG, "fees too high for prosumers");
        vm.prank(carol);
        governor.castVoteWithReason(proposalId, AGAINST, "fees too high for prosumers");
    }

    // ─────────────────────────────────────────────────────────────── castVoteBySig

    function test_castVoteBySig_countsSignedBallot() public {
        uint256 aliceKey = _keyOf("alice");
        assertEq(vm.addr(aliceKey), alice);
        uint256 proposalId = _propose(bob, _feeAndOperatorProposal());
        _toVoting(proposalId);
        assertEq(governor.nonces(alice), 0);
        bytes memory signature = _signBallot(aliceKey, proposalId, FOR, alice, 0);

        vm.expectEmit(address(governor));
        emit IGovernor.VoteCast(alice, proposalId, FOR, ALICE_GXG, "");
        vm.prank(stranger); // a relayer pays the gas
        assertEq(governor.castVoteBySig(proposalId, FOR, alice, signature), ALICE_GXG);

        assertTrue(governor.hasVoted(proposalId, alice));
        assertFalse(governor.hasVoted(proposalId, stranger));
        assertEq(governor.nonces(alice), 1);
        (, uint256 forVotes,) = governor.proposalVotes(proposalId);
        assertEq(forVotes, ALICE_GXG);
    }

    function test_castVoteBySig_revertsOnReplay() public {
        uint256 aliceKey = _keyOf("alice");
        Proposal memory first = _feeAndOperatorProposal();
        uint256 firstId = _propose(bob, first);
        uint256 secondId = _propose(bob, _smallProposal("GIP-5: emission factor"));
        _toVoting(secondId);
        bytes memory signature = _signBallot(aliceKey, firstId, FOR, alice, 0);
        governor.castVoteBySig(firstId, FOR, alice, signature);

        // Same ballot again: its nonce is spent, so it no longer verifies.
        vm.expectRevert(abi.encodeWithSelector(IGovernor.GovernorInvalidSignature.selector, alice));
        governor.castVoteBySig(firstId, FOR, alice, signature);
        // Nor does it vote on another proposal.
        vm.expectRevert(abi.encodeWithSelector(IGovernor.GovernorInvalidSignature.selector, alice));
        governor.castVoteBySig(secondId, FOR, alice, signature);
        assertFalse(governor.hasVoted(secondId, alice));
        assertEq(governor.nonces(alice), 1);
    }

    function test_castVoteBySig_revertsOnForgedSignature() public {
        uint256 aliceKey = _keyOf("alice");
        uint256 proposalId = _propose(bob, _feeAndOperatorProposal());
        _toVoting(proposalId);

        // Signed by someone else on alice's behalf.
        bytes memory forged = _signBallot(_keyOf("stranger"), proposalId, FOR, alice, 0);
        vm.expectRevert(abi.encodeWithSelector(IGovernor.GovernorInvalidSignature.selector, alice));
        governor.castVoteBySig(proposalId, FOR, alice, forged);

        // Alice's For ballot submitted as Against.
        bytes memory signature = _signBallot(aliceKey, proposalId, FOR, alice, 0);
        vm.expectRevert(abi.encodeWithSelector(IGovernor.GovernorInvalidSignature.selector, alice));
        governor.castVoteBySig(proposalId, AGAINST, alice, signature);

        // Alice's ballot claimed for bob.
        vm.expectRevert(abi.encodeWithSelector(IGovernor.GovernorInvalidSignature.selector, bob));
        governor.castVoteBySig(proposalId, FOR, bob, signature);

        // A ballot signed for a future nonce.
        bytes memory ahead = _signBallot(aliceKey, proposalId, FOR, alice, 1);
        vm.expectRevert(abi.encodeWithSelector(IGovernor.GovernorInvalidSignature.selector, alice));
        governor.castVoteBySig(proposalId, FOR, alice, ahead);

        // Garbage bytes.
        vm.expectRevert(abi.encodeWithSelector(IGovernor.GovernorInvalidSignature.selector, alice));
        governor.castVoteBySig(proposalId, FOR, alice, hex"deadbeef");

        assertFalse(governor.hasVoted(proposalId, alice));
        assertEq(governor.nonces(alice), 0);
    }

    // ─────────────────────────────────────────────────────────────── only the timelock governs

    function test_governedFunctions_revertForAnyoneButTimelock() public {
        IGridManagement.FeeSchedule memory fees = IGridManagement.FeeSchedule(NEW_PEAK_FEE_BPS, 0, 17, 21);
        address[7] memory callers =
            [address(this), address(governor), alice, stranger, gridOperator, oracleOperator, guardian];
        for (uint256 i; i < callers.length; ++i) {
            address caller = callers[i];
            vm.prank(caller);
            vm.expectRevert(abi.encodeWithSelector(IAccessManaged.AccessManagedUnauthorized.selector, caller));
            grid.setFeeSchedule(zone, fees);

            vm.prank(caller);
            vm.expectRevert(abi.encodeWithSelector(IAccessManaged.AccessManagedUnauthorized.selector, caller));
            meter.setMaxFutureSkew(60);

            vm.prank(caller);
            vm.expectRevert(
                abi.encodeWithSelector(IAccessManager.AccessManagerUnauthorizedAccount.selector, caller, Roles.ADMIN)
            );
            manager.grantRole(Roles.ORACLE_OPERATOR, newOperator, 0);

            vm.prank(caller);
            vm.expectRevert(
                abi.encodeWithSelector(IAccessManager.AccessManagerUnauthorizedAccount.selector, caller, Roles.ADMIN)
            );
            manager.setTargetFunctionRole(address(grid), new bytes4[](1), Roles.GUARDIAN);
        }

        // The timelock (and only it) passes the same checks.
        vm.startPrank(address(timelock));
        grid.setFeeSchedule(zone, fees);
        manager.grantRole(Roles.ORACLE_OPERATOR, newOperator, 0);
        vm.stopPrank();
        assertEq(grid.gridFeeBps(zone, _atHour(18)), NEW_PEAK_FEE_BPS);
    }

    function test_timelock_rejectsEveryoneButGovernanceAndItself() public {
        bytes32 proposerRole = timelock.PROPOSER_ROLE();
        bytes32 adminRole = timelock.DEFAULT_ADMIN_ROLE();
        bytes memory data = abi.encodeCall(IGridManagement.setEmissionFactor, (zone, uint32(1)));

        vm.prank(alice);
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, alice, proposerRole)
        );
        timelock.schedule(address(grid), 0, data, 0, 0, TIMELOCK_DELAY);

        // The deployer gave up its temporary admin role: it cannot hand itself proposer rights.
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, address(this), adminRole)
        );
        timelock.grantRole(proposerRole, address(this));

        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(TimelockController.TimelockUnauthorizedCaller.selector, stranger));
        timelock.updateDelay(0);

        // The governor itself cannot skip the delay.
        vm.prank(address(governor));
        vm.expectRevert(
            abi.encodeWithSelector(TimelockController.TimelockInsufficientDelay.selector, 0, TIMELOCK_DELAY)
        );
        timelock.schedule(address(grid), 0, data, 0, 0, 0);
    }

    function test_governorSettings_onlyThroughExecutedProposal() public {
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(IGovernor.GovernorOnlyExecutor.selector, alice));
        governor.setVotingDelay(0);

        vm.expectRevert(abi.encodeWithSelector(IGovernor.GovernorOnlyExecutor.selector, address(this)));
        governor.updateQuorumNumerator(0);

        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(IGovernor.GovernorOnlyExecutor.selector, alice));
        governor.relay(address(grid), 0, "");

        // Even the timelock cannot call the governor outside the execution of a proposal naming that call.
        vm.prank(address(timelock));
        vm.expectRevert(stdError.popError);
        governor.setProposalThreshold(0);
        assertEq(governor.proposalThreshold(), PROPOSAL_THRESHOLD);
    }

    // ─────────────────────────────────────────────────────────────── fuzz

    /// Each voter's weight is exactly what was delegated to it at the snapshot, whatever moves afterwards.
    function testFuzz_castVote_weightIsDelegatedBalanceAtSnapshot(
        uint256 toFirst,
        uint256 toSecond,
        uint8 firstDelegation,
        uint256 movedAfterSnapshot
    ) public {
        address first = makeAddr("first");
        address second = makeAddr("second");
        toFirst = bound(toFirst, 0, ALICE_GXG / 2);
        toSecond = bound(toSecond, 0, ALICE_GXG / 2);
        firstDelegation = uint8(bound(firstDelegation, 0, 3)); // 0 none, 1 self, 2 second, 3 alice
        vm.startPrank(alice);
        gxg.transfer(first, toFirst);
        gxg.transfer(second, toSecond);
        vm.stopPrank();
        address[4] memory delegatees = [address(0), first, second, alice];
        vm.prank(first);
        gxg.delegate(delegatees[firstDelegation]);
        vm.prank(second);
        gxg.delegate(second);

        uint256 firstWeight = firstDelegation == 1 ? toFirst : 0;
        uint256 secondWeight = toSecond + (firstDelegation == 2 ? toFirst : 0);
        uint256 aliceWeight = ALICE_GXG - toFirst - toSecond + (firstDelegation == 3 ? toFirst : 0);

        uint256 proposalId = _propose(bob, _feeAndOperatorProposal());
        _toVoting(proposalId);
        // Noise after the snapshot: tokens and delegations move around.
        movedAfterSnapshot = bound(movedAfterSnapshot, 0, toSecond);
        vm.prank(second);
        gxg.transfer(first, movedAfterSnapshot);
        vm.prank(first);
        gxg.delegate(first);
        vm.prank(alice);
        gxg.delegate(second);

        uint256 snapshot = governor.proposalSnapshot(proposalId);
        assertEq(governor.getVotes(first, snapshot), firstWeight);
        assertEq(_vote(first, proposalId, FOR), firstWeight);
        assertEq(_vote(second, proposalId, AGAINST), secondWeight);
        assertEq(_vote(alice, proposalId, ABSTAIN), aliceWeight);
        (uint256 against, uint256 forVotes, uint256 abstain) = governor.proposalVotes(proposalId);
        assertEq(against, secondWeight);
        assertEq(forVotes, firstWeight);
        assertEq(abstain, aliceWeight);
        assertLe(against + forVotes + abstain, ALICE_GXG);
    }

    /// Quorum is ⌊supply × numerator / 100⌋ at the snapshot; a proposal passes iff For + Abstain reach it and
    /// For beats Against.
    function testFuzz_quorum_decidesOutcome(
        uint256 quorumPercent,
        uint256[3] memory balances,
        uint8[3] memory choices
    ) public {
        quorumPercent = bound(quorumPercent, 0, 100);
        address[] memory voters = new address[](3);
        uint256[] memory amounts = new uint256[](3);
        uint256 supply;
        for (uint256 i; i < 3; ++i) {
            voters[i] = address(uint160(0xB0_7E00 + i));
            amounts[i] = bound(balances[i], 1, 1e30);
            supply += amounts[i];
        }
        GovernanceToken token_ = new GovernanceToken(voters, amounts);
        for (uint256 i; i < 3; ++i) {
            vm.prank(voters[i]);
            token_.delegate(voters[i]);
        }
        EnergyGovernor governor_ = new EnergyGovernor(token_, timelock, 1 hours, 1 days, 0, quorumPercent);
        vm.warp(block.timestamp + 1);
        Proposal memory p = _smallProposal("fuzz");
        vm.prank(voters[0]);
        uint256 proposalId = governor_.propose(p.targets, p.values, p.calldatas, p.description);

        vm.warp(governor_.proposalSnapshot(proposalId) + 1);
        uint256[3] memory tally; // against, for, abstain
        for (uint256 i; i < 3; ++i) {
            uint8 support = uint8(bound(choices[i], 0, 3)); // 3: does not vote
            if (support == 3) continue;
            vm.prank(voters[i]);
            governor_.castVote(proposalId, support);
            tally[support] += amounts[i];
        }
        vm.warp(governor_.proposalDeadline(proposalId) + 1);

        uint256 quorum = Math.mulDiv(supply, quorumPercent, 100);
        assertEq(governor_.quorum(governor_.proposalSnapshot(proposalId)), quorum);
        bool passes = tally[1] + tally[2] >= quorum && tally[1] > tally[0];
        IGovernor.ProposalState expected =
            passes ? IGovernor.ProposalState.Succeeded : IGovernor.ProposalState.Defeated;
        assertEq(uint8(governor_.state(proposalId)), uint8(expected));
    }

    /// Proposing needs at least the threshold in votes delegated before the current second.
    function testFuzz_propose_thresholdBoundary(uint256 votes) public {
        votes = bound(votes, 1, 2 * PROPOSAL_THRESHOLD);
        vm.prank(alice);
        gxg.transfer(stranger, votes);
        vm.prank(stranger);
        gxg.delegate(stranger);
        vm.warp(block.timestamp + 1);
        Proposal memory p = _feeAndOperatorProposal();
        if (votes < PROPOSAL_THRESHOLD) {
            vm.expectRevert(
                abi.encodeWithSelector(
                    IGovernor.GovernorInsufficientProposerVotes.selector, stranger, votes, PROPOSAL_THRESHOLD
                )
            );
        }
        _propose(stranger, p);
    }
}

/// @dev Gas of the hot governance calls, reported (`log_named_uint`), not asserted. Each test measures one bare
/// call with gasleft() around it, after a setUp that ran in an earlier transaction, so storage is cold as on
/// chain. Plain runs report the call's execution gas (plus the CALL into the governor, ~2.6k while cold);
/// under `--gas-stats` Hardhat runs each top-level call as its own transaction and the same figure becomes
/// that transaction's gasUsed, so subtract 21,000 and the logged calldata gas to get execution gas.
contract GovernanceGasTest is GovernanceFixture {
    uint256 internal proposalId;
    bytes internal proposeCall;

    function setUp() public override {
        super.setUp();
        Proposal memory p;
        p.targets = new address[](2);
        p.values = new uint256[](2);
        p.calldatas = new bytes[](2);
        p.targets[0] = address(grid);
        p.calldatas[0] =
            abi.encodeCall(IGridManagement.setFeeSchedule, (zone, IGridManagement.FeeSchedule(300, 80, 17, 21)));
        p.targets[1] = address(manager);
        p.calldatas[1] =
            abi.encodeCall(IAccessManager.grantRole, (Roles.ORACLE_OPERATOR, makeAddr("newOracleOperator"), 0));
        p.description = "GIP-1: raise Riverside grid fees to 300/80 bps and add an oracle operator";
        proposeCall = abi.encodeCall(IGovernor.propose, (p.targets, p.values, p.calldatas, p.description));

        proposalId = _propose(alice, _single(address(grid), "", "already proposed"));
        _toVoting(proposalId);
    }

    function test_gas_castVote_firstVote() public {
        _measure(bob, abi.encodeCall(IGovernor.castVote, (proposalId, FOR)), "castVote, first For vote");
        assertTrue(governor.hasVoted(proposalId, bob));
    }

    function test_gas_castVote_laterVote() public {
        _vote(carol, proposalId, FOR); // leaves the For tally non-zero
        _measure(bob, abi.encodeCall(IGovernor.castVote, (proposalId, FOR)), "castVote, For tally already non-zero");
    }

    function test_gas_propose() public {
        _measure(alice, proposeCall, "propose, 2 actions");
    }

    function _measure(address caller, bytes memory data, string memory label) internal {
        vm.prank(caller);
        uint256 gasBefore = gasleft();
        (bool ok,) = address(governor).call(data);
        uint256 gasUsed = gasBefore - gasleft();
        assertTrue(ok);
        emit log_named_uint(string.concat("gas: ", label), gasUsed);
        emit log_named_uint(string.concat("     calldata gas of ", label), _calldataGas(data));
    }

    function _calldataGas(bytes memory data) internal pure returns (uint256 gas) {
        for (uint256 i; i < data.length; ++i) {
            gas += data[i] == 0 ? 4 : 16;
        }
    }
}
