/**
 * The logger every command writes its diagnostics with: stderr, at the level named by the DHT_NODE_LOG
 * environment variable (debug, info, warn, error; default warn). An environment variable rather than a flag
 * so that it reaches every command, and scripts that run them, without changing their command lines.
 */
import { stderrLogger, type Logger, type LogLevel } from '../util/log.js';

const LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

/** The level `value` names, or warn when it names none (an unknown value is not worth failing a command for). */
export function logLevelFrom(value: string | undefined): LogLevel {
  const v = value?.trim().toLowerCase();
  return LEVELS.find((l) => l === v) ?? 'warn';
}

export function cliLogger(env: NodeJS.ProcessEnv = process.env): Logger {
  return stderrLogger(logLevelFrom(env['DHT_NODE_LOG']));
}
