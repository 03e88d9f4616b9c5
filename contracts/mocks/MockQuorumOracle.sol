// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IGridManagement} from "../interfaces/IGridManagement.sol";
import {QuorumOracle} from "../QuorumOracle.sol";

/// @title MockQuorumOracle
/// @notice Test-only concrete QuorumOracle with one signed and one unsigned field, to exercise the base
/// contract over the whole int120 range a bound can take (negative medians, deviation from a negative
/// previous value).
/// @dev Operators sign `MockReport(uint32 zone,uint64 round,uint64 observedAt,int128 level,uint128 amount)`.
contract MockQuorumOracle is QuorumOracle {
    bytes32 public constant REPORT_TYPEHASH =
        keccak256("MockReport(uint32 zone,uint64 round,uint64 observedAt,int128 level,uint128 amount)");

    constructor(
        address initialAuthority,
        IGridManagement gridManagement_,
        uint8 quorum_,
        uint32 heartbeatSeconds,
        FieldConfig[] memory fieldConfigs
    )
        QuorumOracle(
            "GridX MockQuorumOracle", initialAuthority, gridManagement_, quorum_, heartbeatSeconds, fieldConfigs
        )
    {}

    function _fieldCount() internal pure override returns (uint8) {
        return 2;
    }

    function _reportTypehash() internal pure override returns (bytes32) {
        return REPORT_TYPEHASH;
    }

    function _fieldLimits(uint8 field) internal pure override returns (int256 min, int256 max) {
        if (field == 0) return (type(int120).min, type(int120).max);
        return (0, type(int120).max);
    }
}
