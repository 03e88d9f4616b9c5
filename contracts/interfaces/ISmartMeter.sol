// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title ISmartMeter
/// @notice The meter registry and the only way energy enters GridX. Oracle operators post batches of
/// EIP-712 readings, each signed by the meter's own device key, carrying cumulative production and
/// consumption registers. A good reading credits its surplus to the meter (minted as EnergyToken to the
/// meter's owner by `claimCredits`, which anyone may call) and adds its deficit to the meter's uncovered
/// consumption; a bad one is skipped with `ReadingRejected` and never blocks the rest of the batch.
/// @dev Cumulative registers mean a lost or rejected reading loses no energy: the next accepted reading
/// carries the difference. The first accepted reading of a meter is its baseline: it records the
/// registers and credits nothing (energy metered before registration is not GridX's to credit).
/// Credits accrue on the meter and are minted in bulk because a per-reading ERC-20 mint to a different
/// owner each time costs more than the reading itself; the owner (or the dApp, or a keeper) claims them.
interface ISmartMeter {
    // ─────────────────────────────────────────────────────────────── types

    /// @notice What a meter measures.
    enum MeterKind {
        SolarProsumer,
        Consumer,
        Hybrid,
        Battery
    }

    /// @notice Why a reading was skipped.
    enum RejectionReason {
        UnknownMeter,
        MeterInactive,
        InvalidSignature,
        SequenceNotIncreasing,
        SequenceTooLarge,
        TimestampNotAfterLast,
        TimestampInFuture,
        ProductionRegisterDecreased,
        ConsumptionRegisterDecreased,
        ProductionExceedsCapacity,
        ConsumptionExceedsCapacity,
        RegisterOutOfRange
    }

    /// @notice A device-signed meter reading (the EIP-712 `Reading` struct). Registers are cumulative
    /// since the device was commissioned. `seq` starts at 1 and strictly increases.
    struct Reading {
        uint64 meterId;
        uint64 seq;
        uint64 timestamp;
        uint64 productionWh;
        uint64 consumptionWh;
        uint32 voltage_mV;
        uint32 frequency_mHz;
    }

    /// @notice A meter's registration and accounting state.
    struct Meter {
        address owner;
        uint32 zone;
        MeterKind kind;
        bool active;
        address deviceSigner;
        uint32 ratedCapacityW;
        uint64 claimableWh;
        uint64 uncoveredWh;
    }

    /// @notice The state a meter's latest accepted reading left: sequence number, time and registers.
    /// Voltage and frequency are in that reading's `ReadingAccepted` event, not in storage.
    struct LatestReading {
        uint64 seq;
        uint64 timestamp;
        uint64 productionWh;
        uint64 consumptionWh;
    }

    // ─────────────────────────────────────────────────────────────── errors

    /// @notice `meterId` was never registered.
    error SmartMeterUnknownMeter(uint64 meterId);
    /// @notice An owner, device signer or token address must not be zero.
    error SmartMeterZeroAddress();
    /// @notice Meters can only be registered in an existing, active zone.
    error SmartMeterZoneUnavailable(uint32 zone);
    /// @notice A meter's rated capacity must be positive.
    error SmartMeterZeroCapacity();
    /// @notice A serial must be 1 to MAX_SERIAL_LENGTH bytes.
    error SmartMeterInvalidSerial(string serial);
    /// @notice A physical meter (by serial) can be registered once.
    error SmartMeterSerialTaken(string serial, uint64 meterId);
    /// @notice Only the meter's owner may do this.
    error SmartMeterNotMeterOwner(uint64 meterId, address account);
    /// @notice `readings` and `signatures` differ in length.
    error SmartMeterLengthMismatch(uint256 readings, uint256 signatures);
    /// @notice A batch must hold 1 to MAX_BATCH_SIZE readings.
    error SmartMeterInvalidBatchSize(uint256 size, uint256 maxSize);
    /// @notice The global emergency pause is on: readings mint nothing until it is lifted.
    error SmartMeterSystemPaused();
    /// @notice The EnergyToken has not been wired yet.
    error SmartMeterEnergyTokenNotSet();
    /// @notice The EnergyToken can be wired once.
    error SmartMeterEnergyTokenAlreadySet(address energyToken);
    /// @notice Only the EnergyToken may record redemptions.
    error SmartMeterCallerNotEnergyToken(address caller);
    /// @notice A redemption above the meter's uncovered consumption.
    error SmartMeterInsufficientUncovered(uint64 meterId, uint64 uncoveredWh, uint64 requestedWh);
    /// @notice A claim names 1 to MAX_BATCH_SIZE meters.
    error SmartMeterInvalidClaimSize(uint256 size, uint256 maxSize);
    /// @notice The allowed clock skew must be at most MAX_FUTURE_SKEW_LIMIT seconds.
    error SmartMeterInvalidFutureSkew(uint32 maxFutureSkewSeconds);
    /// @notice The GreenCertificate can be wired once.
    error SmartMeterGreenCertificateAlreadySet(address greenCertificate);
    /// @notice The asset registry (EnergyAssetNFT) can be wired once.
    error SmartMeterAssetRegistryAlreadySet(address assetRegistry);

