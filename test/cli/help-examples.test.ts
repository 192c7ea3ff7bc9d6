/** Every `ferry datastore …` and `ferry image …` subcommand's --help ends with at least one example command line. */
import t from 'tap';
import { runCli } from './helpers.js';

/** The subcommands `ferry GROUP --help` lists. */
async function subcommands(group: string): Promise<string[]> {
  const help = await runCli([group, '--help']);
  const listed = help.stdout.split(/^Commands:\n/m)[1] ?? '';
  return [...listed.matchAll(/^ {2}(\S+)/gm)].map((match) => match[1] as string).filter((name) => name !== 'help');
}

for (const group of ['datastore', 'image']) {
  t.test(`ferry ${group} subcommands show an example in --help`, async (t) => {
    const names = await subcommands(group);
    t.ok(names.length >= 6, `${group} has its subcommands listed (${names.join(', ')})`);
    for (const name of names) {
      const help = await runCli([group, name, '--help']);
      t.equal(help.status, 0, `${group} ${name} --help`);
      const examples = /\nExamples?:\n((?: {2}\$ .*\n)+)\n*$/.exec(help.stdout)?.[1] ?? '';
      t.match(examples, new RegExp(`^ {2}\\$ .*ferry ${group} ${name}\\b`, 'm'), `${group} ${name} --help ends with an example of itself`);
    }
  });
}
