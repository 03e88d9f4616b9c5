// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title Roles
/// @notice The AccessManager role ids every GridX contract is wired with. One AccessManager holds every
/// role and which function each role may call; ids are fixed here so deployments, tests and off-chain
/// tooling agree on them.
/// @dev ADMIN is the AccessManager's built-in ADMIN_ROLE (0): in production its only member is the
/// governance TimelockController. A restricted function that was never assigned a role is ADMIN-only.
library Roles {
    /// @notice The AccessManager's built-in admin role (governance timelock in production).
    uint64 internal constant ADMIN = 0;
    /// @notice Grid operators: halt and resume the zones GridManagement assigns to them.
    uint64 internal constant GRID_OPERATOR = 1;
    /// @notice Oracle operators: post meter readings and sign oracle observations.
    uint64 internal constant ORACLE_OPERATOR = 2;
    /// @notice Meter registrars: register meters and manage their device keys and ratings.
    uint64 internal constant METER_REGISTRAR = 3;
    /// @notice Guardians: the global emergency pause, nothing else.
    uint64 internal constant GUARDIAN = 4;
}
