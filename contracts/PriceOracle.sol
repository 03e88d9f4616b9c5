// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IGridManagement} from "./interfaces/IGridManagement.sol";
import {IPriceOracle} from "./interfaces/IPriceOracle.sol";
import {IQuorumOracle} from "./interfaces/IQuorumOracle.sol";
import {QuorumOracle} from "./QuorumOracle.sol";

/// @title PriceOracle
/// @notice Per-zone reference price, supply and demand, k-of-n signed by oracle operators.
contract PriceOracle is QuorumOracle, IPriceOracle {
    // ─────────────────────────────────────────────────────────────── constants

    /// @inheritdoc IQuorumOracle
    bytes32 public constant REPORT_TYPEHASH = keccak256(
        "PriceReport(uint32 zone,uint64 round,uint64 observedAt,uint128 pricePerKWh,uint64 supplyW,uint64 demandW)"
    );
    uint8 private constant _FIELD_COUNT = 3;

    // ─────────────────────────────────────────────────────────────── constructor

    /// @param initialAuthority The GridX AccessManager.
    /// @param gridManagement_ The zone registry.
    /// @param quorum_ Distinct operator observations a report needs.
    /// @param heartbeatSeconds Maximum age of fresh data.
    /// @param fieldConfigs Bounds and deviation guards of pricePerKWh, supplyW, demandW.
    constructor(
        address initialAuthority,
        IGridManagement gridManagement_,
        uint8 quorum_,
        uint32 heartbeatSeconds,
        FieldConfig[] memory fieldConfigs
    ) QuorumOracle("GridX PriceOracle", initialAuthority, gridManagement_, quorum_, heartbeatSeconds, fieldConfigs) {}

    // ─────────────────────────────────────────────────────────────── views

    /// @inheritdoc IPriceOracle
    function referencePrice(uint32 zone) external view returns (uint128 pricePerKWh, uint64 observedAt, bool fresh) {
        (, observedAt,, fresh) = _status(zone);
        // Cannot truncate: bounds never leave the hard limits [0, 2**119 - 1].
        pricePerKWh = uint128(uint256(_value(zone, uint8(Field.PricePerKWh))));
    }

    // ─────────────────────────────────────────────────────────────── hooks

    function _fieldCount() internal pure override returns (uint8) {
        return _FIELD_COUNT;
    }

    function _reportTypehash() internal pure override returns (bytes32) {
        return REPORT_TYPEHASH;
    }

    function _fieldLimits(uint8 field) internal pure override returns (int256 min, int256 max) {
        // 2**119 - 1 (6.6e35 base units per kWh) keeps the bound in the packed config slot; the value is
        // still a uint128 in the report type and the getter.
        if (field == uint8(Field.PricePerKWh)) return (0, type(int120).max);
        return (0, type(int64).max); // SupplyW, DemandW
    }
}
