// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IQuorumOracle} from "./IQuorumOracle.sol";

/// @title IWeatherOracle
/// @notice Per-zone weather reported by a quorum of oracle operators (see `IQuorumOracle`): irradiance,
/// temperature, cloud cover and a condition.
/// @dev EIP-712 domain: name "GridX WeatherOracle", version "1". Operators sign
/// `WeatherReport(uint32 zone,uint64 round,uint64 observedAt,uint32 irradiance_Wm2,int32 temperature_cC,
/// uint16 cloudCoverBps,uint8 condition)` (one line, no spaces).
interface IWeatherOracle is IQuorumOracle {
    // ─────────────────────────────────────────────────────────────── types

    /// @notice Field indices of a weather report, in signing order.
    enum Field {
        /// @dev Global horizontal irradiance, W/m²; hard limits [0, 2**32 - 1].
        Irradiance_Wm2,
        /// @dev Air temperature, centi-degrees Celsius (signed); hard limits [-27315 (absolute zero), 2**31 - 1].
        Temperature_cC,
        /// @dev Cloud cover, bps of the sky (0–10000); hard limits [0, 10000].
        CloudCoverBps,
        /// @dev A `WeatherCondition`; hard limits [0, 6].
        Condition
    }

    /// @notice Dominant weather condition of a zone.
    enum WeatherCondition {
        Clear,
        PartlyCloudy,
        Overcast,
        Rain,
        Snow,
        Storm,
        Fog
    }

    /// @notice A zone's latest weather. All zero (`Clear`) and not fresh before the first report: check
    /// `fresh` before acting on it.
    struct Weather {
        WeatherCondition condition;
        uint32 irradiance_Wm2;
        int32 temperature_cC;
        uint16 cloudCoverBps;
        uint64 observedAt;
        bool fresh;
    }

    // ─────────────────────────────────────────────────────────────── views

    /// @notice The zone's latest weather. Never reverts.
    function weather(uint32 zone) external view returns (Weather memory);
}
