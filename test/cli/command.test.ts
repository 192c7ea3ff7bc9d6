/** run(): the one exit path of every command — the body's status, or the failure it throws, reported once. */
import { Command } from 'commander';
import t from 'tap';
import { FailureWithFields, run, type Body, type RunOptions } from '../../src/cli/command.js';
import { FerryError } from '../../src/errors.js';
import { jsonOf, memoryIo } from './helpers.js';

/** Parses `argv` for a program with --json and one command `go` whose action is run(body). */
async function go(argv: string[], body: Body, options?: RunOptions): Promise<{ status: number | undefined; stdout: string; stderr: string }> {
  const io = memoryIo();
  let status: number | undefined;
  const program = new Command('ferry').option('--json').exitOverride();
  program.command('go').action((_options: unknown, command: Command) => run(command, io, (value) => (status = value), body, options));
  await program.parseAsync(argv, { from: 'user' });
  return { status, stdout: io.out(), stderr: io.err() };
}

t.test('the body\'s status: 0 when it returns nothing, else what it returns', async (t) => {
  t.same(await go(['go'], () => void t.pass('the body runs')), { status: 0, stdout: '', stderr: '' });
  t.equal((await go(['go'], async () => 1)).status, 1);
});

t.test('a failure is reported once and its code sets the status', async (t) => {
  const refusal = new FerryError('E_NOT_FOUND', 'no image 7', { hint: 'ferry image list' });
  const text = await go(['go'], () => {
    throw refusal;
  });
  t.same(text, { status: 2, stdout: '', stderr: 'ferry: no image 7\n  hint: ferry image list\n' });
  const json = await go(['--json', 'go'], () => {
    throw refusal;
  });
  t.equal(json.status, 2);
  t.equal(json.stderr, '');
  t.match(jsonOf(json.stdout), { ok: false, error: { code: 'E_NOT_FOUND', message: 'no image 7', exitStatus: 2 } });
  const bug = await go(['go'], async () => {
    throw new TypeError('x is not a function');
  });
  t.equal(bug.status, 70, 'anything else is an internal error');
  t.match(bug.stderr, /internal error: x is not a function/);
});

t.test('extra report fields reach the --json report; json: false keeps failures on stderr', async (t) => {
  const failure = new FailureWithFields(new FerryError('E_TIMEOUT', 'too slow'), { failedLine: 2 });
  const json = await go(['--json', 'go'], () => {
    throw failure;
  });
  t.equal(json.status, 124);
  t.match(jsonOf(json.stdout), { ok: false, failedLine: 2, error: { code: 'E_TIMEOUT' } });
  const plain = await go(
    ['--json', 'go'],
    (cli) => {
      t.equal(cli.json, false, 'the body sees json off');
      throw new FerryError('E_USAGE', 'bad -t');
    },
    { json: false },
  );
  t.same(plain, { status: 2, stdout: '', stderr: 'ferry: bad -t\n' });
});

t.test('the context is built when the body asks, and its errors are reported too', async (t) => {
  const io = memoryIo();
  let status: number | undefined;
  const program = new Command('ferry').option('--json').option('--config <file>').option('--log-level <level>').exitOverride();
  program.command('go').action((_options: unknown, command: Command) =>
    run(command, io, (value) => (status = value), async ({ makeContext }) => {
      await makeContext();
    }),
  );
  await program.parseAsync(['--log-level', 'loud', 'go'], { from: 'user' });
  t.equal(status, 2);
  t.match(io.err(), /--log-level "loud" is not a level/);
});
