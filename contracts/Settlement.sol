// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AccessManaged} from "@openzeppelin/contracts/access/manager/AccessManaged.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IGridManagement} from "./interfaces/IGridManagement.sol";
import {ISettlement} from "./interfaces/ISettlement.sol";
import {UtcMonth} from "./libraries/UtcMonth.sol";

/// @title Settlement
/// @notice The market's escrow vault for the payment token and EnergyToken (see ISettlement).
/// @dev Permissions: `setEnergyTrading`, `setProtocolFee` and `setProtocolTreasury` are ADMIN (through the
/// AccessManager); `lock`, `unlock`, `settleTaker` and `settleResting` only the wired EnergyTrading; `deposit` and `withdraw`
/// move only the caller's own balance; sweeps are open because fees only ever go to their treasury.
/// Reentrancy: every state-changing function is `nonReentrant` (one transient-storage lock, EIP-1153), and
/// the ones that transfer tokens follow checks-effects-interactions; lock/unlock/settle transfer nothing. A
/// token that calls back into the vault (or into EnergyTrading, which calls the vault) mid-transfer reverts.
contract Settlement is ISettlement, AccessManaged, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;
    using SafeCast for uint256;

    // ─────────────────────────────────────────────────────────────── constants

    /// @inheritdoc ISettlement
    uint16 public constant MAX_PROTOCOL_FEE_BPS = 500;
    uint256 private constant BPS = 10_000;
    uint256 private constant WH_PER_KWH = 1_000;

    // ─────────────────────────────────────────────────────────────── storage

    /// @dev The fee rates and statement month of one settle call.
    struct FeeContext {
        uint16 gridFeeBps;
        uint16 protocolFeeBps;
        uint32 month;
    }

    IERC20 private immutable _paymentToken;
    IERC20 private immutable _energyToken;
    IGridManagement private immutable _gridManagement;

    /// @dev One slot, read by every lock, unlock and settle.
    address private _energyTrading;
    uint16 private _protocolFeeBps;

    address private _protocolTreasury;
    uint256 private _accruedProtocolFees;
    mapping(uint32 zone => uint256 amount) private _accruedZoneFees;
    mapping(address account => mapping(address token => Balance)) private _balances;
    mapping(address account => mapping(uint32 month => Statement)) private _statements;

    // ─────────────────────────────────────────────────────────────── constructor

    /// @param authority The AccessManager.
    /// @param gridManagement_ Zones: grid fee schedules and treasuries.
    /// @param paymentToken_ The payment token (a stablecoin; MockStablecoin on local chains).
    /// @param energyToken_ The EnergyToken.
    /// @param protocolTreasury_ Where swept protocol fees go.
    /// @param protocolFeeBps_ The protocol fee, in bps, at most MAX_PROTOCOL_FEE_BPS.
    constructor(
        address authority,
        IGridManagement gridManagement_,
        IERC20 paymentToken_,
        IERC20 energyToken_,
        address protocolTreasury_,
        uint16 protocolFeeBps_
    ) AccessManaged(authority) {
        require(
            address(gridManagement_) != address(0) && address(paymentToken_) != address(0)
                && address(energyToken_) != address(0) && paymentToken_ != energyToken_,
            SettlementZeroAddress()
        );
        _gridManagement = gridManagement_;
        _paymentToken = paymentToken_;
        _energyToken = energyToken_;
        _setProtocolTreasury(protocolTreasury_);
        _setProtocolFee(protocolFeeBps_);
    }

    // ─────────────────────────────────────────────────────────────── accounts

    /// @inheritdoc ISettlement
    function deposit(address token, uint256 amount) external nonReentrant {
        _deposit(token, amount);
    }

    /// @inheritdoc ISettlement
    function depositWithPermit(address token, uint256 amount, uint256 deadline, uint8 v, bytes32 r, bytes32 s)
        external
        nonReentrant
    {
        _supported(token);
        // A front-run permit must not grief the deposit: if it fails, the allowance decides.
        // solhint-disable-next-line no-empty-blocks
        try IERC20Permit(token).permit(msg.sender, address(this), amount, deadline, v, r, s) {} catch {}
        _deposit(token, amount);
    }

    /// @inheritdoc ISettlement
    function withdraw(address token, uint256 amount) external nonReentrant {
        _supported(token);
        require(amount != 0, SettlementZeroAmount());
        Balance storage balance = _balances[msg.sender][token];
        uint256 available = balance.available;
        require(available >= amount, SettlementInsufficientAvailable(msg.sender, token, available, amount));
        unchecked {
            balance.available = uint128(available - amount);
        }
        emit Withdrawn(msg.sender, token, amount);
        IERC20(token).safeTransfer(msg.sender, amount);
    }

    // ─────────────────────────────────────────────────────────────── EnergyTrading

    /// @inheritdoc ISettlement
    function lock(address account, address token, uint256 amount) external nonReentrant {
        _onlyEnergyTrading();
        _supported(token);
        Balance storage balance = _balances[account][token];
        uint256 available = balance.available;
        require(available >= amount, SettlementInsufficientAvailable(account, token, available, amount));
        unchecked {
            balance.available = uint128(available - amount); // available ≥ amount
        }
        balance.locked += uint128(amount); // checked: one account's total is not bounded by 2^128
        emit Locked(account, token, amount);
    }

    /// @inheritdoc ISettlement
    function unlock(address account, address token, uint256 amount) external nonReentrant {
        _onlyEnergyTrading();
        _supported(token);
        Balance storage balance = _balances[account][token];
        uint256 locked = balance.locked;
        require(locked >= amount, SettlementInsufficientLocked(account, token, locked, amount));
        unchecked {
            balance.locked = uint128(locked - amount); // locked ≥ amount
        }
        balance.available += uint128(amount); // checked, as in lock
        emit Unlocked(account, token, amount);
    }

    /// @inheritdoc ISettlement
    function settleTaker(uint32 zone, address taker, bool takerBuys, Fill[] calldata fills, uint256 takerLock)
        external
        nonReentrant
        returns (TradeAmounts memory amounts)
    {
        _onlyEnergyTrading();
        // A resting order without fills only locks: no fee rates needed.
        FeeContext memory ctx;
        if (fills.length != 0) ctx = _feeContext(zone);
        uint256 takerWh;
        uint256 takerNet; // a selling taker's proceeds after fees
        for (uint256 i; i < fills.length; ++i) {
            (uint256 notional, uint256 gridFee, uint256 protocolFee) = _settleMaker(fills[i], takerBuys, ctx);
            takerWh += fills[i].amountWh;
            if (!takerBuys) takerNet += notional - gridFee - protocolFee;
            amounts.notional += notional;
            amounts.gridFee += gridFee;
            amounts.protocolFee += protocolFee;
        }
        _settleTakerSide(taker, takerBuys, takerWh, takerNet, takerLock, amounts, ctx.month);
        if (takerWh != 0) _accrue(zone, ctx, amounts);
    }

    /// @inheritdoc ISettlement
    function settleResting(
        uint32 zone,
        address buyer,
        address seller,
        uint64 amountWh,
        uint128 pricePerKWh,
        uint256 buyerRefund
    ) external nonReentrant returns (TradeAmounts memory amounts) {
        _onlyEnergyTrading();
        require(amountWh != 0 && pricePerKWh != 0, SettlementZeroAmount());
        FeeContext memory ctx = _feeContext(zone);
        (amounts.notional, amounts.gridFee, amounts.protocolFee) = _tradeAmounts(amountWh, pricePerKWh, ctx);
        uint256 fees = amounts.gridFee + amounts.protocolFee;
        uint256 net = amounts.notional - fees;
        uint32 month = ctx.month;

        _debitLocked(seller, address(_energyToken), amountWh);
        _debitLocked(buyer, address(_paymentToken), amounts.notional + buyerRefund);
        _creditAvailable(buyer, address(_energyToken), amountWh);
        _creditAvailable(seller, address(_paymentToken), net);
        if (buyerRefund != 0) {
            _creditAvailable(buyer, address(_paymentToken), buyerRefund);
            emit Unlocked(buyer, address(_paymentToken), buyerRefund);
        }
        _recordPurchase(buyer, month, amountWh, amounts.notional);
        _recordSale(seller, month, amountWh, net, fees);
        _accrue(zone, ctx, amounts);
    }

    // ─────────────────────────────────────────────────────────────── anyone

    /// @inheritdoc ISettlement
    function sweepZoneFees(uint32 zone) external nonReentrant returns (uint256 amount) {
        amount = _accruedZoneFees[zone];
        require(amount != 0, SettlementNoFeesAccrued());
        address treasury = _gridManagement.getZone(zone).treasury;
        _accruedZoneFees[zone] = 0;
        emit ZoneFeesSwept(zone, treasury, amount);
        _paymentToken.safeTransfer(treasury, amount);
    }

    /// @inheritdoc ISettlement
    function sweepProtocolFees() external nonReentrant returns (uint256 amount) {
        amount = _accruedProtocolFees;
        require(amount != 0, SettlementNoFeesAccrued());
        address treasury = _protocolTreasury;
        _accruedProtocolFees = 0;
        emit ProtocolFeesSwept(treasury, amount);
        _paymentToken.safeTransfer(treasury, amount);
    }

    // ─────────────────────────────────────────────────────────────── governance

    /// @inheritdoc ISettlement
    function setEnergyTrading(address energyTrading_) external restricted {
        require(energyTrading_ != address(0), SettlementZeroAddress());
        address current = _energyTrading;
        require(current == address(0), SettlementEnergyTradingAlreadySet(current));
        _energyTrading = energyTrading_;
        emit EnergyTradingSet(energyTrading_);
    }

    /// @inheritdoc ISettlement
    function setProtocolFee(uint16 protocolFeeBps_) external restricted {
        _setProtocolFee(protocolFeeBps_);
    }

    /// @inheritdoc ISettlement
    function setProtocolTreasury(address protocolTreasury_) external restricted {
        _setProtocolTreasury(protocolTreasury_);
    }

    // ─────────────────────────────────────────────────────────────── views

    /// @inheritdoc ISettlement
    function paymentToken() external view returns (address) {
        return address(_paymentToken);
    }

    /// @inheritdoc ISettlement
    function energyToken() external view returns (address) {
        return address(_energyToken);
    }

    /// @inheritdoc ISettlement
    function gridManagement() external view returns (address) {
        return address(_gridManagement);
    }

    /// @inheritdoc ISettlement
    function energyTrading() external view returns (address) {
        return _energyTrading;
    }

    /// @inheritdoc ISettlement
    function protocolFeeBps() external view returns (uint16) {
        return _protocolFeeBps;
    }

    /// @inheritdoc ISettlement
    function protocolTreasury() external view returns (address) {
        return _protocolTreasury;
    }

    /// @inheritdoc ISettlement
    function balanceOf(address account, address token) external view returns (Balance memory) {
        return _balances[account][token];
    }

    /// @inheritdoc ISettlement
    function statement(address account, uint32 month) external view returns (Statement memory) {
        return _statements[account][month];
    }

    /// @inheritdoc ISettlement
    function accruedZoneFees(uint32 zone) external view returns (uint256) {
        return _accruedZoneFees[zone];
    }

    /// @inheritdoc ISettlement
    function accruedProtocolFees() external view returns (uint256) {
        return _accruedProtocolFees;
    }

    /// @inheritdoc ISettlement
    function notionalOf(uint64 amountWh, uint256 pricePerKWh) external pure returns (uint256) {
        return Math.mulDiv(amountWh, pricePerKWh, WH_PER_KWH, Math.Rounding.Ceil);
    }

    /// @inheritdoc ISettlement
    function monthOf(uint256 timestamp) external pure returns (uint32) {
        return UtcMonth.monthOf(timestamp);
    }

    // ─────────────────────────────────────────────────────────────── internal

    function _deposit(address token, uint256 amount) private {
        _supported(token);
        require(amount != 0, SettlementZeroAmount());
        IERC20 erc20 = IERC20(token);
        // Credit what arrived, not what was asked: the vault never owes more than it holds.
        uint256 before = erc20.balanceOf(address(this));
        erc20.safeTransferFrom(msg.sender, address(this), amount);
        uint256 received = erc20.balanceOf(address(this)) - before;
        Balance storage balance = _balances[msg.sender][token];
        balance.available = (balance.available + received).toUint128();
        emit Deposited(msg.sender, token, received);
    }

    function _debitLocked(address account, address token, uint256 amount) private {
        Balance storage balance = _balances[account][token];
        uint256 locked = balance.locked;
        require(locked >= amount, SettlementInsufficientLocked(account, token, locked, amount));
        unchecked {
            balance.locked = uint128(locked - amount);
        }
    }

    function _creditAvailable(address account, address token, uint256 amount) private {
        Balance storage balance = _balances[account][token];
        balance.available = (balance.available + amount).toUint128();
    }

    function _recordPurchase(address account, uint32 month, uint256 amountWh, uint256 paid) private {
        Statement storage s = _statements[account][month];
        s.boughtWh = (s.boughtWh + amountWh).toUint64();
        s.paid = (s.paid + paid).toUint96();
    }

    function _recordSale(address account, uint32 month, uint256 amountWh, uint256 earned, uint256 fees) private {
        Statement storage s = _statements[account][month];
        s.soldWh = (s.soldWh + amountWh).toUint64();
        s.earned = (s.earned + earned).toUint96();
        s.fees = (s.fees + fees).toUint96();
    }

    /// @dev Debits a maker's locked escrow and credits what it gets for one fill against a taker.
    function _settleMaker(Fill calldata fill, bool takerBuys, FeeContext memory ctx)
        private
        returns (uint256 notional, uint256 gridFee, uint256 protocolFee)
    {
        require(fill.amountWh != 0 && fill.pricePerKWh != 0, SettlementZeroAmount());
        (notional, gridFee, protocolFee) = _tradeAmounts(fill.amountWh, fill.pricePerKWh, ctx);
        if (takerBuys) {
            // the maker sells: its locked credits go to the taker, the notional less fees to its available
            uint256 fees = gridFee + protocolFee;
            _debitLocked(fill.maker, address(_energyToken), fill.amountWh);
            _creditAvailable(fill.maker, address(_paymentToken), notional - fees);
            _recordSale(fill.maker, ctx.month, fill.amountWh, notional - fees, fees);
        } else {
            // the maker buys: its locked notional goes to the taker (less fees), the credits to its available
            _debitLocked(fill.maker, address(_paymentToken), notional);
            _creditAvailable(fill.maker, address(_energyToken), fill.amountWh);
            _recordPurchase(fill.maker, ctx.month, fill.amountWh, notional);
        }
    }

    /// @dev The taker: one debit of what it gives plus the escrow that rests, one credit of what it gets.
    function _settleTakerSide(
        address taker,
        bool takerBuys,
        uint256 takerWh,
        uint256 takerNet,
        uint256 takerLock,
        TradeAmounts memory amounts,
        uint32 month
    ) private {
        (address gives, address gets) = takerBuys
            ? (address(_paymentToken), address(_energyToken))
            : (address(_energyToken), address(_paymentToken));
        uint256 debit = (takerBuys ? amounts.notional : takerWh) + takerLock;
        if (debit != 0) {
            Balance storage giving = _balances[taker][gives];
            uint256 available = giving.available;
            require(available >= debit, SettlementInsufficientAvailable(taker, gives, available, debit));
            unchecked {
                giving.available = uint128(available - debit);
            }
            if (takerLock != 0) {
                giving.locked = (giving.locked + takerLock).toUint128();
                emit Locked(taker, gives, takerLock);
            }
        }
        if (takerWh == 0) return;
        if (takerBuys) {
            _creditAvailable(taker, gets, takerWh);
            _recordPurchase(taker, month, takerWh, amounts.notional);
        } else {
            _creditAvailable(taker, gets, takerNet);
            _recordSale(taker, month, takerWh, takerNet, amounts.gridFee + amounts.protocolFee);
        }
    }

    function _feeContext(uint32 zone) private view returns (FeeContext memory ctx) {
        ctx.gridFeeBps = _gridManagement.gridFeeBps(zone, uint64(block.timestamp));
        ctx.protocolFeeBps = _protocolFeeBps;
        ctx.month = UtcMonth.monthOf(block.timestamp);
    }

    function _accrue(uint32 zone, FeeContext memory ctx, TradeAmounts memory amounts) private {
        if (amounts.gridFee != 0) _accruedZoneFees[zone] += amounts.gridFee;
        if (amounts.protocolFee != 0) _accruedProtocolFees += amounts.protocolFee;
        emit TradesSettled(
            zone, ctx.gridFeeBps, ctx.protocolFeeBps, amounts.notional, amounts.gridFee, amounts.protocolFee
        );
    }

    /// @dev See ISettlement: notional rounds up against the buyer, total fee up against the seller, the
    /// protocol's share down; the grid fee is the rest, so nothing is created or lost.
    function _tradeAmounts(uint64 amountWh, uint256 pricePerKWh, FeeContext memory ctx)
        private
        pure
        returns (uint256 notional, uint256 gridFee, uint256 protocolFee)
    {
        notional = Math.mulDiv(amountWh, pricePerKWh, WH_PER_KWH, Math.Rounding.Ceil);
        uint256 totalFee =
            Math.mulDiv(notional, uint256(ctx.gridFeeBps) + ctx.protocolFeeBps, BPS, Math.Rounding.Ceil);
        protocolFee = Math.mulDiv(notional, ctx.protocolFeeBps, BPS, Math.Rounding.Floor);
        gridFee = totalFee - protocolFee;
    }

    function _onlyEnergyTrading() private view {
        require(msg.sender == _energyTrading, SettlementCallerNotEnergyTrading(msg.sender));
    }

    function _supported(address token) private view {
        require(
            token == address(_paymentToken) || token == address(_energyToken), SettlementUnsupportedToken(token)
        );
    }

    function _setProtocolFee(uint16 protocolFeeBps_) private {
        require(
            protocolFeeBps_ <= MAX_PROTOCOL_FEE_BPS, SettlementProtocolFeeTooHigh(protocolFeeBps_, MAX_PROTOCOL_FEE_BPS)
        );
        _protocolFeeBps = protocolFeeBps_;
        emit ProtocolFeeUpdated(protocolFeeBps_);
    }

    function _setProtocolTreasury(address protocolTreasury_) private {
        require(protocolTreasury_ != address(0), SettlementZeroAddress());
        _protocolTreasury = protocolTreasury_;
        emit ProtocolTreasuryUpdated(protocolTreasury_);
    }
}
