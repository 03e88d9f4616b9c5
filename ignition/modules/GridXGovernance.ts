import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import { id, ZeroAddress, ZeroHash } from "ethers";

/** TimelockController role ids (keccak256 of the role name; the admin role is 0x00). */
export const TIMELOCK_ROLES = {
  DEFAULT_ADMIN_ROLE: ZeroHash,
  PROPOSER_ROLE: id("PROPOSER_ROLE"),
  EXECUTOR_ROLE: id("EXECUTOR_ROLE"),
  CANCELLER_ROLE: id("CANCELLER_ROLE"),
} as const;

/**
 * Governance: GovernanceToken (ERC20Votes + permit, fixed supply minted to the configured holders),
 * GridXTimelock (OpenZeppelin TimelockController) and EnergyGovernor (Governor with timelock control).
 * The governor is the timelock's only proposer and canceller, anyone may execute a queued operation once
 * its delay has passed, and the deployer gives up the timelock's admin role at the end of this module, so
 * the timelock administers itself. The AccessManager's ADMIN moves to the timelock in `GridX.ts`, after
 * every other module has run.
 *
 * Parameters: `tokenRecipients`, `tokenAmounts` (18-decimal base units, as "…n" strings),
 * `timelockMinDelaySeconds`, `votingDelaySeconds`, `votingPeriodSeconds`, `proposalThreshold` (base
 * units), `quorumNumerator` (percent of the total supply at the snapshot).
 */
export default buildModule("GridXGovernance", (m) => {
  const deployer = m.getAccount(0);

  const governanceToken = m.contract("GovernanceToken", [
    m.getParameter<string[]>("tokenRecipients"),
    m.getParameter<bigint[]>("tokenAmounts"),
  ]);
  const timelock = m.contract("GridXTimelock", [
    m.getParameter<number>("timelockMinDelaySeconds"),
    [],
    [ZeroAddress],
    deployer,
  ]);
  const energyGovernor = m.contract("EnergyGovernor", [
    governanceToken,
    timelock,
    m.getParameter<number>("votingDelaySeconds"),
    m.getParameter<number>("votingPeriodSeconds"),
    m.getParameter<bigint>("proposalThreshold"),
    m.getParameter<number>("quorumNumerator"),
  ]);

  const proposer = m.call(timelock, "grantRole", [TIMELOCK_ROLES.PROPOSER_ROLE, energyGovernor], {
    id: "timelock_grant_proposer",
  });
  const canceller = m.call(timelock, "grantRole", [TIMELOCK_ROLES.CANCELLER_ROLE, energyGovernor], {
    id: "timelock_grant_canceller",
  });
  m.call(timelock, "renounceRole", [TIMELOCK_ROLES.DEFAULT_ADMIN_ROLE, deployer], {
    id: "timelock_renounce_admin",
    after: [proposer, canceller],
  });

  return { governanceToken, timelock, energyGovernor };
});
