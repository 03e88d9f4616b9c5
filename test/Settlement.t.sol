// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {SlimTest} from "./utils/SlimTest.sol";
import {Vm} from "forge-std/Vm.sol";
import {IAccessManaged} from "@openzeppelin/contracts/access/manager/IAccessManaged.sol";
import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {Settlement} from "../contracts/Settlement.sol";
import {MockStablecoin} from "../contracts/MockStablecoin.sol";
import {IGridManagement} from "../contracts/interfaces/IGridManagement.sol";
import {ISettlement} from "../contracts/interfaces/ISettlement.sol";
import {MarketFixture} from "./utils/MarketFixture.sol";

// ─────────────────────────────────────────────────────────────── test tokens

/// @dev A payment token that, once armed, calls back into the vault from every transfer to or from it and
/// records how the vault answered. The vault under attack wires this token as its EnergyTrading too, so
/// re-entering lock/unlock/settle would pass the caller check: only the reentrancy guard can refuse them.
contract SettlementReentrantToken is ERC20 {
    enum Reentry {
        None,
        Deposit,
        DepositWithPermit,
        Withdraw,
        SweepZoneFees,
        SweepProtocolFees,
        Lock,
        Unlock,
        SettleTaker,
        SettleMaker,
        SettleResting
    }

    uint8 public constant REENTRY_KINDS = 10;

    ISettlement public vault;
    uint32 public zone;
    Reentry public reentry;
    /// @dev Re-entries tried, refused with ReentrancyGuardReentrantCall, and refused with anything else.
    uint256 public attempts;
    uint256 public refused;
    uint256 public succeeded;
    bytes public lastError;

    constructor() ERC20("Reentrant USD", "rUSD") {}

    function decimals() public pure override returns (uint8) {
        return 6;
    }

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @dev Targets `vault_` (and `zone_` for sweeps and settles) and lets it pull this token's own balance.
    function aim(ISettlement vault_, uint32 zone_) external {
        vault = vault_;
        zone = zone_;
        _approve(address(this), address(vault_), type(uint256).max);
    }

    function arm(Reentry reentry_) external {
        reentry = reentry_;
    }

    function _update(address from, address to, uint256 value) internal override {
        super._update(from, to, value);
        Reentry kind = reentry;
        if (kind == Reentry.None || (from != address(vault) && to != address(vault))) return;
        reentry = Reentry.None; // one attempt per transfer
        attempts += 1;
        (bool ok, bytes memory err) = address(vault).call(_reentryCall(kind));
        if (ok) {
            succeeded += 1;
        } else {
            lastError = err;
            if (err.length == 4 && bytes4(err) == ReentrancyGuardTransient.ReentrancyGuardReentrantCall.selector) {
                refused += 1;
            }
        }
        reentry = kind;
    }

    function _reentryCall(Reentry kind) private view returns (bytes memory) {
        address self = address(this);
        if (kind == Reentry.Deposit) return abi.encodeCall(ISettlement.deposit, (self, 1));
        if (kind == Reentry.DepositWithPermit) {
            return abi.encodeCall(ISettlement.depositWithPermit, (self, 1, 0, 0, bytes32(0), bytes32(0)));
        }
        if (kind == Reentry.Withdraw) return abi.encodeCall(ISettlement.withdraw, (self, 1));
        if (kind == Reentry.SweepZoneFees) return abi.encodeCall(ISettlement.sweepZoneFees, (zone));
        if (kind == Reentry.SweepProtocolFees) return abi.encodeCall(ISettlement.sweepProtocolFees, (zone));
        if (kind == Reentry.Lock) return abi.encodeCall(ISettlement.lock, (self, self, 1));
        if (kind == Reentry.Unlock) return abi.encodeCall(ISettlement.unlock, (self, self, 1));
        if (kind == Reentry.SettleTaker) return abi.encodeCall(ISettlement.settleTaker, (zone, self, true, 0, 0, 1, 0, 0));
        if (kind == Reentry.SettleMaker) return abi.encodeCall(ISettlement.settleMaker, (self, true, 0, 0, 1));
        return abi.encodeCall(ISettlement.settleResting, (zone, self, self, 1, 1_000, 0, 50, 0));
    }
}

/// @dev A payment token that burns 1 % of every transfer (fee-on-transfer), to prove the vault credits what
/// actually arrived.
contract SettlementFeeOnTransferToken is ERC20 {
    constructor() ERC20("Lossy USD", "lUSD") {}

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function _update(address from, address to, uint256 value) internal override {
        if (from == address(0) || to == address(0)) return super._update(from, to, value);
        uint256 burnt = value / 100;
        super._update(from, address(0), burnt);
        super._update(from, to, value - burnt);
    }
}

// ─────────────────────────────────────────────────────────────── fixture

/// @dev MarketFixture plus a second vault, `vault`, whose EnergyTrading is the pranked `fakeTrading`, so
/// lock/unlock/settle can be driven directly. A second zone with its own treasury keeps zone fees apart.
/// The fixture's clock is 2025-06-15 15:06:40 UTC: off-peak (grid 50 bps + protocol 20 bps). The vault takes
/// the grid fee rate from its caller; the helpers pass the zone's scheduled rate, as EnergyTrading does.
abstract contract SettlementFixture is MarketFixture {
    uint256 internal constant JUNE_15_2025 = 1_749_945_600; // 00:00 UTC
    uint256 internal constant PEAK_START = JUNE_15_2025 + 17 hours;
    uint256 internal constant PEAK_END = JUNE_15_2025 + 21 hours;
    uint256 internal constant JULY_1_2025 = 1_751_328_000;
    uint256 internal constant FEB_29_2024 = 1_709_164_800;
    uint256 internal constant MARCH_1_2024 = 1_709_251_200;
    uint32 internal constant JUNE_2025 = 202_506;
    uint32 internal constant JULY_2025 = 202_507;
    uint16 internal constant OFF_PEAK_BPS = 50; // zone; its peak is 150 bps in [17:00, 21:00) UTC

    Settlement internal vault;
    address internal fakeTrading = makeAddr("fakeTrading");
    /// @dev The protocol fee rate the stand-in market passes with each settle (EnergyTrading's governed rate).
    uint16 internal protocolBps = PROTOCOL_FEE_BPS;
    address internal zone2Treasury = makeAddr("zone2Treasury");
    uint32 internal zone2;

    function setUp() public virtual override {
        super.setUp();
        // EnergyTrading deploys its vault; here a stand-in account does, and becomes its only caller.
        vm.prank(fakeTrading);
        vault = new Settlement(address(manager), grid, usd, token, protocolTreasury);
        IGridManagement.ZoneConfig memory config = defaultZoneConfig("Hillside");
        config.treasury = zone2Treasury;
        config.fees =
            IGridManagement.FeeSchedule({peakFeeBps: 300, offPeakFeeBps: 100, peakStartHour: 22, peakEndHour: 2});
        zone2 = grid.createZone(config);
    }

    /// @dev Wallet balances (not deposited) and unlimited approvals of `vault` for both tokens.
    function _fundVault(address account, uint256 usdAmount, uint256 creditsWh) internal {
        if (usdAmount != 0) deal(address(usd), account, usd.balanceOf(account) + usdAmount);
        if (creditsWh != 0) deal(address(token), account, token.balanceOf(account) + creditsWh, true);
        vm.startPrank(account);
        usd.approve(address(vault), type(uint256).max);
        token.approve(address(vault), type(uint256).max);
        vm.stopPrank();
    }

    function _depositVault(address account, uint256 usdAmount, uint256 creditsWh) internal {
        _fundVault(account, usdAmount, creditsWh);
        vm.startPrank(account);
        if (usdAmount != 0) vault.deposit(address(usd), usdAmount);
        if (creditsWh != 0) vault.deposit(address(token), creditsWh);
        vm.stopPrank();
    }

    /// @dev Deposits and locks, as EnergyTrading does when an order rests.
    function _escrow(address account, uint256 usdAmount, uint256 creditsWh) internal {
        _depositVault(account, usdAmount, creditsWh);
        vm.startPrank(fakeTrading);
        if (usdAmount != 0) vault.lock(account, address(usd), usdAmount);
        if (creditsWh != 0) vault.lock(account, address(token), creditsWh);
        vm.stopPrank();
    }

    function _balance(address account, address asset) internal view returns (ISettlement.Balance memory) {
        return vault.balanceOf(account, asset);
    }

    /// @dev The zone's grid fee rate now, as EnergyTrading passes it.
    function _gridBps(uint32 zone_) internal view returns (uint16) {
        return grid.gridFeeBps(zone_, uint64(block.timestamp));
    }

    function _settleResting(uint32 zone_, address buyer, address seller, uint64 amountWh, uint128 price, uint256 refund)
        internal
        returns (ISettlement.TradeAmounts memory)
    {
        uint16 gridFeeBps = _gridBps(zone_);
        vm.prank(fakeTrading);
        return vault.settleResting(zone_, buyer, seller, amountWh, price, refund, gridFeeBps, protocolBps);
    }

    function _settleTaker(
        uint32 zone_,
        address taker,
        bool takerBuys,
        uint256 amountWh,
        uint256 notional,
        uint256 takerLock
    ) internal returns (ISettlement.TradeAmounts memory) {
        uint16 gridFeeBps = _gridBps(zone_);
        vm.prank(fakeTrading);
        return vault.settleTaker(zone_, taker, takerBuys, amountWh, notional, takerLock, gridFeeBps, protocolBps);
    }

    function _settleMaker(address maker, bool makerBuys, uint256 amountWh, uint256 notional, uint256 unlockAmount)
        internal
    {
        vm.prank(fakeTrading);
        vault.settleMaker(maker, makerBuys, amountWh, notional, unlockAmount);
    }

    /// @dev The fee split ISettlement specifies, computed independently of the vault.
    function _expectedFees(uint256 notional, uint256 gridBps, uint256 protocolRateBps)
        internal
        pure
        returns (uint256 gridFee, uint256 protocolFee)
    {
        uint256 totalFee = Math.mulDiv(notional, gridBps + protocolRateBps, 10_000, Math.Rounding.Ceil);
        protocolFee = notional * protocolRateBps / 10_000;
        gridFee = totalFee - protocolFee;
    }

    /// @dev Vault holdings of `asset` minus what it owes: zero when the books balance.
    function _unbacked(address asset, address[] memory accounts) internal view returns (int256) {
        uint256 owed;
        for (uint256 i; i < accounts.length; ++i) {
            ISettlement.Balance memory b = vault.balanceOf(accounts[i], asset);
            owed += uint256(b.available) + b.locked;
        }
        if (asset == address(usd)) {
            owed += vault.accruedZoneFees(zone) + vault.accruedZoneFees(zone2) + vault.accruedProtocolFees(zone)
                + vault.accruedProtocolFees(zone2);
        }
        return int256(IERC20(asset).balanceOf(address(vault))) - int256(owed);
    }

    /// @dev How many of the logs recorded since the last call the vault emitted.
    function _vaultLogCount() internal returns (uint256 count) {
        Vm.Log[] memory logs = vm.getRecordedLogs();
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].emitter == address(vault)) ++count;
        }
    }

    function _accounts4() internal view returns (address[] memory accounts) {
        accounts = new address[](4);
        accounts[0] = alice;
        accounts[1] = bob;
        accounts[2] = carol;
        accounts[3] = dave;
    }
}

// ─────────────────────────────────────────────────────────────── unit and fuzz tests

