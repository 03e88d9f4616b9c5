// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title ICertificateIssuer
/// @notice What SmartMeter calls when a consumer redeems credits against its metered consumption: issue
/// green certificates for the renewable share of the redeemed credits (GreenCertificate implements it).
interface ICertificateIssuer {
    /// @notice Issues `amountWh` certificate units (1 unit = 1 Wh) of zone `zone` for the current UTC month
    /// to `to`. Only SmartMeter may call it.
    /// @return id The certificate id, `zone << 32 | YYYYMM`.
    function issue(address to, uint32 zone, uint64 amountWh) external returns (uint256 id);
}

/// @title ICreditsRecipient
/// @notice What SmartMeter calls after it minted a meter's credits to an owner that is the wired asset
/// registry (EnergyAssetNFT implements it): the credits belong to the asset linked to `meterId`.
interface ICreditsRecipient {
    /// @notice `amountWh` EnergyToken credits of meter `meterId` were just minted to the caller's wired asset
    /// registry (this contract). Only SmartMeter may call it.
    function onCreditsClaimed(uint64 meterId, uint64 amountWh) external;
}
