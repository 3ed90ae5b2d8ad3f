/**
 * Where state lives on disk. The XDG Base Directory spec puts state that should survive restarts but is
 * not user data under $XDG_STATE_HOME (default ~/.local/state), and says relative values must be ignored.
 */
import { isAbsolute, join } from 'node:path';
import { DhtNodeError } from '../util/errors.js';

/** The application's folder inside the XDG state home. */
export const APP_DIR_NAME = 'dht-node';

/**
 * The default `--state-dir`: `$XDG_STATE_HOME/dht-node` when that is set to an absolute path, else
 * `<homedir>/.local/state/dht-node`. Pure: the caller passes `process.env` and `os.homedir()`.
 */
export function defaultStateDir(env: Readonly<Record<string, string | undefined>>, homedir: string): string {
  const xdg = env['XDG_STATE_HOME'];
  if (xdg !== undefined && xdg !== '' && isAbsolute(xdg)) return join(xdg, APP_DIR_NAME);
  return join(homedir, '.local', 'state', APP_DIR_NAME);
}

/** A role names a sub-database: lowercase, short, no path characters. */
const ROLE_PATTERN = /^[a-z][a-z0-9-]{0,31}$/;

/**
 * The directory of one role's database, `<stateDir>/<role>`. Each role (`run`, `bootstrap`, `download`,
 * ...) gets its own LevelDB so commands on the same machine never contend for one LOCK file.
 */
export function roleStateDir(stateDir: string, role: string): string {
  if (!ROLE_PATTERN.test(role)) throw new DhtNodeError('state_bad_role', `invalid state role name: ${JSON.stringify(role)}`);
  return join(stateDir, role);
}
