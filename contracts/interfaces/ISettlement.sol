// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title ISettlement
/// @notice The market's escrow vault. Traders deposit the payment token and EnergyToken credits; each
/// account's internal balance per token is split into `available` (only the owner may withdraw it) and
/// `locked` (escrow of open orders, moved only by EnergyTrading). Trades settle in three ways:
/// - a taker (an order that matches at once) against resting makers (`settleTaker`): the taker's side settles
///   at once, it pays or receives the notional at the makers' prices and pays the zone's grid fee and the
///   protocol fee on top (a buyer) or out of its proceeds (a seller). The makers' side settles later
///   (`settleMaker`: on claim, cancel or expiry; EnergyTrading keeps what each resting order filled since),
///   for the exact notional and no fee, so a taker's fills never write the makers' balances;
/// - two resting orders crossed by `matchOrders` (`settleResting`): both escrows settle at once and the
///   seller pays the fees out of the notional.
/// @dev Prices are in payment-token base units per kWh; credits are EnergyToken base units (Wh).
/// Notional = ceil(amountWh × pricePerKWh / 1000): the buyer pays any rounding, never the escrow (EnergyTrading
/// only uses prices that are multiples of 1000, so its notionals are exact).
/// Fees on a notional: totalFee = ceil(notional × (gridFeeBps + protocolFeeBps) / 10_000) and protocolFee =
/// floor(notional × protocolFeeBps / 10_000); the grid fee is the rest, so the fee rounding goes the fee side's
/// way and every base unit lands somewhere exactly once. A taker's fees are computed once on the notional of
/// all its fills. EnergyTrading passes the zone's grid fee rate (peak or off-peak at the block's timestamp,
/// from its copy of GridManagement's schedule) and the protocol fee rate (governed on EnergyTrading); the vault
/// refuses rates above its ceilings.
/// Fees accrue inside the vault per zone (grid and protocol share one slot) and are swept by anyone to the
/// zone's current treasury / the protocol treasury, so a trade makes no extra external calls or transfers
/// and a treasury that cannot receive never blocks the market. Invariant: for each token, the vault's
/// balance equals the sum of all accounts' available + locked balances plus the accrued, unswept fees, plus
/// what takers paid to makers not yet settled and minus what makers sold out of their locked escrow and is
/// not yet settled (EnergyTrading's `unsettledFills`).
/// Withdrawals and sweeps work even while the system is paused or a zone is halted; halts and
/// compliance limits are EnergyTrading's to enforce before it locks or settles.
/// Statements are kept per account and UTC calendar month, keyed `YYYYMM` (see UtcMonth).
interface ISettlement {
    // ─────────────────────────────────────────────────────────────── types

    /// @notice An account's internal balance of one token (one slot).
    struct Balance {
        uint128 available;
        uint128 locked;
    }

    /// @notice An account's activity in one UTC calendar month, counted when it settles into the account's
    /// balance: a taker's trades in the month they happen, a maker's fills in the month they are settled
    /// (claim, cancel or expiry). `paid` is the notional paid as a buyer, `buyFees` the fees paid on top as a
    /// buying taker, `earned` what it received as a seller after fees, `fees` the fees deducted from its sales.
    /// Two slots: the seller's side (`soldWh`, `earned`, `fees`) and the buyer's side (`boughtWh`, `paid`,
    /// `buyFees`), so a settlement writes one slot per party.
    struct Statement {
        uint64 soldWh;
        uint96 earned;
        uint96 fees;
        uint64 boughtWh;
        uint96 paid;
        uint96 buyFees;
    }

    /// @notice Fees accrued in a zone and not yet swept (one slot).
    struct AccruedFees {
        uint128 grid;
        uint128 protocol;
    }

    /// @notice What a settle call moved in total, in payment-token base units.
    struct TradeAmounts {
        uint256 notional;
        uint256 gridFee;
        uint256 protocolFee;
    }

    // ─────────────────────────────────────────────────────────────── errors

