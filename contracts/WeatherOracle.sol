// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IGridManagement} from "./interfaces/IGridManagement.sol";
import {IWeatherOracle} from "./interfaces/IWeatherOracle.sol";
import {IQuorumOracle} from "./interfaces/IQuorumOracle.sol";
import {QuorumOracle} from "./QuorumOracle.sol";

/// @title WeatherOracle
/// @notice Per-zone weather, k-of-n signed by oracle operators.
contract WeatherOracle is QuorumOracle, IWeatherOracle {
    // ─────────────────────────────────────────────────────────────── constants

    /// @inheritdoc IQuorumOracle
    bytes32 public constant REPORT_TYPEHASH = keccak256(
        "WeatherReport(uint32 zone,uint64 round,uint64 observedAt,uint32 irradiance_Wm2,int32 temperature_cC,"
        "uint16 cloudCoverBps,uint8 condition)"
    );
    uint8 private constant _FIELD_COUNT = 4;
    /// @dev Absolute zero, centi-degrees Celsius.
    int256 private constant _ABSOLUTE_ZERO_CC = -27_315;

    // ─────────────────────────────────────────────────────────────── constructor

    /// @param initialAuthority The GridX AccessManager.
    /// @param gridManagement_ The zone registry.
    /// @param quorum_ Distinct operator observations a report needs.
    /// @param heartbeatSeconds Maximum age of fresh data.
    /// @param fieldConfigs Bounds and deviation guards of the four fields, in `Field` order.
    constructor(
        address initialAuthority,
        IGridManagement gridManagement_,
        uint8 quorum_,
        uint32 heartbeatSeconds,
        FieldConfig[] memory fieldConfigs
    ) QuorumOracle("GridX WeatherOracle", initialAuthority, gridManagement_, quorum_, heartbeatSeconds, fieldConfigs) {}

    // ─────────────────────────────────────────────────────────────── views

    /// @inheritdoc IWeatherOracle
    function weather(uint32 zone) external view returns (Weather memory report) {
        (, report.observedAt,, report.fresh) = _status(zone);
        // No cast below can truncate: bounds never leave the hard limits of `_fieldLimits`.
        report.irradiance_Wm2 = uint32(uint256(_value(zone, uint8(Field.Irradiance_Wm2))));
        report.temperature_cC = int32(_value(zone, uint8(Field.Temperature_cC)));
        report.cloudCoverBps = uint16(uint256(_value(zone, uint8(Field.CloudCoverBps))));
        report.condition = WeatherCondition(uint8(uint256(_value(zone, uint8(Field.Condition)))));
    }

    // ─────────────────────────────────────────────────────────────── hooks

    function _fieldCount() internal pure override returns (uint8) {
        return _FIELD_COUNT;
    }

    function _reportTypehash() internal pure override returns (bytes32) {
        return REPORT_TYPEHASH;
    }

    function _fieldLimits(uint8 field) internal pure override returns (int256 min, int256 max) {
        if (field == uint8(Field.Irradiance_Wm2)) return (0, int256(uint256(type(uint32).max)));
        if (field == uint8(Field.Temperature_cC)) return (_ABSOLUTE_ZERO_CC, type(int32).max);
        if (field == uint8(Field.CloudCoverBps)) return (0, 10_000);
        return (0, int256(uint256(type(WeatherCondition).max))); // Condition
    }
}
