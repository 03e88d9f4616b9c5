// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {IEnergyToken} from "./interfaces/IEnergyToken.sol";
import {ISmartMeter} from "./interfaces/ISmartMeter.sol";

/// @title EnergyToken
/// @notice GridX kWh credits (3 decimals: the base unit is 1 Wh), minted only by SmartMeter for
/// metered surplus and redeemed against metered consumption.
contract EnergyToken is IEnergyToken, ERC20, ERC20Permit {
    ISmartMeter private immutable _smartMeter;

    /// @param smartMeter_ The SmartMeter, the only minter; fixed for the token's life.
    constructor(ISmartMeter smartMeter_) ERC20("GridX Energy Credit", "GXE") ERC20Permit("GridX Energy Credit") {
        require(address(smartMeter_) != address(0), EnergyTokenZeroSmartMeter());
        _smartMeter = smartMeter_;
    }

    /// @notice 3 decimals: 1.000 token = 1 kWh, so amounts in base units are Wh.
    function decimals() public pure override returns (uint8) {
        return 3;
    }

    /// @inheritdoc IEnergyToken
    function mint(address to, uint256 amountWh) external {
        require(msg.sender == address(_smartMeter), EnergyTokenUnauthorizedMinter(msg.sender));
        _mint(to, amountWh);
    }

    /// @inheritdoc IEnergyToken
    function redeem(uint64 meterId, uint64 amountWh) external {
        require(amountWh != 0, EnergyTokenZeroAmount());
        _burn(msg.sender, amountWh);
        _smartMeter.coverConsumption(meterId, msg.sender, amountWh);
        emit Redeemed(msg.sender, meterId, amountWh);
    }

    /// @inheritdoc IEnergyToken
    function smartMeter() external view returns (address) {
        return address(_smartMeter);
    }
}