    /// @notice A zero address where an address is required.
    error SettlementZeroAddress();
    /// @notice A zero amount (or price) where a positive one is required.
    error SettlementZeroAmount();
    /// @notice Only the payment token and EnergyToken are held by the vault.
    error SettlementUnsupportedToken(address token);
    /// @notice An account's available balance cannot cover the request.
    error SettlementInsufficientAvailable(address account, address token, uint256 available, uint256 requested);
    /// @notice An account's locked balance cannot cover the request.
    error SettlementInsufficientLocked(address account, address token, uint256 locked, uint256 requested);
    /// @notice Only EnergyTrading may lock, unlock and settle.
    error SettlementCallerNotEnergyTrading(address caller);
    /// @notice A protocol fee rate above MAX_PROTOCOL_FEE_BPS.
    error SettlementProtocolFeeTooHigh(uint16 protocolFeeBps, uint16 maxProtocolFeeBps);
    /// @notice A grid fee rate above MAX_GRID_FEE_BPS (GridManagement's own ceiling).
    error SettlementGridFeeTooHigh(uint16 gridFeeBps, uint16 maxGridFeeBps);
    /// @notice A sweep found no accrued fees.
    error SettlementNoFeesAccrued();

    // ─────────────────────────────────────────────────────────────── events

    /// @notice `account` deposited `amount` of `token` into its available balance.
    event Deposited(address indexed account, address indexed token, uint256 amount);
    /// @notice `account` withdrew `amount` of `token` from its available balance.
    event Withdrawn(address indexed account, address indexed token, uint256 amount);
    /// @notice EnergyTrading moved `amount` of `account`'s `token` from available to locked.
    event Locked(address indexed account, address indexed token, uint256 amount);
    /// @notice EnergyTrading moved `amount` of `account`'s `token` from locked back to available.
    event Unlocked(address indexed account, address indexed token, uint256 amount);
    /// @notice EnergyTrading settled a taker's fills or a matchOrders fill in `zone` (one event per settle
    /// call; the per-fill trades are EnergyTrading's `TradeExecuted`): the notional and the fees charged on it
    /// at the two rates given here.
    event TradesSettled(
        uint32 indexed zone,
        uint16 gridFeeBps,
        uint16 protocolFeeBps,
        uint256 notional,
        uint256 gridFee,
        uint256 protocolFee
    );
    /// @notice A maker's fills since its last settlement were settled: `amountWh` bought or sold for
    /// `notional` (no fee: its takers paid them).
    event MakerSettled(address indexed maker, bool makerBuys, uint256 amountWh, uint256 notional);
    /// @notice A zone's accrued grid fees were paid to its treasury.
    event ZoneFeesSwept(uint32 indexed zone, address indexed treasury, uint256 amount);
    /// @notice A zone's accrued protocol fees were paid to the protocol treasury.
    event ProtocolFeesSwept(uint32 indexed zone, address indexed treasury, uint256 amount);
    /// @notice The vault was deployed by `energyTrading`, its only caller for lock, unlock and settle.
    event EnergyTradingSet(address indexed energyTrading);
    /// @notice The protocol treasury changed.
    event ProtocolTreasuryUpdated(address indexed protocolTreasury);

    // ─────────────────────────────────────────────────────────────── accounts

    /// @notice Pulls `amount` of `token` (the payment token or EnergyToken) from the caller into its
    /// available balance; the caller must have approved the vault. Credits what the vault actually received.
    function deposit(address token, uint256 amount) external;
    /// @notice `deposit` after an ERC-2612 permit signed by the caller. A permit that fails (e.g. front-run
    /// and already used) is ignored when the allowance already suffices.
    function depositWithPermit(address token, uint256 amount, uint256 deadline, uint8 v, bytes32 r, bytes32 s)
        external;
    /// @notice Sends `amount` of the caller's available `token` to the caller. Always works, even while
    /// paused or with a zone halted.
    function withdraw(address token, uint256 amount) external;

    // ─────────────────────────────────────────────────────────────── EnergyTrading