contract SettlementTest is SettlementFixture {
    bytes32 internal constant PERMIT_TYPEHASH =
        keccak256("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)");

    function _signPermit(address asset, uint256 key, uint256 value, uint256 deadline)
        internal
        view
        returns (uint8 v, bytes32 r, bytes32 s)
    {
        address signer = vm.addr(key);
        bytes32 structHash = keccak256(
            abi.encode(PERMIT_TYPEHASH, signer, address(vault), value, IERC20Permit(asset).nonces(signer), deadline)
        );
        bytes32 domainSeparator = IERC20Permit(asset).DOMAIN_SEPARATOR();
        return vm.sign(key, keccak256(abi.encodePacked("\x19\x01", domainSeparator, structHash)));
    }

    /// @dev Alice rests a sell of 2 kWh, Bob a buy escrowing 10 USD.
    function _restingPair() internal {
        _escrow(alice, 0, 2_000);
        _escrow(bob, 10 * USD, 0);
    }

    function _unauthorized(address caller) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(IAccessManaged.AccessManagedUnauthorized.selector, caller);
    }

    function _notTrading(address caller) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(ISettlement.SettlementCallerNotEnergyTrading.selector, caller);
    }

    // ─────────────────────────────────────────────────────────────── constructor and wiring

    function test_constructor_storesWiring() public view {
        assertEq(vault.paymentToken(), address(usd));
        assertEq(vault.energyToken(), address(token));
        assertEq(vault.gridManagement(), address(grid));
        assertEq(vault.energyTrading(), fakeTrading);
        assertEq(vault.protocolTreasury(), protocolTreasury);
        assertEq(vault.MAX_PROTOCOL_FEE_BPS(), 500);
        assertEq(vault.accruedProtocolFees(zone), 0);
        assertEq(vault.accruedZoneFees(zone), 0);
    }

    function test_constructor_fixtureWiresRealEnergyTrading() public {
        assertEq(settlement.energyTrading(), address(trading));
        vm.prank(fakeTrading);
        vm.expectRevert(_notTrading(fakeTrading));
        settlement.lock(alice, address(usd), 0);
    }

    function test_constructor_revertsOnZeroAddress() public {
        vm.expectRevert(ISettlement.SettlementZeroAddress.selector);
        new Settlement(address(manager), IGridManagement(address(0)), usd, token, protocolTreasury);
        vm.expectRevert(ISettlement.SettlementZeroAddress.selector);
        new Settlement(address(manager), grid, IERC20(address(0)), token, protocolTreasury);
        vm.expectRevert(ISettlement.SettlementZeroAddress.selector);
        new Settlement(address(manager), grid, usd, IERC20(address(0)), protocolTreasury);
        vm.expectRevert(ISettlement.SettlementZeroAddress.selector);
        new Settlement(address(manager), grid, usd, token, address(0));
    }

    function test_constructor_revertsWhenBothTokensAreTheSame() public {
        vm.expectRevert(ISettlement.SettlementZeroAddress.selector);
        new Settlement(address(manager), grid, usd, usd, protocolTreasury);
    }

    // ─────────────────────────────────────────────────────────────── monthOf

    function test_monthOf_knownDates() public view {
        assertEq(vault.monthOf(0), 197_001); // the epoch
        assertEq(vault.monthOf(1_750_000_000), JUNE_2025); // the fixture's clock
        assertEq(vault.monthOf(JULY_1_2025 - 1), JUNE_2025); // 2025-06-30 23:59:59
        assertEq(vault.monthOf(JULY_1_2025), JULY_2025);
        assertEq(vault.monthOf(1_735_689_599), 202_412); // 2024-12-31 23:59:59
        assertEq(vault.monthOf(1_735_689_600), 202_501); // 2025-01-01
        // 2024 is a leap year: Feb 29 exists and belongs to February
        assertEq(vault.monthOf(FEB_29_2024 - 1), 202_402); // 2024-02-28 23:59:59
        assertEq(vault.monthOf(FEB_29_2024), 202_402);
        assertEq(vault.monthOf(MARCH_1_2024 - 1), 202_402); // 2024-02-29 23:59:59
        assertEq(vault.monthOf(MARCH_1_2024), 202_403);
        // 2023 is not: Feb 28 is followed by March 1
        assertEq(vault.monthOf(1_677_628_799), 202_302); // 2023-02-28 23:59:59
        assertEq(vault.monthOf(1_677_628_800), 202_303); // 2023-03-01
        // 2000 is a leap year (divisible by 400)
        assertEq(vault.monthOf(951_782_400), 200_002); // 2000-02-29
        assertEq(vault.monthOf(951_868_800), 200_003); // 2000-03-01
        // 2100 is not (divisible by 100): 2100-03-01 follows 2100-02-28
        assertEq(vault.monthOf(4_107_542_399), 210_002);
        assertEq(vault.monthOf(4_107_542_400), 210_003);
        // 2400 is again
        assertEq(vault.monthOf(13_574_563_200), 240_002); // 2400-02-29
        assertEq(vault.monthOf(13_574_649_600), 240_003); // 2400-03-01
        assertEq(vault.monthOf(2_147_483_647), 203_801); // the 32-bit rollover, 2038-01-19
    }

    /// @dev The library's closed form agrees with counting days through a calendar, up to year 3000.
    function testFuzz_monthOf_matchesCalendar(uint256 timestamp) public view {
        timestamp = bound(timestamp, 0, 32_503_679_999); // 2999-12-31 23:59:59
        assertEq(vault.monthOf(timestamp), _calendarMonth(timestamp));
    }

    function _calendarMonth(uint256 timestamp) internal pure returns (uint32) {
        uint256 day = timestamp / 1 days;
        uint256 year = 1970;
        while (true) {
            uint256 yearDays = _isLeap(year) ? 366 : 365;
            if (day < yearDays) break;
            day -= yearDays;
            ++year;
        }
        uint8[12] memory monthDays = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
        if (_isLeap(year)) monthDays[1] = 29;
        uint256 month;
        while (day >= monthDays[month]) {
            day -= monthDays[month];
            ++month;
        }
        return uint32(year * 100 + month + 1);
    }

    function _isLeap(uint256 year) internal pure returns (bool) {
        return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    }

    // ─────────────────────────────────────────────────────────────── notionalOf

    function test_notionalOf_roundsUpAgainstTheBuyer() public view {
        assertEq(vault.notionalOf(2_000, PRICE), 500_000); // exact
        assertEq(vault.notionalOf(1, 1), 1); // 0.001 → 1
        assertEq(vault.notionalOf(3, 333), 1); // 0.999 → 1
        assertEq(vault.notionalOf(7, 1_000_001), 7_001); // 7000.007 → 7001
        assertEq(vault.notionalOf(0, PRICE), 0);
    }

    function testFuzz_notionalOf_isTheCeilingOfTheExactPrice(uint64 amountWh, uint128 pricePerKWh) public view {
        uint256 exact = uint256(amountWh) * pricePerKWh; // × 1000
        uint256 notional = vault.notionalOf(amountWh, pricePerKWh);
        assertGe(notional * 1_000, exact);
        assertLt(notional * 1_000, exact + 1_000);
    }

    // ─────────────────────────────────────────────────────────────── deposit

    function test_deposit_creditsAvailableForBothTokens() public {
        _fundVault(alice, 5 * USD, 1_500);
        vm.startPrank(alice);
        vm.expectEmit(address(vault));
        emit ISettlement.Deposited(alice, address(usd), 5 * USD);
        vault.deposit(address(usd), 5 * USD);
        vm.expectEmit(address(vault));
        emit ISettlement.Deposited(alice, address(token), 1_500);
        vault.deposit(address(token), 1_500);
        vm.stopPrank();

        assertEq(_balance(alice, address(usd)).available, 5 * USD);
        assertEq(_balance(alice, address(usd)).locked, 0);
        assertEq(_balance(alice, address(token)).available, 1_500);
        assertEq(_balance(alice, address(token)).locked, 0);
        assertEq(usd.balanceOf(address(vault)), 5 * USD);
        assertEq(token.balanceOf(address(vault)), 1_500);
        assertEq(usd.balanceOf(alice), 0);
        assertEq(token.balanceOf(alice), 0);
    }

    function test_deposit_revertsOnZeroAmount() public {
        vm.prank(alice);
        vm.expectRevert(ISettlement.SettlementZeroAmount.selector);
        vault.deposit(address(usd), 0);
    }

    function test_deposit_revertsOnUnsupportedToken() public {
        MockStablecoin other = new MockStablecoin();
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(ISettlement.SettlementUnsupportedToken.selector, address(other)));
        vault.deposit(address(other), 1);
    }

    function test_deposit_revertsWithoutAllowance() public {
        deal(address(usd), alice, USD);
        vm.prank(alice);
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, address(vault), 0, USD)
        );
        vault.deposit(address(usd), USD);
    }

    function test_deposit_creditsWhatArrived() public {
        SettlementFeeOnTransferToken lossy = new SettlementFeeOnTransferToken();
        Settlement lossyVault =
            new Settlement(address(manager), grid, IERC20(address(lossy)), token, protocolTreasury);
        lossy.mint(alice, 100 * USD);
        vm.startPrank(alice);
        lossy.approve(address(lossyVault), type(uint256).max);
        vm.expectEmit(address(lossyVault));
        emit ISettlement.Deposited(alice, address(lossy), 99 * USD);
        lossyVault.deposit(address(lossy), 100 * USD);
        assertEq(lossyVault.balanceOf(alice, address(lossy)).available, 99 * USD);
        assertEq(lossy.balanceOf(address(lossyVault)), 99 * USD);
        lossyVault.withdraw(address(lossy), 99 * USD);
        vm.stopPrank();
        assertEq(lossyVault.balanceOf(alice, address(lossy)).available, 0);
        assertEq(lossy.balanceOf(address(lossyVault)), 0);
    }

    function test_deposit_worksWhilePausedAndHalted() public {
        vm.prank(guardian);
        grid.pause();
        vm.prank(gridOperator);
        grid.haltZone(zone, "storm");
        _depositVault(alice, USD, 100);
        assertEq(_balance(alice, address(usd)).available, USD);
        assertEq(_balance(alice, address(token)).available, 100);
    }

    // ─────────────────────────────────────────────────────────────── depositWithPermit

    function test_depositWithPermit_depositsWithoutPriorApproval() public {
        (address signer, uint256 key) = makeAddrAndKey("permitSigner");
        deal(address(usd), signer, 3 * USD);
        uint256 deadline = block.timestamp + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) = _signPermit(address(usd), key, 3 * USD, deadline);

        vm.expectEmit(address(vault));
        emit ISettlement.Deposited(signer, address(usd), 3 * USD);
        vm.prank(signer);
        vault.depositWithPermit(address(usd), 3 * USD, deadline, v, r, s);

        assertEq(_balance(signer, address(usd)).available, 3 * USD);
        assertEq(usd.nonces(signer), 1);
        assertEq(usd.allowance(signer, address(vault)), 0);
        assertEq(usd.balanceOf(signer), 0);
    }

    function test_depositWithPermit_depositsEnergyCredits() public {
        (address signer, uint256 key) = makeAddrAndKey("permitSigner");
        deal(address(token), signer, 2_500, true);
        uint256 deadline = block.timestamp + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) = _signPermit(address(token), key, 2_500, deadline);
        vm.prank(signer);
        vault.depositWithPermit(address(token), 2_500, deadline, v, r, s);
        assertEq(_balance(signer, address(token)).available, 2_500);
        assertEq(token.nonces(signer), 1);
    }

    function test_depositWithPermit_succeedsWhenPermitWasFrontRun() public {
        (address signer, uint256 key) = makeAddrAndKey("permitSigner");
        deal(address(usd), signer, 3 * USD);
        uint256 deadline = block.timestamp + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) = _signPermit(address(usd), key, 3 * USD, deadline);
        vm.prank(stranger); // a griefer lifts the permit from the mempool and submits it first
        usd.permit(signer, address(vault), 3 * USD, deadline, v, r, s);

        vm.prank(signer);
        vault.depositWithPermit(address(usd), 3 * USD, deadline, v, r, s);
        assertEq(_balance(signer, address(usd)).available, 3 * USD);
        assertEq(usd.nonces(signer), 1);
        assertEq(usd.allowance(signer, address(vault)), 0);
    }

    function test_depositWithPermit_revertsWhenPermitFailsWithoutAllowance() public {
        (address signer, uint256 key) = makeAddrAndKey("permitSigner");
        deal(address(usd), signer, 3 * USD);
        uint256 deadline = block.timestamp - 1; // expired
        (uint8 v, bytes32 r, bytes32 s) = _signPermit(address(usd), key, 3 * USD, deadline);
        vm.prank(signer);
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, address(vault), 0, 3 * USD)
        );
        vault.depositWithPermit(address(usd), 3 * USD, deadline, v, r, s);
    }

    function test_depositWithPermit_cannotSpendSomeoneElsesPermit() public {
        (address signer, uint256 key) = makeAddrAndKey("permitSigner");
        deal(address(usd), signer, 3 * USD);
        uint256 deadline = block.timestamp + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) = _signPermit(address(usd), key, 3 * USD, deadline);
        vm.prank(stranger);
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, address(vault), 0, 3 * USD)
        );
        vault.depositWithPermit(address(usd), 3 * USD, deadline, v, r, s);
        assertEq(usd.balanceOf(signer), 3 * USD);
        assertEq(usd.nonces(signer), 0); // the signer can still use it
    }

    function test_depositWithPermit_revertsOnZeroAmount() public {
        vm.prank(alice);
        vm.expectRevert(ISettlement.SettlementZeroAmount.selector);
        vault.depositWithPermit(address(usd), 0, block.timestamp, 0, bytes32(0), bytes32(0));
    }

    function test_depositWithPermit_revertsOnUnsupportedToken() public {
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(ISettlement.SettlementUnsupportedToken.selector, stranger));
        vault.depositWithPermit(stranger, 1, block.timestamp, 0, bytes32(0), bytes32(0));
    }

    // ─────────────────────────────────────────────────────────────── withdraw

    function test_withdraw_sendsAvailableForBothTokens() public {
        _depositVault(alice, 5 * USD, 1_000);
        vm.startPrank(alice);
        vm.expectEmit(address(vault));
        emit ISettlement.Withdrawn(alice, address(usd), 2 * USD);
        vault.withdraw(address(usd), 2 * USD);
        vm.expectEmit(address(vault));
        emit ISettlement.Withdrawn(alice, address(token), 1_000);
        vault.withdraw(address(token), 1_000);
        vm.stopPrank();

        assertEq(_balance(alice, address(usd)).available, 3 * USD);
        assertEq(_balance(alice, address(token)).available, 0);
        assertEq(usd.balanceOf(alice), 2 * USD);
        assertEq(token.balanceOf(alice), 1_000);
        assertEq(usd.balanceOf(address(vault)), 3 * USD);
        assertEq(token.balanceOf(address(vault)), 0);
    }

    function test_withdraw_revertsOnLockedBalance() public {
        _escrow(bob, 10 * USD, 0);
        _depositVault(bob, USD, 0);
        vm.prank(bob);
        vm.expectRevert(
            abi.encodeWithSelector(
                ISettlement.SettlementInsufficientAvailable.selector, bob, address(usd), USD, USD + 1
            )
        );
        vault.withdraw(address(usd), USD + 1);
    }

    function test_withdraw_onlyMovesCallersOwnBalance() public {
        _depositVault(alice, 5 * USD, 1_000);
        vm.startPrank(stranger);
        vm.expectRevert(
            abi.encodeWithSelector(ISettlement.SettlementInsufficientAvailable.selector, stranger, address(usd), 0, 1)
        );
        vault.withdraw(address(usd), 1);
        vm.expectRevert(
            abi.encodeWithSelector(
                ISettlement.SettlementInsufficientAvailable.selector, stranger, address(token), 0, 1_000
            )
        );
        vault.withdraw(address(token), 1_000);
        vm.stopPrank();
        // neither EnergyTrading nor ADMIN can withdraw for her either: withdraw only ever pays msg.sender
        vm.prank(fakeTrading);
        vm.expectRevert(
            abi.encodeWithSelector(
                ISettlement.SettlementInsufficientAvailable.selector, fakeTrading, address(usd), 0, 1
            )
        );
        vault.withdraw(address(usd), 1);
        assertEq(_balance(alice, address(usd)).available, 5 * USD);
        assertEq(_balance(alice, address(token)).available, 1_000);
    }

    function test_withdraw_revertsOnZeroAmount() public {
        vm.prank(alice);
        vm.expectRevert(ISettlement.SettlementZeroAmount.selector);
        vault.withdraw(address(usd), 0);
    }

    function test_withdraw_revertsOnUnsupportedToken() public {
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(ISettlement.SettlementUnsupportedToken.selector, stranger));
        vault.withdraw(stranger, 1);
    }

    function test_withdraw_worksWhilePausedAndHalted() public {
        _depositVault(alice, 5 * USD, 1_000);
        vm.prank(guardian);
        grid.pause();
        vm.prank(gridOperator);
        grid.haltZone(zone, "storm");
        vm.startPrank(alice);
        vault.withdraw(address(usd), 5 * USD);
        vault.withdraw(address(token), 1_000);
        vm.stopPrank();
        assertEq(usd.balanceOf(alice), 5 * USD);
        assertEq(token.balanceOf(alice), 1_000);
    }

    // ─────────────────────────────────────────────────────────────── lock

    function test_lock_movesAvailableToLocked() public {
        _depositVault(alice, 5 * USD, 1_000);
        vm.startPrank(fakeTrading);
        vm.expectEmit(address(vault));
        emit ISettlement.Locked(alice, address(usd), 4 * USD);
        vault.lock(alice, address(usd), 4 * USD);
        vm.expectEmit(address(vault));
        emit ISettlement.Locked(alice, address(token), 1_000);
        vault.lock(alice, address(token), 1_000);
        vm.stopPrank();

        assertEq(_balance(alice, address(usd)).available, USD);
        assertEq(_balance(alice, address(usd)).locked, 4 * USD);
        assertEq(_balance(alice, address(token)).available, 0);
        assertEq(_balance(alice, address(token)).locked, 1_000);
        assertEq(usd.balanceOf(address(vault)), 5 * USD); // nothing leaves the vault
    }

    function test_lock_revertsOnInsufficientAvailable() public {
        _depositVault(alice, USD, 0);
        vm.prank(fakeTrading);
        vm.expectRevert(
            abi.encodeWithSelector(
                ISettlement.SettlementInsufficientAvailable.selector, alice, address(usd), USD, USD + 1
            )
        );
        vault.lock(alice, address(usd), USD + 1);
    }

    function test_lock_revertsOnUnsupportedToken() public {
        vm.prank(fakeTrading);
        vm.expectRevert(abi.encodeWithSelector(ISettlement.SettlementUnsupportedToken.selector, stranger));
        vault.lock(alice, stranger, 1);
    }

    function test_lock_revertsForNonEnergyTrading() public {
        _depositVault(alice, USD, 0);
        vm.prank(stranger);
        vm.expectRevert(_notTrading(stranger));
        vault.lock(alice, address(usd), 1);
        vm.prank(alice); // not even the account itself
        vm.expectRevert(_notTrading(alice));
        vault.lock(alice, address(usd), 1);
        vm.expectRevert(_notTrading(address(this))); // nor ADMIN
        vault.lock(alice, address(usd), 1);
    }

    // ─────────────────────────────────────────────────────────────── unlock

    function test_unlock_movesLockedToAvailable() public {
        _escrow(alice, 5 * USD, 1_000);
        vm.startPrank(fakeTrading);
        vm.expectEmit(address(vault));
        emit ISettlement.Unlocked(alice, address(usd), 3 * USD);
        vault.unlock(alice, address(usd), 3 * USD);
        vm.expectEmit(address(vault));
        emit ISettlement.Unlocked(alice, address(token), 400);
        vault.unlock(alice, address(token), 400);
        vm.stopPrank();

        assertEq(_balance(alice, address(usd)).available, 3 * USD);
        assertEq(_balance(alice, address(usd)).locked, 2 * USD);
        assertEq(_balance(alice, address(token)).available, 400);
        assertEq(_balance(alice, address(token)).locked, 600);
    }

    function test_unlock_revertsOnInsufficientLocked() public {
        _escrow(alice, 0, 2_000);
        vm.prank(fakeTrading);
        vm.expectRevert(
            abi.encodeWithSelector(
                ISettlement.SettlementInsufficientLocked.selector, alice, address(token), 2_000, 2_001
            )
        );
        vault.unlock(alice, address(token), 2_001);
    }

    function test_unlock_revertsOnUnsupportedToken() public {
        vm.prank(fakeTrading);
        vm.expectRevert(abi.encodeWithSelector(ISettlement.SettlementUnsupportedToken.selector, stranger));
        vault.unlock(alice, stranger, 1);
    }

    function test_unlock_revertsForNonEnergyTrading() public {
        _escrow(alice, USD, 0);
        vm.prank(stranger);
        vm.expectRevert(_notTrading(stranger));
        vault.unlock(alice, address(usd), 1);
        vm.prank(alice);
        vm.expectRevert(_notTrading(alice));
        vault.unlock(alice, address(usd), 1);
    }

    function test_unlock_worksWhilePausedAndHalted() public {
        _restingPair();
        vm.prank(guardian);
        grid.pause();
        vm.prank(gridOperator);
        grid.haltZone(zone, "storm");
        vm.prank(fakeTrading);
        vault.unlock(bob, address(usd), 10 * USD);
        assertEq(_balance(bob, address(usd)).available, 10 * USD);
    }

    // ─────────────────────────────────────────────────────────────── settleTaker

    function test_settleTaker_buyingTakerPaysNotionalPlusFees() public {
        _escrow(alice, 0, 2_000);
        _escrow(dave, 0, 1_000);
        _depositVault(carol, 5 * USD, 0);
        // fills: alice 1_500 Wh at 0.25 (375_000), dave 1_000 Wh at 0.26 (260_000)
        // off-peak 50 + 20 bps on 635_000: total fee 4_445, protocol 1_270, grid 3_175
        vm.expectEmit(address(vault));
        emit ISettlement.Locked(carol, address(usd), USD);
        vm.expectEmit(address(vault));
        emit ISettlement.TradesSettled(zone, 50, 20, 635_000, 3_175, 1_270);
        ISettlement.TradeAmounts memory amounts = _settleTaker(zone, carol, true, 2_500, 635_000, USD);

        assertEq(amounts.notional, 635_000);
        assertEq(amounts.gridFee, 3_175);
        assertEq(amounts.protocolFee, 1_270);
        // taker: pays notional + fees from available, the rest of its order's escrow gets locked
        assertEq(_balance(carol, address(usd)).available, 5 * USD - 635_000 - 4_445 - USD);
        assertEq(_balance(carol, address(usd)).locked, USD);
        assertEq(_balance(carol, address(token)).available, 2_500);
        assertEq(vault.accruedZoneFees(zone), 3_175);
        assertEq(vault.accruedProtocolFees(zone), 1_270);
        assertEq(vault.accruedProtocolFees(zone2), 0);
        // makers: untouched until they settle; the vault holds their notional meanwhile
        assertEq(_balance(alice, address(token)).locked, 2_000);
        assertEq(_balance(alice, address(usd)).available, 0);
        assertEq(_balance(dave, address(token)).locked, 1_000);
        assertEq(_unbacked(address(usd), _accounts4()), 635_000);
        assertEq(_unbacked(address(token), _accounts4()), -2_500);

        ISettlement.Statement memory taker = vault.statement(carol, JUNE_2025);
        assertEq(taker.boughtWh, 2_500);
        assertEq(taker.paid, 635_000);
        assertEq(taker.buyFees, 4_445);
        assertEq(taker.soldWh, 0);
        assertEq(taker.earned, 0);
        assertEq(taker.fees, 0);

        _settleMaker(alice, false, 1_500, 375_000, 0);
        _settleMaker(dave, false, 1_000, 260_000, 0);
        assertEq(_balance(alice, address(token)).locked, 500);
        assertEq(_balance(alice, address(usd)).available, 375_000); // the exact notional, no fee
        assertEq(_balance(dave, address(token)).locked, 0);
        assertEq(_balance(dave, address(usd)).available, 260_000);
        _assertStatementsBalance(JUNE_2025, 2_500, 635_000, 4_445);
        assertEq(_unbacked(address(usd), _accounts4()), 0);
        assertEq(_unbacked(address(token), _accounts4()), 0);
    }

    function test_settleTaker_sellingTakerReceivesNotionalLessFees() public {
        _escrow(alice, USD, 0);
        _escrow(bob, USD, 0);
        _depositVault(dave, 0, 3_500);
        // fills: alice 1_000 Wh at 0.30 (300_000), bob 2_000 Wh at 0.25 (500_000); fees 5_600 on 800_000
        vm.expectEmit(address(vault));
        emit ISettlement.Locked(dave, address(token), 500);
        vm.expectEmit(address(vault));
        emit ISettlement.TradesSettled(zone, 50, 20, 800_000, 4_000, 1_600);
        ISettlement.TradeAmounts memory amounts = _settleTaker(zone, dave, false, 3_000, 800_000, 500);

        assertEq(amounts.notional, 800_000);
        assertEq(amounts.gridFee, 4_000);
        assertEq(amounts.protocolFee, 1_600);
        assertEq(_balance(dave, address(token)).available, 0);
        assertEq(_balance(dave, address(token)).locked, 500);
        assertEq(_balance(dave, address(usd)).available, 794_400);
        assertEq(_balance(alice, address(usd)).locked, USD); // until alice settles
        assertEq(_unbacked(address(usd), _accounts4()), -800_000);
        assertEq(_unbacked(address(token), _accounts4()), 3_000);

        ISettlement.Statement memory seller = vault.statement(dave, JUNE_2025);
        assertEq(seller.soldWh, 3_000);
        assertEq(seller.earned, 794_400);
        assertEq(seller.fees, 5_600);
        assertEq(seller.buyFees, 0);
        assertEq(seller.boughtWh, 0);

        _settleMaker(alice, true, 1_000, 300_000, 0);
        _settleMaker(bob, true, 2_000, 500_000, USD - 500_000); // bob's order is cancelled with the claim
        assertEq(_balance(alice, address(usd)).locked, USD - 300_000);
        assertEq(_balance(alice, address(token)).available, 1_000);
        assertEq(_balance(bob, address(usd)).locked, 0);
        assertEq(_balance(bob, address(usd)).available, USD - 500_000);
        assertEq(_balance(bob, address(token)).available, 2_000);
        ISettlement.Statement memory buyer = vault.statement(bob, JUNE_2025);
        assertEq(buyer.boughtWh, 2_000);
        assertEq(buyer.paid, 500_000);
        assertEq(buyer.buyFees, 0);
        _assertStatementsBalance(JUNE_2025, 3_000, 800_000, 5_600);
        assertEq(_unbacked(address(usd), _accounts4()), 0);
        assertEq(_unbacked(address(token), _accounts4()), 0);
    }

    function test_settleTaker_withoutFillsOnlyLocks() public {
        _depositVault(carol, 2 * USD, 500);
        vm.recordLogs();
        vm.startPrank(fakeTrading);
        // no fee and no zone: even a zone that does not exist is fine
        ISettlement.TradeAmounts memory amounts = vault.settleTaker(999, carol, true, 0, 0, USD, 50, protocolBps);
        assertEq(_vaultLogCount(), 1); // Locked only, no TradesSettled
        assertEq(amounts.notional + amounts.gridFee + amounts.protocolFee, 0);
        // a selling taker locks credits; a notional without Wh settles nothing
        amounts = vault.settleTaker(zone, carol, false, 0, 123_456, 200, 50, protocolBps);
        assertEq(_vaultLogCount(), 1);
        assertEq(amounts.notional + amounts.gridFee + amounts.protocolFee, 0);
        vm.stopPrank();
        assertEq(_balance(carol, address(usd)).available, USD);
        assertEq(_balance(carol, address(usd)).locked, USD);
        assertEq(_balance(carol, address(token)).available, 300);
        assertEq(_balance(carol, address(token)).locked, 200);
        assertEq(vault.statement(carol, JUNE_2025).boughtWh, 0);
        assertEq(vault.statement(carol, JUNE_2025).soldWh, 0);
        assertEq(vault.accruedZoneFees(zone) + vault.accruedProtocolFees(zone), 0);
        assertEq(_unbacked(address(usd), _accounts4()), 0);
    }

    /// @dev The vault charges the rate it is given: at peak, off-peak or any other, whatever GridManagement says.
    function test_settleTaker_chargesThePassedGridFee() public {
        _depositVault(carol, 2 * USD, 0);
        vm.warp(PEAK_START + 30 minutes); // GridManagement: 150 bps
        vm.startPrank(fakeTrading);
        vm.expectEmit(address(vault));
        emit ISettlement.TradesSettled(zone, 150, 20, 250_000, 3_750, 500);
        ISettlement.TradeAmounts memory amounts = vault.settleTaker(zone, carol, true, 1_000, 250_000, 0, 150, protocolBps);
        assertEq(amounts.gridFee, 3_750); // 170 bps total, 20 of them protocol
        assertEq(amounts.protocolFee, 500);
        amounts = vault.settleTaker(zone, carol, true, 1_000, 250_000, 0, 0, protocolBps);
        assertEq(amounts.gridFee, 0);
        assertEq(amounts.protocolFee, 500);
        vm.stopPrank();
        assertEq(_balance(carol, address(usd)).available, 2 * USD - 254_250 - 250_500);
        assertEq(vault.statement(carol, JUNE_2025).buyFees, 4_750);
        assertEq(vault.accruedZoneFees(zone), 3_750);
        assertEq(vault.accruedProtocolFees(zone), 1_000);
    }

    /// @dev GridManagement is not consulted: a zone it does not know still settles and accrues its fees.
    function test_settleTaker_doesNotConsultGridManagement() public {
        _depositVault(carol, USD, 0);
        vm.prank(fakeTrading);
        ISettlement.TradeAmounts memory amounts = vault.settleTaker(999, carol, true, 1_000, 250_000, 0, 50, protocolBps);
        assertEq(amounts.gridFee, 1_250);
        assertEq(vault.accruedZoneFees(999), 1_250);
        assertEq(vault.accruedProtocolFees(999), 500);
        assertEq(vault.accruedZoneFees(zone), 0);
    }

    /// @dev The fee is computed once on the taker's total notional, rounded up for the fee side.
    function test_settleTaker_dustFeeRoundsOnceOnTheTotal() public {
        _depositVault(carol, 10, 10);
        vm.startPrank(fakeTrading);
        // two 1-unit fills: ceil(2 × 70 / 10_000) = 1 once, not 1 per fill
        ISettlement.TradeAmounts memory amounts = vault.settleTaker(zone, carol, true, 2, 2, 0, 50, protocolBps);
        assertEq(amounts.gridFee, 1); // all of it grid
        assertEq(amounts.protocolFee, 0); // floor(2 × 20 / 10_000)
        assertEq(_balance(carol, address(usd)).available, 10 - 3);
        // a selling taker's dust proceeds go entirely to the fee
        amounts = vault.settleTaker(zone, carol, false, 1, 1, 0, 50, protocolBps);
        assertEq(amounts.gridFee, 1);
        vm.stopPrank();
        assertEq(_balance(carol, address(usd)).available, 7);
        assertEq(_balance(carol, address(token)).available, 10 + 2 - 1);
        ISettlement.Statement memory s = vault.statement(carol, JUNE_2025);
        assertEq(s.buyFees, 1);
        assertEq(s.fees, 1);
        assertEq(s.earned, 0);
        assertEq(vault.accruedZoneFees(zone), 2);
    }

    function test_settleTaker_chargesTheProtocolFeeRateItIsGiven() public {
        _depositVault(carol, USD, 0);
        protocolBps = 0;
        ISettlement.TradeAmounts memory amounts = _settleTaker(zone, carol, true, 1_000, 250_000, 0);
        assertEq(amounts.protocolFee, 0);
        assertEq(amounts.gridFee, 1_250);
        protocolBps = 500;
        amounts = _settleTaker(zone, carol, true, 1_000, 250_000, 0);
        assertEq(amounts.protocolFee, 12_500);
        assertEq(amounts.gridFee, 1_250);
        assertEq(vault.accruedProtocolFees(zone), 12_500);
        assertEq(_balance(carol, address(usd)).available, USD - 251_250 - 263_750);
    }

    function test_settleTaker_revertsOnInsufficientTakerBalance() public {
        _depositVault(carol, 250_000, 0);
        // a buying taker pays the fees on top of the notional...
        vm.prank(fakeTrading);
        vm.expectRevert(
            abi.encodeWithSelector(
                ISettlement.SettlementInsufficientAvailable.selector, carol, address(usd), 250_000, 251_750
            )
        );
        vault.settleTaker(zone, carol, true, 1_000, 250_000, 0, 50, protocolBps);
        // ...and must cover what it leaves resting too
        _depositVault(carol, 1_750, 0);
        vm.prank(fakeTrading);
        vm.expectRevert(
            abi.encodeWithSelector(
                ISettlement.SettlementInsufficientAvailable.selector, carol, address(usd), 251_750, 251_751
            )
        );
        vault.settleTaker(zone, carol, true, 1_000, 250_000, 1, 50, protocolBps);
        _settleTaker(zone, carol, true, 1_000, 250_000, 0); // exactly enough
        assertEq(_balance(carol, address(usd)).available, 0);

        // a selling taker must deliver the credits plus what it leaves resting
        _depositVault(dave, 0, 1_000);
        vm.prank(fakeTrading);
        vm.expectRevert(
            abi.encodeWithSelector(
                ISettlement.SettlementInsufficientAvailable.selector, dave, address(token), 1_000, 1_200
            )
        );
        vault.settleTaker(zone, dave, false, 1_000, 250_000, 200, 50, protocolBps);
        // a lock alone needs the balance too
        vm.prank(fakeTrading);
        vm.expectRevert(
            abi.encodeWithSelector(
                ISettlement.SettlementInsufficientAvailable.selector, dave, address(token), 1_000, 1_001
            )
        );
        vault.settleTaker(zone, dave, false, 0, 0, 1_001, 50, protocolBps);
    }

    function test_settleTaker_revertsForNonEnergyTrading() public {
        _depositVault(carol, USD, 0);
        vm.prank(carol);
        vm.expectRevert(_notTrading(carol));
        vault.settleTaker(zone, carol, true, 1_000, 250_000, 0, 50, protocolBps);
        vm.prank(stranger);
        vm.expectRevert(_notTrading(stranger));
        vault.settleTaker(zone, carol, true, 1_000, 250_000, 0, 50, protocolBps);
        vm.expectRevert(_notTrading(address(this))); // nor ADMIN
        vault.settleTaker(zone, carol, true, 0, 0, 1, 50, protocolBps);
        assertEq(_balance(carol, address(usd)).available, USD);
    }

    // ─────────────────────────────────────────────────────────────── settleMaker

    function test_settleMaker_sellingMakerReceivesTheNotional() public {
        _escrow(alice, 0, 2_000);
        _depositVault(carol, USD, 0);
        _settleTaker(zone, carol, true, 1_500, 375_000, 0);
        uint256 zoneFees = vault.accruedZoneFees(zone);

        vm.recordLogs();
        vm.expectEmit(address(vault));
        emit ISettlement.MakerSettled(alice, false, 1_500, 375_000);
        _settleMaker(alice, false, 1_500, 375_000, 0);
        assertEq(_vaultLogCount(), 1); // no Unlocked, no TradesSettled

        assertEq(_balance(alice, address(token)).locked, 500);
        assertEq(_balance(alice, address(token)).available, 0);
        assertEq(_balance(alice, address(usd)).available, 375_000);
        assertEq(_balance(alice, address(usd)).locked, 0);
        assertEq(vault.accruedZoneFees(zone), zoneFees); // makers pay no fee
        ISettlement.Statement memory s = vault.statement(alice, JUNE_2025);
        assertEq(s.soldWh, 1_500);
        assertEq(s.earned, 375_000);
        assertEq(s.fees, 0);
        assertEq(s.boughtWh, 0);
        assertEq(s.paid, 0);
        assertEq(_unbacked(address(usd), _accounts4()), 0);
        assertEq(_unbacked(address(token), _accounts4()), 0);
    }

    function test_settleMaker_buyingMakerReceivesTheCreditsAndUnlocksTheRest() public {
        _escrow(bob, 10 * USD, 0);
        _depositVault(dave, 0, 2_000);
        _settleTaker(zone, dave, false, 2_000, 500_000, 0);

        // bob cancels: the fills and the rest of the escrow settle together
        vm.expectEmit(address(vault));
        emit ISettlement.Unlocked(bob, address(usd), 10 * USD - 500_000);
        vm.expectEmit(address(vault));
        emit ISettlement.MakerSettled(bob, true, 2_000, 500_000);
        _settleMaker(bob, true, 2_000, 500_000, 10 * USD - 500_000);

        assertEq(_balance(bob, address(usd)).locked, 0);
        assertEq(_balance(bob, address(usd)).available, 10 * USD - 500_000);
        assertEq(_balance(bob, address(token)).available, 2_000);
        ISettlement.Statement memory s = vault.statement(bob, JUNE_2025);
        assertEq(s.boughtWh, 2_000);
        assertEq(s.paid, 500_000);
        assertEq(s.buyFees, 0);
        assertEq(s.soldWh, 0);
        _assertStatementsBalance(JUNE_2025, 2_000, 500_000, 3_500);
        assertEq(_unbacked(address(usd), _accounts4()), 0);
        assertEq(_unbacked(address(token), _accounts4()), 0);
    }

    function test_settleMaker_withoutFillsOnlyUnlocks() public {
        _escrow(alice, 0, 2_000);
        vm.recordLogs();
        vm.expectEmit(address(vault));
        emit ISettlement.Unlocked(alice, address(token), 2_000);
        _settleMaker(alice, false, 0, 0, 2_000);
        assertEq(_vaultLogCount(), 1); // no MakerSettled
        assertEq(_balance(alice, address(token)).available, 2_000);
        assertEq(_balance(alice, address(token)).locked, 0);
        assertEq(vault.statement(alice, JUNE_2025).soldWh, 0);
        assertEq(_unbacked(address(token), _accounts4()), 0);
    }

    /// @dev A maker's fills count in the month they settle, not the month its takers traded.
    function test_settleMaker_recordsTheMonthItSettles() public {
        _escrow(alice, 0, 2_000);
        _depositVault(carol, USD, 0);
        vm.warp(JULY_1_2025 - 1); // 2025-06-30 23:59:59 UTC
        _settleTaker(zone, carol, true, 1_000, 250_000, 0);
        vm.warp(JULY_1_2025);
        _settleMaker(alice, false, 1_000, 250_000, 0);

        assertEq(vault.statement(carol, JUNE_2025).boughtWh, 1_000);
        assertEq(vault.statement(carol, JUNE_2025).buyFees, 1_750);
        assertEq(vault.statement(carol, JULY_2025).boughtWh, 0);
        assertEq(vault.statement(alice, JUNE_2025).soldWh, 0);
        assertEq(vault.statement(alice, JULY_2025).soldWh, 1_000);
        assertEq(vault.statement(alice, JULY_2025).earned, 250_000);
    }

    function test_settleMaker_revertsOnInsufficientLockedOfSellingMaker() public {
        _escrow(alice, 0, 2_000);
        vm.startPrank(fakeTrading);
        vm.expectRevert(
            abi.encodeWithSelector(
                ISettlement.SettlementInsufficientLocked.selector, alice, address(token), 2_000, 2_001
            )
        );
        vault.settleMaker(alice, false, 2_001, 500_250, 0);
        // the unlock comes out of the same escrow
        vm.expectRevert(
            abi.encodeWithSelector(
                ISettlement.SettlementInsufficientLocked.selector, alice, address(token), 2_000, 2_001
            )
        );
        vault.settleMaker(alice, false, 1_500, 375_000, 501);
        vm.stopPrank();
        assertEq(_balance(alice, address(token)).locked, 2_000);
    }

    function test_settleMaker_revertsOnInsufficientLockedOfBuyingMaker() public {
        _escrow(bob, 100_000, 0);
        vm.startPrank(fakeTrading);
        vm.expectRevert(
            abi.encodeWithSelector(
                ISettlement.SettlementInsufficientLocked.selector, bob, address(usd), 100_000, 250_000
            )
        );
        vault.settleMaker(bob, true, 1_000, 250_000, 0);
        vm.expectRevert(
            abi.encodeWithSelector(
                ISettlement.SettlementInsufficientLocked.selector, bob, address(usd), 100_000, 100_001
            )
        );
        vault.settleMaker(bob, true, 400, 100_000, 1);
        vm.stopPrank();
        assertEq(_balance(bob, address(usd)).locked, 100_000);
    }

    function test_settleMaker_revertsOnVolumeWithoutValueAndValueWithoutVolume() public {
        _escrow(alice, 0, 2_000);
        _escrow(bob, 100_000, 0);
        vm.startPrank(fakeTrading);
        vm.expectRevert(ISettlement.SettlementZeroAmount.selector);
        vault.settleMaker(alice, false, 1_000, 0, 0); // credits sold for nothing
        vm.expectRevert(ISettlement.SettlementZeroAmount.selector);
        vault.settleMaker(bob, true, 0, 50_000, 0); // payment spent on nothing
        vm.expectRevert(ISettlement.SettlementZeroAmount.selector);
        vault.settleMaker(alice, false, 0, 1, 0);
        vm.stopPrank();
        assertEq(_balance(alice, address(token)).locked, 2_000);
        assertEq(_balance(bob, address(usd)).locked, 100_000);
    }

    function test_settleTaker_revertsOnVolumeWithoutValue() public {
        _depositVault(carol, 10 * USD, 10_000);
        uint16 gridFeeBps = _gridBps(zone);
        vm.startPrank(fakeTrading);
        vm.expectRevert(ISettlement.SettlementZeroAmount.selector);
        vault.settleTaker(zone, carol, true, 1_000, 0, 0, gridFeeBps, protocolBps);
        vm.expectRevert(ISettlement.SettlementZeroAmount.selector);
        vault.settleTaker(zone, carol, false, 1_000, 0, 0, gridFeeBps, protocolBps);
        vm.stopPrank();
    }

    function test_settle_revertsOnGridFeeAboveTheCeiling() public {
        assertEq(vault.MAX_GRID_FEE_BPS(), grid.MAX_GRID_FEE_BPS(), "the vault's ceiling is GridManagement's");
        _depositVault(carol, 10 * USD, 10_000);
        _escrow(alice, 0, 2_000);
        _escrow(bob, 10 * USD, 0);
        bytes memory tooHigh =
            abi.encodeWithSelector(ISettlement.SettlementGridFeeTooHigh.selector, uint16(1_001), uint16(1_000));
        vm.startPrank(fakeTrading);
        vm.expectRevert(tooHigh);
        vault.settleTaker(zone, carol, true, 1_000, 250_000, 0, 1_001, protocolBps);
        vm.expectRevert(tooHigh);
        vault.settleResting(zone, bob, alice, 1_000, 250_000, 0, 1_001, protocolBps);
        // the ceiling itself is accepted
        vault.settleTaker(zone, carol, true, 1_000, 250_000, 0, 1_000, protocolBps);
        vm.stopPrank();
    }

    function test_settleMaker_revertsForNonEnergyTrading() public {
        _escrow(alice, 0, 2_000);
        vm.prank(alice); // not even the maker itself
        vm.expectRevert(_notTrading(alice));
        vault.settleMaker(alice, false, 0, 0, 2_000);
        vm.prank(stranger);
        vm.expectRevert(_notTrading(stranger));
        vault.settleMaker(alice, false, 1_000, 250_000, 0);
        vm.expectRevert(_notTrading(address(this))); // nor ADMIN
        vault.settleMaker(alice, false, 0, 0, 1);
        assertEq(_balance(alice, address(token)).locked, 2_000);
    }

    function test_settleMaker_worksWhilePausedAndHalted() public {
        _escrow(alice, 0, 2_000);
        vm.prank(guardian);
        grid.pause();
        vm.prank(gridOperator);
        grid.haltZone(zone, "storm");
        _settleMaker(alice, false, 0, 0, 2_000);
        assertEq(_balance(alice, address(token)).available, 2_000);
    }

    // ─────────────────────────────────────────────────────────────── settleResting

    function test_settleResting_movesEscrowsFeesAndRefund() public {
        _restingPair();
        vm.expectEmit(address(vault));
        emit ISettlement.Unlocked(bob, address(usd), USD);
        vm.expectEmit(address(vault));
        emit ISettlement.TradesSettled(zone, 50, 20, 500_000, 2_500, 1_000);
        ISettlement.TradeAmounts memory amounts = _settleResting(zone, bob, alice, 2_000, PRICE, USD);

        assertEq(amounts.notional, 500_000);
        assertEq(amounts.gridFee, 2_500);
        assertEq(amounts.protocolFee, 1_000);
        assertEq(_balance(alice, address(token)).locked, 0);
        assertEq(_balance(alice, address(usd)).available, 496_500);
        assertEq(_balance(bob, address(token)).available, 2_000);
        assertEq(_balance(bob, address(usd)).locked, 10 * USD - 500_000 - USD);
        assertEq(_balance(bob, address(usd)).available, USD);
        assertEq(vault.accruedZoneFees(zone), 2_500);
        assertEq(vault.accruedProtocolFees(zone), 1_000);

        ISettlement.Statement memory buyer = vault.statement(bob, JUNE_2025);
        assertEq(buyer.boughtWh, 2_000);
        assertEq(buyer.paid, 500_000);
        assertEq(buyer.buyFees, 0); // the seller pays a resting match's fees
        assertEq(buyer.soldWh, 0);
        assertEq(buyer.earned, 0);
        ISettlement.Statement memory seller = vault.statement(alice, JUNE_2025);
        assertEq(seller.soldWh, 2_000);
        assertEq(seller.earned, 496_500);
        assertEq(seller.fees, 3_500);
        assertEq(seller.boughtWh, 0);
        assertEq(seller.paid, 0);
        assertEq(_unbacked(address(usd), _accounts4()), 0);
        assertEq(_unbacked(address(token), _accounts4()), 0);
    }

    /// @dev The vault charges the rate it is given, whatever the zone's schedule says at the time.
    function test_settleResting_chargesThePassedGridFee() public {
        _escrow(alice, 0, 6_000);
        _escrow(bob, 2 * USD, 0);
        vm.warp(PEAK_START); // GridManagement: 150 bps
        uint16[5] memory gridBps = [uint16(0), 50, 150, 300, grid.MAX_GRID_FEE_BPS()];
        uint256 expectedZoneFees;
        vm.startPrank(fakeTrading);
        for (uint256 i; i < gridBps.length; ++i) {
            // 1 kWh at 0.25 USD: total fee ceil(250_000 × (grid + 20) / 10_000), protocol 500
            (uint256 gridFee,) = _expectedFees(250_000, gridBps[i], PROTOCOL_FEE_BPS);
            vm.expectEmit(address(vault));
            emit ISettlement.TradesSettled(zone, gridBps[i], PROTOCOL_FEE_BPS, 250_000, gridFee, 500);
            ISettlement.TradeAmounts memory amounts =
                vault.settleResting(zone, bob, alice, 1_000, PRICE, 0, gridBps[i], protocolBps);
            assertEq(amounts.gridFee, gridFee);
            assertEq(amounts.gridFee, uint256(gridBps[i]) * 25); // 250_000 × bps / 10_000
            assertEq(amounts.protocolFee, 500);
            expectedZoneFees += gridFee;
        }
        // GridManagement is not consulted: a zone it does not know settles too
        vault.settleResting(999, bob, alice, 1, 1_000, 0, 50, protocolBps);
        vm.stopPrank();
        assertEq(vault.accruedZoneFees(zone), expectedZoneFees);
        assertEq(vault.accruedProtocolFees(zone), 2_500);
        assertEq(vault.accruedZoneFees(999), 1);
        assertEq(vault.statement(alice, JUNE_2025).fees, expectedZoneFees + 2_500 + 1);
    }

    function test_settleResting_dustFeeRoundsToTheFeeSide() public {
        _restingPair();
        ISettlement.TradeAmounts memory amounts = _settleResting(zone, bob, alice, 1, 1, 0);
        assertEq(amounts.notional, 1); // 0.001 rounds up against the buyer
        assertEq(amounts.gridFee, 1); // ceil(1 × 70 / 10_000) = 1, all of it grid
        assertEq(amounts.protocolFee, 0); // floor(1 × 20 / 10_000)
        assertEq(_balance(alice, address(usd)).available, 0);
        assertEq(vault.statement(alice, JUNE_2025).fees, 1);
        assertEq(vault.statement(alice, JUNE_2025).earned, 0);
    }

    function test_settleResting_chargesTheProtocolFeeRateItIsGiven() public {
        _restingPair();
        protocolBps = 0;
        ISettlement.TradeAmounts memory amounts = _settleResting(zone, bob, alice, 1_000, PRICE, 0);
        assertEq(amounts.protocolFee, 0);
        assertEq(amounts.gridFee, 1_250);
        protocolBps = 500;
        amounts = _settleResting(zone, bob, alice, 1_000, PRICE, 0);
        assertEq(amounts.protocolFee, 12_500);
        assertEq(amounts.gridFee, 1_250);
        assertEq(vault.accruedProtocolFees(zone), 12_500);
    }

    function test_settleResting_revertsOnZeroAmount() public {
        _restingPair();
        vm.prank(fakeTrading);
        vm.expectRevert(ISettlement.SettlementZeroAmount.selector);
        vault.settleResting(zone, bob, alice, 0, PRICE, 0, 50, protocolBps);
    }

    function test_settleResting_revertsOnZeroPrice() public {
        _restingPair();
        vm.prank(fakeTrading);
        vm.expectRevert(ISettlement.SettlementZeroAmount.selector);
        vault.settleResting(zone, bob, alice, 1_000, 0, 0, 50, protocolBps);
    }

    function test_settleResting_revertsOnInsufficientSellerEscrow() public {
        _restingPair();
        vm.prank(fakeTrading);
        vm.expectRevert(
            abi.encodeWithSelector(
                ISettlement.SettlementInsufficientLocked.selector, alice, address(token), 2_000, 2_001
            )
        );
        vault.settleResting(zone, bob, alice, 2_001, PRICE, 0, 50, protocolBps);
    }

    function test_settleResting_revertsOnInsufficientBuyerEscrow() public {
        _restingPair();
        vm.startPrank(fakeTrading);
        vm.expectRevert(
            abi.encodeWithSelector(
                ISettlement.SettlementInsufficientLocked.selector, bob, address(usd), 10 * USD, 20 * USD
            )
        );
        vault.settleResting(zone, bob, alice, 2_000, uint128(10 * USD), 0, 50, protocolBps); // 20 USD notional
        // the refund comes out of the same escrow
        vm.expectRevert(
            abi.encodeWithSelector(
                ISettlement.SettlementInsufficientLocked.selector, bob, address(usd), 10 * USD, 10 * USD + 1
            )
        );
        vault.settleResting(zone, bob, alice, 2_000, PRICE, 10 * USD - 500_000 + 1, 50, protocolBps);
        vm.stopPrank();
    }

    function test_settleResting_revertsForNonEnergyTrading() public {
        _restingPair();
        vm.prank(bob);
        vm.expectRevert(_notTrading(bob));
        vault.settleResting(zone, bob, alice, 1_000, PRICE, 0, 50, protocolBps);
        vm.expectRevert(_notTrading(address(this)));
        vault.settleResting(zone, bob, alice, 1_000, PRICE, 0, 50, protocolBps);
    }

    // ─────────────────────────────────────────────────────────────── statements

    function test_statement_accumulatesWithinAMonthAndRollsOver() public {
        _restingPair();
        _settleResting(zone, bob, alice, 500, PRICE, 0); // 125_000, fee 875
        vm.warp(JULY_1_2025 - 1); // 2025-06-30 23:59:59 UTC, off-peak
        _settleResting(zone, bob, alice, 1_000, PRICE, 0); // 250_000, fee 1_750
        vm.warp(JULY_1_2025); // 2025-07-01 00:00:00 UTC
        _settleResting(zone, bob, alice, 200, PRICE, 0); // 50_000, fee 350

        ISettlement.Statement memory june = vault.statement(alice, JUNE_2025);
        assertEq(june.soldWh, 1_500);
        assertEq(june.earned, 375_000 - 2_625);
        assertEq(june.fees, 2_625);
        ISettlement.Statement memory july = vault.statement(alice, JULY_2025);
        assertEq(july.soldWh, 200);
        assertEq(july.earned, 49_650);
        assertEq(july.fees, 350);
        assertEq(vault.statement(bob, JUNE_2025).boughtWh, 1_500);
        assertEq(vault.statement(bob, JUNE_2025).paid, 375_000);
        assertEq(vault.statement(bob, JULY_2025).boughtWh, 200);
        assertEq(vault.statement(bob, JULY_2025).paid, 50_000);
        assertEq(vault.statement(bob, 202_508).paid, 0);
    }

    function test_statement_leapDayCountsInFebruary() public {
        _restingPair();
        vm.warp(FEB_29_2024 + 12 hours); // 2024-02-29 12:00 UTC
        _settleResting(zone, bob, alice, 1_000, PRICE, 0);
        vm.warp(MARCH_1_2024 - 1); // 2024-02-29 23:59:59 UTC
        _settleResting(zone, bob, alice, 400, PRICE, 0);
        vm.warp(MARCH_1_2024);
        _settleResting(zone, bob, alice, 600, PRICE, 0);
        assertEq(vault.statement(alice, 202_402).soldWh, 1_400);
        assertEq(vault.statement(bob, 202_402).boughtWh, 1_400);
        assertEq(vault.statement(bob, 202_402).paid, 350_000);
        assertEq(vault.statement(alice, 202_403).soldWh, 600);
        assertEq(vault.statement(bob, 202_403).paid, 150_000);
    }

    function test_statement_separatesBothSidesOfOneAccount() public {
        // carol buys as a taker, sells as a taker, and settles a resting buy as a maker, all in one month
        _escrow(carol, 500_000, 0);
        _depositVault(carol, USD, 0);
        _settleTaker(zone, carol, true, 1_000, 250_000, 0); // fees 1_750 on top
        _settleTaker(zone, carol, false, 1_000, 300_000, 0); // fees 2_100 out
        _settleMaker(carol, true, 2_000, 500_000, 0);

        ISettlement.Statement memory s = vault.statement(carol, JUNE_2025);
        assertEq(s.boughtWh, 3_000);
        assertEq(s.paid, 750_000);
        assertEq(s.buyFees, 1_750);
        assertEq(s.soldWh, 1_000);
        assertEq(s.fees, 2_100);
        assertEq(s.earned, 297_900);
    }

    // ─────────────────────────────────────────────────────────────── sweeps

    function test_sweepZoneFees_paysTheZoneTreasury() public {
        _restingPair();
        _settleResting(zone, bob, alice, 2_000, PRICE, 0);
        vm.expectEmit(address(vault));
        emit ISettlement.ZoneFeesSwept(zone, treasury, 2_500);
        vm.prank(stranger); // anyone may sweep: fees only ever go to the treasury
        assertEq(vault.sweepZoneFees(zone), 2_500);
        assertEq(usd.balanceOf(treasury), 2_500);
        assertEq(usd.balanceOf(stranger), 0);
        assertEq(vault.accruedZoneFees(zone), 0);
        assertEq(vault.accruedProtocolFees(zone), 1_000); // untouched
    }

    function test_sweepZoneFees_paysTheCurrentTreasury() public {
        _restingPair();
        _settleResting(zone, bob, alice, 2_000, PRICE, 0);
        grid.setTreasury(zone, carol);
        vault.sweepZoneFees(zone);
        assertEq(usd.balanceOf(carol), 2_500);
        assertEq(usd.balanceOf(treasury), 0);
    }

    function test_sweepZoneFees_keepsZonesApart() public {
        _escrow(alice, 0, 2_000);
        _escrow(bob, 2 * USD, 0);
        _depositVault(carol, USD, 0);
        _settleResting(zone, bob, alice, 1_000, PRICE, 0); // grid 1_250
        _settleResting(zone2, bob, alice, 1_000, PRICE, 0); // off-peak 100 bps: grid 2_500
        _settleTaker(zone2, carol, true, 1_000, 250_000, 0); // grid 2_500 more
        assertEq(vault.accruedZoneFees(zone), 1_250);
        assertEq(vault.accruedZoneFees(zone2), 5_000);
        vault.sweepZoneFees(zone2);
        assertEq(usd.balanceOf(zone2Treasury), 5_000);
        assertEq(usd.balanceOf(treasury), 0);
        assertEq(vault.accruedZoneFees(zone), 1_250);
        vault.sweepZoneFees(zone);
        assertEq(usd.balanceOf(treasury), 1_250);
        assertEq(_unbacked(address(usd), _accounts4()), 250_000); // carol's makers have yet to settle
    }

    function test_sweepZoneFees_revertsWhenNothingAccrued() public {
        vm.expectRevert(ISettlement.SettlementNoFeesAccrued.selector);
        vault.sweepZoneFees(zone);
        _restingPair();
        _settleResting(zone, bob, alice, 1_000, PRICE, 0);
        vault.sweepZoneFees(zone);
        vm.expectRevert(ISettlement.SettlementNoFeesAccrued.selector);
        vault.sweepZoneFees(zone); // swept once only
        vm.expectRevert(ISettlement.SettlementNoFeesAccrued.selector);
        vault.sweepZoneFees(zone2); // nor from another zone
    }

    function test_sweepProtocolFees_paysTheProtocolTreasury() public {
        _restingPair();
        _settleResting(zone, bob, alice, 2_000, PRICE, 0);
        vm.expectEmit(address(vault));
        emit ISettlement.ProtocolFeesSwept(zone, protocolTreasury, 1_000);
        vm.prank(stranger);
        assertEq(vault.sweepProtocolFees(zone), 1_000);
        assertEq(usd.balanceOf(protocolTreasury), 1_000);
        assertEq(vault.accruedProtocolFees(zone), 0);
        assertEq(vault.accruedZoneFees(zone), 2_500); // untouched
    }

    function test_sweepProtocolFees_accruesAndSweepsPerZone() public {
        _escrow(alice, 0, 3_000);
        _escrow(bob, 2 * USD, 0);
        _depositVault(carol, USD, 0);
        _settleResting(zone, bob, alice, 1_000, PRICE, 0); // protocol 500
        _settleResting(zone2, bob, alice, 2_000, PRICE, 0); // protocol 1_000
        _settleTaker(zone2, carol, true, 1_000, 250_000, 0); // protocol 500
        assertEq(vault.accruedProtocolFees(zone), 500);
        assertEq(vault.accruedProtocolFees(zone2), 1_500);

        vm.expectEmit(address(vault));
        emit ISettlement.ProtocolFeesSwept(zone2, protocolTreasury, 1_500);
        assertEq(vault.sweepProtocolFees(zone2), 1_500);
        assertEq(usd.balanceOf(protocolTreasury), 1_500);
        assertEq(vault.accruedProtocolFees(zone2), 0);
        assertEq(vault.accruedProtocolFees(zone), 500); // untouched
        assertEq(vault.accruedZoneFees(zone2), 7_500); // untouched: 2_500 + 5_000
        vm.expectRevert(ISettlement.SettlementNoFeesAccrued.selector);
        vault.sweepProtocolFees(zone2);
        assertEq(vault.sweepProtocolFees(zone), 500);
        assertEq(usd.balanceOf(protocolTreasury), 2_000);
    }

    function test_sweepProtocolFees_paysTheCurrentTreasury() public {
        _restingPair();
        _settleResting(zone, bob, alice, 2_000, PRICE, 0);
        vault.setProtocolTreasury(carol);
        vault.sweepProtocolFees(zone);
        assertEq(usd.balanceOf(carol), 1_000);
        assertEq(usd.balanceOf(protocolTreasury), 0);
    }

    function test_sweepProtocolFees_revertsWhenNothingAccrued() public {
        vm.expectRevert(ISettlement.SettlementNoFeesAccrued.selector);
        vault.sweepProtocolFees(zone);
        _restingPair();
        _settleResting(zone2, bob, alice, 1_000, PRICE, 0);
        vm.expectRevert(ISettlement.SettlementNoFeesAccrued.selector);
        vault.sweepProtocolFees(zone); // zone2's fees are not zone's
    }

    function test_sweeps_workWhilePausedAndHalted() public {
        _restingPair();
        _settleResting(zone, bob, alice, 2_000, PRICE, 0);
        vm.prank(guardian);
        grid.pause();
        vm.prank(gridOperator);
        grid.haltZone(zone, "storm");
        vault.sweepZoneFees(zone);
        vault.sweepProtocolFees(zone);
        assertEq(usd.balanceOf(treasury) + usd.balanceOf(protocolTreasury), 3_500);
    }

    // ─────────────────────────────────────────────────────────────── governance

    function test_constructor_deployerIsTheOnlyEnergyTrading() public {
        vm.expectEmit();
        emit ISettlement.EnergyTradingSet(stranger);
        vm.prank(stranger);
        Settlement fresh = new Settlement(address(manager), grid, usd, token, protocolTreasury);
        assertEq(fresh.energyTrading(), stranger);
        assertEq(vault.energyTrading(), fakeTrading);
        vm.prank(fakeTrading); // another vault's market is a stranger here
        vm.expectRevert(_notTrading(fakeTrading));
        fresh.lock(alice, address(usd), 0);
    }

    function test_trading_revertsForAnyoneButTheDeployer() public {
        Settlement fresh = new Settlement(address(manager), grid, usd, token, protocolTreasury);
        vm.startPrank(stranger);
        vm.expectRevert(_notTrading(stranger));
        fresh.lock(alice, address(usd), 0);
        vm.expectRevert(_notTrading(stranger));
        fresh.settleResting(zone, alice, bob, 1, 1, 0, 0, 0);
        vm.expectRevert(_notTrading(stranger));
        fresh.settleTaker(zone, alice, true, 0, 0, 0, 0, 0);
        vm.expectRevert(_notTrading(stranger));
        fresh.settleMaker(alice, true, 0, 0, 0);
        vm.stopPrank();
    }

    function test_setProtocolTreasury_updatesAndEmits() public {
        vm.expectEmit(address(vault));
        emit ISettlement.ProtocolTreasuryUpdated(carol);
        vault.setProtocolTreasury(carol);
        assertEq(vault.protocolTreasury(), carol);
    }

    function test_setProtocolTreasury_revertsOnZeroAddress() public {
        vm.expectRevert(ISettlement.SettlementZeroAddress.selector);
        vault.setProtocolTreasury(address(0));
    }

    function test_setProtocolTreasury_revertsForStranger() public {
        vm.prank(stranger);
        vm.expectRevert(_unauthorized(stranger));
        vault.setProtocolTreasury(stranger);
    }

    // ─────────────────────────────────────────────────────────────── fuzz

    /// @dev The buyer pays exactly what the seller nets plus both fees; fees round up but stay within the
    /// notional; the protocol's share rounds down.
    function testFuzz_settleResting_roundingNeverCreatesValue(
        uint64 amountWh,
        uint128 pricePerKWh,
        uint16 gridFeeBps,
        uint16 protocolFeeBps,
        uint256 refund
    ) public {
        amountWh = uint64(bound(amountWh, 1, 1e12)); // up to 1 GWh
        pricePerKWh = uint128(bound(pricePerKWh, 1, 1e12)); // up to 1 million USD per kWh
        gridFeeBps = uint16(bound(gridFeeBps, 0, grid.MAX_GRID_FEE_BPS()));
        protocolFeeBps = uint16(bound(protocolFeeBps, 0, vault.MAX_PROTOCOL_FEE_BPS()));
        refund = bound(refund, 0, 1e12);
        protocolBps = protocolFeeBps;

        uint256 notional = vault.notionalOf(amountWh, pricePerKWh);
        _escrow(alice, 0, amountWh);
        _escrow(bob, notional + refund, 0);
        vm.prank(fakeTrading);
        ISettlement.TradeAmounts memory a =
            vault.settleResting(zone, bob, alice, amountWh, pricePerKWh, refund, gridFeeBps, protocolBps);

        uint256 exact = uint256(amountWh) * pricePerKWh; // × 1000
        assertEq(a.notional, notional);
        assertGe(a.notional * 1_000, exact, "buyer pays at least the exact price");
        assertLt(a.notional * 1_000, exact + 1_000, "by less than one base unit");
        _assertFeeRounding(a, gridFeeBps, protocolFeeBps);
        assertLe(a.gridFee + a.protocolFee, a.notional, "fees within the notional");

        // Conservation: every base unit the buyer paid landed exactly once.
        uint256 sellerNet = _balance(alice, address(usd)).available;
        assertEq(sellerNet + a.gridFee + a.protocolFee, notional, "buyer pays seller net + grid + protocol");
        assertEq(vault.accruedZoneFees(zone), a.gridFee);
        assertEq(vault.accruedProtocolFees(zone), a.protocolFee);
        assertEq(_balance(bob, address(usd)).available, refund);
        assertEq(_balance(bob, address(usd)).locked, 0);
        assertEq(_balance(bob, address(token)).available, amountWh);
        assertEq(_balance(alice, address(token)).locked, 0);
        assertEq(usd.balanceOf(address(vault)), notional + refund);
        assertEq(vault.statement(bob, JUNE_2025).paid, notional);
        assertEq(vault.statement(bob, JUNE_2025).buyFees, 0);
        assertEq(vault.statement(alice, JUNE_2025).earned + vault.statement(alice, JUNE_2025).fees, notional);
    }

    /// @dev The fee split ISettlement specifies, checked by its rounding bounds and against `_expectedFees`.
    function _assertFeeRounding(ISettlement.TradeAmounts memory a, uint256 gridFeeBps, uint256 protocolFeeBps)
        internal
        pure
    {
        (uint256 gridFee, uint256 protocolFee) = _expectedFees(a.notional, gridFeeBps, protocolFeeBps);
        assertEq(a.gridFee, gridFee, "grid fee");
        assertEq(a.protocolFee, protocolFee, "protocol fee");
        uint256 fees = a.gridFee + a.protocolFee;
        uint256 feeBps = gridFeeBps + protocolFeeBps;
        assertGe(fees * 10_000, a.notional * feeBps, "total fee rounds up");
        if (fees != 0) assertLt((fees - 1) * 10_000, a.notional * feeBps, "by less than one base unit");
        assertLe(a.protocolFee * 10_000, a.notional * protocolFeeBps, "protocol share rounds down");
        assertGt((a.protocolFee + 1) * 10_000, a.notional * protocolFeeBps, "by less than one base unit");
    }

    /// @dev One taker settlement for the fee-math fuzz, with the fees ISettlement specifies.
    struct FeeCase {
        bool takerBuys;
        uint256 amountWh;
        uint256 notional;
        uint16 gridFeeBps;
        uint16 protocolFeeBps;
        uint256 takerLock;
        uint256 spare;
        uint256 gridFee;
        uint256 protocolFee;
    }

    /// @dev A taker's fee math: a buyer pays notional + fees, a seller gets notional − fees, the fees split
    /// exactly into the zone's and the protocol's; once its maker settles, nothing was created or lost.
    function testFuzz_settleTaker_feeMath(
        bool takerBuys,
        uint256 amountWh,
        uint256 notional,
        uint16 gridFeeBps,
        uint16 protocolFeeBps,
        uint256 takerLock,
        uint256 spare
    ) public {
        FeeCase memory c;
        c.takerBuys = takerBuys;
        c.amountWh = bound(amountWh, 1, type(uint32).max); // EnergyTrading's MAX_AMOUNT_WH
        c.notional = bound(notional, 1, 1e18); // up to a trillion USD
        c.gridFeeBps = uint16(bound(gridFeeBps, 0, grid.MAX_GRID_FEE_BPS()));
        c.protocolFeeBps = uint16(bound(protocolFeeBps, 0, vault.MAX_PROTOCOL_FEE_BPS()));
        c.takerLock = bound(takerLock, 0, 1e18);
        c.spare = bound(spare, 0, 1e18);
        (c.gridFee, c.protocolFee) = _expectedFees(c.notional, c.gridFeeBps, c.protocolFeeBps);
        protocolBps = c.protocolFeeBps;
        uint256 fees = c.gridFee + c.protocolFee;

        // alice is the maker: her escrow holds what she gives
        if (c.takerBuys) {
            _escrow(alice, 0, c.amountWh);
            _depositVault(carol, c.notional + fees + c.takerLock + c.spare, 0);
        } else {
            _escrow(alice, c.notional, 0);
            _depositVault(carol, 0, c.amountWh + c.takerLock + c.spare);
        }
        uint256 vaultUsd = usd.balanceOf(address(vault));
        uint256 vaultWh = token.balanceOf(address(vault));

        vm.expectEmit(address(vault));
        emit ISettlement.TradesSettled(zone, c.gridFeeBps, c.protocolFeeBps, c.notional, c.gridFee, c.protocolFee);
        vm.prank(fakeTrading);
        ISettlement.TradeAmounts memory a =
            vault.settleTaker(zone, carol, c.takerBuys, c.amountWh, c.notional, c.takerLock, c.gridFeeBps, protocolBps);

        assertEq(a.notional, c.notional);
        _assertFeeRounding(a, c.gridFeeBps, c.protocolFeeBps);
        assertEq(vault.accruedZoneFees(zone), c.gridFee);
        assertEq(vault.accruedProtocolFees(zone), c.protocolFee);
        assertEq(usd.balanceOf(address(vault)), vaultUsd, "nothing leaves the vault");
        assertEq(token.balanceOf(address(vault)), vaultWh);
        _assertTakerSide(c);

        _settleMaker(alice, !c.takerBuys, c.amountWh, c.notional, 0);
        assertEq(_balance(alice, address(usd)).locked + _balance(alice, address(token)).locked, 0);
        if (c.takerBuys) assertEq(_balance(alice, address(usd)).available, c.notional, "maker gets the notional");
        else assertEq(_balance(alice, address(token)).available, c.amountWh, "maker gets the credits");
        _assertStatementsBalance(JUNE_2025, c.amountWh, c.notional, fees);
        assertEq(_unbacked(address(usd), _accounts4()), 0);
        assertEq(_unbacked(address(token), _accounts4()), 0);
    }

    /// @dev The taker's balances and statement after its fee-math settlement, before its maker settles.
    function _assertTakerSide(FeeCase memory c) internal view {
        uint256 fees = c.gridFee + c.protocolFee;
        ISettlement.Statement memory s = vault.statement(carol, JUNE_2025);
        if (c.takerBuys) {
            assertEq(_balance(carol, address(usd)).available, c.spare, "buyer pays notional + fees");
            assertEq(_balance(carol, address(usd)).locked, c.takerLock);
            assertEq(_balance(carol, address(token)).available, c.amountWh);
            assertEq(s.boughtWh, c.amountWh);
            assertEq(s.paid, c.notional);
            assertEq(s.buyFees, fees);
            assertEq(uint256(s.soldWh) + s.earned + s.fees, 0);
            // the taker's payment less the fees waits for the maker
            assertEq(_unbacked(address(usd), _accounts4()), int256(c.notional));
            assertEq(_unbacked(address(token), _accounts4()), -int256(c.amountWh));
        } else {
            assertEq(_balance(carol, address(token)).available, c.spare, "seller delivers the credits");
            assertEq(_balance(carol, address(token)).locked, c.takerLock);
            assertEq(_balance(carol, address(usd)).available, c.notional - fees, "seller gets notional - fees");
            assertEq(s.soldWh, c.amountWh);
            assertEq(s.earned, c.notional - fees);
            assertEq(s.fees, fees);
            assertEq(uint256(s.boughtWh) + s.paid + s.buyFees, 0);
            assertEq(_unbacked(address(usd), _accounts4()), -int256(c.notional));
            assertEq(_unbacked(address(token), _accounts4()), int256(c.amountWh));
        }
    }

    /// @dev What a taker's fills against 3 makers should move, computed independently of the vault.
    struct TakerCase {
        address[3] makers;
        uint256[3] makerWh;
        uint256[3] makerNotional;
        uint256 totalWh;
        uint256 totalNotional;
        uint256 gridFee;
        uint256 protocolFee;
    }

    /// @dev Up to 8 fills on EnergyTrading's price grid (multiples of 1000 per kWh, so notionals are exact);
    /// the fees are charged once on the total.
    function _draftTakerCase(uint256 seed, uint256 fillCount, uint16 gridFeeBps, uint16 protocolFeeBps)
        internal
        view
        returns (TakerCase memory c)
    {
        c.makers = [alice, bob, dave];
        for (uint256 i; i < fillCount; ++i) {
            uint256 r = uint256(keccak256(abi.encode(seed, i)));
            uint256 m = r % 3;
            uint256 amountWh = _bound(r >> 8, 1, 1e9);
            uint256 notional = amountWh * _bound(r >> 96, 1, type(uint16).max); // tick × 1000 per kWh
            c.makerWh[m] += amountWh;
            c.makerNotional[m] += notional;
            c.totalWh += amountWh;
            c.totalNotional += notional;
        }
        (c.gridFee, c.protocolFee) = _expectedFees(c.totalNotional, gridFeeBps, protocolFeeBps);
    }

    /// @dev A taker against up to 8 random fills of 3 makers, either side, random rates and resting lock, then
    /// the makers settle (some cancelling with a refund): every balance moves by exactly what the fills say and
    /// the vault stays fully backed.
    function testFuzz_settleTaker_conservesBalances(
        uint256 seed,
        bool takerBuys,
        uint8 fillCount,
        uint16 gridFeeBps,
        uint16 protocolFeeBps,
        uint256 takerLock,
        uint256 makerSpare
    ) public {
        fillCount = uint8(bound(fillCount, 1, 8));
        gridFeeBps = uint16(bound(gridFeeBps, 0, grid.MAX_GRID_FEE_BPS()));
        protocolFeeBps = uint16(bound(protocolFeeBps, 0, vault.MAX_PROTOCOL_FEE_BPS()));
        takerLock = bound(takerLock, 0, 1e12);
        makerSpare = bound(makerSpare, 0, 1e12);
        protocolBps = protocolFeeBps;
        TakerCase memory c = _draftTakerCase(seed, fillCount, gridFeeBps, protocolFeeBps);
        uint256 fees = c.gridFee + c.protocolFee;

        // escrows as EnergyTrading would have left them, each with some left resting
        for (uint256 m; m < 3; ++m) {
            if (takerBuys) _escrow(c.makers[m], 0, c.makerWh[m] + makerSpare);
            else _escrow(c.makers[m], c.makerNotional[m] + makerSpare, 0);
        }
        if (takerBuys) _depositVault(carol, c.totalNotional + fees + takerLock, 0);
        else _depositVault(carol, 0, c.totalWh + takerLock);

        vm.prank(fakeTrading);
        ISettlement.TradeAmounts memory a =
            vault.settleTaker(zone, carol, takerBuys, c.totalWh, c.totalNotional, takerLock, gridFeeBps, protocolBps);
        assertEq(a.notional, c.totalNotional);
        assertEq(a.gridFee, c.gridFee);
        assertEq(a.protocolFee, c.protocolFee);
        assertEq(vault.accruedZoneFees(zone), c.gridFee);
        assertEq(vault.accruedProtocolFees(zone), c.protocolFee);

        address gives = takerBuys ? address(usd) : address(token);
        assertEq(_balance(carol, gives).available, 0, "taker gave exactly the fills and the fees");
        assertEq(_balance(carol, gives).locked, takerLock, "the rest rests");
        if (takerBuys) assertEq(_balance(carol, address(token)).available, c.totalWh);
        else assertEq(_balance(carol, address(usd)).available, c.totalNotional - fees);

        _settleMakersOf(c, takerBuys, makerSpare);
        _assertStatementsBalance(JUNE_2025, c.totalWh, c.totalNotional, fees);
        assertEq(_unbacked(address(usd), _accounts4()), 0);
        assertEq(_unbacked(address(token), _accounts4()), 0);
    }

    /// @dev The makers of a TakerCase settle their fills; the first one also cancels the rest of its order.
    function _settleMakersOf(TakerCase memory c, bool takerBuys, uint256 makerSpare) internal {
        address makerGave = takerBuys ? address(token) : address(usd);
        for (uint256 m; m < 3; ++m) {
            uint256 unlockAmount = m == 0 ? makerSpare : 0;
            _settleMaker(c.makers[m], !takerBuys, c.makerWh[m], c.makerNotional[m], unlockAmount);
            assertEq(_balance(c.makers[m], makerGave).locked, makerSpare - unlockAmount);
            assertEq(_balance(c.makers[m], makerGave).available, unlockAmount);
            if (takerBuys) assertEq(_balance(c.makers[m], address(usd)).available, c.makerNotional[m]);
            else assertEq(_balance(c.makers[m], address(token)).available, c.makerWh[m]);
        }
    }

    /// @dev Over all accounts in `month`: bought == sold == `wh`, paid == earned + seller fees == `notional`,
    /// and the fees both sides paid == `fees`.
    function _assertStatementsBalance(uint32 month, uint256 wh, uint256 notional, uint256 fees) internal view {
        address[] memory accounts = _accounts4();
        uint256 sumBought;
        uint256 sumSold;
        uint256 sumPaid;
        uint256 sumEarnedAndFees;
        uint256 sumFees;
        for (uint256 i; i < accounts.length; ++i) {
            ISettlement.Statement memory s = vault.statement(accounts[i], month);
            sumBought += s.boughtWh;
            sumSold += s.soldWh;
            sumPaid += s.paid;
            sumEarnedAndFees += uint256(s.earned) + s.fees;
            sumFees += uint256(s.fees) + s.buyFees;
        }
        assertEq(sumBought, wh, "bought");
        assertEq(sumSold, wh, "sold");
        assertEq(sumPaid, notional, "paid");
        assertEq(sumEarnedAndFees, notional, "earned + fees");
        assertEq(sumFees, fees, "fees");
    }

    /// @dev Deposits and withdrawals of random amounts by random owners never touch anyone else's balance.
    function testFuzz_depositWithdraw_onlyMovesTheOwnersBalance(uint128 depositAmount, uint128 withdrawAmount)
        public
    {
        depositAmount = uint128(bound(depositAmount, 1, 1e24));
        withdrawAmount = uint128(bound(withdrawAmount, 1, depositAmount));
        _depositVault(alice, depositAmount, depositAmount);
        _depositVault(bob, 7, 7);
        vm.startPrank(alice);
        vault.withdraw(address(usd), withdrawAmount);
        vault.withdraw(address(token), withdrawAmount);
        vm.stopPrank();
        assertEq(_balance(alice, address(usd)).available, depositAmount - withdrawAmount);
        assertEq(_balance(alice, address(token)).available, depositAmount - withdrawAmount);
        assertEq(_balance(bob, address(usd)).available, 7);
        assertEq(_balance(bob, address(token)).available, 7);
        assertEq(usd.balanceOf(alice), withdrawAmount);
        assertEq(_unbacked(address(usd), _accounts4()), 0);
        assertEq(_unbacked(address(token), _accounts4()), 0);
    }
}

