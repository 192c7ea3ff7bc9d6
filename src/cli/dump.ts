/** `ferry dump encode|decode <file>`: between the XML dump and the base64 that travels as argument 1. */
import type { Command } from 'commander';
import { dumpFromBase64, dumpFromXml } from '../dump/dump.js';
import { FerryError } from '../errors.js';
import { run, type SetStatus } from './command.js';
import { readInput } from './input.js';
import type { Io } from './io.js';
import { writeJson } from './output.js';

export function registerDump(program: Command, io: Io, setStatus: SetStatus): void {
  program
    .command('dump')
    .summary('encode or decode an action dump')
    .description('encode: XML file -> base64 (checked to be well-formed XML with one root).\ndecode: base64 file -> XML (checked the same way).')
    .argument('<direction>', 'encode or decode')
    .argument('<file>', 'input file, or - for stdin')
    .addHelpText(
      'after',
      `
Examples:
  $ ferry dump encode image.xml > image.b64
  $ ferry dump decode image.b64
  $ echo "$DRV_ACTION" | ferry dump decode -
`,
    )
    .action((direction: string, file: string, _options: unknown, command: Command) =>
      run(command, io, setStatus, async ({ json }) => {
        if (direction !== 'encode' && direction !== 'decode') {
          throw new FerryError('E_USAGE', `dump ${JSON.stringify(direction)}: expected encode or decode`, { hint: 'ferry dump encode FILE | ferry dump decode FILE' });
        }
        const text = await readInput(io, file, 'dump');
        const dump = direction === 'encode' ? dumpFromXml(text.trim(), null) : dumpFromBase64(text, null);
        if (json) writeJson(io, { ok: true, root: dump.root, base64: dump.base64, xml: dump.xml });
        else io.stdout.write(direction === 'encode' ? `${dump.base64}\n` : `${dump.xml.replace(/\n?$/, '\n')}`);
      }),
    );
}
