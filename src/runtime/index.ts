// The OpenFlow 1.3 controller runtime: ControllerApi over physical switches. See README.md here.
export {
  AddressError,
  DEFAULT_LISTEN,
  formatListenAddress,
  type ListenAddress,
  parseListenAddress,
} from './address.ts';
export { DEFAULT_RUNTIME_CONFIG, type RuntimeConfig, resolveRuntimeConfig } from './config.ts';
export { Controller, type ControllerOptions, ROLE_VALUES, type RoleName } from './controller.ts';
export { EventBus } from './events.ts';
export { dpidText, RuntimeDatapath, Session, type SessionState } from './session.ts';