// ─────────────────────────────────────────────────────────────── reentrancy

/// @dev A vault whose payment token re-enters on every transfer: every re-entry, into any state-changing
/// function, is refused by the guard, the outer call completes, and the books still balance.
contract SettlementReentrancyTest is SettlementFixture {
    SettlementReentrantToken internal evil;
    Settlement internal evilVault;

    function setUp() public override {
        super.setUp();
        evil = new SettlementReentrantToken();
        // the token itself deploys the vault, so it is its EnergyTrading: its re-entries into lock/unlock/settle
        // pass the caller check
        vm.prank(address(evil));
        evilVault =
            new Settlement(address(manager), grid, IERC20(address(evil)), token, protocolTreasury);
        evil.aim(evilVault, zone);

        // the token holds its own balances in the vault, so a re-entered withdraw/lock/unlock could succeed
        evil.mint(address(evil), 100 * USD);
        vm.prank(address(evil));
        evilVault.deposit(address(evil), 10 * USD);
        vm.prank(address(evil));
        evilVault.lock(address(evil), address(evil), 5 * USD);

        // alice sells, bob buys: enough escrow for one settle per re-entry kind
        evil.mint(alice, 100 * USD);
        evil.mint(bob, 100 * USD);
        deal(address(token), alice, 100_000, true);
        vm.startPrank(alice);
        evil.approve(address(evilVault), type(uint256).max);
        token.approve(address(evilVault), type(uint256).max);
        evilVault.deposit(address(evil), 20 * USD);
        evilVault.deposit(address(token), 100_000);
        vm.stopPrank();
        vm.startPrank(bob);
        evil.approve(address(evilVault), type(uint256).max);
        evilVault.deposit(address(evil), 50 * USD);
        vm.stopPrank();
        vm.startPrank(address(evil));
        evilVault.lock(alice, address(token), 100_000);
        evilVault.lock(bob, address(evil), 50 * USD);
        vm.stopPrank();
    }

    function _kind(uint256 i) internal pure returns (SettlementReentrantToken.Reentry) {
        return SettlementReentrantToken.Reentry(i);
    }

    function _accrueFees() internal {
        vm.prank(address(evil));
        evilVault.settleResting(zone, bob, alice, 1_000, PRICE, 0, OFF_PEAK_BPS, PROTOCOL_FEE_BPS);
    }

    function _assertEveryReentryRefused(uint256 expectedAttempts) internal view {
        assertEq(evil.attempts(), expectedAttempts, "one re-entry per transfer");
        assertEq(evil.refused(), expectedAttempts, "all refused by the guard");
        assertEq(evil.succeeded(), 0);
        assertEq(
            bytes4(evil.lastError()), ReentrancyGuardTransient.ReentrancyGuardReentrantCall.selector, "guard error"
        );
        // the token's own vault balances were never moved by a re-entry
        assertEq(evilVault.balanceOf(address(evil), address(evil)).available, 5 * USD);
        assertEq(evilVault.balanceOf(address(evil), address(evil)).locked, 5 * USD);
        _assertBooksBalance();
    }

    function _assertBooksBalance() internal view {
        address[3] memory accounts = [alice, bob, address(evil)];
        uint256 owedUsd = evilVault.accruedZoneFees(zone) + evilVault.accruedProtocolFees(zone);
        uint256 owedWh;
        for (uint256 i; i < accounts.length; ++i) {
            ISettlement.Balance memory u = evilVault.balanceOf(accounts[i], address(evil));
            ISettlement.Balance memory c = evilVault.balanceOf(accounts[i], address(token));
            owedUsd += uint256(u.available) + u.locked;
            owedWh += uint256(c.available) + c.locked;
        }
        assertEq(evil.balanceOf(address(evilVault)), owedUsd, "payment token backed");
        assertEq(token.balanceOf(address(evilVault)), owedWh, "credits backed");
    }

    function test_deposit_refusesReentryFromToken() public {
        for (uint256 i = 1; i <= evil.REENTRY_KINDS(); ++i) {
            evil.arm(_kind(i));
            vm.prank(alice);
            evilVault.deposit(address(evil), USD);
        }
        evil.arm(_kind(0));
        _assertEveryReentryRefused(evil.REENTRY_KINDS());
        assertEq(evilVault.balanceOf(alice, address(evil)).available, 30 * USD);
    }

    function test_depositWithPermit_refusesReentryFromToken() public {
        for (uint256 i = 1; i <= evil.REENTRY_KINDS(); ++i) {
            evil.arm(_kind(i));
            vm.prank(alice); // no permit on this token: the failed permit is ignored, the allowance pays
            evilVault.depositWithPermit(address(evil), USD, block.timestamp, 0, bytes32(0), bytes32(0));
        }
        evil.arm(_kind(0));
        _assertEveryReentryRefused(evil.REENTRY_KINDS());
        assertEq(evilVault.balanceOf(alice, address(evil)).available, 30 * USD);
    }

    function test_withdraw_refusesReentryFromToken() public {
        for (uint256 i = 1; i <= evil.REENTRY_KINDS(); ++i) {
            evil.arm(_kind(i));
            vm.prank(alice);
            evilVault.withdraw(address(evil), USD);
        }
        evil.arm(_kind(0));
        _assertEveryReentryRefused(evil.REENTRY_KINDS());
        assertEq(evilVault.balanceOf(alice, address(evil)).available, 10 * USD);
        assertEq(evil.balanceOf(alice), 90 * USD);
    }

    function test_sweepZoneFees_refusesReentryFromToken() public {
        uint256 swept;
        for (uint256 i = 1; i <= evil.REENTRY_KINDS(); ++i) {
            _accrueFees();
            evil.arm(_kind(i));
            swept += evilVault.sweepZoneFees(zone);
        }
        evil.arm(_kind(0));
        _assertEveryReentryRefused(evil.REENTRY_KINDS());
        assertEq(swept, evil.REENTRY_KINDS() * 1_250);
        assertEq(evil.balanceOf(treasury), swept);
        assertEq(evilVault.accruedZoneFees(zone), 0);
    }

    function test_sweepProtocolFees_refusesReentryFromToken() public {
        uint256 swept;
        for (uint256 i = 1; i <= evil.REENTRY_KINDS(); ++i) {
            _accrueFees();
            evil.arm(_kind(i));
            swept += evilVault.sweepProtocolFees(zone);
        }
        evil.arm(_kind(0));
        _assertEveryReentryRefused(evil.REENTRY_KINDS());
        assertEq(swept, evil.REENTRY_KINDS() * 500);
        assertEq(evil.balanceOf(protocolTreasury), swept);
        assertEq(evilVault.accruedProtocolFees(zone), 0);
    }

    /// @dev Control: the same calls from the token outside a transfer succeed (the transient lock is released
    /// after every call, even within one transaction), so the guard alone refused them above.
    function test_nonReentrant_releasesBetweenCalls() public {
        vm.startPrank(address(evil));
        evilVault.deposit(address(evil), 1);
        evilVault.withdraw(address(evil), 1);
        evilVault.lock(address(evil), address(evil), 1);
        evilVault.unlock(address(evil), address(evil), 1);
        evilVault.settleTaker(zone, address(evil), true, 0, 0, 1, OFF_PEAK_BPS, PROTOCOL_FEE_BPS);
        evilVault.settleMaker(address(evil), true, 0, 0, 1);
        vm.stopPrank();
        _accrueFees();
        evilVault.sweepZoneFees(zone);
        evilVault.sweepProtocolFees(zone);
        assertEq(evil.attempts(), 0);
        _assertBooksBalance();
    }
}

