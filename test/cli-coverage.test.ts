import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Command } from 'commander';
import { buildProgram } from '../packages/server/src/cli/program.js';
import { commandPaths, optionClashes, resolveCommand } from './support/cli-commands.js';

describe('the CLI command inventory (issue 15 §2)', () => {
  const program = buildProgram();

  it('enumerates every runnable command, nested groups included', () => {
    const paths = commandPaths(program);
    for (const expected of [
      'serve',
      'devices list',
      'devices revoke',
      'updates root export',
      'handover create',
    ])
      assert.ok(paths.includes(expected), expected);
    assert.ok(!paths.includes('updates root'), 'a group is not a runnable command');
    assert.ok(paths.length > 90, `${paths.length} commands`);
  });

  it('resolves the command arguments run, past global options and their values', () => {
    assert.equal(
      resolveCommand(program, ['--data-dir', 'd', '--database', 'x.db', 'devices', 'list', '--json']),
      'devices list',
    );
    assert.equal(
      resolveCommand(program, ['--server=https://h', 'updates', 'root', 'sign', 'f', '--key', 'k']),
      'updates root sign',
    );
    assert.equal(resolveCommand(program, ['--org', 'devices', 'whoami']), 'whoami', '--org takes a value');
    assert.equal(resolveCommand(program, ['devices']), null, 'a group alone runs nothing');
    assert.equal(resolveCommand(program, ['devicez', 'list']), null);
  });

  it('names a command no test ran', () => {
    const toy = new Command('toy');
    toy.command('a').action(() => {});
    const group = toy.command('g');
    group.command('b').action(() => {});
    const ran = new Set([resolveCommand(toy, ['a'])]);
    assert.deepEqual(
      commandPaths(toy).filter((p) => !ran.has(p)),
      ['g b'],
    );
  });

  it('has no subcommand option that a global option would swallow (handover create --ca did)', () => {
    assert.deepEqual(optionClashes(program), []);
    const toy = new Command('toy').option('--ca <file>');
    toy.command('x').option('--ca <file>');
    assert.deepEqual(optionClashes(toy), ['x --ca']);
  });
});
