/**
 * Every command's --help, the program's, each group's and each subcommand's
 * (found by walking the commander program, so a new command is covered
 * without listing it here), shows an "Examples:" section with at least one
 * `$ ferry ...` line that runs that command.
 */
import type { Command } from 'commander';
import t from 'tap';
import { buildProgram } from '../../src/cli/main.js';
import { memoryIo, runCli } from './helpers.js';

/** Every command's path under the program (`['vm', 'disk-snapshot', 'create']`), groups included. */
function commandPaths(command: Command, prefix: string[] = []): string[][] {
  return command.commands.filter((sub) => sub.name() !== 'help').flatMap((sub) => {
    const path = [...prefix, sub.name()];
    return [path, ...commandPaths(sub, path)];
  });
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

t.test('every command shows an example of itself in --help', async (t) => {
  const paths = commandPaths(buildProgram(memoryIo(), () => {}));
  t.ok(paths.length >= 40, `the walk finds the commands (${paths.length})`);
  for (const path of [[], ...paths]) {
    const name = ['ferry', ...path].join(' ');
    const help = await runCli([...path, '--help']);
    t.equal(help.status, 0, `${name} --help`);
    const text = help.stdout + help.stderr;
    const examples = /\nExamples?:\n((?: {2}\$ .*\n?)+)/.exec(text)?.[1] ?? '';
    t.match(examples, new RegExp(`^ {2}\\$ ferry\\b.*?(?:^|\\s)${escape(path.join(' '))}\\b`, 'm'), `${name} --help has an example of ${name}`);
  }
});
