// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {IMockStablecoin} from "./interfaces/IMockStablecoin.sol";

/// @title MockStablecoin
/// @notice Local-chain payment token ("Mock USD", 6 decimals) with an open, capped faucet.
contract MockStablecoin is IMockStablecoin, ERC20, ERC20Permit {
    /// @inheritdoc IMockStablecoin
    uint256 public constant FAUCET_LIMIT = 100_000e6;

    constructor() ERC20("GridX Mock USD", "mUSD") ERC20Permit("GridX Mock USD") {}

    /// @notice 6 decimals, like the stablecoins it stands in for.
    function decimals() public pure override returns (uint8) {
        return 6;
    }

    /// @inheritdoc IMockStablecoin
    function faucet(address to, uint256 amount) external {
        require(to != address(0) && amount != 0, MockStablecoinInvalidFaucetRequest(to, amount));
        require(amount <= FAUCET_LIMIT, MockStablecoinFaucetLimitExceeded(amount, FAUCET_LIMIT));
        _mint(to, amount);
        emit FaucetDrawn(msg.sender, to, amount);
    }
}