    // ─────────────────────────────────────────────────────────────── events

    /// @notice A meter was registered. `serial` is the physical meter's serial number.
    event MeterRegistered(
        uint64 indexed meterId,
        address indexed owner,
        uint32 indexed zone,
        MeterKind kind,
        address deviceSigner,
        uint32 ratedCapacityW,
        string serial
    );
    /// @notice A meter was (de)activated; inactive meters' readings are rejected.
    event MeterActiveSet(uint64 indexed meterId, bool active);
    /// @notice A meter's device key was replaced.
    event DeviceSignerUpdated(uint64 indexed meterId, address indexed deviceSigner);
    /// @notice A meter's rated capacity changed.
    event RatedCapacityUpdated(uint64 indexed meterId, uint32 ratedCapacityW);
    /// @notice A meter changed hands.
    event MeterOwnershipTransferred(uint64 indexed meterId, address indexed from, address indexed to);
    /// @notice The allowed clock skew for reading timestamps changed.
    event MaxFutureSkewUpdated(uint32 maxFutureSkewSeconds);
    /// @notice The EnergyToken was wired.
    event EnergyTokenSet(address indexed energyToken);
    /// @notice The GreenCertificate was wired: redemptions issue certificates from now on.
    event GreenCertificateSet(address indexed greenCertificate);
    /// @notice The asset registry was wired: credits minted to it are reported to it per meter.
    event AssetRegistrySet(address indexed assetRegistry);
    /// @notice A reading was accepted. Registers are cumulative; `surplusWh` was credited to the meter
    /// (claimable by its owner) and `deficitWh` added to the meter's uncovered consumption.
    event ReadingAccepted(
        uint64 indexed meterId,
        uint64 seq,
        uint64 timestamp,
        uint64 productionWh,
        uint64 consumptionWh,
        uint32 voltage_mV,
        uint32 frequency_mHz,
        uint64 surplusWh,
        uint64 deficitWh
    );
    /// @notice A reading was skipped; the rest of its batch went on.
    event ReadingRejected(uint64 indexed meterId, uint64 seq, RejectionReason reason);
    /// @notice A meter's accrued credits were minted to its owner.
    event CreditsClaimed(uint64 indexed meterId, address indexed owner, uint64 amountWh);
    /// @notice `amountWh` of a meter's uncovered consumption was covered by redeeming credits.
    event ConsumptionCovered(uint64 indexed meterId, address indexed account, uint64 amountWh, uint64 uncoveredWh);

    // ─────────────────────────────────────────────────────────────── registrar (METER_REGISTRAR)

    /// @notice Registers a meter; ids start at 1.
    function registerMeter(
        address owner,
        uint32 zone,
        MeterKind kind,
        address deviceSigner,
        uint32 ratedCapacityW,
        string calldata serial
    ) external returns (uint64 meterId);
    /// @notice (De)activates a meter.
    function setMeterActive(uint64 meterId, bool active) external;
    /// @notice Replaces a meter's device key.
    function setDeviceSigner(uint64 meterId, address deviceSigner) external;
    /// @notice Sets a meter's rated capacity, in W.
    function setRatedCapacity(uint64 meterId, uint32 ratedCapacityW) external;

    // ─────────────────────────────────────────────────────────────── owners

    /// @notice Hands a meter to `newOwner` (the caller must own it). Credits the meter earned so far are
    /// minted to the caller first; uncovered consumption stays with the meter.
    function transferMeterOwnership(uint64 meterId, address newOwner) external;

    // ─────────────────────────────────────────────────────────────── anyone

