// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ICreditsRecipient} from "./IMeterHooks.sol";

/// @title IEnergyAssetNFT
/// @notice ERC-721 production assets (solar arrays, wind turbines, batteries), each linked to one SmartMeter
/// meter, with fractional ownership of the credits that meter earns.
/// @dev Life of an asset:
/// 1. The meter's owner in SmartMeter mints the asset (`mintAsset`); a meter backs at most one live asset.
/// 2. The owner hands the meter to this contract (`SmartMeter.transferMeterOwnership(meterId, this)`, which
///    first pays the owner what the meter earned so far). From then on every credit SmartMeter mints for that
///    meter lands here and SmartMeter reports it (`onCreditsClaimed`): it belongs to the asset's holders.
///    Until then the NFT carries no credits (they go to the meter's owner, as for any meter).
/// 3. The holder may `fractionalize` the asset: the NFT is escrowed here and the holder gets `totalShares`
///    shares, transferable like an ERC-20 balance (`transferShares`, `approveShares`, `transferSharesFrom`).
///    Whoever gathers every share may `defractionalize` and gets the NFT back.
/// 4. The holder of a whole asset may `redeem` it: the meter goes back to the holder, the NFT is burned and
///    the meter may back a new asset.
///
/// Credits are distributed with exact integer arithmetic, no scaling: per asset, `creditsPerShare` grows by
/// floor((amount + carry) / totalShares) on every attribution and the remainder is the new `carry`, so
/// Σ attributed = Σ claimed + Σ claimable + carry at all times. A holder's claimable credits are
/// `owed + shares × (creditsPerShare − paidCreditsPerShare)`; every share movement settles both sides into
/// `owed` first. The carry is below `totalShares` Wh, rolls into the next attribution, and goes to the sole
/// holder on `defractionalize`. A whole (unfractionalized) asset counts as one share held by the NFT holder,
/// so it never carries. Credits belong to whoever holds the shares (or the NFT) when SmartMeter mints them:
/// a holder who wants what the meter has earned but not yet minted claims it before parting with shares.
///
/// Production history is SmartMeter's metered data (`productionOn(assetId, day)` reads its
/// `getDailyProduction`), not self-reported; the asset itself records only the credits SmartMeter attributed
/// to it (`lifetimeCreditedWh`, and a `CreditsAttributed` event each time). Nothing here runs per reading.
/// Maintainers are approved per asset by its controller (the NFT holder; for a fractionalized asset, the
/// holder who fractionalized it) and the approvals are keyed by that controller, so a new holder never
/// inherits maintainers it did not approve.
interface IEnergyAssetNFT is ICreditsRecipient {
    // ─────────────────────────────────────────────────────────────── types

    /// @notice What kind of production asset the NFT stands for.
    enum AssetKind {
        SolarArray,
        WindTurbine,
        Battery
    }

    /// @notice What a maintenance record reports.
    enum MaintenanceKind {
        Inspection,
        Cleaning,
        Repair,
        PartReplacement,
        Upgrade,
        Other
    }

    /// @notice An asset's registration. `zone` is copied from the meter at mint; `retired` once redeemed.
    /// @dev Stored as is: the fixed fields share one slot (208 bits), a name of at most 31 bytes a second.
    /// solhint sizes the enum as a full word and misreads this as more slots.
    // solhint-disable-next-line gas-struct-packing
    struct Asset {
        uint64 meterId;
        uint32 zone;
        uint32 capacityW;
        uint64 commissionedAt;
        AssetKind kind;
        bool retired;
        string name;
    }

    /// @notice An asset's credit distribution state (one slot). `totalShares` is 0 while the asset is whole
    /// (it then counts as one share held by the NFT holder). `creditsPerShare` and `carryWh` are in Wh;
    /// `lifetimeCreditedWh` is every credit SmartMeter attributed to the asset.
    struct Distribution {
        uint64 creditsPerShare;
        uint64 totalShares;
        uint64 carryWh;
        uint64 lifetimeCreditedWh;
    }