    /// @notice Moves `amount` of `account`'s `token` from available to locked (order escrow).
    function lock(address account, address token, uint256 amount) external;
    /// @notice Moves `amount` of `account`'s `token` from locked back to available (cancel, expiry, refund).
    function unlock(address account, address token, uint256 amount) external;
    /// @notice Settles a taker's side of its fills in `zone`: `amountWh` in total for `notional` at the makers'
    /// prices, with fees at `gridFeeBps` and `protocolFeeBps` on `notional`; then locks `takerLock` of the
    /// taker's escrow for the part of its order that rests. A buying taker pays notional + fees from its
    /// available payment and receives the credits as available; a selling taker delivers the credits from its
    /// available balance and receives notional − fees. `takerLock` is in the token the taker gives. The makers
    /// settle later (`settleMaker`).
    function settleTaker(
        uint32 zone,
        address taker,
        bool takerBuys,
        uint256 amountWh,
        uint256 notional,
        uint256 takerLock,
        uint16 gridFeeBps,
        uint16 protocolFeeBps
    ) external returns (TradeAmounts memory amounts);
    /// @notice Settles what a maker's resting order filled since its last settlement, `amountWh` for
    /// `notional` (no fee), out of its locked escrow, and unlocks `unlockAmount` more of that escrow (the rest
    /// of a cancelled or expired order). A selling maker's locked credits pay the Wh and it receives the
    /// notional as available; a buying maker's locked payment pays the notional and it receives the credits.
    function settleMaker(address maker, bool makerBuys, uint256 amountWh, uint256 notional, uint256 unlockAmount)
        external;
    /// @notice Settles a fill between two resting orders in `zone` (both escrows locked) at `pricePerKWh`, the
    /// seller paying the fees at `gridFeeBps` and `protocolFeeBps` out of the notional, and returns
    /// `buyerRefund` of the buyer's locked payment to its available balance (the part of its escrow the
    /// better price left over).
    function settleResting(
        uint32 zone,
        address buyer,
        address seller,
        uint64 amountWh,
        uint128 pricePerKWh,
        uint256 buyerRefund,
        uint16 gridFeeBps,
        uint16 protocolFeeBps
    ) external returns (TradeAmounts memory amounts);

    // ─────────────────────────────────────────────────────────────── anyone

    /// @notice Pays `zone`'s accrued grid fees to the zone's current treasury.
    function sweepZoneFees(uint32 zone) external returns (uint256 amount);
    /// @notice Pays `zone`'s accrued protocol fees to the protocol treasury.
    function sweepProtocolFees(uint32 zone) external returns (uint256 amount);

    // ─────────────────────────────────────────────────────────────── governance (ADMIN)

    /// @notice Sets where swept protocol fees go (governance's treasury).
    function setProtocolTreasury(address protocolTreasury) external;

    // ─────────────────────────────────────────────────────────────── views

    /// @notice Upper bound of the protocol fee rate a settlement accepts, in bps (as EnergyTrading's).
    function MAX_PROTOCOL_FEE_BPS() external view returns (uint16);
    /// @notice Upper bound of the grid fee rate a settlement accepts, in bps (as GridManagement's).
    function MAX_GRID_FEE_BPS() external view returns (uint16);
    /// @notice The payment token (a stablecoin).
    function paymentToken() external view returns (address);
    /// @notice The EnergyToken (credits, 1 base unit = 1 Wh).
    function energyToken() external view returns (address);
    /// @notice The zone registry whose grid fees and treasuries apply.
    function gridManagement() external view returns (address);
    /// @notice The only caller of lock, unlock, settleTaker, settleMaker and settleResting: the EnergyTrading
    /// that deployed this vault (fixed at construction).
    function energyTrading() external view returns (address);
    /// @notice Where swept protocol fees go.
    function protocolTreasury() external view returns (address);
    /// @notice `account`'s available and locked balance of `token`.
    function balanceOf(address account, address token) external view returns (Balance memory);
    /// @notice `account`'s statement for UTC calendar month `month` (`YYYYMM`).
    function statement(address account, uint32 month) external view returns (Statement memory);
    /// @notice Grid fees accrued for `zone` and not yet swept, in payment-token base units.
    function accruedZoneFees(uint32 zone) external view returns (uint256);
    /// @notice Protocol fees accrued in `zone` and not yet swept, in payment-token base units.
    function accruedProtocolFees(uint32 zone) external view returns (uint256);
    /// @notice ceil(amountWh × pricePerKWh / 1000): what a buyer pays for `amountWh` at `pricePerKWh`.
    function notionalOf(uint64 amountWh, uint256 pricePerKWh) external pure returns (uint256);
    /// @notice `YYYYMM` of the UTC calendar month `timestamp` falls in: the statement key.
    function monthOf(uint256 timestamp) external pure returns (uint32);
}
