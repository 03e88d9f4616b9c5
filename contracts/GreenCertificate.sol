// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC1155} from "@openzeppelin/contracts/token/ERC1155/ERC1155.sol";
import {Base64} from "@openzeppelin/contracts/utils/Base64.sol";
import {Strings} from "@openzeppelin/contracts/utils/Strings.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ICertificateIssuer} from "./interfaces/IMeterHooks.sol";
import {IGreenCertificate} from "./interfaces/IGreenCertificate.sol";
import {IGridManagement} from "./interfaces/IGridManagement.sol";
import {UtcMonth} from "./libraries/UtcMonth.sol";

/// @title GreenCertificate
/// @notice ERC-1155 renewable energy certificates, one id per zone and UTC month, issued by SmartMeter when a
/// consumer redeems credits, transferable, and retired for a named beneficiary (see IGreenCertificate).
/// @dev No admin and no upgrade path: SmartMeter and GridManagement are fixed at construction. Permissions:
/// `issue` only the SmartMeter; `retire` the holder; `retireFrom` the holder or its ERC-1155 operator.
/// Gas: `issue` is on the hot path of EnergyToken.redeem. It reads and writes one slot of the id (issued,
/// retired and emission factor packed together, instead of ERC1155Supply's two supply slots) besides the
/// holder's balance, and calls GridManagement only on an id's first issuance (once per zone and month).
/// Reentrancy: apart from GridManagement views, `issue`'s only external call is the ERC-1155 acceptance check
/// on a contract holder, made after every state change and event; `retire` makes no external call.
/// `issue` mints with that check (as the standard requires), so a contract that redeems credits must implement
/// IERC1155Receiver or its redemption reverts.
contract GreenCertificate is IGreenCertificate, ERC1155 {
    using SafeCast for uint256;

    // ─────────────────────────────────────────────────────────────── constants

    /// @inheritdoc IGreenCertificate
    uint256 public constant MAX_BENEFICIARY_LENGTH = 128;
    uint256 private constant WH_PER_KWH = 1_000;

    // ─────────────────────────────────────────────────────────────── storage

    /// @dev Supply books of one id, in one slot. Each issuance adds less than 2^64 Wh, so 2^112 Wh issued
    /// would take 2^48 issuances (more gas than any chain will ever run), and retired ≤ issued.
    struct IdSupply {
        uint112 issuedWh;
        uint112 retiredWh;
        uint32 emissionFactor_gCO2ePerKWh;
    }

    /// @dev A retirement as stored: slot 0 retiree and time, slot 1 id and amount (an id that was ever held
    /// fits 64 bits, an amount ≤ issued fits 112), then the beneficiary. The offset follows from the amount and
    /// the id's fixed emission factor, so it is derived, not stored.
    struct RetirementRecord {
        address retiree;
        uint64 retiredAt;
        uint64 id;
        uint112 amountWh;
        string beneficiary;
    }

    /// @dev What one account retired over all ids, in one slot.
    struct RetiredTotals {
        uint128 amountWh;
        uint128 gCO2e;
    }

    address private immutable _smartMeter;
    IGridManagement private immutable _gridManagement;

    uint256 private _retirementCount;
    mapping(uint256 id => IdSupply) private _supplies;
    mapping(uint256 retirementId => RetirementRecord) private _retirements;
    mapping(address account => RetiredTotals) private _retiredBy;

    // ─────────────────────────────────────────────────────────────── constructor

    /// @param gridManagement_ Zones and their emission factors.
    /// @param smartMeter_ The SmartMeter, the only issuer; fixed for the contract's life.
    constructor(IGridManagement gridManagement_, address smartMeter_) ERC1155("") {
        require(address(gridManagement_) != address(0) && smartMeter_ != address(0), GreenCertificateZeroAddress());
        _gridManagement = gridManagement_;
        _smartMeter = smartMeter_;
    }

    // ─────────────────────────────────────────────────────────────── SmartMeter

    /// @inheritdoc ICertificateIssuer
    function issue(address to, uint32 zone, uint64 amountWh) external returns (uint256 id) {
        require(msg.sender == _smartMeter, GreenCertificateCallerNotSmartMeter(msg.sender));
        require(amountWh != 0, GreenCertificateZeroAmount());
        uint32 month = UtcMonth.monthOf(block.timestamp);
        id = certificateId(zone, month);

        IdSupply storage supply = _supplies[id];
        uint112 issuedWh = supply.issuedWh;
        uint32 emissionFactor;
        if (issuedWh == 0) {
            // The id's first issuance fixes its emission factor (and proves the zone exists).
            emissionFactor = _currentEmissionFactor(zone);
            supply.emissionFactor_gCO2ePerKWh = emissionFactor;
        } else {
            emissionFactor = supply.emissionFactor_gCO2ePerKWh;
        }
        supply.issuedWh = issuedWh + amountWh;

        emit CertificatesIssued(to, id, zone, month, amountWh, _offset(amountWh, emissionFactor));
        // Not a safe mint: issuance happens inside a redemption, which must work for every redeemer (a
        // contract wallet without IERC1155Receiver included) and must hand control to nobody mid-redemption.
        // Certificates are credited like an ERC-20 mint; every later transfer is a safe transfer.
        require(to != address(0), ERC1155InvalidReceiver(address(0)));
        uint256[] memory ids = new uint256[](1);
        uint256[] memory values = new uint256[](1);
        ids[0] = id;
        values[0] = amountWh;
        _update(address(0), to, ids, values);
    }

    // ─────────────────────────────────────────────────────────────── holders

    /// @inheritdoc IGreenCertificate
    function retire(uint256 id, uint256 amountWh, string calldata beneficiary)
        external
        returns (uint256 retirementId)
    {
        return _retire(_msgSender(), id, amountWh, beneficiary);
    }

    /// @inheritdoc IGreenCertificate
    function retireFrom(address from, uint256 id, uint256 amountWh, string calldata beneficiary)
        external
        returns (uint256 retirementId)
    {
        _checkAuthorized(_msgSender(), from);
        return _retire(from, id, amountWh, beneficiary);
    }

    // ─────────────────────────────────────────────────────────────── views

    /// @inheritdoc IGreenCertificate
    function name() external pure returns (string memory) {
        return "GridX Green Certificate";
    }

    /// @inheritdoc IGreenCertificate
    function symbol() external pure returns (string memory) {
        return "GXREC";
    }

    /// @inheritdoc IGreenCertificate
    function smartMeter() external view returns (address) {
        return _smartMeter;
    }

    /// @inheritdoc IGreenCertificate
    function gridManagement() external view returns (address) {
        return address(_gridManagement);
    }

    /// @inheritdoc IGreenCertificate
    function uri(uint256 id) public view override(ERC1155, IGreenCertificate) returns (string memory) {
        (uint32 zone, uint32 month) = idParts(id);
        string memory zoneText = Strings.toString(zone);
        uint256 monthOfYear = month % 100;
        string memory period = string.concat(
            Strings.toString(month / 100), monthOfYear < 10 ? "-0" : "-", Strings.toString(monthOfYear)
        );
        string memory properties = string.concat(
            "\"properties\":{\"zone\":",
            zoneText,
            ",\"month\":",
            Strings.toString(month),
            ",\"unit\":\"Wh\",\"emissionFactor_gCO2ePerKWh\":",
            Strings.toString(_supplies[id].emissionFactor_gCO2ePerKWh),
            "}}"
        );
        string memory json = string.concat(
            "{\"name\":\"GridX Green Certificate zone ",
            zoneText,
            " ",
            period,
            "\",\"description\":\"Renewable energy certificate: 1 unit = 1 Wh of renewable energy delivered in GridX",
            " grid zone ",
            zoneText,
            " in ",
            period,
            " (UTC)\",\"decimals\":3,",
            properties
        );
        return string.concat("data:application/json;base64,", Base64.encode(bytes(json)));
    }

    /// @inheritdoc IGreenCertificate
    function totalIssued(uint256 id) external view returns (uint256) {
        return _supplies[id].issuedWh;
    }

    /// @inheritdoc IGreenCertificate
    function totalRetired(uint256 id) external view returns (uint256) {
        return _supplies[id].retiredWh;
    }

    /// @inheritdoc IGreenCertificate
    function totalSupply(uint256 id) external view returns (uint256) {
        IdSupply storage supply = _supplies[id];
        return supply.issuedWh - supply.retiredWh;
    }

    /// @inheritdoc IGreenCertificate
    function emissionFactorOf(uint256 id) external view returns (uint32) {
        return _supplies[id].emissionFactor_gCO2ePerKWh;
    }

    /// @inheritdoc IGreenCertificate
    function retirementCount() external view returns (uint256) {
        return _retirementCount;
    }

    /// @inheritdoc IGreenCertificate
    function retirement(uint256 retirementId) external view returns (Retirement memory) {
        RetirementRecord storage record = _retirements[retirementId];
        // Every record has a retiree: the zero address never holds certificates, so it never retires any.
        require(record.retiree != address(0), GreenCertificateUnknownRetirement(retirementId));
        uint256 id = record.id;
        uint256 amountWh = record.amountWh;
        return Retirement({
            retiree: record.retiree,
            retiredAt: record.retiredAt,
            id: id,
            amountWh: amountWh,
            gCO2e: _offset(amountWh, _supplies[id].emissionFactor_gCO2ePerKWh),
            beneficiary: record.beneficiary
        });
    }

    /// @inheritdoc IGreenCertificate
    function retiredBy(address account) external view returns (uint256 amountWh, uint256 gCO2e) {
        RetiredTotals storage totals = _retiredBy[account];
        return (totals.amountWh, totals.gCO2e);
    }

    /// @inheritdoc IGreenCertificate
    function certificateId(uint32 zone, uint32 month) public pure returns (uint256) {
        return uint256(zone) << 32 | month;
    }

    /// @inheritdoc IGreenCertificate
    function idParts(uint256 id) public pure returns (uint32 zone, uint32 month) {
        require(id >> 64 == 0, GreenCertificateInvalidId(id));
        return (uint32(id >> 32), uint32(id));
    }

    // ─────────────────────────────────────────────────────────────── internal

    function _retire(address from, uint256 id, uint256 amountWh, string calldata beneficiary)
        private
        returns (uint256 retirementId)
    {
        require(amountWh != 0, GreenCertificateZeroAmount());
        uint256 length = bytes(beneficiary).length;
        require(length != 0, GreenCertificateEmptyBeneficiary());
        require(length <= MAX_BENEFICIARY_LENGTH, GreenCertificateBeneficiaryTooLong(length, MAX_BENEFICIARY_LENGTH));
        uint256 held = balanceOf(from, id);
        require(held >= amountWh, GreenCertificateInsufficientBalance(from, id, held, amountWh));

        // From here amountWh ≤ held ≤ issuedWh < 2^112 and an id with a balance was issued, so it fits 64 bits.
        IdSupply storage supply = _supplies[id];
        supply.retiredWh += uint112(amountWh);
        uint256 gCO2e = _offset(amountWh, supply.emissionFactor_gCO2ePerKWh);

        retirementId = ++_retirementCount;
        RetirementRecord storage record = _retirements[retirementId];
        record.retiree = from;
        record.retiredAt = uint64(block.timestamp);
        record.id = uint64(id);
        record.amountWh = uint112(amountWh);
        record.beneficiary = beneficiary;

        RetiredTotals storage totals = _retiredBy[from];
        totals.amountWh += uint128(amountWh);
        totals.gCO2e += gCO2e.toUint128();

        _burn(from, id, amountWh);
        emit CertificatesRetired(retirementId, from, id, amountWh, gCO2e, beneficiary);
    }

    /// @dev The zone's emission factor now; reverts for a zone GridManagement never created.
    function _currentEmissionFactor(uint32 zone) private view returns (uint32) {
        require(_gridManagement.zoneExists(zone), GreenCertificateUnknownZone(zone));
        return _gridManagement.getZone(zone).emissionFactor_gCO2ePerKWh;
    }

    /// @dev gCO2e offset by `amountWh` at `emissionFactor` gCO2e/kWh, floored.
    function _offset(uint256 amountWh, uint32 emissionFactor) private pure returns (uint256) {
        return amountWh * emissionFactor / WH_PER_KWH;
    }
}