    /// @notice One maintenance record: when, by whom, what.
    struct MaintenanceRecord {
        uint64 timestamp;
        address maintainer;
        MaintenanceKind kind;
        string description;
    }

    // ─────────────────────────────────────────────────────────────── errors

    /// @notice The SmartMeter or the EnergyToken address is zero, or the token is not SmartMeter's.
    error EnergyAssetNFTInvalidWiring();
    /// @notice `assetId` was never minted.
    error EnergyAssetNFTUnknownAsset(uint256 assetId);
    /// @notice Only the meter's current owner in SmartMeter may mint an asset for it.
    error EnergyAssetNFTNotMeterOwner(uint64 meterId, address account);
    /// @notice The meter already backs a live asset.
    error EnergyAssetNFTMeterAlreadyLinked(uint64 meterId, uint256 assetId);
    /// @notice An asset's capacity must be positive.
    error EnergyAssetNFTZeroCapacity();
    /// @notice An asset cannot have been commissioned after the current block.
    error EnergyAssetNFTCommissionedInFuture(uint64 commissionedAt, uint256 blockTimestamp);
    /// @notice A name must be 1 to MAX_NAME_LENGTH bytes, without control characters, `"` or `\`.
    error EnergyAssetNFTInvalidName(string name);
    /// @notice Only SmartMeter may report credits.
    error EnergyAssetNFTCallerNotSmartMeter(address caller);
    /// @notice SmartMeter reported credits of a meter that backs no live asset.
    error EnergyAssetNFTUnlinkedMeter(uint64 meterId);
    /// @notice Only the holder of the whole asset may do this.
    error EnergyAssetNFTNotAssetHolder(uint256 assetId, address account);
    /// @notice The asset's meter must be owned by this contract in SmartMeter; `owner` owns it.
    error EnergyAssetNFTMeterNotInCustody(uint64 meterId, address owner);
    /// @notice The asset is fractionalized; this needs a whole asset.
    error EnergyAssetNFTFractionalized(uint256 assetId);
    /// @notice The asset is whole; this needs a fractionalized asset.
    error EnergyAssetNFTNotFractionalized(uint256 assetId);
    /// @notice An asset is split into at least 2 shares.
    error EnergyAssetNFTInvalidShareCount(uint64 totalShares);
    /// @notice A share amount must be positive.
    error EnergyAssetNFTZeroAmount();
    /// @notice Shares cannot go to the zero address or to this contract; an NFT cannot be sent to this contract.
    error EnergyAssetNFTInvalidRecipient(address to);
    /// @notice `account` holds fewer shares than the operation needs.
    error EnergyAssetNFTInsufficientShares(uint256 assetId, address account, uint64 shares, uint64 needed);
    /// @notice `spender` may move fewer of `owner`'s shares than requested.
    error EnergyAssetNFTInsufficientShareAllowance(
        uint256 assetId, address owner, address spender, uint64 allowance, uint64 needed
    );
    /// @notice `account` has no credits to claim from the asset.
    error EnergyAssetNFTNothingToClaim(uint256 assetId, address account);
    /// @notice Only the asset's controller may approve maintainers.
    error EnergyAssetNFTNotController(uint256 assetId, address account);
    /// @notice A maintainer must not be the zero address.
    error EnergyAssetNFTZeroMaintainer();
    /// @notice Only a maintainer the asset's controller approved may append records.
    error EnergyAssetNFTNotMaintainer(uint256 assetId, address account);
    /// @notice A description must be 1 to MAX_DESCRIPTION_LENGTH bytes.
    error EnergyAssetNFTInvalidDescription(uint256 length);
    /// @notice No maintenance record at `index`; the asset has `count`.
    error EnergyAssetNFTRecordOutOfRange(uint256 assetId, uint256 index, uint256 count);

