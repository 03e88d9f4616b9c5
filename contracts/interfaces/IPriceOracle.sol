// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IQuorumOracle} from "./IQuorumOracle.sol";

/// @title IPriceOracle
/// @notice Per-zone reference energy price with the supply and demand it was derived from, reported by a
/// quorum of oracle operators (see `IQuorumOracle`). EnergyTrading bands prices around the reference when
/// it is fresh.
/// @dev EIP-712 domain: name "GridX PriceOracle", version "1". Operators sign
/// `PriceReport(uint32 zone,uint64 round,uint64 observedAt,uint128 pricePerKWh,uint64 supplyW,uint64 demandW)`.
interface IPriceOracle is IQuorumOracle {
    // ─────────────────────────────────────────────────────────────── types

    /// @notice Field indices of a price report, in signing order.
    enum Field {
        /// @dev Reference price, payment-token base units per kWh; hard limits [0, 2**119 - 1].
        PricePerKWh,
        /// @dev Zone supply, W; hard limits [0, 2**63 - 1].
        SupplyW,
        /// @dev Zone demand, W; hard limits [0, 2**63 - 1].
        DemandW
    }

    // ─────────────────────────────────────────────────────────────── errors

    /// @notice The market is wired once.
    error PriceOracleMarketAlreadySet(address market);

    // ─────────────────────────────────────────────────────────────── events

    /// @notice The market that receives every accepted price and heartbeat change was wired.
    event MarketSet(address indexed market);

    // ─────────────────────────────────────────────────────────────── governance (ADMIN)

    /// @notice Wires the market (EnergyTrading), once: from then on every accepted report pushes its price and
    /// observation time to it, and every heartbeat change the heartbeat (`IReferencePriceHook`). Pushes the
    /// heartbeat and every zone's latest price at once (a loop over GridManagement's zones).
    function setMarket(address market) external;

    // ─────────────────────────────────────────────────────────────── views

    /// @notice The market wired with `setMarket` (zero until then).
    function market() external view returns (address);

    /// @notice The zone's latest reference price, its observation time and whether it is fresh
    /// (age ≤ heartbeat). Never reverts; zero and not fresh before the first report.
    function referencePrice(uint32 zone) external view returns (uint128 pricePerKWh, uint64 observedAt, bool fresh);
}
