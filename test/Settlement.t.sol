// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {SlimTest} from "./utils/SlimTest.sol";
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
        SettleResting
    }

    uint8 internal constant REENTRY_KINDS = 9;

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
        if (kind == Reentry.SweepProtocolFees) return abi.encodeCall(ISettlement.sweepProtocolFees, ());
        if (kind == Reentry.Lock) return abi.encodeCall(ISettlement.lock, (self, self, 1));
        if (kind == Reentry.Unlock) return abi.encodeCall(ISettlement.unlock, (self, self, 1));
        if (kind == Reentry.SettleTaker) {
            return abi.encodeCall(ISettlement.settleTaker, (zone, self, true, new ISettlement.Fill[](0), 1));
        }
        return abi.encodeCall(ISettlement.settleResting, (zone, self, self, 1, 1_000, 0));
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
/// The fixture's clock is 2025-06-15 15:06:40 UTC: off-peak (grid 50 bps + protocol 20 bps).
abstract contract SettlementFixture is MarketFixture {
    uint256 internal constant JUNE_15_2025 = 1_749_945_600; // 00:00 UTC
    uint256 internal constant PEAK_START = JUNE_15_2025 + 17 hours;
    uint256 internal constant PEAK_END = JUNE_15_2025 + 21 hours;
    uint256 internal constant JULY_1_2025 = 1_751_328_000;
    uint256 internal constant FEB_29_2024 = 1_709_164_800;
    uint256 internal constant MARCH_1_2024 = 1_709_251_200;
    uint32 internal constant JUNE_2025 = 202_506;
    uint32 internal constant JULY_2025 = 202_507;

    Settlement internal vault;
    address internal fakeTrading = makeAddr("fakeTrading");
    address internal zone2Treasury = makeAddr("zone2Treasury");
    uint32 internal zone2;

    function setUp() public virtual override {
        super.setUp();
        vault = new Settlement(address(manager), grid, usd, token, protocolTreasury, PROTOCOL_FEE_BPS);
        vault.setEnergyTrading(fakeTrading);
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

    function _settleResting(uint32 zone_, address buyer, address seller, uint64 amountWh, uint128 price, uint256 refund)
        internal
        returns (ISettlement.TradeAmounts memory)
    {
        vm.prank(fakeTrading);
        return vault.settleResting(zone_, buyer, seller, amountWh, price, refund);
    }

    /// @dev The fee split ISettlement specifies, computed independently of the vault.
    function _expectedFees(uint256 notional, uint256 gridBps, uint256 protocolBps)
        internal
        pure
        returns (uint256 gridFee, uint256 protocolFee)
    {
        uint256 totalFee = Math.mulDiv(notional, gridBps + protocolBps, 10_000, Math.Rounding.Ceil);
        protocolFee = notional * protocolBps / 10_000;
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
            owed += vault.accruedZoneFees(zone) + vault.accruedZoneFees(zone2) + vault.accruedProtocolFees();
        }
        return int256(IERC20(asset).balanceOf(address(vault))) - int256(owed);
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
        assertEq(vault.protocolFeeBps(), PROTOCOL_FEE_BPS);
        assertEq(vault.protocolTreasury(), protocolTreasury);
        assertEq(vault.MAX_PROTOCOL_FEE_BPS(), 500);
        assertEq(vault.accruedProtocolFees(), 0);
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
        new Settlement(address(manager), IGridManagement(address(0)), usd, token, protocolTreasury, 0);
        vm.expectRevert(ISettlement.SettlementZeroAddress.selector);
        new Settlement(address(manager), grid, IERC20(address(0)), token, protocolTreasury, 0);
        vm.expectRevert(ISettlement.SettlementZeroAddress.selector);
        new Settlement(address(manager), grid, usd, IERC20(address(0)), protocolTreasury, 0);
        vm.expectRevert(ISettlement.SettlementZeroAddress.selector);
        new Settlement(address(manager), grid, usd, token, address(0), 0);
    }

    function test_constructor_revertsWhenBothTokensAreTheSame() public {
        vm.expectRevert(ISettlement.SettlementZeroAddress.selector);
        new Settlement(address(manager), grid, usd, usd, protocolTreasury, 0);
    }

    function test_constructor_revertsOnProtocolFeeTooHigh() public {
        vm.expectRevert(abi.encodeWithSelector(ISettlement.SettlementProtocolFeeTooHigh.selector, 501, 500));
        new Settlement(address(manager), grid, usd, token, protocolTreasury, 501);
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
            new Settlement(address(manager), grid, IERC20(address(lossy)), token, protocolTreasury, 0);
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

    function test_settleTaker_buyingTakerPaysSellersAndFees() public {
        _escrow(alice, 0, 2_000);
        _escrow(dave, 0, 1_000);
        _depositVault(carol, 5 * USD, 0);
        ISettlement.Fill[] memory fills = new ISettlement.Fill[](2);
        fills[0] = ISettlement.Fill({maker: alice, amountWh: 1_500, pricePerKWh: 250_000}); // 375_000
        fills[1] = ISettlement.Fill({maker: dave, amountWh: 1_000, pricePerKWh: 260_000}); // 260_000

        // off-peak: 50 + 20 bps. alice: fee 2_625 (protocol 750); dave: fee 1_820 (protocol 520)
        vm.expectEmit(address(vault));
        emit ISettlement.Locked(carol, address(usd), USD);
        vm.expectEmit(address(vault));
        emit ISettlement.TradesSettled(zone, 50, 20, 635_000, 3_175, 1_270);
        vm.prank(fakeTrading);
        ISettlement.TradeAmounts memory amounts = vault.settleTaker(zone, carol, true, fills, USD);

        assertEq(amounts.notional, 635_000);
        assertEq(amounts.gridFee, 3_175);
        assertEq(amounts.protocolFee, 1_270);
        // taker: pays every notional from available, the rest of its order's escrow gets locked
        assertEq(_balance(carol, address(usd)).available, 5 * USD - 635_000 - USD);
        assertEq(_balance(carol, address(usd)).locked, USD);
        assertEq(_balance(carol, address(token)).available, 2_500);
        // makers: locked credits out, notional less fees in
        assertEq(_balance(alice, address(token)).locked, 500);
        assertEq(_balance(alice, address(usd)).available, 372_375);
        assertEq(_balance(dave, address(token)).locked, 0);
        assertEq(_balance(dave, address(usd)).available, 258_180);
        assertEq(vault.accruedZoneFees(zone), 3_175);
        assertEq(vault.accruedProtocolFees(), 1_270);

        ISettlement.Statement memory taker = vault.statement(carol, JUNE_2025);
        assertEq(taker.boughtWh, 2_500);
        assertEq(taker.paid, 635_000);
        assertEq(taker.soldWh, 0);
        ISettlement.Statement memory maker = vault.statement(alice, JUNE_2025);
        assertEq(maker.soldWh, 1_500);
        assertEq(maker.earned, 372_375);
        assertEq(maker.fees, 2_625);
        assertEq(maker.boughtWh, 0);
        assertEq(vault.statement(dave, JUNE_2025).fees, 1_820);
        assertEq(_unbacked(address(usd), _accounts4()), 0);
        assertEq(_unbacked(address(token), _accounts4()), 0);
    }

    function test_settleTaker_sellingTakerReceivesNotionalLessFees() public {
        _escrow(alice, USD, 0);
        _escrow(bob, USD, 0);
        _depositVault(dave, 0, 3_500);
        ISettlement.Fill[] memory fills = new ISettlement.Fill[](2);
        fills[0] = ISettlement.Fill({maker: alice, amountWh: 1_000, pricePerKWh: 300_000}); // 300_000
        fills[1] = ISettlement.Fill({maker: bob, amountWh: 2_000, pricePerKWh: 250_000}); // 500_000

        vm.expectEmit(address(vault));
        emit ISettlement.Locked(dave, address(token), 500);
        vm.expectEmit(address(vault));
        emit ISettlement.TradesSettled(zone, 50, 20, 800_000, 4_000, 1_600);
        vm.prank(fakeTrading);
        ISettlement.TradeAmounts memory amounts = vault.settleTaker(zone, dave, false, fills, 500);

        assertEq(amounts.notional, 800_000);
        assertEq(amounts.gridFee, 4_000);
        assertEq(amounts.protocolFee, 1_600);
        assertEq(_balance(dave, address(token)).available, 0);
        assertEq(_balance(dave, address(token)).locked, 500);
        assertEq(_balance(dave, address(usd)).available, 794_400);
        assertEq(_balance(alice, address(usd)).locked, USD - 300_000);
        assertEq(_balance(alice, address(token)).available, 1_000);
        assertEq(_balance(bob, address(usd)).locked, USD - 500_000);
        assertEq(_balance(bob, address(token)).available, 2_000);

        ISettlement.Statement memory seller = vault.statement(dave, JUNE_2025);
        assertEq(seller.soldWh, 3_000);
        assertEq(seller.earned, 794_400);
        assertEq(seller.fees, 5_600);
        ISettlement.Statement memory buyer = vault.statement(bob, JUNE_2025);
        assertEq(buyer.boughtWh, 2_000);
        assertEq(buyer.paid, 500_000);
        assertEq(_unbacked(address(usd), _accounts4()), 0);
        assertEq(_unbacked(address(token), _accounts4()), 0);
    }

    function test_settleTaker_withoutFillsOnlyLocks() public {
        _depositVault(carol, 2 * USD, 0);
        vm.recordLogs();
        vm.prank(fakeTrading);
        // no fee context is needed: even a zone that does not exist is not consulted
        ISettlement.TradeAmounts memory amounts =
            vault.settleTaker(999, carol, true, new ISettlement.Fill[](0), USD);
        assertEq(vm.getRecordedLogs().length, 1); // Locked only, no TradesSettled
        assertEq(amounts.notional + amounts.gridFee + amounts.protocolFee, 0);
        assertEq(_balance(carol, address(usd)).available, USD);
        assertEq(_balance(carol, address(usd)).locked, USD);
        assertEq(vault.statement(carol, JUNE_2025).boughtWh, 0);
    }

    function test_settleTaker_chargesPeakGridFee() public {
        _escrow(alice, 0, 1_000);
        _depositVault(carol, USD, 0);
        vm.warp(PEAK_START + 30 minutes);
        ISettlement.Fill[] memory fills = new ISettlement.Fill[](1);
        fills[0] = ISettlement.Fill({maker: alice, amountWh: 1_000, pricePerKWh: PRICE}); // 250_000
        vm.prank(fakeTrading);
        ISettlement.TradeAmounts memory amounts = vault.settleTaker(zone, carol, true, fills, 0);
        assertEq(amounts.gridFee, 3_750); // 170 bps total, 20 of them protocol
        assertEq(amounts.protocolFee, 500);
        assertEq(_balance(alice, address(usd)).available, 245_750);
    }

    function test_settleTaker_revertsOnZeroAmountFill() public {
        _escrow(alice, 0, 1_000);
        _depositVault(carol, USD, 0);
        ISettlement.Fill[] memory fills = new ISettlement.Fill[](1);
        fills[0] = ISettlement.Fill({maker: alice, amountWh: 0, pricePerKWh: PRICE});
        vm.prank(fakeTrading);
        vm.expectRevert(ISettlement.SettlementZeroAmount.selector);
        vault.settleTaker(zone, carol, true, fills, 0);
    }

    function test_settleTaker_revertsOnZeroPriceFill() public {
        _escrow(alice, 0, 1_000);
        _depositVault(carol, USD, 0);
        ISettlement.Fill[] memory fills = new ISettlement.Fill[](1);
        fills[0] = ISettlement.Fill({maker: alice, amountWh: 1_000, pricePerKWh: 0});
        vm.prank(fakeTrading);
        vm.expectRevert(ISettlement.SettlementZeroAmount.selector);
        vault.settleTaker(zone, carol, true, fills, 0);
    }

    function test_settleTaker_revertsOnInsufficientMakerEscrow() public {
        _escrow(alice, 0, 1_000);
        _depositVault(carol, USD, 0);
        ISettlement.Fill[] memory fills = new ISettlement.Fill[](1);
        fills[0] = ISettlement.Fill({maker: alice, amountWh: 1_001, pricePerKWh: PRICE});
        vm.prank(fakeTrading);
        vm.expectRevert(
            abi.encodeWithSelector(
                ISettlement.SettlementInsufficientLocked.selector, alice, address(token), 1_000, 1_001
            )
        );
        vault.settleTaker(zone, carol, true, fills, 0);

        // a buying maker whose payment escrow does not cover the notional
        _escrow(bob, 100_000, 0);
        _depositVault(dave, 0, 1_000);
        fills[0] = ISettlement.Fill({maker: bob, amountWh: 1_000, pricePerKWh: PRICE});
        vm.prank(fakeTrading);
        vm.expectRevert(
            abi.encodeWithSelector(
                ISettlement.SettlementInsufficientLocked.selector, bob, address(usd), 100_000, 250_000
            )
        );
        vault.settleTaker(zone, dave, false, fills, 0);
    }

    function test_settleTaker_revertsOnInsufficientTakerBalance() public {
        _escrow(alice, 0, 1_000);
        _depositVault(carol, 250_000, 0);
        ISettlement.Fill[] memory fills = new ISettlement.Fill[](1);
        fills[0] = ISettlement.Fill({maker: alice, amountWh: 1_000, pricePerKWh: PRICE});
        // a buying taker must cover the notional plus what it leaves resting
        vm.prank(fakeTrading);
        vm.expectRevert(
            abi.encodeWithSelector(
                ISettlement.SettlementInsufficientAvailable.selector, carol, address(usd), 250_000, 250_001
            )
        );
        vault.settleTaker(zone, carol, true, fills, 1);

        // a selling taker must deliver the credits plus what it leaves resting
        _escrow(bob, USD, 0);
        _depositVault(dave, 0, 1_000);
        fills[0] = ISettlement.Fill({maker: bob, amountWh: 1_000, pricePerKWh: PRICE});
        vm.prank(fakeTrading);
        vm.expectRevert(
            abi.encodeWithSelector(
                ISettlement.SettlementInsufficientAvailable.selector, dave, address(token), 1_000, 1_200
            )
        );
        vault.settleTaker(zone, dave, false, fills, 200);
    }

    function test_settleTaker_revertsOnUnknownZone() public {
        _escrow(alice, 0, 1_000);
        _depositVault(carol, USD, 0);
        ISettlement.Fill[] memory fills = new ISettlement.Fill[](1);
        fills[0] = ISettlement.Fill({maker: alice, amountWh: 1_000, pricePerKWh: PRICE});
        vm.prank(fakeTrading);
        vm.expectRevert(abi.encodeWithSelector(IGridManagement.GridManagementUnknownZone.selector, 999));
        vault.settleTaker(999, carol, true, fills, 0);
    }

    function test_settleTaker_revertsForNonEnergyTrading() public {
        _escrow(alice, 0, 1_000);
        _depositVault(carol, USD, 0);
        ISettlement.Fill[] memory fills = new ISettlement.Fill[](1);
        fills[0] = ISettlement.Fill({maker: alice, amountWh: 1_000, pricePerKWh: PRICE});
        vm.prank(carol);
        vm.expectRevert(_notTrading(carol));
        vault.settleTaker(zone, carol, true, fills, 0);
        vm.prank(stranger);
        vm.expectRevert(_notTrading(stranger));
        vault.settleTaker(zone, carol, true, fills, 0);
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
        assertEq(vault.accruedProtocolFees(), 1_000);

        ISettlement.Statement memory buyer = vault.statement(bob, JUNE_2025);
        assertEq(buyer.boughtWh, 2_000);
        assertEq(buyer.paid, 500_000);
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

    /// @dev Peak is [17:00, 21:00) UTC at 150 bps, off-peak 50 bps; protocol 20 bps on top.
    function test_settleResting_gridFeeFollowsPeakWindow() public {
        _escrow(alice, 0, 5_000);
        _escrow(bob, 2 * USD, 0);
        uint256[5] memory times = [PEAK_START - 1, PEAK_START, PEAK_END - 1, PEAK_END, JUNE_15_2025];
        uint16[5] memory gridBps = [uint16(50), 150, 150, 50, 50];
        uint256 expectedZoneFees;
        for (uint256 i; i < times.length; ++i) {
            vm.warp(times[i]);
            // 1 kWh at 0.25 USD: total fee ceil(250_000 × (grid + 20) / 10_000), protocol 500
            (uint256 gridFee,) = _expectedFees(250_000, gridBps[i], PROTOCOL_FEE_BPS);
            vm.expectEmit(address(vault));
            emit ISettlement.TradesSettled(zone, gridBps[i], PROTOCOL_FEE_BPS, 250_000, gridFee, 500);
            ISettlement.TradeAmounts memory amounts = _settleResting(zone, bob, alice, 1_000, PRICE, 0);
            assertEq(amounts.gridFee, gridFee);
            assertEq(amounts.gridFee, gridBps[i] == 150 ? 3_750 : 1_250);
            assertEq(amounts.protocolFee, 500);
            expectedZoneFees += gridFee;
        }
        assertEq(vault.accruedZoneFees(zone), expectedZoneFees);
        assertEq(vault.accruedProtocolFees(), 2_500);
    }

    /// @dev Zone 2's peak window wraps midnight: [22:00, 02:00) at 300 bps, else 100 bps.
    function test_settleResting_gridFeeFollowsWrappingPeakWindow() public {
        _escrow(alice, 0, 4_000);
        _escrow(bob, 2 * USD, 0);
        vm.warp(JUNE_15_2025 + 22 hours);
        assertEq(_settleResting(zone2, bob, alice, 1_000, PRICE, 0).gridFee, 7_500); // 320 bps − 500 protocol
        vm.warp(JUNE_15_2025 + 1 days + 2 hours - 1);
        assertEq(_settleResting(zone2, bob, alice, 1_000, PRICE, 0).gridFee, 7_500);
        vm.warp(JUNE_15_2025 + 1 days + 2 hours);
        assertEq(_settleResting(zone2, bob, alice, 1_000, PRICE, 0).gridFee, 2_500); // 120 bps − 500
        assertEq(vault.accruedZoneFees(zone2), 17_500);
        assertEq(vault.accruedZoneFees(zone), 0);
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

    function test_settleResting_usesTheCurrentProtocolFee() public {
        _restingPair();
        vault.setProtocolFee(0);
        ISettlement.TradeAmounts memory amounts = _settleResting(zone, bob, alice, 1_000, PRICE, 0);
        assertEq(amounts.protocolFee, 0);
        assertEq(amounts.gridFee, 1_250);
        vault.setProtocolFee(500);
        amounts = _settleResting(zone, bob, alice, 1_000, PRICE, 0);
        assertEq(amounts.protocolFee, 12_500);
        assertEq(amounts.gridFee, 1_250);
        assertEq(vault.accruedProtocolFees(), 12_500);
    }

    function test_settleResting_revertsOnZeroAmount() public {
        _restingPair();
        vm.prank(fakeTrading);
        vm.expectRevert(ISettlement.SettlementZeroAmount.selector);
        vault.settleResting(zone, bob, alice, 0, PRICE, 0);
    }

    function test_settleResting_revertsOnZeroPrice() public {
        _restingPair();
        vm.prank(fakeTrading);
        vm.expectRevert(ISettlement.SettlementZeroAmount.selector);
        vault.settleResting(zone, bob, alice, 1_000, 0, 0);
    }

    function test_settleResting_revertsOnInsufficientSellerEscrow() public {
        _restingPair();
        vm.prank(fakeTrading);
        vm.expectRevert(
            abi.encodeWithSelector(
                ISettlement.SettlementInsufficientLocked.selector, alice, address(token), 2_000, 2_001
            )
        );
        vault.settleResting(zone, bob, alice, 2_001, PRICE, 0);
    }

    function test_settleResting_revertsOnInsufficientBuyerEscrow() public {
        _restingPair();
        vm.startPrank(fakeTrading);
        vm.expectRevert(
            abi.encodeWithSelector(
                ISettlement.SettlementInsufficientLocked.selector, bob, address(usd), 10 * USD, 20 * USD
            )
        );
        vault.settleResting(zone, bob, alice, 2_000, uint128(10 * USD), 0); // 20 USD notional
        // the refund comes out of the same escrow
        vm.expectRevert(
            abi.encodeWithSelector(
                ISettlement.SettlementInsufficientLocked.selector, bob, address(usd), 10 * USD, 10 * USD + 1
            )
        );
        vault.settleResting(zone, bob, alice, 2_000, PRICE, 10 * USD - 500_000 + 1);
        vm.stopPrank();
    }

    function test_settleResting_revertsForNonEnergyTrading() public {
        _restingPair();
        vm.prank(bob);
        vm.expectRevert(_notTrading(bob));
        vault.settleResting(zone, bob, alice, 1_000, PRICE, 0);
        vm.expectRevert(_notTrading(address(this)));
        vault.settleResting(zone, bob, alice, 1_000, PRICE, 0);
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
        // carol buys as a taker, then sells as a taker in the same month
        _escrow(alice, 0, 1_000);
        _escrow(bob, USD, 0);
        _depositVault(carol, USD, 0);
        ISettlement.Fill[] memory fills = new ISettlement.Fill[](1);
        fills[0] = ISettlement.Fill({maker: alice, amountWh: 1_000, pricePerKWh: PRICE});
        vm.prank(fakeTrading);
        vault.settleTaker(zone, carol, true, fills, 0);
        fills[0] = ISettlement.Fill({maker: bob, amountWh: 1_000, pricePerKWh: 300_000});
        vm.prank(fakeTrading);
        vault.settleTaker(zone, carol, false, fills, 0);

        ISettlement.Statement memory s = vault.statement(carol, JUNE_2025);
        assertEq(s.boughtWh, 1_000);
        assertEq(s.paid, 250_000);
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
        assertEq(vault.accruedProtocolFees(), 1_000); // untouched
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
        _settleResting(zone, bob, alice, 1_000, PRICE, 0); // grid 1_250
        _settleResting(zone2, bob, alice, 1_000, PRICE, 0); // off-peak 100 bps: grid 2_500
        assertEq(vault.accruedZoneFees(zone), 1_250);
        assertEq(vault.accruedZoneFees(zone2), 2_500);
        vault.sweepZoneFees(zone2);
        assertEq(usd.balanceOf(zone2Treasury), 2_500);
        assertEq(usd.balanceOf(treasury), 0);
        assertEq(vault.accruedZoneFees(zone), 1_250);
        vault.sweepZoneFees(zone);
        assertEq(usd.balanceOf(treasury), 1_250);
        assertEq(_unbacked(address(usd), _accounts4()), 0);
    }

    function test_sweepZoneFees_revertsWhenNothingAccrued() public {
        vm.expectRevert(ISettlement.SettlementNoFeesAccrued.selector);
        vault.sweepZoneFees(zone);
        _restingPair();
        _settleResting(zone, bob, alice, 1_000, PRICE, 0);
        vault.sweepZoneFees(zone);
        vm.expectRevert(ISettlement.SettlementNoFeesAccrued.selector);
        vault.sweepZoneFees(zone); // swept once only
    }

    function test_sweepProtocolFees_paysTheProtocolTreasury() public {
        _restingPair();
        _settleResting(zone, bob, alice, 2_000, PRICE, 0);
        vm.expectEmit(address(vault));
        emit ISettlement.ProtocolFeesSwept(protocolTreasury, 1_000);
        vm.prank(stranger);
        assertEq(vault.sweepProtocolFees(), 1_000);
        assertEq(usd.balanceOf(protocolTreasury), 1_000);
        assertEq(vault.accruedProtocolFees(), 0);
        assertEq(vault.accruedZoneFees(zone), 2_500); // untouched
    }

    function test_sweepProtocolFees_paysTheCurrentTreasury() public {
        _restingPair();
        _settleResting(zone, bob, alice, 2_000, PRICE, 0);
        vault.setProtocolTreasury(carol);
        vault.sweepProtocolFees();
        assertEq(usd.balanceOf(carol), 1_000);
        assertEq(usd.balanceOf(protocolTreasury), 0);
    }

    function test_sweepProtocolFees_revertsWhenNothingAccrued() public {
        vm.expectRevert(ISettlement.SettlementNoFeesAccrued.selector);
        vault.sweepProtocolFees();
    }

    function test_sweeps_workWhilePausedAndHalted() public {
        _restingPair();
        _settleResting(zone, bob, alice, 2_000, PRICE, 0);
        vm.prank(guardian);
        grid.pause();
        vm.prank(gridOperator);
        grid.haltZone(zone, "storm");
        vault.sweepZoneFees(zone);
        vault.sweepProtocolFees();
        assertEq(usd.balanceOf(treasury) + usd.balanceOf(protocolTreasury), 3_500);
    }

    // ─────────────────────────────────────────────────────────────── governance

    function test_setEnergyTrading_wiresOnceAndEmits() public {
        Settlement fresh = new Settlement(address(manager), grid, usd, token, protocolTreasury, 0);
        assertEq(fresh.energyTrading(), address(0));
        vm.expectEmit(address(fresh));
        emit ISettlement.EnergyTradingSet(fakeTrading);
        fresh.setEnergyTrading(fakeTrading);
        assertEq(fresh.energyTrading(), fakeTrading);
    }

    function test_setEnergyTrading_revertsWhenAlreadySet() public {
        vm.expectRevert(abi.encodeWithSelector(ISettlement.SettlementEnergyTradingAlreadySet.selector, fakeTrading));
        vault.setEnergyTrading(stranger);
    }

    function test_setEnergyTrading_revertsOnZeroAddress() public {
        Settlement fresh = new Settlement(address(manager), grid, usd, token, protocolTreasury, 0);
        vm.expectRevert(ISettlement.SettlementZeroAddress.selector);
        fresh.setEnergyTrading(address(0));
    }

    function test_setEnergyTrading_revertsForStranger() public {
        Settlement fresh = new Settlement(address(manager), grid, usd, token, protocolTreasury, 0);
        vm.prank(stranger);
        vm.expectRevert(_unauthorized(stranger));
        fresh.setEnergyTrading(stranger);
    }

    function test_lock_revertsBeforeEnergyTradingIsWired() public {
        Settlement fresh = new Settlement(address(manager), grid, usd, token, protocolTreasury, 0);
        vm.startPrank(stranger);
        vm.expectRevert(_notTrading(stranger));
        fresh.lock(alice, address(usd), 0);
        vm.expectRevert(_notTrading(stranger));
        fresh.settleResting(zone, alice, bob, 1, 1, 0);
        vm.stopPrank();
    }

    function test_setProtocolFee_updatesAndEmits() public {
        vm.expectEmit(address(vault));
        emit ISettlement.ProtocolFeeUpdated(500);
        vault.setProtocolFee(500);
        assertEq(vault.protocolFeeBps(), 500);
        vault.setProtocolFee(0);
        assertEq(vault.protocolFeeBps(), 0);
    }

    function test_setProtocolFee_revertsAboveMax() public {
        vm.expectRevert(abi.encodeWithSelector(ISettlement.SettlementProtocolFeeTooHigh.selector, 501, 500));
        vault.setProtocolFee(501);
    }

    function test_setProtocolFee_revertsForStranger() public {
        vm.prank(stranger);
        vm.expectRevert(_unauthorized(stranger));
        vault.setProtocolFee(1);
        vm.prank(fakeTrading); // EnergyTrading is no governor either
        vm.expectRevert(_unauthorized(fakeTrading));
        vault.setProtocolFee(1);
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

    function _setFlatGridFee(uint32 zone_, uint16 gridFeeBps) internal {
        // peakStartHour == peakEndHour: the peak window is empty, so the off-peak rate applies all day
        grid.setFeeSchedule(
            zone_,
            IGridManagement.FeeSchedule({
                peakFeeBps: gridFeeBps,
                offPeakFeeBps: gridFeeBps,
                peakStartHour: 0,
                peakEndHour: 0
            })
        );
    }

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
        _setFlatGridFee(zone, gridFeeBps);
        vault.setProtocolFee(protocolFeeBps);

        uint256 notional = vault.notionalOf(amountWh, pricePerKWh);
        _escrow(alice, 0, amountWh);
        _escrow(bob, notional + refund, 0);
        ISettlement.TradeAmounts memory a = _settleResting(zone, bob, alice, amountWh, pricePerKWh, refund);

        uint256 exact = uint256(amountWh) * pricePerKWh; // × 1000
        assertEq(a.notional, notional);
        assertGe(a.notional * 1_000, exact, "buyer pays at least the exact price");
        assertLt(a.notional * 1_000, exact + 1_000, "by less than one base unit");
        uint256 fees = a.gridFee + a.protocolFee;
        uint256 feeBps = uint256(gridFeeBps) + protocolFeeBps;
        assertLe(fees, a.notional, "fees within the notional");
        assertGe(fees * 10_000, a.notional * feeBps, "total fee rounds up");
        if (fees != 0) assertLt((fees - 1) * 10_000, a.notional * feeBps, "by less than one base unit");
        assertLe(a.protocolFee * 10_000, a.notional * protocolFeeBps, "protocol share rounds down");
        assertGt((a.protocolFee + 1) * 10_000, a.notional * protocolFeeBps, "by less than one base unit");

        // Conservation: every base unit the buyer paid landed exactly once.
        uint256 sellerNet = _balance(alice, address(usd)).available;
        assertEq(sellerNet + a.gridFee + a.protocolFee, notional, "buyer pays seller net + grid + protocol");
        assertEq(vault.accruedZoneFees(zone), a.gridFee);
        assertEq(vault.accruedProtocolFees(), a.protocolFee);
        assertEq(_balance(bob, address(usd)).available, refund);
        assertEq(_balance(bob, address(usd)).locked, 0);
        assertEq(_balance(bob, address(token)).available, amountWh);
        assertEq(_balance(alice, address(token)).locked, 0);
        assertEq(usd.balanceOf(address(vault)), notional + refund);
        assertEq(vault.statement(bob, JUNE_2025).paid, notional);
        assertEq(vault.statement(alice, JUNE_2025).earned + vault.statement(alice, JUNE_2025).fees, notional);
    }

    /// @dev What a set of fills should move, computed independently of the vault.
    struct TakerCase {
        ISettlement.Fill[] fills;
        address[3] makers;
        uint256[3] makerWh;
        uint256[3] makerNotional;
        uint256[3] makerNet;
        uint256 totalWh;
        uint256 totalNotional;
        uint256 totalGrid;
        uint256 totalProtocol;
    }

    function _draftTakerCase(uint256 seed, uint256 fillCount, uint16 gridFeeBps, uint16 protocolFeeBps)
        internal
        view
        returns (TakerCase memory c)
    {
        c.makers = [alice, bob, dave];
        c.fills = new ISettlement.Fill[](fillCount);
        for (uint256 i; i < fillCount; ++i) {
            uint256 r = uint256(keccak256(abi.encode(seed, i)));
            uint256 m = r % 3;
            uint64 amountWh = uint64(_bound(r >> 8, 1, 1e9));
            uint128 price = uint128(_bound(r >> 96, 1, 1e9));
            c.fills[i] = ISettlement.Fill({maker: c.makers[m], amountWh: amountWh, pricePerKWh: price});
            uint256 notional = Math.mulDiv(amountWh, price, 1_000, Math.Rounding.Ceil);
            (uint256 gridFee, uint256 protocolFee) = _expectedFees(notional, gridFeeBps, protocolFeeBps);
            c.makerWh[m] += amountWh;
            c.makerNotional[m] += notional;
            c.makerNet[m] += notional - gridFee - protocolFee;
            c.totalWh += amountWh;
            c.totalNotional += notional;
            c.totalGrid += gridFee;
            c.totalProtocol += protocolFee;
        }
    }

    /// @dev A taker against up to 8 random fills of 3 makers, either side, random rates and resting lock:
    /// every balance moves by exactly what the fills say and the vault stays fully backed.
    function testFuzz_settleTaker_conservesBalances(
        uint256 seed,
        bool takerBuys,
        uint8 fillCount,
        uint16 gridFeeBps,
        uint16 protocolFeeBps,
        uint256 takerLock
    ) public {
        fillCount = uint8(bound(fillCount, 1, 8));
        gridFeeBps = uint16(bound(gridFeeBps, 0, grid.MAX_GRID_FEE_BPS()));
        protocolFeeBps = uint16(bound(protocolFeeBps, 0, vault.MAX_PROTOCOL_FEE_BPS()));
        takerLock = bound(takerLock, 0, 1e12);
        _setFlatGridFee(zone, gridFeeBps);
        vault.setProtocolFee(protocolFeeBps);
        TakerCase memory c = _draftTakerCase(seed, fillCount, gridFeeBps, protocolFeeBps);

        // escrows exactly as EnergyTrading would have left them
        for (uint256 m; m < 3; ++m) {
            if (takerBuys) _escrow(c.makers[m], 0, c.makerWh[m]);
            else _escrow(c.makers[m], c.makerNotional[m], 0);
        }
        if (takerBuys) _depositVault(carol, c.totalNotional + takerLock, 0);
        else _depositVault(carol, 0, c.totalWh + takerLock);

        vm.prank(fakeTrading);
        ISettlement.TradeAmounts memory a = vault.settleTaker(zone, carol, takerBuys, c.fills, takerLock);

        assertEq(a.notional, c.totalNotional);
        assertEq(a.gridFee, c.totalGrid);
        assertEq(a.protocolFee, c.totalProtocol);
        assertLe(a.gridFee + a.protocolFee, a.notional);
        assertEq(vault.accruedZoneFees(zone), c.totalGrid);
        assertEq(vault.accruedProtocolFees(), c.totalProtocol);

        address gives = takerBuys ? address(usd) : address(token);
        assertEq(_balance(carol, gives).available, 0, "taker gave exactly the fills");
        assertEq(_balance(carol, gives).locked, takerLock, "the rest rests");
        if (takerBuys) {
            assertEq(_balance(carol, address(token)).available, c.totalWh);
        } else {
            assertEq(_balance(carol, address(usd)).available, c.totalNotional - c.totalGrid - c.totalProtocol);
        }
        for (uint256 m; m < 3; ++m) {
            if (takerBuys) {
                assertEq(_balance(c.makers[m], address(token)).locked, 0);
                assertEq(_balance(c.makers[m], address(usd)).available, c.makerNet[m]);
            } else {
                assertEq(_balance(c.makers[m], address(usd)).locked, 0);
                assertEq(_balance(c.makers[m], address(token)).available, c.makerWh[m]);
            }
        }
        _assertStatementsBalance(JUNE_2025, c.totalWh, c.totalNotional);
        assertEq(_unbacked(address(usd), _accounts4()), 0);
        assertEq(_unbacked(address(token), _accounts4()), 0);
    }

    /// @dev Over all accounts in `month`: bought == sold == `wh`, paid == earned + fees == `notional`.
    function _assertStatementsBalance(uint32 month, uint256 wh, uint256 notional) internal view {
        address[] memory accounts = _accounts4();
        uint256 sumBought;
        uint256 sumSold;
        uint256 sumPaid;
        uint256 sumEarnedAndFees;
        for (uint256 i; i < accounts.length; ++i) {
            ISettlement.Statement memory s = vault.statement(accounts[i], month);
            sumBought += s.boughtWh;
            sumSold += s.soldWh;
            sumPaid += s.paid;
            sumEarnedAndFees += uint256(s.earned) + s.fees;
        }
        assertEq(sumBought, wh, "bought");
        assertEq(sumSold, wh, "sold");
        assertEq(sumPaid, notional, "paid");
        assertEq(sumEarnedAndFees, notional, "earned + fees");
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
        evilVault =
            new Settlement(address(manager), grid, IERC20(address(evil)), token, protocolTreasury, PROTOCOL_FEE_BPS);
        // the token itself is EnergyTrading: its re-entries into lock/unlock/settle pass the caller check
        evilVault.setEnergyTrading(address(evil));
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
        evilVault.settleResting(zone, bob, alice, 1_000, PRICE, 0);
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
        uint256 owedUsd = evilVault.accruedZoneFees(zone) + evilVault.accruedProtocolFees();
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
        for (uint256 i = 1; i <= 9; ++i) {
            evil.arm(_kind(i));
            vm.prank(alice);
            evilVault.deposit(address(evil), USD);
        }
        evil.arm(_kind(0));
        _assertEveryReentryRefused(9);
        assertEq(evilVault.balanceOf(alice, address(evil)).available, 29 * USD);
    }

    function test_depositWithPermit_refusesReentryFromToken() public {
        for (uint256 i = 1; i <= 9; ++i) {
            evil.arm(_kind(i));
            vm.prank(alice); // no permit on this token: the failed permit is ignored, the allowance pays
            evilVault.depositWithPermit(address(evil), USD, block.timestamp, 0, bytes32(0), bytes32(0));
        }
        evil.arm(_kind(0));
        _assertEveryReentryRefused(9);
        assertEq(evilVault.balanceOf(alice, address(evil)).available, 29 * USD);
    }

    function test_withdraw_refusesReentryFromToken() public {
        for (uint256 i = 1; i <= 9; ++i) {
            evil.arm(_kind(i));
            vm.prank(alice);
            evilVault.withdraw(address(evil), USD);
        }
        evil.arm(_kind(0));
        _assertEveryReentryRefused(9);
        assertEq(evilVault.balanceOf(alice, address(evil)).available, 11 * USD);
        assertEq(evil.balanceOf(alice), 89 * USD);
    }

    function test_sweepZoneFees_refusesReentryFromToken() public {
        uint256 swept;
        for (uint256 i = 1; i <= 9; ++i) {
            _accrueFees();
            evil.arm(_kind(i));
            swept += evilVault.sweepZoneFees(zone);
        }
        evil.arm(_kind(0));
        _assertEveryReentryRefused(9);
        assertEq(swept, 9 * 1_250);
        assertEq(evil.balanceOf(treasury), swept);
        assertEq(evilVault.accruedZoneFees(zone), 0);
    }

    function test_sweepProtocolFees_refusesReentryFromToken() public {
        uint256 swept;
        for (uint256 i = 1; i <= 9; ++i) {
            _accrueFees();
            evil.arm(_kind(i));
            swept += evilVault.sweepProtocolFees();
        }
        evil.arm(_kind(0));
        _assertEveryReentryRefused(9);
        assertEq(swept, 9 * 500);
        assertEq(evil.balanceOf(protocolTreasury), swept);
        assertEq(evilVault.accruedProtocolFees(), 0);
    }

    /// @dev Control: the same calls from the token outside a transfer succeed (the transient lock is released
    /// after every call, even within one transaction), so the guard alone refused them above.
    function test_nonReentrant_releasesBetweenCalls() public {
        vm.startPrank(address(evil));
        evilVault.deposit(address(evil), 1);
        evilVault.withdraw(address(evil), 1);
        evilVault.lock(address(evil), address(evil), 1);
        evilVault.unlock(address(evil), address(evil), 1);
        evilVault.settleTaker(zone, address(evil), true, new ISettlement.Fill[](0), 1);
        vm.stopPrank();
        _accrueFees();
        evilVault.sweepZoneFees(zone);
        evilVault.sweepProtocolFees();
        assertEq(evil.attempts(), 0);
        _assertBooksBalance();
    }
}

// ─────────────────────────────────────────────────────────────── invariants

/// @dev Drives `vault` as four traders and EnergyTrading would, with bounded random inputs across two zones
/// and the clock, and keeps ghost books of what went in and out.
contract SettlementHandler is SlimTest {
    Settlement internal immutable vault;
    address internal immutable usd;
    address internal immutable credits;
    address internal immutable trading;
    address[] internal accounts;
    uint32[] internal zones;
    uint32[] internal months;
    mapping(uint32 month => bool) internal seenMonth;

    mapping(address token => uint256) public deposited;
    mapping(address token => uint256) public withdrawn;
    uint256 public feesCharged;
    uint256 public zoneFeesSwept;
    uint256 public protocolFeesSwept;
    uint256 public fills;

    constructor(Settlement vault_, address trading_, address[] memory accounts_, uint32[] memory zones_) {
        vault = vault_;
        usd = vault_.paymentToken();
        credits = vault_.energyToken();
        trading = trading_;
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

    function unlock(uint256 who, bool isUsd, uint256 amount) external {
        address account = accounts[who % accounts.length];
        address asset = isUsd ? usd : credits;
        uint256 locked = vault.balanceOf(account, asset).locked;
        if (locked == 0) return;
        vm.prank(trading);
        vault.unlock(account, asset, _bound(amount, 1, locked));
    }

    /// @dev Up to 3 fills against makers' locked escrow (the taker may be one of them), priced so the taker's
    /// available balance and every maker's escrow cover them; the rest of the taker's balance may rest.
    function settleTaker(uint256 who, bool takerBuys, uint256 zoneSeed, uint256 fillSeed, uint256 lockSeed)
        external
    {
        address taker = accounts[who % accounts.length];
        (ISettlement.Fill[] memory taken, uint256 budgetLeft) = _draftFills(taker, takerBuys, fillSeed);
        uint256 takerLock = _bound(lockSeed, 0, budgetLeft);
        vm.prank(trading);
        ISettlement.TradeAmounts memory a =
            vault.settleTaker(zones[zoneSeed % zones.length], taker, takerBuys, taken, takerLock);
        feesCharged += a.gridFee + a.protocolFee;
        fills += taken.length;
        if (taken.length != 0) _seeMonth();
    }

    /// @dev The maker's escrow caps the amount (taker buys) or the price (taker sells), the taker's available
    /// balance the other.
    function _draftFills(address taker, bool takerBuys, uint256 fillSeed)
        private
        view
        returns (ISettlement.Fill[] memory taken, uint256 budget)
    {
        budget = vault.balanceOf(taker, takerBuys ? usd : credits).available;
        uint256[] memory makerLeft = new uint256[](accounts.length);
        for (uint256 i; i < accounts.length; ++i) {
            makerLeft[i] = vault.balanceOf(accounts[i], takerBuys ? credits : usd).locked;
        }
        ISettlement.Fill[] memory drafted = new ISettlement.Fill[](fillSeed % 4);
        uint256 count;
        for (uint256 i; i < drafted.length; ++i) {
            uint256 r = uint256(keccak256(abi.encode(fillSeed, i)));
            uint256 m = r % accounts.length;
            if (makerLeft[m] == 0 || budget == 0) continue;
            uint256 amountWh = _bound(r >> 8, 1, Math.min(takerBuys ? makerLeft[m] : budget, 1e9));
            uint256 maxPrice = Math.min((takerBuys ? budget : makerLeft[m]) * 1_000 / amountWh, 1e12);
            if (maxPrice == 0) continue;
            uint256 price = _bound(r >> 96, 1, maxPrice);
            uint256 notional = vault.notionalOf(uint64(amountWh), price);
            makerLeft[m] -= takerBuys ? amountWh : notional;
            budget -= takerBuys ? notional : amountWh;
            drafted[count++] =
                ISettlement.Fill({maker: accounts[m], amountWh: uint64(amountWh), pricePerKWh: uint128(price)});
        }
        taken = new ISettlement.Fill[](count);
        for (uint256 i; i < count; ++i) {
            taken[i] = drafted[i];
        }
    }

    /// @dev A fill between a resting buy and a resting sell, priced within the buyer's escrow; part of the rest
    /// of that escrow may be refunded.
    function settleResting(uint256 buyerSeed, uint256 sellerSeed, uint256 zoneSeed, uint256 tradeSeed) external {
        address buyer = accounts[buyerSeed % accounts.length];
        address seller = accounts[sellerSeed % accounts.length];
        uint256 lockedUsd = vault.balanceOf(buyer, usd).locked;
        uint256 lockedWh = vault.balanceOf(seller, credits).locked;
        if (lockedUsd == 0 || lockedWh == 0) return;
        uint256 amountWh = _bound(tradeSeed, 1, Math.min(lockedWh, 1e9));
        uint256 maxPrice = Math.min(lockedUsd * 1_000 / amountWh, 1e12);
        if (maxPrice == 0) return;
        uint256 price = _bound(uint256(keccak256(abi.encode(tradeSeed, 1))), 1, maxPrice);
        uint256 refundCap = lockedUsd - vault.notionalOf(uint64(amountWh), price);
        uint256 refund = _bound(uint256(keccak256(abi.encode(tradeSeed, 2))), 0, refundCap);
        uint32 zone = zones[zoneSeed % zones.length];
        vm.prank(trading);
        ISettlement.TradeAmounts memory a =
            vault.settleResting(zone, buyer, seller, uint64(amountWh), uint128(price), refund);
        feesCharged += a.gridFee + a.protocolFee;
        fills += 1;
        _seeMonth();
    }

    function sweepZoneFees(uint256 zoneSeed) external {
        uint32 zone = zones[zoneSeed % zones.length];
        if (vault.accruedZoneFees(zone) == 0) return;
        zoneFeesSwept += vault.sweepZoneFees(zone);
    }

    function sweepProtocolFees() external {
        if (vault.accruedProtocolFees() == 0) return;
        protocolFeesSwept += vault.sweepProtocolFees();
    }

    /// @dev Moves the clock across peak windows, days and months.
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

    function _seeMonth() private {
        uint32 month = vault.monthOf(block.timestamp);
        if (seenMonth[month]) return;
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

    function setUp() public override {
        super.setUp();
        traders = _accounts4();
        uint32[] memory zones = new uint32[](2);
        zones[0] = zone;
        zones[1] = zone2;
        handler = new SettlementHandler(vault, fakeTrading, traders, zones);

        bytes4[] memory selectors = new bytes4[](9);
        selectors[0] = SettlementHandler.deposit.selector;
        selectors[1] = SettlementHandler.withdraw.selector;
        selectors[2] = SettlementHandler.lock.selector;
        selectors[3] = SettlementHandler.unlock.selector;
        selectors[4] = SettlementHandler.settleTaker.selector;
        selectors[5] = SettlementHandler.settleResting.selector;
        selectors[6] = SettlementHandler.sweepZoneFees.selector;
        selectors[7] = SettlementHandler.sweepProtocolFees.selector;
        selectors[8] = SettlementHandler.warp.selector;
        targetSelector(FuzzSelector({addr: address(handler), selectors: selectors}));
        targetContract(address(handler));
    }

    function _accruedFees() internal view returns (uint256) {
        return vault.accruedZoneFees(zone) + vault.accruedZoneFees(zone2) + vault.accruedProtocolFees();
    }

    /// @dev For each token, the vault holds exactly every account's available + locked, plus unswept fees.
    function invariant_vaultHoldsEveryBalancePlusAccruedFees() public view {
        assertEq(_unbacked(address(usd), traders), 0, "payment token");
        assertEq(_unbacked(address(token), traders), 0, "credits");
    }

    /// @dev What the vault holds is what was deposited minus what was withdrawn (and, for the payment
    /// token, minus the fees swept out).
    function invariant_depositsMinusWithdrawalsMatchTheVault() public view {
        assertEq(
            usd.balanceOf(address(vault)),
            handler.deposited(address(usd)) - handler.withdrawn(address(usd)) - handler.zoneFeesSwept()
                - handler.protocolFeesSwept(),
            "payment token"
        );
        assertEq(
            token.balanceOf(address(vault)),
            handler.deposited(address(token)) - handler.withdrawn(address(token)),
            "credits"
        );
    }

    /// @dev Every fee charged is either still accrued or was paid to its treasury.
    function invariant_feesChargedAreAccruedOrSwept() public view {
        assertEq(handler.feesCharged(), _accruedFees() + handler.zoneFeesSwept() + handler.protocolFeesSwept());
        assertEq(usd.balanceOf(treasury) + usd.balanceOf(zone2Treasury), handler.zoneFeesSwept());
        assertEq(usd.balanceOf(protocolTreasury), handler.protocolFeesSwept());
    }

    /// @dev In every month, what all accounts bought equals what they sold, and what buyers paid equals what
    /// sellers earned plus the fees deducted from them.
    function invariant_monthlyStatementsBalance() public view {
        for (uint256 i; i < handler.monthCount(); ++i) {
            uint32 month = handler.monthAt(i);
            uint256 boughtWh;
            uint256 soldWh;
            uint256 paid;
            uint256 earnedAndFees;
            for (uint256 j; j < traders.length; ++j) {
                ISettlement.Statement memory s = vault.statement(traders[j], month);
                boughtWh += s.boughtWh;
                soldWh += s.soldWh;
                paid += s.paid;
                earnedAndFees += uint256(s.earned) + s.fees;
            }
            assertEq(boughtWh, soldWh, "Wh");
            assertEq(paid, earnedAndFees, "payment");
        }
    }
}