    // ─────────────────────────────────────────────────────────────── events

    /// @notice An asset was minted to `holder`, linked to meter `meterId`.
    event AssetMinted(
        uint256 indexed assetId,
        uint64 indexed meterId,
        address indexed holder,
        AssetKind kind,
        uint32 zone,
        uint32 capacityW,
        uint64 commissionedAt,
        string name
    );
    /// @notice SmartMeter minted `amountWh` of the meter's credits here for the asset; the distribution
    /// state after it is `creditsPerShare` and `carryWh`.
    event CreditsAttributed(
        uint256 indexed assetId, uint64 indexed meterId, uint64 amountWh, uint64 creditsPerShare, uint64 carryWh
    );
    /// @notice `account` claimed `amountWh` of the asset's credits.
    event AssetCreditsClaimed(uint256 indexed assetId, address indexed account, uint256 amountWh);
    /// @notice `holder` escrowed the NFT and received `totalShares` shares.
    event AssetFractionalized(uint256 indexed assetId, address indexed holder, uint64 totalShares);
    /// @notice `holder` returned every share and got the NFT back, and the carry of `carryWh` with it.
    event AssetDefractionalized(uint256 indexed assetId, address indexed holder, uint64 carryWh);
    /// @notice `holder` took the meter back and the asset was burned.
    event AssetRedeemed(uint256 indexed assetId, uint64 indexed meterId, address indexed holder);
    /// @notice `amount` shares moved; `from` is zero when they were created, `to` when they were retired.
    event SharesTransferred(uint256 indexed assetId, address indexed from, address indexed to, uint64 amount);
    /// @notice `owner` allowed `spender` to move up to `amount` of its shares.
    event SharesApproved(uint256 indexed assetId, address indexed owner, address indexed spender, uint64 amount);
    /// @notice `controller` approved or revoked `maintainer` for the asset.
    event MaintainerSet(
        uint256 indexed assetId, address indexed controller, address indexed maintainer, bool approved
    );
    /// @notice `maintainer` appended maintenance record `index` to the asset.
    event MaintenanceRecorded(
        uint256 indexed assetId, uint256 index, address indexed maintainer, MaintenanceKind kind, string description
    );

    // ─────────────────────────────────────────────────────────────── meter owners

    /// @notice Mints an asset linked to `meterId` to the caller, who must own the meter in SmartMeter. The
    /// zone is the meter's. Credits start flowing to the asset once the meter is handed to this contract.
    /// @param capacityW Nameplate capacity, in W (positive).
    /// @param commissionedAt When the asset entered service, unix seconds, not after the current block.
    /// @param name 1 to MAX_NAME_LENGTH bytes, without control characters, `"` or `\` (it goes into the
    /// JSON metadata as is).
    /// @return assetId The new asset's id; ids start at 1.
    function mintAsset(
        uint64 meterId,
        AssetKind kind,
        uint32 capacityW,
        uint64 commissionedAt,
        string calldata name
    ) external returns (uint256 assetId);

    // ─────────────────────────────────────────────────────────────── holders

    /// @notice Splits the caller's whole asset into `totalShares` shares, all the caller's; the NFT is
    /// escrowed here until `defractionalize`. The asset's meter must be in this contract's custody.
    function fractionalize(uint256 assetId, uint64 totalShares) external;
    /// @notice Returns every share of the asset from the caller, who must hold them all, and gives the caller
    /// the NFT back with the distribution's carry.
    function defractionalize(uint256 assetId) external;
    /// @notice Burns the caller's whole asset and hands its meter back to the caller (if this contract has it;
    /// the meter's final credits are attributed to the asset on the way), then pays the caller's credits.
    /// Reverts while SmartMeter refuses to move credits (system paused).
    /// @return amountWh Credits paid to the caller.
    function redeem(uint256 assetId) external returns (uint256 amountWh);
    /// @notice Moves `amount` of the caller's shares to `to`.
    function transferShares(uint256 assetId, address to, uint64 amount) external;
    /// @notice Lets `spender` move up to `amount` of the caller's shares (type(uint64).max: unlimited).
    function approveShares(uint256 assetId, address spender, uint64 amount) external;
    /// @notice Moves `amount` of `from`'s shares to `to` within the caller's allowance.
    function transferSharesFrom(uint256 assetId, address from, address to, uint64 amount) external;
    /// @notice Pays the caller its credits of the asset, after first asking SmartMeter to mint what the meter
    /// has earned (skipped while the system is paused: credits already here stay claimable).
    /// @return amountWh Credits paid.
    function claimAssetCredits(uint256 assetId) external returns (uint256 amountWh);

