// Public API of the AWS emulator (Cloud Map + SSM Parameter Store + ECS over AWS JSON 1.1).
export { type Emulator, type EmulatorLogger, type EmulatorOptions, startEmulator } from "./server.js";
export type { EmulatorState, InstanceInput, InstanceRecord, NamespaceRecord, ServiceInput, ServiceRecord } from "./model/state.js";
export {
  type HealthState,
  type InstanceSpec,
  type NamespaceSpec,
  type ServiceSpec,
  type TaskDefinitionSpec,
  type TaskSpec,
  type Topology,
  type TopologyInput,
  loadTopologyFile,
  parseTopology,
  parseTopologyText,
} from "./model/topology.js";
export { type SyntheticOptions, syntheticTopology } from "./model/synthetic.js";
export { type Faults, type FaultSpec, mulberry32 } from "./control/faults.js";
export type { CallCounter } from "./control/calls.js";
export { AwsServiceError, TopologyError } from "./protocol/errors.js";
