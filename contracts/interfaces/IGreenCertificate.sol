// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ICertificateIssuer} from "./IMeterHooks.sol";

/// @title IGreenCertificate
/// @notice Renewable energy certificates (RECs) as ERC-1155 tokens. One id per grid zone and UTC calendar month
/// (`id = zone << 32 | YYYYMM`), 1 unit = 1 Wh of renewable energy whose delivery a consumer confirmed by
/// redeeming EnergyToken credits against its own metered consumption (SmartMeter issues them). Certificates
/// transfer like any ERC-1155 token; a holder (or its ERC-1155 operator) retires them for a named beneficiary,
/// which burns them and keeps a permanent on-chain retirement record.
/// @dev Carbon offset: gCO2e = floor(amountWh × emissionFactor / 1000), with the emission factor in gCO2e/kWh.
/// Every unit of one id is worth the same offset, so each id (a zone's month, its "vintage") carries one
/// emission factor: the zone's factor in GridManagement when that id's first certificate was issued. A factor
/// changed by governance during a month applies from the next month's certificates.
/// The offset is floored per event (per issuance and per retirement), so an auditor summing the `gCO2e` of
/// either event gets the exact total of what was recorded, never more than the unrounded offset.
/// Supply per id: issued = outstanding (the sum of all balances) + retired.
interface IGreenCertificate is ICertificateIssuer {
    // ─────────────────────────────────────────────────────────────── types

    /// @notice A retirement as recorded: who retired what, when, for whom, and the offset it claims.
    struct Retirement {
        address retiree;
        uint64 retiredAt;
        uint256 id;
        uint256 amountWh;
        uint256 gCO2e;
        string beneficiary;
    }

    // ─────────────────────────────────────────────────────────────── errors

    /// @notice A zero address where an address is required.
    error GreenCertificateZeroAddress();
    /// @notice Only the SmartMeter issues certificates.
    error GreenCertificateCallerNotSmartMeter(address caller);
    /// @notice Issuing and retiring take a positive amount.
    error GreenCertificateZeroAmount();
    /// @notice `zone` was never created in GridManagement.
    error GreenCertificateUnknownZone(uint32 zone);
    /// @notice `id` is not of the form `zone << 32 | YYYYMM` (bits above 64 are set).
    error GreenCertificateInvalidId(uint256 id);
    /// @notice A retirement must name its beneficiary.
    error GreenCertificateEmptyBeneficiary();
    /// @notice The beneficiary is longer than MAX_BENEFICIARY_LENGTH bytes.
    error GreenCertificateBeneficiaryTooLong(uint256 length, uint256 maxLength);
    /// @notice `account` holds `balance` units of `id`, fewer than the `amount` it tried to retire.
    error GreenCertificateInsufficientBalance(address account, uint256 id, uint256 balance, uint256 amount);
    /// @notice No retirement has id `retirementId`.
    error GreenCertificateUnknownRetirement(uint256 retirementId);

    // ─────────────────────────────────────────────────────────────── events

    /// @notice `amountWh` certificates of `id` (`zone`, `month` = YYYYMM) were issued to `to`, offsetting
    /// `gCO2e` grams of CO2e at the id's emission factor. Accompanied by the ERC-1155 `TransferSingle` mint.
    event CertificatesIssued(
        address indexed to, uint256 indexed id, uint32 indexed zone, uint32 month, uint256 amountWh, uint256 gCO2e
    );
    /// @notice `retiree`'s `amountWh` certificates of `id` were retired (burned) for `beneficiary`, claiming
    /// `gCO2e` grams of CO2e; the record is `retirement(retirementId)`. Accompanied by the ERC-1155
    /// `TransferSingle` burn.
    event CertificatesRetired(
        uint256 indexed retirementId,
        address indexed retiree,
        uint256 indexed id,
        uint256 amountWh,
        uint256 gCO2e,
        string beneficiary
    );

    // ─────────────────────────────────────────────────────────────── holders

    /// @notice Retires `amountWh` of the caller's certificates of `id` for `beneficiary` (free text such as a
    /// company name, 1 to MAX_BENEFICIARY_LENGTH bytes of UTF-8). The certificates are burned for good.
    /// @return retirementId The id of the permanent record, see `retirement`.
    function retire(uint256 id, uint256 amountWh, string calldata beneficiary)
        external
        returns (uint256 retirementId);

    /// @notice `retire` on behalf of `from`: the caller must be `from` or one of its ERC-1155 operators
    /// (`setApprovalForAll`), as for `safeTransferFrom`. The record names `from` as the retiree.
    /// @return retirementId The id of the permanent record, see `retirement`.
    function retireFrom(address from, uint256 id, uint256 amountWh, string calldata beneficiary)
        external
        returns (uint256 retirementId);

    // ─────────────────────────────────────────────────────────────── views

    /// @notice Name shown by wallets and marketplaces.
    function name() external view returns (string memory);
    /// @notice Symbol shown by wallets and marketplaces.
    function symbol() external view returns (string memory);
    /// @notice Longest beneficiary a retirement may name, in bytes.
    function MAX_BENEFICIARY_LENGTH() external view returns (uint256);
    /// @notice The SmartMeter, the only issuer.
    function smartMeter() external view returns (address);
    /// @notice GridManagement, where zones and their emission factors live.
    function gridManagement() external view returns (address);

    /// @notice ERC-1155 metadata of `id`, fully on-chain: a `data:application/json;base64,` URI of a JSON
    /// object with name, description, `decimals` 3 (so wallets show kWh) and properties zone, month, unit
    /// ("Wh", the base unit) and emission factor (gCO2e/kWh; 0 until the id's first issuance).
    function uri(uint256 id) external view returns (string memory);

    /// @notice Certificates of `id` issued so far, in Wh.
    function totalIssued(uint256 id) external view returns (uint256);
    /// @notice Certificates of `id` retired so far, in Wh.
    function totalRetired(uint256 id) external view returns (uint256);
    /// @notice Outstanding certificates of `id` (issued − retired, the sum of all balances), in Wh.
    function totalSupply(uint256 id) external view returns (uint256);
    /// @notice The emission factor every unit of `id` carries, in gCO2e/kWh (0 for an id never issued).
    function emissionFactorOf(uint256 id) external view returns (uint32);

    /// @notice Number of retirements; valid retirement ids are 1..retirementCount.
    function retirementCount() external view returns (uint256);
    /// @notice The record of a retirement. Reverts for an unknown id.
    function retirement(uint256 retirementId) external view returns (Retirement memory);
    /// @notice Everything `account` retired (as the holder whose certificates were burned), over all ids:
    /// energy in Wh and the offset claimed, in gCO2e (the sum of its retirements' `gCO2e`).
    function retiredBy(address account) external view returns (uint256 amountWh, uint256 gCO2e);

    /// @notice The id of zone `zone`'s certificates for UTC month `month` (YYYYMM): `zone << 32 | month`.
    function certificateId(uint32 zone, uint32 month) external pure returns (uint256);
    /// @notice The zone and month (YYYYMM) of certificate id `id`. Reverts if `id` has bits above 64 set.
    function idParts(uint256 id) external pure returns (uint32 zone, uint32 month);
}