    // ─────────────────────────────────────────────────────────────── maintenance

    /// @notice Approves or revokes `maintainer` for the asset; the caller must be its controller.
    function setMaintainer(uint256 assetId, address maintainer, bool approved) external;
    /// @notice Appends a maintenance record; the caller must be a maintainer the controller approved.
    /// @param description 1 to MAX_DESCRIPTION_LENGTH bytes (a summary, or a URI of the full report).
    /// @return index The record's index.
    function recordMaintenance(uint256 assetId, MaintenanceKind kind, string calldata description)
        external
        returns (uint256 index);

    // ─────────────────────────────────────────────────────────────── views

    /// @notice Longest asset name, in bytes: a name this short is stored in one slot.
    function MAX_NAME_LENGTH() external view returns (uint256);
    /// @notice Longest maintenance description, in bytes.
    function MAX_DESCRIPTION_LENGTH() external view returns (uint256);
    /// @notice The meter registry whose credits the assets receive.
    function smartMeter() external view returns (address);
    /// @notice The EnergyToken (credits, 1 base unit = 1 Wh) the assets pay out.
    function energyToken() external view returns (address);
    /// @notice Number of assets ever minted; ids are 1..assetCount.
    function assetCount() external view returns (uint256);
    /// @notice An asset's registration (also after it was redeemed).
    function getAsset(uint256 assetId) external view returns (Asset memory);
    /// @notice An asset's credit distribution state.
    function getDistribution(uint256 assetId) external view returns (Distribution memory);
    /// @notice The live asset `meterId` backs, or 0.
    function assetOfMeter(uint64 meterId) external view returns (uint256);
    /// @notice Shares of the asset: 1 for a whole asset (the NFT holder's), 0 once redeemed.
    function totalShares(uint256 assetId) external view returns (uint64);
    /// @notice `account`'s shares of the asset (a whole asset's holder has its 1 share).
    function sharesOf(uint256 assetId, address account) external view returns (uint64);
    /// @notice How many of `owner`'s shares `spender` may still move.
    function shareAllowance(uint256 assetId, address owner, address spender) external view returns (uint64);
    /// @notice Credits `account` could claim from the asset now, in Wh (not counting what the meter has
    /// earned and SmartMeter has not minted yet).
    function claimableAssetCredits(uint256 assetId, address account) external view returns (uint256);
    /// @notice Who approves the asset's maintainers: the NFT holder, or for a fractionalized asset the holder
    /// who fractionalized it; zero once redeemed.
    function controllerOf(uint256 assetId) external view returns (address);
    /// @notice Whether `maintainer` may append records to the asset now.
    function isMaintainer(uint256 assetId, address maintainer) external view returns (bool);
    /// @notice Number of maintenance records of the asset.
    function maintenanceCount(uint256 assetId) external view returns (uint256);
    /// @notice Maintenance record `index` of the asset.
    function maintenanceRecord(uint256 assetId, uint256 index) external view returns (MaintenanceRecord memory);
    /// @notice Wh the asset's meter produced in UTC day `day` (= timestamp / 86400), from SmartMeter's readings.
    function productionOn(uint256 assetId, uint32 day) external view returns (uint64);
}
