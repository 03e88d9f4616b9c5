// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title IMockStablecoin
/// @notice The payment token of local and test chains: a 6-decimal dollar stand-in anyone can draw from
/// a faucet. Never deployed where a real stablecoin exists.
interface IMockStablecoin {
    /// @notice A faucet draw above the per-call limit.
    error MockStablecoinFaucetLimitExceeded(uint256 amount, uint256 limit);
    /// @notice A faucet draw to the zero address or of nothing.
    error MockStablecoinInvalidFaucetRequest(address to, uint256 amount);

    /// @notice `amount` was drawn from the faucet by `caller` for `to`.
    event FaucetDrawn(address indexed caller, address indexed to, uint256 amount);

    /// @notice Mints `amount` (≤ FAUCET_LIMIT) to `to`.
    function faucet(address to, uint256 amount) external;
    /// @notice Largest single faucet draw, in base units.
    function FAUCET_LIMIT() external view returns (uint256);
}