// ─────────────────────────────────────────────────────────────── invariants

/// @dev Drives `vault` as four traders and EnergyTrading would, with bounded random inputs across two zones,
/// fee rates and the clock, and keeps ghost books of what went in and out. A taker's fills settle its side at
/// once and leave the makers' side pending, as EnergyTrading's unsettled fills, until `settleMaker` (claim,
/// cancel or expiry) settles them, possibly in a later month; a pending fill's escrow is reserved, so no
/// other action may spend it first.
contract SettlementHandler is SlimTest {
    /// @dev A maker's fill whose taker side settled and whose own side has not.
    struct Pending {
        address maker;
        bool makerBuys;
        uint256 amountWh;
        uint256 notional;
    }

    /// @dev A statement as the handler expects it.
    struct Ghost {
        uint256 soldWh;
        uint256 earned;
        uint256 fees;
        uint256 boughtWh;
        uint256 paid;
        uint256 buyFees;
    }

    Settlement internal immutable vault;
    address internal immutable usd;
    address internal immutable credits;
    address internal immutable trading;
    uint16 internal immutable maxGridFeeBps;
    /// @dev The protocol fee rate the market passes now (governed on EnergyTrading; `setProtocolFee` moves it).
    uint16 internal protocolFeeBps;
    address[] internal accounts;
    uint32[] internal zones;
    uint32[] internal months;
    mapping(uint32 month => bool) internal seenMonth;
    Pending[] internal pending;
    mapping(address account => mapping(address token => uint256)) public reserved;
    mapping(address account => mapping(uint32 month => Ghost)) internal expected;

    mapping(address token => uint256) public deposited;
    mapping(address token => uint256) public withdrawn;
    mapping(uint32 zone => uint256) public gridFeesCharged;
    mapping(uint32 zone => uint256) public protocolFeesCharged;
    mapping(uint32 zone => uint256) public zoneFeesSwept;
    mapping(uint32 zone => uint256) public protocolFeesSwept;
    uint256 public feesCharged;
    /// @dev Pending maker fills: sold by selling makers (taker bought) and bought by buying makers.
    uint256 public pendingSoldWh;
    uint256 public pendingSoldNotional;
    uint256 public pendingBoughtWh;
    uint256 public pendingBoughtNotional;
    uint256 public takerFills;
    uint256 public makerSettlements;
    uint256 public restingFills;

    constructor(
        Settlement vault_,
        address trading_,
        uint16 protocolFeeBps_,
        address[] memory accounts_,
        uint32[] memory zones_
    ) {
        vault = vault_;
        usd = vault_.paymentToken();
        credits = vault_.energyToken();
        trading = trading_;
        protocolFeeBps = protocolFeeBps_;
        maxGridFeeBps = IGridManagement(vault_.gridManagement()).MAX_GRID_FEE_BPS();
        accounts = accounts_;
        zones = zones_;
    }

    // ─────────────────────────────────────────────────────────────── actions

    function deposit(uint256 who, bool isUsd, uint256 amount) external {
        address account = accounts[who % accounts.length];
        address asset = isUsd ? usd : credits;
        amount = _bound(amount, 1, 1e15);
        deal(asset, account, IERC20(asset).balanceOf(account) + amount);
        vm.startPrank(account);
        IERC20(asset).approve(address(vault), amount);
        vault.deposit(asset, amount);
        vm.stopPrank();
        deposited[asset] += amount;
    }

    function withdraw(uint256 who, bool isUsd, uint256 amount) external {
        address account = accounts[who % accounts.length];
        address asset = isUsd ? usd : credits;
        uint256 available = vault.balanceOf(account, asset).available;
        if (available == 0) return;
        amount = _bound(amount, 1, available);
        vm.prank(account);
        vault.withdraw(asset, amount);
        withdrawn[asset] += amount;
    }

    function lock(uint256 who, bool isUsd, uint256 amount) external {
        address account = accounts[who % accounts.length];
        address asset = isUsd ? usd : credits;
        uint256 available = vault.balanceOf(account, asset).available;
        if (available == 0) return;
        vm.prank(trading);
        vault.lock(account, asset, _bound(amount, 1, available));
    }

    /// @dev Unlocks escrow no pending fill is owed.
    function unlock(uint256 who, bool isUsd, uint256 amount) external {
        address account = accounts[who % accounts.length];
        address asset = isUsd ? usd : credits;
        uint256 free = _freeLocked(account, asset);
        if (free == 0) return;
        vm.prank(trading);
        vault.unlock(account, asset, _bound(amount, 1, free));
    }

    /// @dev A taker's settlement as the handler drafts it.
    struct TakerTrade {
        address taker;
        bool takerBuys;
        uint32 zone;
        uint16 gridFeeBps;
        uint256 amountWh;
        uint256 notional;
        uint256 takerLock;
        uint256 gridFee;
        uint256 protocolFee;
    }

    /// @dev A taker's up to 3 fills against makers' free escrow (the taker may be one of them), at tick-grid
    /// prices its available balance covers with the fees; the rest of that balance may rest. The fills
    /// become pending maker settlements.
    function settleTaker(
        uint256 who,
        bool takerBuys,
        uint256 zoneSeed,
        uint256 fillSeed,
        uint256 lockSeed,
        uint256 feeSeed
    ) external {
        TakerTrade memory t;
        t.taker = accounts[who % accounts.length];
        t.takerBuys = takerBuys;
        t.zone = zones[zoneSeed % zones.length];
        t.gridFeeBps = uint16(_bound(feeSeed, 0, maxGridFeeBps));
        for (uint256 i; i < accounts.length; ++i) {
            _restHalf(accounts[i], takerBuys ? credits : usd); // the makers' orders rest first
        }
        uint256 budget = vault.balanceOf(t.taker, takerBuys ? usd : credits).available;
        Pending[] memory fills =
            _draftFills(takerBuys, fillSeed, budget, uint256(t.gridFeeBps) + protocolFeeBps);
        for (uint256 i; i < fills.length; ++i) {
            t.amountWh += fills[i].amountWh;
            t.notional += fills[i].notional;
        }
        if (t.amountWh != 0) (t.gridFee, t.protocolFee) = _fees(t.notional, t.gridFeeBps, protocolFeeBps);
        uint256 spent = takerBuys ? t.notional + t.gridFee + t.protocolFee : t.amountWh;
        t.takerLock = _bound(lockSeed, 0, budget - spent);
        if (t.amountWh == 0 && t.takerLock == 0) return; // EnergyTrading has nothing to settle
        _settleTaker(t);
        if (t.amountWh == 0) return;
        for (uint256 i; i < fills.length; ++i) {
            _addPending(fills[i]);
        }
        takerFills += fills.length;
    }

    function _settleTaker(TakerTrade memory t) private {
        vm.prank(trading);
        ISettlement.TradeAmounts memory a = vault.settleTaker(
            t.zone, t.taker, t.takerBuys, t.amountWh, t.notional, t.takerLock, t.gridFeeBps, protocolFeeBps
        );
        assertEq(a.gridFee, t.gridFee, "taker grid fee");
        assertEq(a.protocolFee, t.protocolFee, "taker protocol fee");
        if (t.amountWh == 0) return;

        _charge(t.zone, t.gridFee, t.protocolFee);
        uint256 fees = t.gridFee + t.protocolFee;
        Ghost storage g = expected[t.taker][_seeMonth()];
        if (t.takerBuys) {
            (g.boughtWh, g.paid, g.buyFees) = (g.boughtWh + t.amountWh, g.paid + t.notional, g.buyFees + fees);
        } else {
            (g.soldWh, g.earned, g.fees) = (g.soldWh + t.amountWh, g.earned + t.notional - fees, g.fees + fees);
        }
    }

    function _addPending(Pending memory p) private {
        pending.push(p);
        if (p.makerBuys) {
            reserved[p.maker][usd] += p.notional;
            (pendingBoughtWh, pendingBoughtNotional) =
                (pendingBoughtWh + p.amountWh, pendingBoughtNotional + p.notional);
        } else {
            reserved[p.maker][credits] += p.amountWh;
            (pendingSoldWh, pendingSoldNotional) = (pendingSoldWh + p.amountWh, pendingSoldNotional + p.notional);
        }
    }

    /// @dev Drafts up to 3 fills within the makers' free escrow and the taker's budget, fees included for a
    /// buyer: N ≤ budget × 10_000 / (10_000 + feeBps) keeps N + ceil(N × feeBps / 10_000) ≤ budget.
    function _draftFills(bool takerBuys, uint256 fillSeed, uint256 budget, uint256 feeBps)
        private
        view
        returns (Pending[] memory fills)
    {
        uint256[] memory makerLeft = new uint256[](accounts.length);
        for (uint256 i; i < accounts.length; ++i) {
            makerLeft[i] = _freeLocked(accounts[i], takerBuys ? credits : usd);
        }
        if (takerBuys) budget = budget * 10_000 / (10_000 + feeBps); // what is left for notionals
        Pending[] memory drafted = new Pending[](fillSeed % 4);
        uint256 count;
        for (uint256 i; i < drafted.length; ++i) {
            Pending memory p = _draftFill(uint256(keccak256(abi.encode(fillSeed, i))), takerBuys, makerLeft, budget);
            if (p.amountWh == 0) continue;
            budget -= takerBuys ? p.notional : p.amountWh;
            drafted[count++] = p;
        }
        fills = new Pending[](count);
        for (uint256 i; i < count; ++i) {
            fills[i] = drafted[i];
        }
    }

    /// @dev One fill against a random maker: its free escrow caps the amount (taker buys) or the notional
    /// (taker sells), the taker's budget the other; zero when neither has room. Takes the fill off `makerLeft`.
    function _draftFill(uint256 r, bool takerBuys, uint256[] memory makerLeft, uint256 budget)
        private
        view
        returns (Pending memory p)
    {
        uint256 m = r % accounts.length;
        if (makerLeft[m] == 0 || budget == 0) return p;
        uint256 amountWh = _bound(r >> 8, 1, Math.min(takerBuys ? makerLeft[m] : budget, 1e9));
        // notional = amountWh × tick: a price on EnergyTrading's grid (tick × 1000 per kWh)
        uint256 maxTick = Math.min((takerBuys ? budget : makerLeft[m]) / amountWh, type(uint16).max);
        if (maxTick == 0) return p;
        uint256 notional = amountWh * _bound(r >> 96, 1, maxTick);
        makerLeft[m] -= takerBuys ? amountWh : notional;
        p = Pending({maker: accounts[m], makerBuys: !takerBuys, amountWh: amountWh, notional: notional});
    }

    /// @dev Settles a pending fill (and, on an odd seed, every other pending fill of the same maker and side,
    /// as one order's claim) and unlocks part of the maker's free escrow; without pending fills, an unlock only
    /// (a cancel or expiry without fills).
    function settleMaker(uint256 pendingSeed, uint256 unlockSeed, uint256 who, bool makerBuys) external {
        address maker;
        uint256 amountWh;
        uint256 notional;
        if (pending.length != 0) {
            uint256 index = pendingSeed % pending.length;
            (maker, makerBuys) = (pending[index].maker, pending[index].makerBuys);
            bool all = pendingSeed & 1 == 1;
            // backwards, so the swap-and-pop only moves entries already looked at
            for (uint256 i = pending.length; i != 0; --i) {
                Pending memory p = pending[i - 1];
                bool take = all ? p.maker == maker && p.makerBuys == makerBuys : i - 1 == index;
                if (!take) continue;
                amountWh += p.amountWh;
                notional += p.notional;
                pending[i - 1] = pending[pending.length - 1];
                pending.pop();
            }
        } else {
            maker = accounts[who % accounts.length];
        }
        address gave = makerBuys ? usd : credits;
        uint256 unlockAmount = _bound(unlockSeed, 0, _freeLocked(maker, gave));
        if (amountWh == 0 && unlockAmount == 0) return;

        vm.prank(trading);
        vault.settleMaker(maker, makerBuys, amountWh, notional, unlockAmount);
        if (amountWh == 0) return;

        Ghost storage g = expected[maker][_seeMonth()];
        if (makerBuys) {
            reserved[maker][usd] -= notional;
            (pendingBoughtWh, pendingBoughtNotional) = (pendingBoughtWh - amountWh, pendingBoughtNotional - notional);
            (g.boughtWh, g.paid) = (g.boughtWh + amountWh, g.paid + notional);
        } else {
            reserved[maker][credits] -= amountWh;
            (pendingSoldWh, pendingSoldNotional) = (pendingSoldWh - amountWh, pendingSoldNotional - notional);
            (g.soldWh, g.earned) = (g.soldWh + amountWh, g.earned + notional);
        }
        makerSettlements += 1;
    }

    /// @dev A matchOrders fill as the handler drafts it.
    struct RestingTrade {
        address buyer;
        address seller;
        uint32 zone;
        uint16 gridFeeBps;
        uint256 amountWh;
        uint256 price;
        uint256 notional;
        uint256 refund;
        uint256 gridFee;
        uint256 protocolFee;
    }

    /// @dev A fill between a resting buy and a resting sell, priced within the buyer's free escrow; part of the
    /// rest of that escrow may be refunded.
    function settleResting(uint256 buyerSeed, uint256 sellerSeed, uint256 zoneSeed, uint256 tradeSeed, uint256 feeSeed)
        external
    {
        RestingTrade memory t;
        t.buyer = accounts[buyerSeed % accounts.length];
        t.seller = accounts[sellerSeed % accounts.length];
        t.zone = zones[zoneSeed % zones.length];
        t.gridFeeBps = uint16(_bound(feeSeed, 0, maxGridFeeBps));
        _restHalf(t.buyer, usd);
        _restHalf(t.seller, credits);
        uint256 lockedUsd = _freeLocked(t.buyer, usd);
        uint256 lockedWh = _freeLocked(t.seller, credits);
        if (lockedUsd == 0 || lockedWh == 0) return;
        t.amountWh = _bound(tradeSeed, 1, Math.min(lockedWh, 1e9));
        uint256 maxPrice = Math.min(lockedUsd * 1_000 / t.amountWh, 1e12);
        if (maxPrice == 0) return;
        t.price = _bound(uint256(keccak256(abi.encode(tradeSeed, 1))), 1, maxPrice);
        t.notional = Math.mulDiv(t.amountWh, t.price, 1_000, Math.Rounding.Ceil);
        t.refund = _bound(uint256(keccak256(abi.encode(tradeSeed, 2))), 0, lockedUsd - t.notional);
        (t.gridFee, t.protocolFee) = _fees(t.notional, t.gridFeeBps, protocolFeeBps);
        _settleResting(t);
    }

    function _settleResting(RestingTrade memory t) private {
        vm.prank(trading);
        ISettlement.TradeAmounts memory a = vault.settleResting(
            t.zone, t.buyer, t.seller, uint64(t.amountWh), uint128(t.price), t.refund, t.gridFeeBps, protocolFeeBps
        );
        assertEq(a.notional, t.notional, "resting notional");
        assertEq(a.gridFee, t.gridFee, "resting grid fee");
        assertEq(a.protocolFee, t.protocolFee, "resting protocol fee");

        _charge(t.zone, t.gridFee, t.protocolFee);
        uint32 month = _seeMonth();
        uint256 fees = t.gridFee + t.protocolFee;
        Ghost storage b = expected[t.buyer][month];
        (b.boughtWh, b.paid) = (b.boughtWh + t.amountWh, b.paid + t.notional);
        Ghost storage s = expected[t.seller][month];
        (s.soldWh, s.earned, s.fees) = (s.soldWh + t.amountWh, s.earned + t.notional - fees, s.fees + fees);
        restingFills += 1;
    }

    function sweepZoneFees(uint256 zoneSeed) external {
        uint32 zone = zones[zoneSeed % zones.length];
        if (vault.accruedZoneFees(zone) == 0) return;
        zoneFeesSwept[zone] += vault.sweepZoneFees(zone);
    }

    function sweepProtocolFees(uint256 zoneSeed) external {
        uint32 zone = zones[zoneSeed % zones.length];
        if (vault.accruedProtocolFees(zone) == 0) return;
        protocolFeesSwept[zone] += vault.sweepProtocolFees(zone);
    }

    /// @dev Governance changes the market's protocol fee rate between trades; the market passes it on.
    function setProtocolFee(uint256 bps) external {
        protocolFeeBps = uint16(_bound(bps, 0, vault.MAX_PROTOCOL_FEE_BPS()));
    }

    /// @dev Moves the clock across days and months.
    function warp(uint256 secondsAhead) external {
        vm.warp(block.timestamp + _bound(secondsAhead, 1, 12 days));
    }

    // ─────────────────────────────────────────────────────────────── views for the invariants

    function accountCount() external view returns (uint256) {
        return accounts.length;
    }

    function accountAt(uint256 i) external view returns (address) {
        return accounts[i];
    }

    function monthCount() external view returns (uint256) {
        return months.length;
    }

    function monthAt(uint256 i) external view returns (uint32) {
        return months[i];
    }

    function pendingCount() external view returns (uint256) {
        return pending.length;
    }

    function expectedStatement(address account, uint32 month) external view returns (Ghost memory) {
        return expected[account][month];
    }

    // ─────────────────────────────────────────────────────────────── helpers

    /// @dev Without free escrow, an order rests: half of the account's available balance gets locked.
    function _restHalf(address account, address asset) private {
        if (_freeLocked(account, asset) != 0) return;
        uint256 available = vault.balanceOf(account, asset).available;
        if (available == 0) return;
        vm.prank(trading);
        vault.lock(account, asset, (available + 1) / 2);
    }

    /// @dev Locked escrow no pending fill is owed.
    function _freeLocked(address account, address asset) private view returns (uint256) {
        return vault.balanceOf(account, asset).locked - reserved[account][asset];
    }

    /// @dev The fee split ISettlement specifies, computed independently of the vault.
    function _fees(uint256 notional, uint256 gridBps, uint256 protocolBps)
        private
        pure
        returns (uint256 gridFee, uint256 protocolFee)
    {
        uint256 totalFee = Math.mulDiv(notional, gridBps + protocolBps, 10_000, Math.Rounding.Ceil);
        protocolFee = notional * protocolBps / 10_000;
        gridFee = totalFee - protocolFee;
    }

    function _charge(uint32 zone, uint256 gridFee, uint256 protocolFee) private {
        gridFeesCharged[zone] += gridFee;
        protocolFeesCharged[zone] += protocolFee;
        feesCharged += gridFee + protocolFee;
    }

    function _seeMonth() private returns (uint32 month) {
        month = vault.monthOf(block.timestamp);
        if (seenMonth[month]) return month;
        seenMonth[month] = true;
        months.push(month);
    }
}

