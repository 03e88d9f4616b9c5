// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AccessManaged} from "@openzeppelin/contracts/access/manager/AccessManaged.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {IEnergyToken} from "./interfaces/IEnergyToken.sol";
import {IGridManagement} from "./interfaces/IGridManagement.sol";
import {ICertificateIssuer, ICreditsRecipient} from "./interfaces/IMeterHooks.sol";
import {ISmartMeter} from "./interfaces/ISmartMeter.sol";
import {MeterCursor, MeterCursorLib} from "./libraries/MeterCursor.sol";

/// @title SmartMeter
/// @notice Meter registry and verified-reading ingestion; the only minter of EnergyToken.
/// @dev Permissions: registry functions are METER_REGISTRAR, `submitReadings` is ORACLE_OPERATOR,
/// `setMaxFutureSkew`, `setEnergyToken`, `setGreenCertificate` and `setAssetRegistry` are ADMIN (all through the AccessManager); `claimCredits` is
/// open because credits only ever go to the meter's owner.
/// Gas: a reading reads one slot of its meter (identity) and reads and writes one other (cursor), each
/// loaded once and stored once; the day slot only on the first reading of a UTC day. Credits accrue in
/// the cursor and are minted per claim rather than per reading.
contract SmartMeter is ISmartMeter, AccessManaged, EIP712 {
    // ─────────────────────────────────────────────────────────────── constants

    /// @inheritdoc ISmartMeter
    bytes32 public constant READING_TYPEHASH = keccak256(
        "Reading(uint64 meterId,uint64 seq,uint64 timestamp,uint64 productionWh,uint64 consumptionWh,uint32 voltage_mV,uint32 frequency_mHz)"
    );
    /// @notice Most readings one batch (or meters one claim) may carry: bounds the loops.
    uint256 public constant MAX_BATCH_SIZE = 200;
    /// @notice Longest serial number, in bytes.
    uint256 public constant MAX_SERIAL_LENGTH = 64;
    /// @notice Upper bound governance may set for the allowed clock skew, in seconds.
    uint32 public constant MAX_FUTURE_SKEW_LIMIT = 1 hours;
    /// @notice Largest register value a reading may carry: 2^48 − 1 Wh (281 TWh), far beyond any meter's
    /// lifetime, so a meter's credits and uncovered consumption, bounded by its registers, fit 48 bits too.
    uint64 public constant MAX_REGISTER_WH = type(uint48).max;

    // ─────────────────────────────────────────────────────────────── storage

    /// @dev Read by every reading, written only by the registrar: one slot (240 bits). solhint sizes the enum
    /// as a full word and misreads this as three slots.
    // solhint-disable-next-line gas-struct-packing
    struct Identity {
        address deviceSigner;
        uint32 ratedCapacityW;
        uint32 zone;
        MeterKind kind;
        bool active;
    }

    /// @dev Touched on the first reading of each UTC day: the day of the latest reading and the registers
    /// as they stood before that day's first reading (one slot).
    struct DayStart {
        uint32 day;
        uint64 productionWh;
        uint64 consumptionWh;
    }

    /// @dev Totals of a UTC day that a later day's first reading has closed.
    struct DailyTotals {
        uint64 productionWh;
        uint64 consumptionWh;
    }

    /// @dev Credits minted since deployment (one slot, written once per claimed meter).
    struct CreditMix {
        uint128 mintedWh;
        uint128 renewableWh;
    }

    IGridManagement private immutable _gridManagement;
    /// @dev One slot, read once per batch.
    IEnergyToken private _energyToken;
    uint32 private _maxFutureSkew;

    uint64 private _meterCount;
    mapping(uint64 meterId => Identity) private _identities;
    /// @dev Read and written once by every reading (see MeterCursor). `seq` fits by the SequenceTooLarge
    /// check, `timestamp` by the future-skew check until 2106, the registers by RegisterOutOfRange, and the
    /// claimable credits and uncovered consumption because they never exceed the registers they come from.
    mapping(uint64 meterId => MeterCursor) private _cursors;
    mapping(uint64 meterId => address owner) private _owners;
    mapping(uint64 meterId => DayStart) private _dayStarts;
    mapping(uint64 meterId => mapping(uint32 day => DailyTotals)) private _closedDays;
    mapping(bytes32 serialHash => uint64 meterId) private _meterIdBySerial;
    ICertificateIssuer private _greenCertificate;
    /// @dev Read by every claim: credits minted to it are reported to it.
    address private _assetRegistry;
    CreditMix private _creditMix;

    // ─────────────────────────────────────────────────────────────── constructor

    /// @param authority The AccessManager.
    /// @param gridManagement Zones and the global pause.
    /// @param maxFutureSkewSeconds How far ahead of block time a reading may be stamped.
    constructor(address authority, IGridManagement gridManagement, uint32 maxFutureSkewSeconds)
        AccessManaged(authority)
        EIP712("GridX SmartMeter", "1")
    {
        require(address(gridManagement) != address(0), SmartMeterZeroAddress());
        _gridManagement = gridManagement;
        _setMaxFutureSkew(maxFutureSkewSeconds);
    }

    // ─────────────────────────────────────────────────────────────── registrar

    /// @inheritdoc ISmartMeter
    function registerMeter(
        address owner,
        uint32 zone,
        MeterKind kind,
        address deviceSigner,
        uint32 ratedCapacityW,
        string calldata serial
    ) external restricted returns (uint64 meterId) {
        require(owner != address(0) && deviceSigner != address(0), SmartMeterZeroAddress());
        require(ratedCapacityW != 0, SmartMeterZeroCapacity());
        uint256 serialLength = bytes(serial).length;
        require(serialLength != 0 && serialLength <= MAX_SERIAL_LENGTH, SmartMeterInvalidSerial(serial));
        bytes32 serialHash = keccak256(bytes(serial));
        uint64 existing = _meterIdBySerial[serialHash];
        require(existing == 0, SmartMeterSerialTaken(serial, existing));
        require(
            _gridManagement.zoneExists(zone) && _gridManagement.getZone(zone).active, SmartMeterZoneUnavailable(zone)
        );

        meterId = ++_meterCount;
        _meterIdBySerial[serialHash] = meterId;
        _identities[meterId] = Identity({
            deviceSigner: deviceSigner,
            ratedCapacityW: ratedCapacityW,
            zone: zone,
            kind: kind,
            active: true
        });
        _owners[meterId] = owner;
        emit MeterRegistered(meterId, owner, zone, kind, deviceSigner, ratedCapacityW, serial);
    }

    /// @inheritdoc ISmartMeter
    function setMeterActive(uint64 meterId, bool active) external restricted {
        _existingIdentity(meterId).active = active;
        emit MeterActiveSet(meterId, active);
    }

    /// @inheritdoc ISmartMeter
    function setDeviceSigner(uint64 meterId, address deviceSigner) external restricted {
        require(deviceSigner != address(0), SmartMeterZeroAddress());
        _existingIdentity(meterId).deviceSigner = deviceSigner;
        emit DeviceSignerUpdated(meterId, deviceSigner);
    }

    /// @inheritdoc ISmartMeter
    function setRatedCapacity(uint64 meterId, uint32 ratedCapacityW) external restricted {
        require(ratedCapacityW != 0, SmartMeterZeroCapacity());
        _existingIdentity(meterId).ratedCapacityW = ratedCapacityW;
        emit RatedCapacityUpdated(meterId, ratedCapacityW);
    }

    // ─────────────────────────────────────────────────────────────── owners

    /// @inheritdoc ISmartMeter
    function transferMeterOwnership(uint64 meterId, address newOwner) external {
        address owner = _existingOwner(meterId);
        require(owner == msg.sender, SmartMeterNotMeterOwner(meterId, msg.sender));
        require(newOwner != address(0), SmartMeterZeroAddress());
        IEnergyToken token = _mintingToken();
        _claim(meterId, owner, token);
        _owners[meterId] = newOwner;
        emit MeterOwnershipTransferred(meterId, msg.sender, newOwner);
    }

    // ─────────────────────────────────────────────────────────────── anyone

    /// @inheritdoc ISmartMeter
    function claimCredits(uint64[] calldata meterIds) external returns (uint256 totalWh) {
        uint256 count = meterIds.length;
        require(count != 0 && count <= MAX_BATCH_SIZE, SmartMeterInvalidClaimSize(count, MAX_BATCH_SIZE));
        IEnergyToken token = _mintingToken();
        for (uint256 i; i < count; ++i) {
            uint64 meterId = meterIds[i];
            totalWh += _claim(meterId, _existingOwner(meterId), token);
        }
    }

    // ─────────────────────────────────────────────────────────────── oracle operators

    /// @inheritdoc ISmartMeter
    function submitReadings(Reading[] calldata readings, bytes[] calldata signatures)
        external
        restricted
        returns (uint256 accepted)
    {
        uint256 count = readings.length;
        require(count == signatures.length, SmartMeterLengthMismatch(count, signatures.length));
        require(count != 0 && count <= MAX_BATCH_SIZE, SmartMeterInvalidBatchSize(count, MAX_BATCH_SIZE));
        require(!_gridManagement.paused(), SmartMeterSystemPaused());
        require(address(_energyToken) != address(0), SmartMeterEnergyTokenNotSet());
        uint256 latestAllowed = block.timestamp + _maxFutureSkew;

        for (uint256 i; i < count; ++i) {
            if (_processReading(readings[i], signatures[i], latestAllowed)) {
                unchecked {
                    ++accepted;
                }
            }
        }
    }

    // ─────────────────────────────────────────────────────────────── governance

    /// @inheritdoc ISmartMeter
    function setMaxFutureSkew(uint32 maxFutureSkewSeconds) external restricted {
        _setMaxFutureSkew(maxFutureSkewSeconds);
    }

    /// @inheritdoc ISmartMeter
    function setEnergyToken(address energyToken_) external restricted {
        require(energyToken_ != address(0), SmartMeterZeroAddress());
        address current = address(_energyToken);
        require(current == address(0), SmartMeterEnergyTokenAlreadySet(current));
        _energyToken = IEnergyToken(energyToken_);
        emit EnergyTokenSet(energyToken_);
    }

    /// @inheritdoc ISmartMeter
    function setGreenCertificate(address greenCertificate_) external restricted {
        require(greenCertificate_ != address(0), SmartMeterZeroAddress());
        address current = address(_greenCertificate);
        require(current == address(0), SmartMeterGreenCertificateAlreadySet(current));
        _greenCertificate = ICertificateIssuer(greenCertificate_);
        emit GreenCertificateSet(greenCertificate_);
    }

    /// @inheritdoc ISmartMeter
    function setAssetRegistry(address assetRegistry_) external restricted {
        require(assetRegistry_ != address(0), SmartMeterZeroAddress());
        address current = _assetRegistry;
        require(current == address(0), SmartMeterAssetRegistryAlreadySet(current));
        _assetRegistry = assetRegistry_;
        emit AssetRegistrySet(assetRegistry_);
    }

    // ─────────────────────────────────────────────────────────────── EnergyToken

    /// @inheritdoc ISmartMeter
    function coverConsumption(uint64 meterId, address account, uint64 amountWh) external {
        require(msg.sender == address(_energyToken), SmartMeterCallerNotEnergyToken(msg.sender));
        require(_owners[meterId] == account, SmartMeterNotMeterOwner(meterId, account));
        MeterCursor cursor = _cursors[meterId];
        uint64 uncovered = cursor.uncoveredWh();
        require(uncovered >= amountWh, SmartMeterInsufficientUncovered(meterId, uncovered, amountWh));
        unchecked {
            uncovered -= amountWh;
        }
        _cursors[meterId] = cursor.withUncovered(uncovered);
        emit ConsumptionCovered(meterId, account, amountWh, uncovered);
        ICertificateIssuer certificate = _greenCertificate;
        if (address(certificate) == address(0)) return;
        CreditMix memory mix = _creditMix;
        // Redeemed credits were minted, so mintedWh ≥ amountWh > 0; the share is at most amountWh.
        uint64 renewableWh = uint64((uint256(amountWh) * mix.renewableWh) / mix.mintedWh);
        if (renewableWh != 0) certificate.issue(account, _identities[meterId].zone, renewableWh);
    }

    // ─────────────────────────────────────────────────────────────── views

    /// @inheritdoc ISmartMeter
    function readingDigest(Reading calldata reading) external view returns (bytes32) {
        return _readingDigest(reading);
    }

    /// @inheritdoc ISmartMeter
    function meterCount() external view returns (uint64) {
        return _meterCount;
    }

    /// @inheritdoc ISmartMeter
    function getMeter(uint64 meterId) external view returns (Meter memory) {
        address owner = _existingOwner(meterId);
        Identity storage identity = _identities[meterId];
        MeterCursor cursor = _cursors[meterId];
        return Meter({
            owner: owner,
            zone: identity.zone,
            kind: identity.kind,
            active: identity.active,
            deviceSigner: identity.deviceSigner,
            ratedCapacityW: identity.ratedCapacityW,
            claimableWh: cursor.claimableWh(),
            uncoveredWh: cursor.uncoveredWh()
        });
    }

    /// @inheritdoc ISmartMeter
    function meterIdBySerial(string calldata serial) external view returns (uint64) {
        return _meterIdBySerial[keccak256(bytes(serial))];
    }

    /// @inheritdoc ISmartMeter
    function getLatestReading(uint64 meterId) external view returns (LatestReading memory) {
        _existingOwner(meterId);
        MeterCursor cursor = _cursors[meterId];
        return LatestReading({
            seq: cursor.seq(),
            timestamp: cursor.timestamp(),
            productionWh: cursor.productionWh(),
            consumptionWh: cursor.consumptionWh()
        });
    }

    /// @inheritdoc ISmartMeter
    function claimableCredits(uint64 meterId) external view returns (uint64) {
        _existingOwner(meterId);
        return _cursors[meterId].claimableWh();
    }

    /// @inheritdoc ISmartMeter
    function getDailyProduction(uint64 meterId, uint32 day) external view returns (uint64) {
        (bool current, MeterCursor cursor, DayStart storage start) = _currentDay(meterId, day);
        if (current) return cursor.productionWh() - start.productionWh;
        return _closedDays[meterId][day].productionWh;
    }

    /// @inheritdoc ISmartMeter
    function getDailyConsumption(uint64 meterId, uint32 day) external view returns (uint64) {
        (bool current, MeterCursor cursor, DayStart storage start) = _currentDay(meterId, day);
        if (current) return cursor.consumptionWh() - start.consumptionWh;
        return _closedDays[meterId][day].consumptionWh;
    }

    /// @inheritdoc ISmartMeter
    function uncoveredConsumption(uint64 meterId) external view returns (uint64) {
        _existingOwner(meterId);
        return _cursors[meterId].uncoveredWh();
    }

    /// @inheritdoc ISmartMeter
    function maxFutureSkew() external view returns (uint32) {
        return _maxFutureSkew;
    }

    /// @inheritdoc ISmartMeter
    function greenCertificate() external view returns (address) {
        return address(_greenCertificate);
    }

    /// @inheritdoc ISmartMeter
    function assetRegistry() external view returns (address) {
        return _assetRegistry;
    }

    /// @inheritdoc ISmartMeter
    function creditMix() external view returns (uint128 mintedWh, uint128 renewableWh) {
        CreditMix memory mix = _creditMix;
        return (mix.mintedWh, mix.renewableWh);
    }

    /// @inheritdoc ISmartMeter
    function isRenewableKind(MeterKind kind) public pure returns (bool) {
        return kind == MeterKind.SolarProsumer || kind == MeterKind.Hybrid;
    }

    /// @inheritdoc ISmartMeter
    function energyToken() external view returns (address) {
        return address(_energyToken);
    }

    // ─────────────────────────────────────────────────────────────── internal: readings

    /// @dev Verifies one reading and applies it; returns false (after emitting why) to skip it.
    function _processReading(Reading memory r, bytes calldata signature, uint256 latestAllowed)
        private
        returns (bool)
    {
        Identity memory identity = _identities[r.meterId];
        MeterCursor cursor = _cursors[r.meterId];
        (bool ok, RejectionReason reason) = _verifyReading(r, signature, identity, cursor, latestAllowed);
        if (!ok) {
            emit ReadingRejected(r.meterId, r.seq, reason);
            return false;
        }
        _applyReading(r, cursor);
        return true;
    }

    /// @dev Every check of a reading, cheapest and most telling first.
    function _verifyReading(
        Reading memory r,
        bytes calldata signature,
        Identity memory identity,
        MeterCursor cursor,
        uint256 latestAllowed
    ) private view returns (bool ok, RejectionReason reason) {
        if (identity.deviceSigner == address(0)) return (false, RejectionReason.UnknownMeter);
        if (!identity.active) return (false, RejectionReason.MeterInactive);
        {
            (address recovered, ECDSA.RecoverError err,) = ECDSA.tryRecoverCalldata(_readingDigest(r), signature);
            if (err != ECDSA.RecoverError.NoError || recovered != identity.deviceSigner) {
                return (false, RejectionReason.InvalidSignature);
            }
        }
        uint64 lastSeq = cursor.seq();
        uint64 lastTimestamp = cursor.timestamp();
        uint64 lastProductionWh = cursor.productionWh();
        uint64 lastConsumptionWh = cursor.consumptionWh();
        if (r.seq <= lastSeq) return (false, RejectionReason.SequenceNotIncreasing);
        if (r.seq > type(uint32).max) return (false, RejectionReason.SequenceTooLarge);
        if (r.timestamp <= lastTimestamp) return (false, RejectionReason.TimestampNotAfterLast);
        if (r.timestamp > latestAllowed) return (false, RejectionReason.TimestampInFuture);
        if (r.productionWh > MAX_REGISTER_WH || r.consumptionWh > MAX_REGISTER_WH) {
            return (false, RejectionReason.RegisterOutOfRange);
        }
        if (r.productionWh < lastProductionWh) return (false, RejectionReason.ProductionRegisterDecreased);
        if (r.consumptionWh < lastConsumptionWh) return (false, RejectionReason.ConsumptionRegisterDecreased);
        if (lastTimestamp != 0) {
            // Energy = power × time: at most ratedCapacityW × elapsed seconds / 3600 Wh, compared exactly.
            uint256 maxWhTimes3600 = uint256(identity.ratedCapacityW) * (r.timestamp - lastTimestamp);
            if (uint256(r.productionWh - lastProductionWh) * 1 hours > maxWhTimes3600) {
                return (false, RejectionReason.ProductionExceedsCapacity);
            }
            if (uint256(r.consumptionWh - lastConsumptionWh) * 1 hours > maxWhTimes3600) {
                return (false, RejectionReason.ConsumptionExceedsCapacity);
            }
        }
        return (true, reason);
    }

    /// @dev Records a verified reading: credits the surplus, books the deficit, rolls the daily totals.
    function _applyReading(Reading memory r, MeterCursor cursor) private {
        uint64 lastTimestamp = cursor.timestamp();
        uint64 claimableWh = cursor.claimableWh();
        uint64 uncoveredWh = cursor.uncoveredWh();
        uint64 surplusWh;
        uint64 deficitWh;
        uint32 day = uint32(r.timestamp / 1 days);
        if (lastTimestamp == 0) {
            // Baseline: registers only, nothing credited or owed.
            _dayStarts[r.meterId] = DayStart({day: day, productionWh: r.productionWh, consumptionWh: r.consumptionWh});
        } else {
            unchecked {
                // Verified monotonic above, so the differences cannot wrap.
                uint64 producedWh = r.productionWh - cursor.productionWh();
                uint64 consumedWh = r.consumptionWh - cursor.consumptionWh();
                if (producedWh > consumedWh) surplusWh = producedWh - consumedWh;
                else deficitWh = consumedWh - producedWh;
            }
            // Both stay ≤ MAX_REGISTER_WH: claimable credit never exceeds the production register, uncovered
            // consumption never exceeds the consumption register.
            claimableWh += surplusWh;
            uncoveredWh += deficitWh;
            if (day != lastTimestamp / 1 days) _closeDay(r.meterId, day, cursor);
        }
        _cursors[r.meterId] =
            MeterCursorLib.pack(r.seq, r.timestamp, r.productionWh, r.consumptionWh, claimableWh, uncoveredWh);
        emit ReadingAccepted(
            r.meterId,
            r.seq,
            r.timestamp,
            r.productionWh,
            r.consumptionWh,
            r.voltage_mV,
            r.frequency_mHz,
            surplusWh,
            deficitWh
        );
    }

    /// @dev Freezes the totals of the meter's current day (the registers in `previous`, the cursor before
    /// this reading) and opens `newDay` at those registers.
    function _closeDay(uint64 meterId, uint32 newDay, MeterCursor previous) private {
        DayStart storage start = _dayStarts[meterId];
        uint64 productionWh = previous.productionWh();
        uint64 consumptionWh = previous.consumptionWh();
        _closedDays[meterId][start.day] = DailyTotals({
            productionWh: productionWh - start.productionWh,
            consumptionWh: consumptionWh - start.consumptionWh
        });
        _dayStarts[meterId] = DayStart({day: newDay, productionWh: productionWh, consumptionWh: consumptionWh});
    }

    function _readingDigest(Reading memory r) private view returns (bytes32) {
        return _hashTypedDataV4(
            keccak256(
                abi.encode(
                    READING_TYPEHASH,
                    r.meterId,
                    r.seq,
                    r.timestamp,
                    r.productionWh,
                    r.consumptionWh,
                    r.voltage_mV,
                    r.frequency_mHz
                )
            )
        );
    }

    // ─────────────────────────────────────────────────────────────── internal: credits and registry

    /// @dev Mints a meter's accrued credits to `owner`; returns how many.
    function _claim(uint64 meterId, address owner, IEnergyToken token) private returns (uint64 amountWh) {
        MeterCursor cursor = _cursors[meterId];
        amountWh = cursor.claimableWh();
        if (amountWh == 0) return 0;
        _cursors[meterId] = cursor.withClaimable(0);
        CreditMix memory mix = _creditMix;
        mix.mintedWh += amountWh;
        if (isRenewableKind(_identities[meterId].kind)) mix.renewableWh += amountWh;
        _creditMix = mix;
        emit CreditsClaimed(meterId, owner, amountWh);
        token.mint(owner, amountWh); // GridX's own token: no hooks, no re-entry
        // The registry learns which asset the credits belong to; its state is settled before it is called.
        if (owner == _assetRegistry) ICreditsRecipient(owner).onCreditsClaimed(meterId, amountWh);
    }

    /// @dev The token to mint with, once minting is allowed: wired, and the system not paused.
    function _mintingToken() private view returns (IEnergyToken token) {
        require(!_gridManagement.paused(), SmartMeterSystemPaused());
        token = _energyToken;
        require(address(token) != address(0), SmartMeterEnergyTokenNotSet());
    }

    /// @dev Whether `day` is the meter's current (still open) day, with the state to compute its totals.
    function _currentDay(uint64 meterId, uint32 day)
        private
        view
        returns (bool current, MeterCursor cursor, DayStart storage start)
    {
        _existingOwner(meterId);
        cursor = _cursors[meterId];
        start = _dayStarts[meterId];
        current = cursor.timestamp() != 0 && day == start.day;
    }

    function _existingOwner(uint64 meterId) private view returns (address owner) {
        owner = _owners[meterId];
        require(owner != address(0), SmartMeterUnknownMeter(meterId));
    }

    function _existingIdentity(uint64 meterId) private view returns (Identity storage) {
        _existingOwner(meterId);
        return _identities[meterId];
    }

    function _setMaxFutureSkew(uint32 maxFutureSkewSeconds) private {
        require(maxFutureSkewSeconds <= MAX_FUTURE_SKEW_LIMIT, SmartMeterInvalidFutureSkew(maxFutureSkewSeconds));
        _maxFutureSkew = maxFutureSkewSeconds;
        emit MaxFutureSkewUpdated(maxFutureSkewSeconds);
    }
}
