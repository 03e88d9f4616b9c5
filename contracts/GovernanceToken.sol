// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {ERC20Votes} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Votes.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";
import {Time} from "@openzeppelin/contracts/utils/types/Time.sol";
import {IGovernanceToken} from "./interfaces/IGovernanceToken.sol";

/// @title GovernanceToken
/// @notice GXG: the fixed-supply vote token that drives the EnergyGovernor.
/// @dev Permit nonces and vote-by-signature nonces share OZ `Nonces`, as in OZ's own ERC20Votes + Permit.
contract GovernanceToken is IGovernanceToken, ERC20, ERC20Permit, ERC20Votes {
    // ─────────────────────────────────────────────────────────────── constructor

    /// @param recipients Who receives the initial (and only) supply.
    /// @param amounts How much each recipient receives, in base units (18 decimals); `amounts[i]` goes to
    /// `recipients[i]`. A recipient may appear more than once. The sum is the fixed total supply and must
    /// fit ERC20Votes' 208-bit checkpoints.
    constructor(address[] memory recipients, uint256[] memory amounts)
        ERC20("GridX Governance", "GXG")
        ERC20Permit("GridX Governance")
    {
        uint256 count = recipients.length;
        require(count != 0, GovernanceTokenNoRecipients());
        require(count == amounts.length, GovernanceTokenLengthMismatch(count, amounts.length));
        for (uint256 i; i < count; ++i) {
            address recipient = recipients[i];
            require(recipient != address(0), GovernanceTokenZeroRecipient(i));
            require(amounts[i] != 0, GovernanceTokenZeroAmount(i, recipient));
            _mint(recipient, amounts[i]);
        }
    }

    // ─────────────────────────────────────────────────────────────── clock (ERC-6372)

    /// @notice The current timepoint: the block timestamp. Checkpoints, snapshots and governor
    /// deadlines are all in seconds.
    function clock() public view override returns (uint48) {
        return Time.timestamp();
    }

    /// @notice Machine-readable description of the clock (ERC-6372).
    // solhint-disable-next-line func-name-mixedcase
    function CLOCK_MODE() public pure override returns (string memory) {
        return "mode=timestamp";
    }

    // ─────────────────────────────────────────────────────────────── overrides required by Solidity

    /// @inheritdoc ERC20Permit
    function nonces(address owner) public view override(ERC20Permit, Nonces) returns (uint256) {
        return super.nonces(owner);
    }

    function _update(address from, address to, uint256 value) internal override(ERC20, ERC20Votes) {
        super._update(from, to, value);
    }
}
