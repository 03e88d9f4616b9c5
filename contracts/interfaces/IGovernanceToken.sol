// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title IGovernanceToken
/// @notice GridX governance token ("GridX Governance", GXG, 18 decimals): an ERC-20 with permit and
/// ERC-5805 vote delegation whose whole supply is minted once, at construction, to a fixed list of
/// recipients. There is no mint function, so the supply never grows.
/// @dev The clock (ERC-6372) is the block timestamp (`CLOCK_MODE` = "mode=timestamp"), not the block
/// number, so voting delays and periods mean the same on L1 and on L2s with other block times.
/// Voting power follows delegation: a holder votes only once it delegates, to itself or to someone else.
interface IGovernanceToken {
    // ─────────────────────────────────────────────────────────────── errors

    /// @notice The initial distribution must name at least one recipient.
    error GovernanceTokenNoRecipients();
    /// @notice Every recipient needs exactly one amount.
    error GovernanceTokenLengthMismatch(uint256 recipients, uint256 amounts);
    /// @notice A recipient of the initial distribution must not be the zero address.
    error GovernanceTokenZeroRecipient(uint256 index);
    /// @notice An amount of the initial distribution must be positive.
    error GovernanceTokenZeroAmount(uint256 index, address recipient);
}