/// @dev The handler only makes calls that must succeed, so any revert is a failure.
/// forge-config: default.invariant.fail-on-revert = true
/// forge-config: ci.invariant.fail-on-revert = true
contract SettlementInvariantTest is SettlementFixture {
    SettlementHandler internal handler;
    address[] internal traders;
    uint32[2] internal zones;

    function setUp() public override {
        super.setUp();
        traders = _accounts4();
        zones = [zone, zone2];
        uint32[] memory zoneList = new uint32[](2);
        zoneList[0] = zone;
        zoneList[1] = zone2;
        handler = new SettlementHandler(vault, fakeTrading, PROTOCOL_FEE_BPS, traders, zoneList);

        bytes4[] memory selectors = new bytes4[](11);
        selectors[0] = SettlementHandler.deposit.selector;
        selectors[1] = SettlementHandler.withdraw.selector;
        selectors[2] = SettlementHandler.lock.selector;
        selectors[3] = SettlementHandler.unlock.selector;
        selectors[4] = SettlementHandler.settleTaker.selector;
        selectors[5] = SettlementHandler.settleMaker.selector;
        selectors[6] = SettlementHandler.settleResting.selector;
        selectors[7] = SettlementHandler.sweepZoneFees.selector;
        selectors[8] = SettlementHandler.sweepProtocolFees.selector;
        selectors[9] = SettlementHandler.setProtocolFee.selector;
        selectors[10] = SettlementHandler.warp.selector;
        targetSelector(FuzzSelector({addr: address(handler), selectors: selectors}));
        targetContract(address(handler));
    }

    /// @dev For each token, the vault holds exactly every account's available + locked, plus unswept fees,
    /// plus what takers paid to makers not yet settled, minus what makers sold out of their locked escrow and
    /// have not settled.
    function invariant_vaultHoldsEveryBalancePlusAccruedFeesAndPendingFills() public view {
        assertEq(
            _unbacked(address(usd), traders),
            int256(handler.pendingSoldNotional()) - int256(handler.pendingBoughtNotional()),
            "payment token"
        );
        assertEq(
            _unbacked(address(token), traders),
            int256(handler.pendingBoughtWh()) - int256(handler.pendingSoldWh()),
            "credits"
        );
    }

    /// @dev Every pending maker fill can still settle: its maker's locked escrow covers it.
    function invariant_pendingFillsAreCoveredByLockedEscrow() public view {
        for (uint256 i; i < traders.length; ++i) {
            assertGe(_balance(traders[i], address(usd)).locked, handler.reserved(traders[i], address(usd)));
            assertGe(_balance(traders[i], address(token)).locked, handler.reserved(traders[i], address(token)));
        }
    }

    /// @dev What the vault holds is what was deposited minus what was withdrawn (and, for the payment
    /// token, minus the fees swept out).
    function invariant_depositsMinusWithdrawalsMatchTheVault() public view {
        uint256 swept;
        for (uint256 i; i < zones.length; ++i) {
            swept += handler.zoneFeesSwept(zones[i]) + handler.protocolFeesSwept(zones[i]);
        }
        assertEq(
            usd.balanceOf(address(vault)),
            handler.deposited(address(usd)) - handler.withdrawn(address(usd)) - swept,
            "payment token"
        );
        assertEq(
            token.balanceOf(address(vault)),
            handler.deposited(address(token)) - handler.withdrawn(address(token)),
            "credits"
        );
    }

    /// @dev In each zone, every grid and protocol fee charged is either still accrued there or was paid to its
    /// treasury.
    function invariant_feesAccruePerZoneUntilSwept() public view {
        uint256 protocolSwept;
        for (uint256 i; i < zones.length; ++i) {
            uint32 z = zones[i];
            assertEq(vault.accruedZoneFees(z), handler.gridFeesCharged(z) - handler.zoneFeesSwept(z), "grid");
            assertEq(
                vault.accruedProtocolFees(z), handler.protocolFeesCharged(z) - handler.protocolFeesSwept(z), "protocol"
            );
            protocolSwept += handler.protocolFeesSwept(z);
        }
        assertEq(usd.balanceOf(treasury), handler.zoneFeesSwept(zone));
        assertEq(usd.balanceOf(zone2Treasury), handler.zoneFeesSwept(zone2));
        assertEq(usd.balanceOf(protocolTreasury), protocolSwept);
    }

    /// @dev Every account's statement in every month is exactly what settled into its balance that month: a
    /// taker's and a resting match's trades when they happened, a maker's fills when they settled.
    function invariant_statementsMatchTheGhostBooks() public view {
        for (uint256 i; i < handler.monthCount(); ++i) {
            uint32 month = handler.monthAt(i);
            for (uint256 j; j < traders.length; ++j) {
                ISettlement.Statement memory s = vault.statement(traders[j], month);
                SettlementHandler.Ghost memory g = handler.expectedStatement(traders[j], month);
                assertEq(s.soldWh, g.soldWh, "soldWh");
                assertEq(s.earned, g.earned, "earned");
                assertEq(s.fees, g.fees, "fees");
                assertEq(s.boughtWh, g.boughtWh, "boughtWh");
                assertEq(s.paid, g.paid, "paid");
                assertEq(s.buyFees, g.buyFees, "buyFees");
            }
        }
    }

    /// @dev Over all months, what all accounts bought equals what they sold and what buyers paid equals what
    /// sellers earned plus the fees deducted from them, once the pending maker fills are counted; the fees
    /// both sides paid are every fee charged.
    function invariant_statementsBalanceAcrossMonths() public view {
        uint256 boughtWh;
        uint256 soldWh;
        uint256 paid;
        uint256 earnedAndFees;
        uint256 fees;
        for (uint256 i; i < handler.monthCount(); ++i) {
            uint32 month = handler.monthAt(i);
            for (uint256 j; j < traders.length; ++j) {
                ISettlement.Statement memory s = vault.statement(traders[j], month);
                boughtWh += s.boughtWh;
                soldWh += s.soldWh;
                paid += s.paid;
                earnedAndFees += uint256(s.earned) + s.fees;
                fees += uint256(s.fees) + s.buyFees;
            }
        }
        assertEq(boughtWh + handler.pendingBoughtWh(), soldWh + handler.pendingSoldWh(), "Wh");
        assertEq(
            paid + handler.pendingBoughtNotional(), earnedAndFees + handler.pendingSoldNotional(), "payment"
        );
        assertEq(fees, handler.feesCharged(), "fees");
    }
}
