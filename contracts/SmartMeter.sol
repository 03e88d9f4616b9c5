// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AccessManaged} from "@openzeppelin/contracts/access/manager/AccessManaged.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {IEnergyToken} from "./interfaces/IEnergyToken.sol";
import {IGridManagement} from "./interfaces/IGridManagement.sol";
import {ISmartMeter} from "./interfaces/ISmartMeter.sol";

/// @title SmartMeter
/// @notice Meter registry and verified-reading ingestion; the only minter of EnergyToken.
/// @dev Permissions: registry functions are METER_REGISTRAR, `submitReadings` is ORACLE_OPERATOR,
/// `setMaxFutureSkew` and `setEnergyToken` are ADMIN (all through the AccessManager).
/// Gas: a steady-state reading touches three storage slots of its meter (identity, latest reading,
/// owner + uncovered), one token balance, and the day slot only on the first reading of a UTC day.
contract SmartMeter is ISmartMeter, AccessManaged, EIP712 {
    // ─────────────────────────────────────────────────────────────── constants

    /// @inheritdoc ISmartMeter
    bytes32 public constant READING_TYPEHASH = keccak256(
        "Reading(uint64 meterId,uint64 seq,uint64 timestamp,uint64 productionWh,uint64 consumptionWh,uint32 voltage_mV,uint32 frequency_mHz)"
    );
    /// @notice Most readings one batch may carry (bounds the loop).
    uint256 public constant MAX_BATCH_SIZE = 200;
    /// @notice Longest serial number, in bytes.
    uint256 public constant MAX_SERIAL_LENGTH = 64;
    /// @notice Upper bound governance may set for the allowed clock skew, in seconds.
    uint32 public constant MAX_FUTURE_SKEW_LIMIT = 1 hours;

    // ─────────────────────────────────────────────────────────────── storage

    /// @dev Per-meter state, four slots, grouped by how often a reading touches them.
    struct MeterState {
        // slot 0, read by every reading: identity and rating (240 bits)
        address deviceSigner;
        uint32 ratedCapacityW;
        uint32 zone;
        MeterKind kind;
        bool active;
        // slot 1, written by every reading: the latest accepted reading (256 bits). `seq` fits 32 bits by
        // the SequenceTooLarge check; `timestamp` by the future-skew check until the year 2106.
        uint32 seq;
        uint32 timestamp;
        uint64 productionWh;
        uint64 consumptionWh;
        uint32 voltage_mV;
        uint32 frequency_mHz;
        // slot 2, read by every reading, written on a deficit or a redemption (224 bits)
        address owner;
        uint64 uncoveredWh;
        // slot 3, touched on the first reading of each UTC day: the day of the latest reading and the
        // registers as they stood before that day's first reading (160 bits)
        uint32 day;
        uint64 dayStartProductionWh;
        uint64 dayStartConsumptionWh;
    }

    /// @dev Totals of a UTC day that has been closed by a later day's first reading.
    struct DailyTotals {
        uint64 productionWh;
        uint64 consumptionWh;
    }

    IGridManagement private immutable _gridManagement;
    /// @dev One slot, read once per batch.
    IEnergyToken private _energyToken;
    uint32 private _maxFutureSkew;

    uint64 private _meterCount;
    mapping(uint64 meterId => MeterState) private _meters;
    mapping(uint64 meterId => mapping(uint32 day => DailyTotals)) private _closedDays;
    mapping(bytes32 serialHash => uint64 meterId) private _meterIdBySerial;

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
        MeterState storage m = _meters[meterId];
        m.deviceSigner = deviceSigner;
        m.ratedCapacityW = ratedCapacityW;
        m.zone = zone;
        m.kind = kind;
        m.active = true;
        m.owner = owner;
        emit MeterRegistered(meterId, owner, zone, kind, deviceSigner, ratedCapacityW, serial);
    }

    /// @inheritdoc ISmartMeter
    function setMeterActive(uint64 meterId, bool active) external restricted {
        _existingMeter(meterId).active = active;
        emit MeterActiveSet(meterId, active);
    }

    /// @inheritdoc ISmartMeter
    function setDeviceSigner(uint64 meterId, address deviceSigner) external restricted {
        require(deviceSigner != address(0), SmartMeterZeroAddress());
        _existingMeter(meterId).deviceSigner = deviceSigner;
        emit DeviceSignerUpdated(meterId, deviceSigner);
    }

    /// @inheritdoc ISmartMeter
    function setRatedCapacity(uint64 meterId, uint32 ratedCapacityW) external restricted {
        require(ratedCapacityW != 0, SmartMeterZeroCapacity());
        _existingMeter(meterId).ratedCapacityW = ratedCapacityW;
        emit RatedCapacityUpdated(meterId, ratedCapacityW);
    }

    // ─────────────────────────────────────────────────────────────── owners

    /// @inheritdoc ISmartMeter
    function transferMeterOwnership(uint64 meterId, address newOwner) external {
        MeterState storage m = _existingMeter(meterId);
        require(m.owner == msg.sender, SmartMeterNotMeterOwner(meterId, msg.sender));
        require(newOwner != address(0), SmartMeterZeroAddress());
        m.owner = newOwner;
        emit MeterOwnershipTransferred(meterId, msg.sender, newOwner);
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
        IEnergyToken token = _energyToken;
        require(address(token) != address(0), SmartMeterEnergyTokenNotSet());
        uint256 latestAllowed = block.timestamp + _maxFutureSkew;

        for (uint256 i; i < count; ++i) {
            if (_processReading(readings[i], signatures[i], token, latestAllowed)) {
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

    // ─────────────────────────────────────────────────────────────── EnergyToken

    /// @inheritdoc ISmartMeter
    function coverConsumption(uint64 meterId, address account, uint64 amountWh) external {
        require(msg.sender == address(_energyToken), SmartMeterCallerNotEnergyToken(msg.sender));
        MeterState storage m = _meters[meterId];
        require(m.owner == account, SmartMeterNotMeterOwner(meterId, account));
        uint64 uncovered = m.uncoveredWh;
        require(uncovered >= amountWh, SmartMeterInsufficientUncovered(meterId, uncovered, amountWh));
        unchecked {
            uncovered -= amountWh;
        }
        m.uncoveredWh = uncovered;
        emit ConsumptionCovered(meterId, account, amountWh, uncovered);
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
        MeterState storage m = _existingMeter(meterId);
        return Meter({
            owner: m.owner,
            zone: m.zone,
            kind: m.kind,
            active: m.active,
            deviceSigner: m.deviceSigner,
            ratedCapacityW: m.ratedCapacityW,
            uncoveredWh: m.uncoveredWh
        });
    }

    /// @inheritdoc ISmartMeter
    function meterIdBySerial(string calldata serial) external view returns (uint64) {
        return _meterIdBySerial[keccak256(bytes(serial))];
    }

    /// @inheritdoc ISmartMeter
    function getLatestReading(uint64 meterId) external view returns (Reading memory) {
        MeterState storage m = _existingMeter(meterId);
        return Reading({
            meterId: meterId,
            seq: m.seq,
            timestamp: m.timestamp,
            productionWh: m.productionWh,
            consumptionWh: m.consumptionWh,
            voltage_mV: m.voltage_mV,
            frequency_mHz: m.frequency_mHz
        });
    }

    /// @inheritdoc ISmartMeter
    function getDailyProduction(uint64 meterId, uint32 day) external view returns (uint64) {
        MeterState storage m = _existingMeter(meterId);
        if (m.timestamp != 0 && day == m.day) return m.productionWh - m.dayStartProductionWh;
        return _closedDays[meterId][day].productionWh;
    }

    /// @inheritdoc ISmartMeter
    function getDailyConsumption(uint64 meterId, uint32 day) external view returns (uint64) {
        MeterState storage m = _existingMeter(meterId);
        if (m.timestamp != 0 && day == m.day) return m.consumptionWh - m.dayStartConsumptionWh;
        return _closedDays[meterId][day].consumptionWh;
    }

    /// @inheritdoc ISmartMeter
    function uncoveredConsumption(uint64 meterId) external view returns (uint64) {
        return _existingMeter(meterId).uncoveredWh;
    }

    /// @inheritdoc ISmartMeter
    function maxFutureSkew() external view returns (uint32) {
        return _maxFutureSkew;
    }

    /// @inheritdoc ISmartMeter
    function energyToken() external view returns (address) {
        return address(_energyToken);
    }

    // ─────────────────────────────────────────────────────────────── internal

    /// @dev Verifies one reading and applies it; returns false (after emitting why) to skip it.
    function _processReading(
        Reading calldata r,
        bytes calldata signature,
        IEnergyToken token,
        uint256 latestAllowed
    ) private returns (bool) {
        MeterState storage m = _meters[r.meterId];
        (bool ok, RejectionReason reason) = _verifyReading(r, signature, m, latestAllowed);
        if (!ok) {
            emit ReadingRejected(r.meterId, r.seq, reason);
            return false;
        }
        _applyReading(r, m, token);
        return true;
    }

    /// @dev Every check of a reading, in the order a device fault is most likely caught.
    function _verifyReading(Reading calldata r, bytes calldata signature, MeterState storage m, uint256 latestAllowed)
        private
        view
        returns (bool ok, RejectionReason reason)
    {
        address deviceSigner = m.deviceSigner;
        if (deviceSigner == address(0)) return (false, RejectionReason.UnknownMeter);
        if (!m.active) return (false, RejectionReason.MeterInactive);
        {
            (address recovered, ECDSA.RecoverError err,) = ECDSA.tryRecoverCalldata(_readingDigest(r), signature);
            if (err != ECDSA.RecoverError.NoError || recovered != deviceSigner) {
                return (false, RejectionReason.InvalidSignature);
            }
        }
        if (r.seq <= m.seq) return (false, RejectionReason.SequenceNotIncreasing);
        if (r.seq > type(uint32).max) return (false, RejectionReason.SequenceTooLarge);
        uint256 lastTimestamp = m.timestamp;
        if (r.timestamp <= lastTimestamp) return (false, RejectionReason.TimestampNotAfterLast);
        if (r.timestamp > latestAllowed) return (false, RejectionReason.TimestampInFuture);
        if (r.productionWh < m.productionWh) return (false, RejectionReason.ProductionRegisterDecreased);
        if (r.consumptionWh < m.consumptionWh) return (false, RejectionReason.ConsumptionRegisterDecreased);
        if (lastTimestamp != 0) {
            // Energy = power × time: at most ratedCapacityW × elapsed seconds / 3600 Wh, compared exactly.
            uint256 maxWhTimes3600 = uint256(m.ratedCapacityW) * (r.timestamp - lastTimestamp);
            if (uint256(r.productionWh - m.productionWh) * 1 hours > maxWhTimes3600) {
                return (false, RejectionReason.ProductionExceedsCapacity);
            }
            if (uint256(r.consumptionWh - m.consumptionWh) * 1 hours > maxWhTimes3600) {
                return (false, RejectionReason.ConsumptionExceedsCapacity);
            }
        }
        return (true, reason);
    }

    /// @dev Records a verified reading, rolls the daily totals, mints the surplus and books the deficit.
    function _applyReading(Reading calldata r, MeterState storage m, IEnergyToken token) private {
        uint64 lastProduction = m.productionWh;
        uint64 lastConsumption = m.consumptionWh;
        uint256 lastTimestamp = m.timestamp;
        uint32 day = uint32(r.timestamp / 1 days);
        uint64 surplusWh;
        uint64 deficitWh;

        if (lastTimestamp == 0) {
            // Baseline: registers only, nothing minted or owed.
            m.day = day;
            m.dayStartProductionWh = r.productionWh;
            m.dayStartConsumptionWh = r.consumptionWh;
        } else {
            unchecked {
                // Verified monotonic above.
                uint64 producedWh = r.productionWh - lastProduction;
                uint64 consumedWh = r.consumptionWh - lastConsumption;
                if (producedWh > consumedWh) surplusWh = producedWh - consumedWh;
                else deficitWh = consumedWh - producedWh;
            }
            if (day != lastTimestamp / 1 days) _closeDay(r.meterId, m, day, lastProduction, lastConsumption);
        }

        m.seq = uint32(r.seq);
        m.timestamp = uint32(r.timestamp);
        m.productionWh = r.productionWh;
        m.consumptionWh = r.consumptionWh;
        m.voltage_mV = r.voltage_mV;
        m.frequency_mHz = r.frequency_mHz;
        if (deficitWh != 0) m.uncoveredWh += deficitWh;
        emit ReadingAccepted(r.meterId, r.seq, r.timestamp, r.productionWh, r.consumptionWh, surplusWh, deficitWh);

        // Interaction last: the token is GridX's own and has no transfer hooks.
        if (surplusWh != 0) token.mint(m.owner, surplusWh);
    }

    /// @dev Freezes the totals of the meter's current day and opens `newDay` at the latest registers.
    function _closeDay(uint64 meterId, MeterState storage m, uint32 newDay, uint64 production, uint64 consumption)
        private
    {
        _closedDays[meterId][m.day] = DailyTotals({
            productionWh: production - m.dayStartProductionWh,
            consumptionWh: consumption - m.dayStartConsumptionWh
        });
        m.day = newDay;
        m.dayStartProductionWh = production;
        m.dayStartConsumptionWh = consumption;
    }

    function _readingDigest(Reading calldata r) private view returns (bytes32) {
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

    function _existingMeter(uint64 meterId) private view returns (MeterState storage m) {
        m = _meters[meterId];
        require(m.owner != address(0), SmartMeterUnknownMeter(meterId));
    }

    function _setMaxFutureSkew(uint32 maxFutureSkewSeconds) private {
        require(maxFutureSkewSeconds <= MAX_FUTURE_SKEW_LIMIT, SmartMeterInvalidFutureSkew(maxFutureSkewSeconds));
        _maxFutureSkew = maxFutureSkewSeconds;
        emit MaxFutureSkewUpdated(maxFutureSkewSeconds);
    }
}
