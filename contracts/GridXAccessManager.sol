// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AccessManager} from "@openzeppelin/contracts/access/manager/AccessManager.sol";

/// @title GridXAccessManager
/// @notice The single authority of GridX: holds every role (see `Roles`) and which function of which
/// contract each role may call. Its admin is the deployer until governance takes over, then the
/// TimelockController that the Governor drives. Every grant, revoke and permission change is an
/// AccessManager event (`RoleGranted`, `RoleRevoked`, `TargetFunctionRoleUpdated`, ...).
contract GridXAccessManager is AccessManager {
    /// @param initialAdmin The first member of ADMIN_ROLE.
    constructor(address initialAdmin) AccessManager(initialAdmin) {}
}
