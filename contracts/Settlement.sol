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
import {FeeCeilings} from "./libraries/FeeCeilings.sol";
import {UtcMonth} from "./libraries/UtcMonth.sol";

/// @title Settlement
/// @notice The market's escrow vault for the payment token and EnergyToken (see ISettlement).
/// @dev Deployed by EnergyTrading's constructor: the deployer is the market, fixed as an immutable, so the check on
/// every lock and settle reads no storage and the vault is never unwired.
/// Permissions: `setProtocolTreasury` is ADMIN (through the AccessManager); `lock`,
/// `unlock`, `settleTaker`, `settleMaker` and `settleResting` only that EnergyTrading; `deposit` and `withdraw` move only the caller's own balance; sweeps are open because fees
/// only ever go to their treasury. The settle functions still refuse a trade of zero value on either side
/// and fee rates above MAX_GRID_FEE_BPS / MAX_PROTOCOL_FEE_BPS, so even a faulty caller cannot move one token for
/// nothing or overcharge. Both fee rates come from the market with each settle call (the grid rate from its copy
/// of the zone's schedule, the protocol rate from its governed config), so a settlement reads no rate slot.
/// Reentrancy: every state-changing function is `nonReentrant` (one transient-storage lock, EIP-1153), and
/// the ones that transfer tokens follow checks-effects-interactions; lock/unlock/settle transfer nothing. A
/// token that calls back into the vault (or into EnergyTrading, which calls the vault) mid-transfer reverts.
contract Settlement is ISettlement, AccessManaged, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;
    using SafeCast for uint256;

    // ─────────────────────────────────────────────────────────────── constants

    /// @inheritdoc ISettlement
    uint16 public constant MAX_PROTOCOL_FEE_BPS = FeeCeilings.MAX_PROTOCOL_FEE_BPS;
    /// @inheritdoc ISettlement
    uint16 public constant MAX_GRID_FEE_BPS = 1_000;
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
    /// @dev The market that deployed this vault.
    address private immutable _energyTrading;

    /// @dev Where swept protocol fees go (read by sweeps only).
    address private _protocolTreasury;
    mapping(uint32 zone => AccruedFees) private _accrued;
    mapping(address account => mapping(address token => Balance)) private _balances;
    mapping(address account => mapping(uint32 month => Statement)) private _statements;

    // ─────────────────────────────────────────────────────────────── constructor

    /// @dev The deployer becomes the vault's EnergyTrading (see the contract's notes).
    /// @param authority The AccessManager.
    /// @param gridManagement_ Zones: grid fee schedules and treasuries.
    /// @param paymentToken_ The payment token (a stablecoin; MockStablecoin on local chains).
    /// @param energyToken_ The EnergyToken.
    /// @param protocolTreasury_ Where swept protocol fees go.
    constructor(
        address authority,
        IGridManagement gridManagement_,
        IERC20 paymentToken_,
        IERC20 energyToken_,
        address protocolTreasury_
    ) AccessManaged(authority) {
        require(
            address(gridManagement_) != address(0) && address(paymentToken_) != address(0)
                && address(energyToken_) != address(0) && paymentToken_ != energyToken_,
            SettlementZeroAddress()
        );
        _gridManagement = gridManagement_;
        _paymentToken = paymentToken_;
        _energyToken = energyToken_;
        _energyTrading = msg.sender;
        emit EnergyTradingSet(msg.sender);
        _setProtocolTreasury(protocolTreasury_);
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
    function settleTaker(
        uint32 zone,
        address taker,
        bool takerBuys,
        uint256 amountWh,
        uint256 notional,
        uint256 takerLock,
        uint16 gridFeeBps,
        uint16 protocolFeeBps_
    ) external nonReentrant returns (TradeAmounts memory amounts) {
        _onlyEnergyTrading();
        (address gives, address gets) = takerBuys
            ? (address(_paymentToken), address(_energyToken))
            : (address(_energyToken), address(_paymentToken));
        uint256 debit = takerLock;
        uint256 credit;
        FeeContext memory ctx;
        if (amountWh != 0) {
            require(notional != 0, SettlementZeroAmount());
            ctx = _feeContext(gridFeeBps, protocolFeeBps_);
            amounts = _feesOn(notional, ctx);
            uint256 fees = amounts.gridFee + amounts.protocolFee;
            // a buyer pays the fees on top, a seller out of its proceeds
            (debit, credit) = takerBuys ? (debit + notional + fees, amountWh) : (debit + amountWh, notional - fees);
        }
        _debitTaker(taker, gives, debit, takerLock);
        if (amountWh == 0) return amounts;
        _creditAvailable(taker, gets, credit);
        if (takerBuys) {
            _recordPurchase(taker, ctx.month, amountWh, notional, amounts.gridFee + amounts.protocolFee);
        } else {
            _recordSale(taker, ctx.month, amountWh, credit, amounts.gridFee + amounts.protocolFee);
        }
        _accrue(zone, ctx, amounts);
    }

    /// @inheritdoc ISettlement
    function settleMaker(address maker, bool makerBuys, uint256 amountWh, uint256 notional, uint256 unlockAmount)
        external
        nonReentrant
    {
        _onlyEnergyTrading();
        // fills and their value come together: nothing for nothing
        require((amountWh == 0) == (notional == 0), SettlementZeroAmount());
        (address gave, address gets) = makerBuys
            ? (address(_paymentToken), address(_energyToken))
            : (address(_energyToken), address(_paymentToken));
        (uint256 spent, uint256 received) = makerBuys ? (notional, amountWh) : (amountWh, notional);
        Balance storage escrow = _balances[maker][gave];
        uint256 locked = escrow.locked;
        uint256 debit = spent + unlockAmount;
        require(locked >= debit, SettlementInsufficientLocked(maker, gave, locked, debit));
        unchecked {
            escrow.locked = uint128(locked - debit);
        }
        if (unlockAmount != 0) {
            escrow.available = (escrow.available + unlockAmount).toUint128();
            emit Unlocked(maker, gave, unlockAmount);
        }
        if (amountWh == 0) return;
        _creditAvailable(maker, gets, received);
        uint32 month = UtcMonth.monthOf(block.timestamp);
        if (makerBuys) _recordPurchase(maker, month, amountWh, notional, 0);
        else _recordSale(maker, month, amountWh, notional, 0);
        emit MakerSettled(maker, makerBuys, amountWh, notional);
    }

    /// @inheritdoc ISettlement
    function settleResting(
        uint32 zone,
        address buyer,
        address seller,
        uint64 amountWh,
        uint128 pricePerKWh,
        uint256 buyerRefund,
        uint16 gridFeeBps,
        uint16 protocolFeeBps_
    ) external nonReentrant returns (TradeAmounts memory amounts) {
        _onlyEnergyTrading();
        require(amountWh != 0 && pricePerKWh != 0, SettlementZeroAmount());
        FeeContext memory ctx = _feeContext(gridFeeBps, protocolFeeBps_);
        amounts = _feesOn(_notionalOf(amountWh, pricePerKWh), ctx);
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
        _recordPurchase(buyer, month, amountWh, amounts.notional, 0);
        _recordSale(seller, month, amountWh, net, fees);
        _accrue(zone, ctx, amounts);
    }

    // ─────────────────────────────────────────────────────────────── anyone

    /// @inheritdoc ISettlement
    function sweepZoneFees(uint32 zone) external nonReentrant returns (uint256 amount) {
        amount = _accrued[zone].grid;
        require(amount != 0, SettlementNoFeesAccrued());
        address treasury = _gridManagement.getZone(zone).treasury;
        _accrued[zone].grid = 0;
        emit ZoneFeesSwept(zone, treasury, amount);
        _paymentToken.safeTransfer(treasury, amount);
    }

    /// @inheritdoc ISettlement
    function sweepProtocolFees(uint32 zone) external nonReentrant returns (uint256 amount) {
        amount = _accrued[zone].protocol;
        require(amount != 0, SettlementNoFeesAccrued());
        address treasury = _protocolTreasury;
        _accrued[zone].protocol = 0;
        emit ProtocolFeesSwept(zone, treasury, amount);
        _paymentToken.safeTransfer(treasury, amount);
    }

    // ─────────────────────────────────────────────────────────────── governance

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
        return _accrued[zone].grid;
    }

    /// @inheritdoc ISettlement
    function accruedProtocolFees(uint32 zone) external view returns (uint256) {
        return _accrued[zone].protocol;
    }

    /// @inheritdoc ISettlement
    function notionalOf(uint64 amountWh, uint256 pricePerKWh) external pure returns (uint256) {
        return Math.mulDiv(amountWh, pricePerKWh, WH_PER_KWH, Math.Rounding.Ceil);
    }

    /// @dev notionalOf for settleResting's operands, whose product (< 2^192) cannot overflow.
    function _notionalOf(uint64 amountWh, uint128 pricePerKWh) private pure returns (uint256) {
        return Math.ceilDiv(uint256(amountWh) * pricePerKWh, WH_PER_KWH);
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

    /// @dev A taker's `debit` out of its available `gives`, of which `takerLock` moves to locked (what rests).
    function _debitTaker(address taker, address gives, uint256 debit, uint256 takerLock) private {
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

    function _recordPurchase(address account, uint32 month, uint256 amountWh, uint256 paid, uint256 fees) private {
        Statement storage s = _statements[account][month];
        s.boughtWh = (s.boughtWh + amountWh).toUint64();
        s.paid = (s.paid + paid).toUint96();
        if (fees != 0) s.buyFees = (s.buyFees + fees).toUint96();
    }

    function _recordSale(address account, uint32 month, uint256 amountWh, uint256 earned, uint256 fees) private {
        Statement storage s = _statements[account][month];
        s.soldWh = (s.soldWh + amountWh).toUint64();
        s.earned = (s.earned + earned).toUint96();
        s.fees = (s.fees + fees).toUint96();
    }

    function _feeContext(uint16 gridFeeBps, uint16 protocolFeeBps_) private view returns (FeeContext memory ctx) {
        require(gridFeeBps <= MAX_GRID_FEE_BPS, SettlementGridFeeTooHigh(gridFeeBps, MAX_GRID_FEE_BPS));
        require(
            protocolFeeBps_ <= MAX_PROTOCOL_FEE_BPS, SettlementProtocolFeeTooHigh(protocolFeeBps_, MAX_PROTOCOL_FEE_BPS)
        );
        ctx.gridFeeBps = gridFeeBps;
        ctx.protocolFeeBps = protocolFeeBps_;
        ctx.month = UtcMonth.monthOf(block.timestamp);
    }

    function _accrue(uint32 zone, FeeContext memory ctx, TradeAmounts memory amounts) private {
        if (amounts.gridFee != 0 || amounts.protocolFee != 0) {
            AccruedFees storage accrued = _accrued[zone];
            // checked: the sums of fees ever charged in a zone are far below 2^128
            (accrued.grid, accrued.protocol) = (
                (accrued.grid + amounts.gridFee).toUint128(), (accrued.protocol + amounts.protocolFee).toUint128()
            );
        }
        emit TradesSettled(
            zone, ctx.gridFeeBps, ctx.protocolFeeBps, amounts.notional, amounts.gridFee, amounts.protocolFee
        );
    }

    /// @dev See ISettlement: the total fee rounds up against the payer, the protocol's share down; the grid
    /// fee is the rest, so nothing is created or lost.
    /// Plain checked arithmetic: a notional times a rate of at most 1,500 bps overflows only above 2^245, far beyond
    /// any token supply, and then reverts rather than rounding wrongly.
    function _feesOn(uint256 notional, FeeContext memory ctx) private pure returns (TradeAmounts memory amounts) {
        amounts.notional = notional;
        uint256 totalFee = Math.ceilDiv(notional * (uint256(ctx.gridFeeBps) + ctx.protocolFeeBps), BPS);
        amounts.protocolFee = (notional * ctx.protocolFeeBps) / BPS;
        amounts.gridFee = totalFee - amounts.protocolFee;
    }

    function _onlyEnergyTrading() private view {
        require(msg.sender == _energyTrading, SettlementCallerNotEnergyTrading(msg.sender));
    }

    function _supported(address token) private view {
        require(
            token == address(_paymentToken) || token == address(_energyToken), SettlementUnsupportedToken(token)
        );
    }

    function _setProtocolTreasury(address protocolTreasury_) private {
        require(protocolTreasury_ != address(0), SettlementZeroAddress());
        _protocolTreasury = protocolTreasury_;
        emit ProtocolTreasuryUpdated(protocolTreasury_);
    }
}
