import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import yargs from 'yargs';
import { describe, expect, it } from 'vitest';
import { toYargs } from '../../src/cli/cli.js';
import type { CommandDefinition } from '../../src/cli/commands/definition.js';

const COMMANDS_DIR = fileURLToPath(new URL('../../src/cli/commands/', import.meta.url));

/** A definition whose loader counts its calls and records the arguments it ran with. */
function fakeCommand(name: string): { def: CommandDefinition; loads: number; ran: Record<string, unknown>[] } {
  const state = {
    loads: 0,
    ran: [] as Record<string, unknown>[],
    def: {
      command: `${name} <thing>`,
      describe: `the ${name} command`,
      positionals: { thing: { type: 'string', demandOption: true, describe: 'what to work on' } },
      options: {
        'some-flag': { type: 'number', default: 7, describe: 'a flag with a default' },
        other: { type: 'string', array: true, describe: 'a repeatable flag' },
      },
      load: async () => {
        state.loads++;
        return async (args: Record<string, unknown>) => {
          state.ran.push(args);
        };
      },
    } satisfies CommandDefinition,
  };
  return state;
}

/** A yargs instance like main()'s, that neither exits nor prints. */
function cli(argv: string[], defs: CommandDefinition[]): { run: () => Promise<unknown>; output: () => string } {
  let output = '';
  let y = yargs(argv).scriptName('dht-node').strict().demandCommand(1).help().version('1.2.3').exitProcess(false).wrap(100);
  for (const d of defs) y = y.command(toYargs(d));
  return {
    run: async () => {
      let failure: unknown;
      await y.parseAsync(argv, {}, (err, _argv, out) => {
        failure = err ?? undefined;
        output += out;
      });
      if (failure) throw failure;
    },
    output: () => output,
  };
}

describe('command registration', () => {
  it('loads only the implementation of the command that runs, with its parsed flags and defaults', async () => {
    const a = fakeCommand('alpha');
    const b = fakeCommand('beta');
    await cli(['alpha', 'x', '--other', 'p', '--other', 'q'], [a.def, b.def]).run();
    expect(a.loads).toBe(1);
    expect(b.loads).toBe(0);
    expect(a.ran).toHaveLength(1);
    expect(a.ran[0]).toMatchObject({ thing: 'x', 'some-flag': 7, other: ['p', 'q'] });
  });

  it('prints every flag and positional on --help, without loading anything', async () => {
    const a = fakeCommand('alpha');
    const c = cli(['alpha', '--help'], [a.def]);
    await c.run();
    expect(a.loads).toBe(0);
    for (const text of ['dht-node alpha <thing>', 'the alpha command', 'thing', 'what to work on', '--some-flag', 'a flag with a default', '--other', '--help', '--version']) {
      expect(c.output()).toContain(text);
    }
  });

  it('still rejects unknown flags and missing positionals before loading', async () => {
    const a = fakeCommand('alpha');
    await expect(cli(['alpha', 'x', '--bogus'], [a.def]).run()).rejects.toThrow(/bogus/);
    await expect(cli(['alpha'], [a.def]).run()).rejects.toThrow(/non-option arguments/);
    expect(a.loads).toBe(0);
  });
});

describe('command definitions stay light', () => {
  // `dht-node download` must not compile the code of lookup, run, bootstrap or create, and `--help` none at
  // all: a definition file may reach its implementation only through a dynamic import in `load`.
  const definitions = readdirSync(COMMANDS_DIR).filter((f) => f.endsWith('.ts') && !f.endsWith('-handler.ts'));

  it('has a handler for each definition', () => {
    expect(definitions).toContain('download.ts');
    for (const f of definitions.filter((d) => d !== 'definition.ts')) {
      expect(readdirSync(COMMANDS_DIR)).toContain(f.replace(/\.ts$/, '-handler.ts'));
    }
  });

  it.each(definitions)('%s imports no handler and nothing from app/ statically', (file) => {
    const text = readFileSync(join(COMMANDS_DIR, file), 'utf8');
    const staticImports = [...text.matchAll(/^import\s+(?!type\b)[^;]*?from\s+'([^']+)'/gm)].map((m) => m[1]);
    for (const spec of staticImports) {
      expect(spec).not.toMatch(/-handler\.js$|\/app\/|\/swarm\/|\/net\/|\/state\//);
    }
  });
});
