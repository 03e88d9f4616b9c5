// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title FeeCeilings
/// @notice The protocol fee ceiling, shared by EnergyTrading (which governs the rate) and Settlement (which
/// refuses a settlement at a higher rate), so the two can never disagree.
library FeeCeilings {
    /// @notice Upper bound of the protocol fee, in bps of a trade's notional (5 %).
    uint16 internal constant MAX_PROTOCOL_FEE_BPS = 500;
}
