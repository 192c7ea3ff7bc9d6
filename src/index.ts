/** ferry's library API. */
export { Runner, MAX_ARG_BYTES } from './driver/runner.js';
export type { ActionRequest, ActionResult, CallOptions, DatastoreRequest, RunnerOptions, TmRequest } from './driver/runner.js';
export { parseTransfer, runTransfer } from './driver/transfer.js';
export type { TransferLine, TransferOutcome } from './driver/transfer.js';
export { listDrivers } from './driver/inventory.js';
export type { DriverInfo } from './driver/inventory.js';
export { locate, checkName } from './driver/locate.js';
export type { Located } from './driver/locate.js';
export { API_VERSIONS, ManifestSchema, MANIFEST_FILE } from './driver/manifest.js';
export type { Manifest } from './driver/manifest.js';
export { splitStderr } from './driver/stderr.js';
export type { LogLevel, LogRecord } from './log/record.js';
export { signalAllGroups } from './driver/launch/spawn-group.js';
export {
  CONTRACT,
  DATASTORE_CONTRACT,
  TM_CONTRACT,
  GENERIC_CONTRACT,
  DS_ACTIONS,
  TM_ACTIONS,
  KINDS,
  baseAction,
  specFor,
  isKnownAction,
} from './contract/table.js';
export type { ActionSpec, ActionOf, DsAction, Kind, ResultOf, TmAction } from './contract/table.js';
export { checkArgs, isHostPath, usageOf } from './contract/args.js';
export type { ArgSpec, ArgType } from './contract/args.js';
export type { ImageSourceResult, MonitorResult, Parsed, Parser } from './contract/parsers.js';
export { buildDump, dumpFromBase64, dumpFromXml, readDump, DUMP_ROOT } from './dump/dump.js';
export type { ActionDump, DatastoreFields, DumpInput, ImageFields, TemplateAttributes } from './dump/dump.js';
export { xpathValues } from './dump/xpath.js';
export { decodeBase64, encodeBase64 } from './dump/base64.js';
export { loadConfig, resolveRemotesPath, CONFIG_FILE } from './config/config.js';
export type { FerryConfig } from './config/config.js';
export { createLogger, lazyLogger, silentLogger } from './log/logger.js';
export type { Logger } from './log/logger.js';
export { FerryError, EXIT_STATUS, isFerryError } from './errors.js';
export type { ErrorCode, RunFacts } from './errors.js';
export { main } from './cli/main.js';
export type { Io } from './cli/io.js';
export { Catalog, catalogLocation, catalogName } from './catalog/catalog.js';
export type { CatalogStore, CatalogTx } from './catalog/store.js';
export type {
  Datastore,
  DatastorePatch,
  DatastoreType,
  DiskKind,
  Host,
  HostPatch,
  Image,
  ImagePatch,
  ImageState,
  JournalEntry,
  JournalQuery,
  NewDatastore,
  NewHost,
  NewImage,
  NewVm,
  PlanStep,
  StepRefs,
  Vm,
  VmDisk,
  VmPatch,
  VmState,
} from './model.js';
export { Orchestrator } from './lifecycle/orchestrator.js';
export type { OrchestratorOptions, StepEvent } from './lifecycle/orchestrator.js';
export { datastoreDump, secretEnv } from './dump/from-catalog.js';
export { planFor, rollbackPlan, transferLine, TRANSITIONS, VM_OPERATIONS } from './lifecycle/plan.js';
export type {
  DatastorePlan,
  ImagePlan,
  NewImageInput,
  NewVmInput,
  OperationArgs,
  Plan,
  PlanContext,
  RecoverPlan,
  SaveAsPlan,
  VmOperation,
  VmPlan,
} from './lifecycle/plan.js';
