// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IQuorumOracle} from "./IQuorumOracle.sol";

/// @title IGridOracle
/// @notice Per-zone grid stability state reported by a quorum of oracle operators (see `IQuorumOracle`):
/// supply, demand, status, health, frequency, voltage and headroom. The imbalance is not reported but
/// derived on read as `demandW - supplyW`, so it can never disagree with the two values it comes from.
/// @dev EIP-712 domain: name "GridX GridOracle", version "1". Operators sign
/// `GridReport(uint32 zone,uint64 round,uint64 observedAt,uint64 supplyW,uint64 demandW,uint8 status,
/// uint16 healthBps,uint32 frequency_mHz,uint32 voltage_mV,uint64 headroomW)` (one line, no spaces).
interface IGridOracle is IQuorumOracle {
    // ─────────────────────────────────────────────────────────────── types

    /// @notice Field indices of a grid report, in signing order.
    enum Field {
        /// @dev Zone supply, W; hard limits [0, 2**63 - 1].
        SupplyW,
        /// @dev Zone demand, W; hard limits [0, 2**63 - 1].
        DemandW,
        /// @dev A `GridStatus`; hard limits [0, 2].
        Status,
        /// @dev Health score, bps of 100% (0–10000); hard limits [0, 10000].
        HealthBps,
        /// @dev Grid frequency, mHz; hard limits [0, 2**32 - 1].
        Frequency_mHz,
        /// @dev Grid voltage, mV; hard limits [0, 2**32 - 1].
        Voltage_mV,
        /// @dev Capacity left before the zone's limit, W; hard limits [0, 2**63 - 1].
        HeadroomW
    }

    /// @notice Balance classification of a zone.
    enum GridStatus {
        Balanced,
        Oversupply,
        Shortage
    }

    /// @notice A zone's latest grid state. All zero (`Balanced`) and not fresh before the first report:
    /// check `fresh` before acting on it.
    struct GridState {
        uint64 supplyW;
        uint64 demandW;
        /// @dev demandW - supplyW: positive when the zone lacks power.
        int64 imbalanceW;
        GridStatus status;
        uint16 healthBps;
        uint32 frequency_mHz;
        uint32 voltage_mV;
        uint64 headroomW;
        uint64 observedAt;
        bool fresh;
    }

    // ─────────────────────────────────────────────────────────────── views

    /// @notice The zone's latest grid state with its derived imbalance. Never reverts.
    function gridState(uint32 zone) external view returns (GridState memory);
}
