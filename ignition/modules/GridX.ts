import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import type { Future } from "@nomicfoundation/ignition-core";
import {
  type DeploymentPlan,
  planFrom,
  readParametersFile,
  resolveParametersFile,
  ROLES_MODULE_ID,
  ZONES_MODULE_ID,
} from "../lib/deploymentPlan.ts";
import { ROLES, type RoleName } from "../lib/permissions.ts";
import GridXAssetsModule from "./GridXAssets.ts";
import GridXCoreModule from "./GridXCore.ts";
import GridXGovernanceModule from "./GridXGovernance.ts";
import GridXMarketModule from "./GridXMarket.ts";
import GridXOraclesModule from "./GridXOracles.ts";
import GridXPermissionsModule from "./GridXPermissions.ts";
import MockStablecoinModule from "./MockStablecoin.ts";

/**
 * The whole governed GridX system: core, oracles, the market (Settlement and EnergyTrading), green
 * certificates and energy assets, the permission table, role grants, zones with their grid operators, the
 * local payment token and governance (token, governor, timelock). Last, the AccessManager's ADMIN role moves
 * from the deployer to the timelock: the timelock is granted ADMIN once every other module has run, then
 * the deployer renounces it, so after deployment no externally owned account holds ADMIN and every
 * parameter changes only through a governance proposal. The number of zones and role members comes from `plan`
 * (see `../lib/deploymentPlan.ts`); the default export builds it from the parameters file the deploy
 * command is given.
 */
export function buildGridXModule(plan: DeploymentPlan) {
  const rolesModule = buildModule(ROLES_MODULE_ID, (m) => {
    const { accessManager } = m.useModule(GridXCoreModule);
    const members: Array<[RoleName, string[]]> = [
      ["GRID_OPERATOR", plan.gridOperators],
      ["ORACLE_OPERATOR", plan.oracleOperators],
      ["METER_REGISTRAR", plan.meterRegistrars],
      ["GUARDIAN", plan.guardians],
    ];
    for (const [role, accounts] of members) {
      for (const account of accounts) {
        m.call(accessManager, "grantRole", [ROLES[role], account, 0], { id: `grant_${role}_${account}` });
      }
    }
    return { accessManager };
  });

  const zonesModule = buildModule(ZONES_MODULE_ID, (m) => {
    const { gridManagement } = m.useModule(GridXCoreModule);
    // Zone ids are assigned in creation order, so each creation waits for the previous one.
    let previous: Future | undefined;
    plan.zones.forEach(({ config, operators }, index) => {
      const key = `zone${index + 1}_${config.name.replace(/[^A-Za-z0-9]/g, "_")}`;
      const created = m.call(gridManagement, "createZone", [config], {
        id: `create_${key}`,
        after: previous === undefined ? [] : [previous],
      });
      const zoneId = m.readEventArgument(created, "ZoneCreated", "zone", { id: `${key}_id` });
      for (const operator of operators) {
        m.call(gridManagement, "setZoneOperator", [zoneId, operator, true], { id: `operator_${key}_${operator}` });
      }
      previous = created;
    });
    return { gridManagement };
  });

  return buildModule("GridX", (m) => {
    const deployer = m.getAccount(0);
    const core = m.useModule(GridXCoreModule);
    const oracles = m.useModule(GridXOraclesModule);
    const { mockStablecoin } = m.useModule(MockStablecoinModule);
    const market = m.useModule(GridXMarketModule);
    const assets = m.useModule(GridXAssetsModule);
    const governance = m.useModule(GridXGovernanceModule);
    const everyModule = [
      GridXCoreModule,
      GridXOraclesModule,
      MockStablecoinModule,
      GridXMarketModule,
      GridXAssetsModule,
      GridXGovernanceModule,
      GridXPermissionsModule,
      rolesModule,
      zonesModule,
    ];
    m.useModule(GridXPermissionsModule);
    m.useModule(rolesModule);
    m.useModule(zonesModule);

    const { accessManager } = core;
    const handOver = m.call(accessManager, "grantRole", [ROLES.ADMIN, governance.timelock, 0], {
      id: "admin_to_timelock",
      after: everyModule,
    });
    m.call(accessManager, "renounceRole", [ROLES.ADMIN, deployer], { id: "deployer_renounces_admin", after: [handOver] });
    return { ...core, ...oracles, mockStablecoin, ...market, ...assets, ...governance };
  });
}

const parameters = await readParametersFile(resolveParametersFile());

export default buildGridXModule(planFrom(parameters));
