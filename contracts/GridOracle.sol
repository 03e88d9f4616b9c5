// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IGridManagement} from "./interfaces/IGridManagement.sol";
import {IGridOracle} from "./interfaces/IGridOracle.sol";
import {IQuorumOracle} from "./interfaces/IQuorumOracle.sol";
import {QuorumOracle} from "./QuorumOracle.sol";

/// @title GridOracle
/// @notice Per-zone grid stability state, k-of-n signed by oracle operators; the imbalance is derived on read.
contract GridOracle is QuorumOracle, IGridOracle {
    // ─────────────────────────────────────────────────────────────── constants

    /// @inheritdoc IQuorumOracle
    bytes32 public constant REPORT_TYPEHASH = keccak256(
        "GridReport(uint32 zone,uint64 round,uint64 observedAt,uint64 supplyW,uint64 demandW,uint8 status,"
        "uint16 healthBps,uint32 frequency_mHz,uint32 voltage_mV,uint64 headroomW)"
    );
    uint8 private constant _FIELD_COUNT = 7;

    // ─────────────────────────────────────────────────────────────── constructor

    /// @param initialAuthority The GridX AccessManager.
    /// @param gridManagement_ The zone registry.
    /// @param quorum_ Distinct operator observations a report needs.
    /// @param heartbeatSeconds Maximum age of fresh data.
    /// @param fieldConfigs Bounds and deviation guards of the seven fields, in `Field` order.
    constructor(
        address initialAuthority,
        IGridManagement gridManagement_,
        uint8 quorum_,
        uint32 heartbeatSeconds,
        FieldConfig[] memory fieldConfigs
    ) QuorumOracle("GridX GridOracle", initialAuthority, gridManagement_, quorum_, heartbeatSeconds, fieldConfigs) {}

    // ─────────────────────────────────────────────────────────────── views

    /// @inheritdoc IGridOracle
    function gridState(uint32 zone) external view returns (GridState memory state) {
        (, state.observedAt,, state.fresh) = _status(zone);
        // No cast below can truncate: bounds never leave the hard limits of `_fieldLimits`.
        int64 supplyW = int64(_value(zone, uint8(Field.SupplyW)));
        int64 demandW = int64(_value(zone, uint8(Field.DemandW)));
        state.supplyW = uint64(supplyW);
        state.demandW = uint64(demandW);
        state.imbalanceW = demandW - supplyW; // both in [0, 2**63 - 1]: cannot overflow
        state.status = GridStatus(uint8(uint256(_value(zone, uint8(Field.Status)))));
        state.healthBps = uint16(uint256(_value(zone, uint8(Field.HealthBps))));
        state.frequency_mHz = uint32(uint256(_value(zone, uint8(Field.Frequency_mHz))));
        state.voltage_mV = uint32(uint256(_value(zone, uint8(Field.Voltage_mV))));
        state.headroomW = uint64(uint256(_value(zone, uint8(Field.HeadroomW))));
    }

    // ─────────────────────────────────────────────────────────────── hooks

    function _fieldCount() internal pure override returns (uint8) {
        return _FIELD_COUNT;
    }

    function _reportTypehash() internal pure override returns (bytes32) {
        return REPORT_TYPEHASH;
    }

    function _fieldLimits(uint8 field) internal pure override returns (int256 min, int256 max) {
        if (field == uint8(Field.Status)) return (0, int256(uint256(type(GridStatus).max)));
        if (field == uint8(Field.HealthBps)) return (0, 10_000);
        if (field == uint8(Field.Frequency_mHz) || field == uint8(Field.Voltage_mV)) {
            return (0, int256(uint256(type(uint32).max)));
        }
        return (0, type(int64).max); // SupplyW, DemandW, HeadroomW
    }
}
