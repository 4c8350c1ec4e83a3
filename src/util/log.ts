// Structured logging for every layer (pino, JSON lines on stderr so stdout stays for command output).
import { type Logger, pino } from 'pino';

export type { Logger };

const level = process.env.VNM_LOG_LEVEL ?? 'info';

export const rootLogger: Logger = pino(
  { level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime },
  pino.destination({ fd: 2, sync: true }),
);

export function setLogLevel(newLevel: string): void {
  rootLogger.level = newLevel;
}

/** A logger for one component, e.g. logger('runtime') or logger('testbed'). */
export function logger(component: string): Logger {
  return rootLogger.child({ c: component });
}
