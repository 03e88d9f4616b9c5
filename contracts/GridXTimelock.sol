// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";

/// @title GridXTimelock
/// @notice The governance timelock: the only ADMIN of the GridX AccessManager. Every change it makes was
/// proposed and passed in the EnergyGovernor, queued here and executed no earlier than `getMinDelay()`
/// seconds later, so anyone affected can see it coming (`CallScheduled`) and react before it takes effect.
/// @dev Wired as: PROPOSER_ROLE and CANCELLER_ROLE held by the EnergyGovernor only; EXECUTOR_ROLE open
/// (held by address(0)), so anyone may execute a ready operation; DEFAULT_ADMIN_ROLE held by the timelock
/// itself only, so changing its own delay or roles also takes a proposal.
contract GridXTimelock is TimelockController {
    /// @param minDelay Initial minimum delay, in seconds, between queuing and executing an operation.
    /// @param proposers Accounts granted PROPOSER_ROLE and CANCELLER_ROLE (the EnergyGovernor).
    /// @param executors Accounts granted EXECUTOR_ROLE; `address(0)` opens execution to anyone.
    /// @param admin Optional extra DEFAULT_ADMIN_ROLE holder for the deployment only (to grant the governor
    /// its roles once its address is known); it must renounce before the system goes live. `address(0)`
    /// for none: the timelock always administers itself.
    constructor(uint256 minDelay, address[] memory proposers, address[] memory executors, address admin)
        TimelockController(minDelay, proposers, executors, admin)
    {}
}
