import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import {
  FUNCTION_ROLES,
  LABELLED_ROLES,
  ROLES,
  type RestrictedContract,
  type RoleName,
  selectorsOf,
} from "../lib/permissions.ts";
import GridXCoreModule from "./GridXCore.ts";
import GridXMarketModule from "./GridXMarket.ts";
import GridXOraclesModule from "./GridXOracles.ts";

/**
 * The AccessManager's function table: one `setTargetFunctionRole` per (contract, role) of
 * `FUNCTION_ROLES`, ADMIN included, and a `labelRole` for every non-built-in role.
 */
export default buildModule("GridXPermissions", (m) => {
  const { accessManager, gridManagement, smartMeter } = m.useModule(GridXCoreModule);
  const { priceOracle, gridOracle, weatherOracle } = m.useModule(GridXOraclesModule);
  const { settlement, energyTrading } = m.useModule(GridXMarketModule);
  const targets = {
    GridManagement: gridManagement,
    SmartMeter: smartMeter,
    PriceOracle: priceOracle,
    GridOracle: gridOracle,
    WeatherOracle: weatherOracle,
    Settlement: settlement,
    EnergyTrading: energyTrading,
  } satisfies Record<RestrictedContract, unknown>;

  for (const role of LABELLED_ROLES) {
    m.call(accessManager, "labelRole", [ROLES[role], role], { id: `label_${role}` });
  }

  for (const [contractName, functionRoles] of Object.entries(FUNCTION_ROLES) as Array<
    [RestrictedContract, Partial<Record<RoleName, readonly string[]>>]
  >) {
    for (const [role, functionNames] of Object.entries(functionRoles) as Array<[RoleName, readonly string[]]>) {
      m.call(
        accessManager,
        "setTargetFunctionRole",
        [targets[contractName], selectorsOf(contractName, functionNames), ROLES[role]],
        { id: `assign_${contractName}_${role}` },
      );
    }
  }

  return { accessManager };
});
