// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IGovernor, Governor} from "@openzeppelin/contracts/governance/Governor.sol";
import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";
import {GovernorCountingSimple} from "@openzeppelin/contracts/governance/extensions/GovernorCountingSimple.sol";
import {GovernorSettings} from "@openzeppelin/contracts/governance/extensions/GovernorSettings.sol";
import {GovernorTimelockControl} from "@openzeppelin/contracts/governance/extensions/GovernorTimelockControl.sol";
import {GovernorVotes} from "@openzeppelin/contracts/governance/extensions/GovernorVotes.sol";
import {GovernorVotesQuorumFraction} from
    "@openzeppelin/contracts/governance/extensions/GovernorVotesQuorumFraction.sol";
import {IVotes} from "@openzeppelin/contracts/governance/utils/IVotes.sol";

/// @title EnergyGovernor
/// @notice GridX on-chain governance: GXG holders propose, vote For/Against/Abstain and, through the
/// GridXTimelock, change every protocol parameter and role the AccessManager guards (zone fees, oracle
/// operators, compliance limits, ...) and the governor's own settings.
/// @dev OpenZeppelin Governor with settings changeable by governance, simple counting, votes read from the
/// token at the proposal snapshot, quorum as a fraction (in percent) of the total supply at the snapshot,
/// and execution through a TimelockController. The clock is the token's (block timestamps for
/// GovernanceToken), so the voting delay and period are in seconds. Quorum counts For and Abstain votes;
/// a proposal passes when it reaches quorum and has more For than Against votes.
/// Errors and events are OZ's (`IGovernor`, `GovernorSettings`, `GovernorVotesQuorumFraction`,
/// `GovernorTimelockControl`); this contract adds none.
contract EnergyGovernor is
    Governor,
    GovernorSettings,
    GovernorCountingSimple,
    GovernorVotes,
    GovernorVotesQuorumFraction,
    GovernorTimelockControl
{
    // ─────────────────────────────────────────────────────────────── constructor

    /// @param token_ The vote token (GovernanceToken); its clock is the governor's clock.
    /// @param timelock_ The GridXTimelock that executes passed proposals; the governor must hold its
    /// PROPOSER_ROLE and CANCELLER_ROLE.
    /// @param votingDelaySeconds Time between a proposal and the start of voting; votes count at that start
    /// (the snapshot), so tokens bought later cannot vote on it.
    /// @param votingPeriodSeconds How long voting stays open; must be positive.
    /// @param proposalThresholdVotes Votes (base units) a proposer needs, at the previous second, to propose.
    /// @param quorumPercent Quorum as a percentage (0–100) of the total supply at the snapshot.
    constructor(
        IVotes token_,
        TimelockController timelock_,
        uint48 votingDelaySeconds,
        uint32 votingPeriodSeconds,
        uint256 proposalThresholdVotes,
        uint256 quorumPercent
    )
        Governor("GridX EnergyGovernor")
        GovernorSettings(votingDelaySeconds, votingPeriodSeconds, proposalThresholdVotes)
        GovernorVotes(token_)
        GovernorVotesQuorumFraction(quorumPercent)
        GovernorTimelockControl(timelock_)
    {}

    // ─────────────────────────────────────────────────────────────── overrides required by Solidity

    /// @inheritdoc GovernorTimelockControl
    function state(uint256 proposalId)
        public
        view
        override(Governor, GovernorTimelockControl)
        returns (ProposalState)
    {
        return super.state(proposalId);
    }

    /// @inheritdoc IGovernor
    function proposalNeedsQueuing(uint256 proposalId)
        public
        view
        override(Governor, GovernorTimelockControl)
        returns (bool)
    {
        return super.proposalNeedsQueuing(proposalId);
    }

    /// @inheritdoc GovernorSettings
    function proposalThreshold() public view override(Governor, GovernorSettings) returns (uint256) {
        return super.proposalThreshold();
    }

    function _queueOperations(
        uint256 proposalId,
        address[] memory targets,
        uint256[] memory values,
        bytes[] memory calldatas,
        bytes32 descriptionHash
    ) internal override(Governor, GovernorTimelockControl) returns (uint48) {
        return super._queueOperations(proposalId, targets, values, calldatas, descriptionHash);
    }

    function _executeOperations(
        uint256 proposalId,
        address[] memory targets,
        uint256[] memory values,
        bytes[] memory calldatas,
        bytes32 descriptionHash
    ) internal override(Governor, GovernorTimelockControl) {
        super._executeOperations(proposalId, targets, values, calldatas, descriptionHash);
    }

    function _cancel(
        address[] memory targets,
        uint256[] memory values,
        bytes[] memory calldatas,
        bytes32 descriptionHash
    ) internal override(Governor, GovernorTimelockControl) returns (uint256) {
        return super._cancel(targets, values, calldatas, descriptionHash);
    }

    function _executor() internal view override(Governor, GovernorTimelockControl) returns (address) {
        return super._executor();
    }
}
