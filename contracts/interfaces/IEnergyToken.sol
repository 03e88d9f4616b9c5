// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title IEnergyToken
/// @notice kWh credits: an ERC-20 with permit and 3 decimals, so 1.000 token = 1 kWh and the base unit
/// is 1 Wh. Only SmartMeter mints, for metered surplus proven by a device-signed reading. Redeeming
/// burns credits against consumption the caller's own meter recorded and no credit has covered yet:
/// that burn is the delivery confirmation.
interface IEnergyToken {
    /// @notice Only the SmartMeter may mint.
    error EnergyTokenUnauthorizedMinter(address caller);
    /// @notice The SmartMeter address must not be zero.
    error EnergyTokenZeroSmartMeter();
    /// @notice A redemption must be positive.
    error EnergyTokenZeroAmount();

    /// @notice `account` burned `amountWh` credits against `meterId`'s uncovered consumption.
    event Redeemed(address indexed account, uint64 indexed meterId, uint64 amountWh);

    /// @notice Mints `amountWh` credits to `to` (SmartMeter only).
    function mint(address to, uint256 amountWh) external;
    /// @notice Burns `amountWh` of the caller's credits against its meter's uncovered consumption.
    /// Works even while the system is paused or the meter's zone is halted.
    function redeem(uint64 meterId, uint64 amountWh) external;
    /// @notice The SmartMeter, the only minter.
    function smartMeter() external view returns (address);
}