    /// @notice Mints every listed meter's accrued credits to that meter's owner. Anyone may call it (the
    /// owner, the dApp, a keeper); the credits always go to the owner. Not while the system is paused.
    /// @return totalWh Credits minted in all.
    function claimCredits(uint64[] calldata meterIds) external returns (uint256 totalWh);

    // ─────────────────────────────────────────────────────────────── oracle operators (ORACLE_OPERATOR)

    /// @notice Posts a batch of device-signed readings; `signatures[i]` is the 65-byte device
    /// signature of `readings[i]`. Bad readings are skipped with `ReadingRejected`.
    /// @return accepted How many readings were accepted.
    function submitReadings(Reading[] calldata readings, bytes[] calldata signatures)
        external
        returns (uint256 accepted);

    // ─────────────────────────────────────────────────────────────── governance (ADMIN)

    /// @notice Sets how far in the future (by block time) a reading's timestamp may be.
    function setMaxFutureSkew(uint32 maxFutureSkewSeconds) external;
    /// @notice Wires the EnergyToken, once.
    function setEnergyToken(address energyToken) external;
    /// @notice Wires the GreenCertificate, once. Redemptions before it is wired issue no certificates.
    function setGreenCertificate(address greenCertificate) external;
    /// @notice Wires the asset registry (EnergyAssetNFT), once. When a meter's owner is the registry, every
    /// mint of that meter's credits is followed by `ICreditsRecipient.onCreditsClaimed(meterId, amountWh)`, so
    /// the registry knows which asset the credits belong to.
    function setAssetRegistry(address assetRegistry) external;

    // ─────────────────────────────────────────────────────────────── EnergyToken

    /// @notice Records that `account` redeemed `amountWh` credits against `meterId`'s uncovered
    /// consumption. Only the EnergyToken calls this, after burning the credits. When the GreenCertificate
    /// is wired, it issues `account` certificates of the meter's zone for the renewable share of the
    /// redeemed credits: `amountWh × renewableWh / mintedWh` of `creditMix()`, rounded down (credits are
    /// fungible, so a redeemed credit carries the renewable share of all credits ever minted).
    function coverConsumption(uint64 meterId, address account, uint64 amountWh) external;

    // ─────────────────────────────────────────────────────────────── views

    /// @notice The EIP-712 type hash of `Reading`.
    function READING_TYPEHASH() external view returns (bytes32);
    /// @notice The EIP-712 digest a device signs for `reading`.
    function readingDigest(Reading calldata reading) external view returns (bytes32);
    /// @notice Number of meters registered; valid ids are 1..meterCount.
    function meterCount() external view returns (uint64);
    /// @notice A meter's registration and accounting state.
    function getMeter(uint64 meterId) external view returns (Meter memory);
    /// @notice The meter id registered for `serial`, or 0.
    function meterIdBySerial(string calldata serial) external view returns (uint64);
    /// @notice The latest accepted reading of a meter (all zero before the first).
    function getLatestReading(uint64 meterId) external view returns (LatestReading memory);
    /// @notice Credits a meter has earned and not yet claimed, in Wh.
    function claimableCredits(uint64 meterId) external view returns (uint64);
    /// @notice Wh produced by a meter in UTC day `day` (= timestamp / 86400), by the readings stamped that day.
    function getDailyProduction(uint64 meterId, uint32 day) external view returns (uint64);
    /// @notice Wh consumed by a meter in UTC day `day`, by the readings stamped that day.
    function getDailyConsumption(uint64 meterId, uint32 day) external view returns (uint64);
    /// @notice A meter's consumption that no redeemed credit has covered yet, in Wh.
    function uncoveredConsumption(uint64 meterId) external view returns (uint64);
    /// @notice How far in the future a reading's timestamp may be, in seconds.
    function maxFutureSkew() external view returns (uint32);
    /// @notice The EnergyToken minted by this registry.
    function energyToken() external view returns (address);
    /// @notice The wired GreenCertificate, or zero.
    function greenCertificate() external view returns (address);
    /// @notice The wired asset registry, or zero.
    function assetRegistry() external view returns (address);
    /// @notice Credits minted since deployment, all and renewable, in Wh. Renewable are the credits of
    /// SolarProsumer and Hybrid meters (metered on-site generation); Battery credits are stored energy of
    /// unknown origin and count as not renewable.
    function creditMix() external view returns (uint128 mintedWh, uint128 renewableWh);
    /// @notice Whether credits of a meter of `kind` count as renewable (see `creditMix`).
    function isRenewableKind(MeterKind kind) external pure returns (bool);
}
