// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Base64} from "@openzeppelin/contracts/utils/Base64.sol";
import {LowLevelCall} from "@openzeppelin/contracts/utils/LowLevelCall.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {Strings} from "@openzeppelin/contracts/utils/Strings.sol";
import {ICreditsRecipient} from "./interfaces/IMeterHooks.sol";
import {IEnergyAssetNFT} from "./interfaces/IEnergyAssetNFT.sol";
import {IEnergyToken} from "./interfaces/IEnergyToken.sol";
import {ISmartMeter} from "./interfaces/ISmartMeter.sol";

/// @title EnergyAssetNFT
/// @notice ERC-721 production assets linked to SmartMeter meters, with fractional ownership of the credits
/// their meters earn (see IEnergyAssetNFT).
/// @dev Permissions: no admin. Minting is the meter owner's; fractionalizing, redeeming and approving
/// maintainers the holder's; share moves the share owner's (or its approved spender's); `onCreditsClaimed`
/// SmartMeter's alone.
/// Reentrancy: `claimAssetCredits` and `redeem`, which call SmartMeter and transfer credits, are
/// `nonReentrant`; both let SmartMeter call back into `onCreditsClaimed`, which is deliberately not guarded
/// (it only books credits SmartMeter just minted here) and both read the distribution only after that call.
/// Credits are transferred last. Nothing else calls out except the `getMeter` custody view.
/// Bounds: SmartMeter caps a meter's registers at 2^48 Wh and its credits never exceed its production
/// register, so an asset's lifetime credits, and with them `creditsPerShare`, the carry and every owed
/// balance, stay far below 2^64 (the arithmetic is checked regardless).
contract EnergyAssetNFT is IEnergyAssetNFT, ERC721, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;
    using Strings for uint256;

    // ─────────────────────────────────────────────────────────────── constants

    /// @inheritdoc IEnergyAssetNFT
    uint256 public constant MAX_NAME_LENGTH = 31;
    /// @inheritdoc IEnergyAssetNFT
    uint256 public constant MAX_DESCRIPTION_LENGTH = 256;

    // ─────────────────────────────────────────────────────────────── storage

    /// @dev A holder's stake in one asset (one slot): its stored shares (only while the asset is
    /// fractionalized; a whole asset's single share is implied by the NFT), the `creditsPerShare` it was last
    /// settled at, and credits settled to it but not yet claimed.
    struct Position {
        uint64 shares;
        uint64 paidCreditsPerShare;
        uint128 owedWh;
    }

    ISmartMeter private immutable _smartMeter;
    IERC20 private immutable _energyToken;

    /// @dev Starts at 1 (set by the constructor) so that no mint pays for a zero-to-non-zero write.
    uint256 private _nextAssetId;
    /// @dev Fixed fields in one slot, the name (≤ 31 bytes) in a second.
    mapping(uint256 assetId => Asset) private _assets;
    /// @dev One slot, written by every attribution.
    mapping(uint256 assetId => Distribution) private _distributions;
    mapping(uint256 assetId => mapping(address account => Position)) private _positions;
    mapping(uint256 assetId => mapping(address owner => mapping(address spender => uint64 amount))) private
        _shareAllowances;
    mapping(uint64 meterId => uint256 assetId) private _assetOfMeter;
    /// @dev The holder who fractionalized an asset: its controller while the NFT is in escrow.
    mapping(uint256 assetId => address holder) private _curators;
    mapping(uint256 assetId => mapping(address controller => mapping(address maintainer => bool approved))) private
        _maintainers;
    mapping(uint256 assetId => MaintenanceRecord[]) private _maintenanceRecords;

    // ─────────────────────────────────────────────────────────────── constructor

    /// @param smartMeter_ The meter registry whose credits assets receive.
    /// @param energyToken_ SmartMeter's EnergyToken (checked: its minter must be `smartMeter_`).
    constructor(ISmartMeter smartMeter_, IERC20 energyToken_) ERC721("GridX Energy Asset", "GXA") {
        require(
            address(smartMeter_) != address(0) && address(energyToken_) != address(0)
                && IEnergyToken(address(energyToken_)).smartMeter() == address(smartMeter_),
            EnergyAssetNFTInvalidWiring()
        );
        _smartMeter = smartMeter_;
        _energyToken = energyToken_;
        _nextAssetId = 1;
    }

    // ─────────────────────────────────────────────────────────────── meter owners

    /// @inheritdoc IEnergyAssetNFT
    function mintAsset(
        uint64 meterId,
        AssetKind kind,
        uint32 capacityW,
        uint64 commissionedAt,
        string calldata name
    ) external returns (uint256 assetId) {
        require(capacityW != 0, EnergyAssetNFTZeroCapacity());
        require(commissionedAt <= block.timestamp, EnergyAssetNFTCommissionedInFuture(commissionedAt, block.timestamp));
        _checkName(name);
        uint256 linked = _assetOfMeter[meterId];
        require(linked == 0, EnergyAssetNFTMeterAlreadyLinked(meterId, linked));
        ISmartMeter.Meter memory meter = _smartMeter.getMeter(meterId);
        require(meter.owner == msg.sender, EnergyAssetNFTNotMeterOwner(meterId, msg.sender));

        assetId = _nextAssetId;
        _nextAssetId = assetId + 1;
        _assetOfMeter[meterId] = assetId;
        _assets[assetId] = Asset({
            meterId: meterId,
            zone: meter.zone,
            capacityW: capacityW,
            commissionedAt: commissionedAt,
            kind: kind,
            retired: false,
            name: name
        });
        _mint(msg.sender, assetId);
        emit AssetMinted(assetId, meterId, msg.sender, kind, meter.zone, capacityW, commissionedAt, name);
    }

    // ─────────────────────────────────────────────────────────────── SmartMeter

    /// @inheritdoc ICreditsRecipient
    function onCreditsClaimed(uint64 meterId, uint64 amountWh) external {
        require(msg.sender == address(_smartMeter), EnergyAssetNFTCallerNotSmartMeter(msg.sender));
        uint256 assetId = _assetOfMeter[meterId];
        require(assetId != 0, EnergyAssetNFTUnlinkedMeter(meterId));
        Distribution memory d = _distributions[assetId];
        uint256 shares = d.totalShares == 0 ? 1 : d.totalShares;
        uint256 pool = uint256(amountWh) + d.carryWh;
        // One share never carries, so the pool is then below 2^64; with ≥ 2 shares the quotient is.
        d.creditsPerShare += uint64(pool / shares);
        d.carryWh = uint64(pool % shares);
        d.lifetimeCreditedWh += amountWh;
        _distributions[assetId] = d;
        emit CreditsAttributed(assetId, meterId, amountWh, d.creditsPerShare, d.carryWh);
    }

    // ─────────────────────────────────────────────────────────────── holders

    /// @inheritdoc IEnergyAssetNFT
    function fractionalize(uint256 assetId, uint64 totalShares_) external {
        require(totalShares_ >= 2, EnergyAssetNFTInvalidShareCount(totalShares_));
        Distribution storage d = _distributions[assetId];
        require(d.totalShares == 0, EnergyAssetNFTFractionalized(assetId));
        _requireHolder(assetId);
        uint64 meterId = _assets[assetId].meterId;
        address meterOwner = _smartMeter.getMeter(meterId).owner;
        require(meterOwner == address(this), EnergyAssetNFTMeterNotInCustody(meterId, meterOwner));

        // Settle the holder's single share, then hand it every share at the same `creditsPerShare`.
        Position memory p = _positions[assetId][msg.sender];
        _settle(p, 1, d.creditsPerShare);
        p.shares = totalShares_;
        _positions[assetId][msg.sender] = p;
        d.totalShares = totalShares_;
        _curators[assetId] = msg.sender;
        // Escrow after `totalShares` is set: `_update` leaves a fractionalized asset's books alone.
        _transfer(msg.sender, address(this), assetId);
        emit AssetFractionalized(assetId, msg.sender, totalShares_);
        emit SharesTransferred(assetId, address(0), msg.sender, totalShares_);
    }

    /// @inheritdoc IEnergyAssetNFT
    function defractionalize(uint256 assetId) external {
        Distribution memory d = _distributions[assetId];
        require(d.totalShares != 0, EnergyAssetNFTNotFractionalized(assetId));
        Position memory p = _positions[assetId][msg.sender];
        require(
            p.shares == d.totalShares,
            EnergyAssetNFTInsufficientShares(assetId, msg.sender, p.shares, d.totalShares)
        );

        // Release the escrow while the asset still counts as fractionalized (see `_update`).
        _transfer(address(this), msg.sender, assetId);
        uint64 shares = p.shares;
        uint64 carryWh = d.carryWh;
        _settle(p, shares, d.creditsPerShare);
        p.owedWh += carryWh; // the sole holder is owed the remainder too
        p.shares = 0; // from here the NFT is its single share
        _positions[assetId][msg.sender] = p;
        d.totalShares = 0;
        d.carryWh = 0;
        _distributions[assetId] = d;
        delete _curators[assetId];
        emit SharesTransferred(assetId, msg.sender, address(0), shares);
        emit AssetDefractionalized(assetId, msg.sender, carryWh);
    }

    /// @inheritdoc IEnergyAssetNFT
    function redeem(uint256 assetId) external nonReentrant returns (uint256 amountWh) {
        require(_distributions[assetId].totalShares == 0, EnergyAssetNFTFractionalized(assetId));
        _requireHolder(assetId);
        Asset storage asset = _assets[assetId];
        uint64 meterId = asset.meterId;
        if (_smartMeter.getMeter(meterId).owner == address(this)) {
            // SmartMeter mints the meter's last credits here and reports them (`onCreditsClaimed`) before it
            // hands the meter over, so they are attributed to this holder below.
            _smartMeter.transferMeterOwnership(meterId, msg.sender);
        }

        Position memory p = _positions[assetId][msg.sender];
        _settle(p, 1, _distributions[assetId].creditsPerShare);
        amountWh = p.owedWh;
        p.owedWh = 0;
        _positions[assetId][msg.sender] = p;
        asset.retired = true;
        delete _assetOfMeter[meterId];
        _burn(assetId);
        emit AssetRedeemed(assetId, meterId, msg.sender);
        if (amountWh != 0) {
            emit AssetCreditsClaimed(assetId, msg.sender, amountWh);
            _energyToken.safeTransfer(msg.sender, amountWh);
        }
    }

    /// @inheritdoc IEnergyAssetNFT
    function transferShares(uint256 assetId, address to, uint64 amount) external {
        _moveShares(assetId, msg.sender, to, amount);
    }

    /// @inheritdoc IEnergyAssetNFT
    function approveShares(uint256 assetId, address spender, uint64 amount) external {
        _shareAllowances[assetId][msg.sender][spender] = amount;
        emit SharesApproved(assetId, msg.sender, spender, amount);
    }

    /// @inheritdoc IEnergyAssetNFT
    function transferSharesFrom(uint256 assetId, address from, address to, uint64 amount) external {
        uint64 allowance = _shareAllowances[assetId][from][msg.sender];
        if (allowance != type(uint64).max) {
            require(
                allowance >= amount,
                EnergyAssetNFTInsufficientShareAllowance(assetId, from, msg.sender, allowance, amount)
            );
            unchecked {
                _shareAllowances[assetId][from][msg.sender] = allowance - amount;
            }
        }
        _moveShares(assetId, from, to, amount);
    }

    /// @inheritdoc IEnergyAssetNFT
    function claimAssetCredits(uint256 assetId) external nonReentrant returns (uint256 amountWh) {
        Asset storage asset = _existingAsset(assetId);
        if (!asset.retired) _pullCredits(asset.meterId);

        // Read after the pull: SmartMeter's callback has just updated the distribution.
        Distribution memory d = _distributions[assetId];
        Position memory p = _positions[assetId][msg.sender];
        _settle(p, _sharesOf(assetId, msg.sender, d.totalShares, p.shares), d.creditsPerShare);
        amountWh = p.owedWh;
        require(amountWh != 0, EnergyAssetNFTNothingToClaim(assetId, msg.sender));
        p.owedWh = 0;
        _positions[assetId][msg.sender] = p;
        emit AssetCreditsClaimed(assetId, msg.sender, amountWh);
        _energyToken.safeTransfer(msg.sender, amountWh);
    }

    // ─────────────────────────────────────────────────────────────── maintenance

    /// @inheritdoc IEnergyAssetNFT
    function setMaintainer(uint256 assetId, address maintainer, bool approved) external {
        address controller = _controllerOf(assetId);
        require(controller == msg.sender, EnergyAssetNFTNotController(assetId, msg.sender));
        require(maintainer != address(0), EnergyAssetNFTZeroMaintainer());
        _maintainers[assetId][controller][maintainer] = approved;
        emit MaintainerSet(assetId, controller, maintainer, approved);
    }

    /// @inheritdoc IEnergyAssetNFT
    function recordMaintenance(uint256 assetId, MaintenanceKind kind, string calldata description)
        external
        returns (uint256 index)
    {
        require(_isMaintainer(assetId, msg.sender), EnergyAssetNFTNotMaintainer(assetId, msg.sender));
        uint256 length = bytes(description).length;
        require(length != 0 && length <= MAX_DESCRIPTION_LENGTH, EnergyAssetNFTInvalidDescription(length));
        MaintenanceRecord[] storage records = _maintenanceRecords[assetId];
        index = records.length;
        records.push(
            MaintenanceRecord({
                timestamp: uint64(block.timestamp),
                maintainer: msg.sender,
                kind: kind,
                description: description
            })
        );
        emit MaintenanceRecorded(assetId, index, msg.sender, kind, description);
    }

    // ─────────────────────────────────────────────────────────────── views

    /// @inheritdoc IEnergyAssetNFT
    function smartMeter() external view returns (address) {
        return address(_smartMeter);
    }

    /// @inheritdoc IEnergyAssetNFT
    function energyToken() external view returns (address) {
        return address(_energyToken);
    }

    /// @inheritdoc IEnergyAssetNFT
    function assetCount() external view returns (uint256) {
        return _nextAssetId - 1;
    }

    /// @inheritdoc IEnergyAssetNFT
    function getAsset(uint256 assetId) external view returns (Asset memory) {
        return _existingAsset(assetId);
    }

    /// @inheritdoc IEnergyAssetNFT
    function getDistribution(uint256 assetId) external view returns (Distribution memory) {
        _existingAsset(assetId);
        return _distributions[assetId];
    }

    /// @inheritdoc IEnergyAssetNFT
    function assetOfMeter(uint64 meterId) external view returns (uint256) {
        return _assetOfMeter[meterId];
    }

    /// @inheritdoc IEnergyAssetNFT
    function totalShares(uint256 assetId) external view returns (uint64) {
        Distribution memory d = _distributions[assetId];
        if (d.totalShares != 0) return d.totalShares;
        return _ownerOf(assetId) == address(0) ? 0 : 1;
    }

    /// @inheritdoc IEnergyAssetNFT
    function sharesOf(uint256 assetId, address account) external view returns (uint64) {
        return _sharesOf(assetId, account, _distributions[assetId].totalShares, _positions[assetId][account].shares);
    }

    /// @inheritdoc IEnergyAssetNFT
    function shareAllowance(uint256 assetId, address owner, address spender) external view returns (uint64) {
        return _shareAllowances[assetId][owner][spender];
    }

    /// @inheritdoc IEnergyAssetNFT
    function claimableAssetCredits(uint256 assetId, address account) external view returns (uint256) {
        Distribution memory d = _distributions[assetId];
        Position memory p = _positions[assetId][account];
        _settle(p, _sharesOf(assetId, account, d.totalShares, p.shares), d.creditsPerShare);
        return p.owedWh;
    }

    /// @inheritdoc IEnergyAssetNFT
    function controllerOf(uint256 assetId) external view returns (address) {
        return _controllerOf(assetId);
    }

    /// @inheritdoc IEnergyAssetNFT
    function isMaintainer(uint256 assetId, address maintainer) external view returns (bool) {
        return _isMaintainer(assetId, maintainer);
    }

    /// @inheritdoc IEnergyAssetNFT
    function maintenanceCount(uint256 assetId) external view returns (uint256) {
        return _maintenanceRecords[assetId].length;
    }

    /// @inheritdoc IEnergyAssetNFT
    function maintenanceRecord(uint256 assetId, uint256 index) external view returns (MaintenanceRecord memory) {
        MaintenanceRecord[] storage records = _maintenanceRecords[assetId];
        uint256 count = records.length;
        require(index < count, EnergyAssetNFTRecordOutOfRange(assetId, index, count));
        return records[index];
    }

    /// @inheritdoc IEnergyAssetNFT
    function productionOn(uint256 assetId, uint32 day) external view returns (uint64) {
        return _smartMeter.getDailyProduction(_existingAsset(assetId).meterId, day);
    }

    /// @notice The asset's metadata as a `data:application/json;base64` URI, built on chain: name, kind,
    /// capacity, zone, meter, commissioning date, lifetime credits, maintenance count and shares.
    function tokenURI(uint256 assetId) public view override returns (string memory) {
        _requireOwned(assetId);
        Asset storage asset = _assets[assetId];
        Distribution memory d = _distributions[assetId];
        string[7] memory traits = [
            "Capacity (W)",
            "Zone",
            "Meter",
            "Commissioned",
            "Lifetime credits (Wh)",
            "Maintenance records",
            "Shares"
        ];
        uint256[7] memory values = [
            uint256(asset.capacityW),
            asset.zone,
            asset.meterId,
            asset.commissionedAt,
            d.lifetimeCreditedWh,
            _maintenanceRecords[assetId].length,
            _totalSharesOf(d)
        ];
        string memory json = string.concat(
            "{\"name\":\"",
            asset.name,
            "\",\"description\":\"GridX energy asset #",
            assetId.toString(),
            "\",\"attributes\":[{\"trait_type\":\"Kind\",\"value\":\"",
            _kindName(asset.kind),
            "\"}"
        );
        for (uint256 i; i < traits.length; ++i) {
            json = string.concat(
                json,
                ",{\"trait_type\":\"",
                traits[i],
                i == 3 ? "\",\"display_type\":\"date" : "",
                "\",\"value\":",
                values[i].toString(),
                "}"
            );
        }
        return string.concat("data:application/json;base64,", Base64.encode(bytes(string.concat(json, "]}"))));
    }

    // ─────────────────────────────────────────────────────────────── internal

    /// @dev Keeps a whole asset's books with its NFT: on a transfer between accounts, the credits attributed
    /// so far stay with the sender and the recipient's single share starts from the current `creditsPerShare`.
    /// Mint and burn need nothing (a new asset has nothing attributed; `redeem` settles before burning), and a
    /// fractionalized asset's NFT only moves in and out of escrow, whose books the caller keeps.
    function _update(address to, uint256 assetId, address auth) internal override returns (address from) {
        from = super._update(to, assetId, auth);
        if (from == address(0) || to == address(0)) return from;
        Distribution storage d = _distributions[assetId];
        if (d.totalShares != 0) return from;
        require(to != address(this), EnergyAssetNFTInvalidRecipient(to));
        uint64 creditsPerShare = d.creditsPerShare;
        Position memory sender = _positions[assetId][from];
        _settle(sender, 1, creditsPerShare);
        _positions[assetId][from] = sender;
        Position memory recipient = _positions[assetId][to];
        _settle(recipient, 0, creditsPerShare);
        _positions[assetId][to] = recipient;
    }

    /// @dev Moves fractional shares, settling both sides at the current `creditsPerShare` first.
    function _moveShares(uint256 assetId, address from, address to, uint64 amount) private {
        require(amount != 0, EnergyAssetNFTZeroAmount());
        require(to != address(0) && to != address(this), EnergyAssetNFTInvalidRecipient(to));
        uint64 creditsPerShare;
        {
            Distribution storage d = _distributions[assetId];
            require(d.totalShares != 0, EnergyAssetNFTNotFractionalized(assetId));
            creditsPerShare = d.creditsPerShare;
        }
        Position memory sender = _positions[assetId][from];
        require(sender.shares >= amount, EnergyAssetNFTInsufficientShares(assetId, from, sender.shares, amount));
        _settle(sender, sender.shares, creditsPerShare);
        unchecked {
            sender.shares -= amount;
        }
        _positions[assetId][from] = sender;
        // Loaded after the sender is stored, so a transfer to oneself is a no-op.
        Position memory recipient = _positions[assetId][to];
        _settle(recipient, recipient.shares, creditsPerShare);
        recipient.shares += amount; // Σ shares = totalShares, so this cannot overflow
        _positions[assetId][to] = recipient;
        emit SharesTransferred(assetId, from, to, amount);
    }

    /// @dev Asks SmartMeter to mint the meter's credits (here, if this contract has the meter, reported back
    /// through `onCreditsClaimed`). The emergency pause stops SmartMeter minting; credits already attributed
    /// must stay claimable, so that refusal, and only that one, is tolerated.
    function _pullCredits(uint64 meterId) private {
        uint64[] memory meterIds = new uint64[](1);
        meterIds[0] = meterId;
        // solhint-disable-next-line no-empty-blocks
        try _smartMeter.claimCredits(meterIds) {}
        catch (bytes memory reason) {
            if (bytes4(reason) != ISmartMeter.SmartMeterSystemPaused.selector) LowLevelCall.bubbleRevert(reason);
        }
    }

    /// @dev Books `shares × (creditsPerShare − paid)` into `p.owedWh`. Exact: every holder's entitlement is an
    /// integer number of credits per share, and Σ shares × Δ ≤ totalShares × Δ ≤ what was attributed.
    function _settle(Position memory p, uint64 shares, uint64 creditsPerShare) private pure {
        p.owedWh += uint128(shares) * (creditsPerShare - p.paidCreditsPerShare);
        p.paidCreditsPerShare = creditsPerShare;
    }

    /// @dev `account`'s shares: stored while fractionalized; otherwise the NFT holder's single share.
    function _sharesOf(uint256 assetId, address account, uint64 totalShares_, uint64 storedShares)
        private
        view
        returns (uint64)
    {
        if (totalShares_ != 0) return storedShares;
        return account != address(0) && _ownerOf(assetId) == account ? 1 : 0;
    }

    function _controllerOf(uint256 assetId) private view returns (address) {
        if (_distributions[assetId].totalShares != 0) return _curators[assetId];
        return _ownerOf(assetId);
    }

    function _isMaintainer(uint256 assetId, address account) private view returns (bool) {
        address controller = _controllerOf(assetId);
        return controller != address(0) && _maintainers[assetId][controller][account];
    }

    function _requireHolder(uint256 assetId) private view {
        require(_ownerOf(assetId) == msg.sender, EnergyAssetNFTNotAssetHolder(assetId, msg.sender));
    }

    function _existingAsset(uint256 assetId) private view returns (Asset storage asset) {
        asset = _assets[assetId];
        require(asset.meterId != 0, EnergyAssetNFTUnknownAsset(assetId));
    }

    /// @dev 1 to MAX_NAME_LENGTH bytes, none of them a control character, `"` or `\`: the name goes into the
    /// JSON metadata verbatim (cheaper here, once, than escaping it in every `tokenURI`).
    function _checkName(string calldata name) private pure {
        bytes calldata b = bytes(name);
        uint256 length = b.length;
        require(length != 0 && length <= MAX_NAME_LENGTH, EnergyAssetNFTInvalidName(name));
        for (uint256 i; i < length; ++i) {
            bytes1 c = b[i];
            require(c >= 0x20 && c != "\"" && c != "\\", EnergyAssetNFTInvalidName(name));
        }
    }

    function _totalSharesOf(Distribution memory d) private pure returns (uint64) {
        return d.totalShares == 0 ? 1 : d.totalShares;
    }

    function _kindName(AssetKind kind) private pure returns (string memory) {
        if (kind == AssetKind.SolarArray) return "Solar array";
        if (kind == AssetKind.WindTurbine) return "Wind turbine";
        return "Battery";
    }

}
