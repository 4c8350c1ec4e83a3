// The migration shim's I/O side: the ShimController (apps' ControllerApi over the runtime, migration
// driver for the console) and its helpers.
export { Gate } from './gate.ts';
export {
  DUMP_ALL_FLOWS,
  DUMP_ALL_GROUPS,
  lostCopyRemoved,
  planReconcile,
  type ReconcileResult,
} from './reconcile.ts';
export { ShimController, type ShimControllerOptions, type StartMode } from './shim-controller.ts';
export { VirtualDatapath, type VirtualHost, virtualIdText } from './virtual-datapath.ts';
