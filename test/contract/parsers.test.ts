import t, { type Test } from 'tap';
import {
  parseImageSource,
  parseMkfsSource,
  parseMonitor,
  parseNothing,
  parseRaw,
  parseSize,
  parseSource,
  withDumpSize,
  type Parsed,
} from '../../src/contract/parsers.js';

/** The reason of a refused parse; fails the test when the parse succeeded. */
function reasonOf<R>(t: Test, parsed: Parsed<R>): string {
  if (parsed.ok) {
    t.fail(`expected a refusal, got ${JSON.stringify(parsed.value)}`);
    return '';
  }
  t.type(parsed.reason, 'string');
  t.ok(parsed.reason.length > 0, 'reason is not empty');
  return parsed.reason;
}

t.test('parseImageSource (cp, mkfs)', async (t) => {
  t.test('good outputs', async (t) => {
    t.same(parseImageSource('src 40'), { ok: true, value: { source: 'src', sizeMb: 40 } }, '"src 40": source and size');
    t.same(parseImageSource('src 40\n'), { ok: true, value: { source: 'src', sizeMb: 40 } }, 'trailing newline');
    t.same(parseImageSource('src 40\r\n'), { ok: true, value: { source: 'src', sizeMb: 40 } }, 'trailing CRLF');
    t.same(parseImageSource('  src   40  \n'), { ok: true, value: { source: 'src', sizeMb: 40 } }, 'extra blanks');
    t.same(parseImageSource('src qcow2'), { ok: true, value: { source: 'src', format: 'qcow2' } }, '"src qcow2": format instead of size');
    t.same(parseImageSource('src 40 qcow2'), { ok: true, value: { source: 'src', sizeMb: 40, format: 'qcow2' } }, '"src 40 qcow2"');
    t.same(parseImageSource('src 0 raw\n'), { ok: true, value: { source: 'src', sizeMb: 0, format: 'raw' } }, 'size 0');
    t.same(
      parseImageSource('host01:/var/lib/one/datastores/1/3e1c 1024 raw\n'),
      { ok: true, value: { source: 'host01:/var/lib/one/datastores/1/3e1c', sizeMb: 1024, format: 'raw' } },
      'a host:path source',
    );
    const only = parseImageSource('src 40');
    t.ok(only.ok && !('format' in only.value), 'no format key when none was printed');
    const fmt = parseImageSource('src qcow2');
    t.ok(fmt.ok && !('sizeMb' in fmt.value), 'no sizeMb key when no size was printed');
  });

  t.test('missing size', async (t) => {
    t.match(reasonOf(t, parseImageSource('src')), /only the source/);
    t.match(reasonOf(t, parseImageSource('src\n')), /only the source/);
    t.match(reasonOf(t, parseImageSource('')), /got nothing/);
    t.match(reasonOf(t, parseImageSource('  \n\n')), /got nothing/);
  });

  t.test('extra fields', async (t) => {
    t.match(reasonOf(t, parseImageSource('src 40 qcow2 extra')), /more fields/);
    t.match(reasonOf(t, parseImageSource('a b c d e')), /more fields/);
    t.match(reasonOf(t, parseImageSource('src 40 5')), /third field "5" is not an image format/);
    t.match(reasonOf(t, parseImageSource('src 40 qc/ow2')), /third field "qc\/ow2"/);
    t.match(reasonOf(t, parseImageSource('src qcow2 40')), /second field "qcow2" is not a size/, 'format before size');
  });

  t.test('multi-line', async (t) => {
    t.match(reasonOf(t, parseImageSource('src\n40')), /one line/);
    t.match(reasonOf(t, parseImageSource('src 40\nsrc 41\n')), /one line/);
    t.match(reasonOf(t, parseImageSource('src 40\n\nnoise')), /one line/);
  });

  t.test('non-numeric size', async (t) => {
    t.match(reasonOf(t, parseImageSource('src 4.5')), /second field "4\.5"/);
    t.match(reasonOf(t, parseImageSource('src -1')), /second field "-1"/);
    t.match(reasonOf(t, parseImageSource('src 40MB')), /second field "40MB"/);
    t.match(reasonOf(t, parseImageSource('src 0x10')), /second field "0x10"/);
  });

  t.test('a size past the safe integers is refused, not rounded', async (t) => {
    // 9007199254740993 would silently become 9007199254740992.
    reasonOf(t, parseImageSource('src 9007199254740993'));
  });
});

t.test('parseSize (stat)', async (t) => {
  t.same(parseSize('40'), { ok: true, value: 40 });
  t.same(parseSize('40\n'), { ok: true, value: 40 });
  t.same(parseSize('  40  \n'), { ok: true, value: 40 });
  t.same(parseSize('0\n'), { ok: true, value: 0 });
  t.same(parseSize('86845\r\n'), { ok: true, value: 86845 });
  for (const bad of ['', '\n', '4.5', '-1', '40 MB', '40\n41', 'abc', '1e3', '0x10', '+40', '40 40']) {
    t.match(reasonOf(t, parseSize(bad)), /size in MB/, `refuses ${JSON.stringify(bad)}`);
  }
  t.test('a size past the safe integers is refused, not rounded', async (t) => {
    reasonOf(t, parseSize('9007199254740993'));
  });
});

t.test('parseSource (clone)', async (t) => {
  t.same(parseSource('new-source'), { ok: true, value: 'new-source' });
  t.same(parseSource('host01:/var/lib/one/datastores/1/abc\n'), { ok: true, value: 'host01:/var/lib/one/datastores/1/abc' });
  t.same(parseSource('  src  \n'), { ok: true, value: 'src' });
  for (const bad of ['', '\n', 'a b', 'a\nb', 'src\nsrc2\n', 'src 40']) {
    t.match(reasonOf(t, parseSource(bad)), /one line with the new image source/, `refuses ${JSON.stringify(bad)}`);
  }
});

t.test('parseMonitor', async (t) => {
  t.test('the three figures, one per line', async (t) => {
    t.same(parseMonitor('USED_MB=1000\nTOTAL_MB=86845\nFREE_MB=20777\n'), {
      ok: true,
      value: { usedMb: 1000, totalMb: 86845, freeMb: 20777, attributes: {}, other: [] },
    });
  });

  t.test('order does not matter, CRLF and blank lines are fine', async (t) => {
    t.same(parseMonitor('\r\nFREE_MB=3\r\n\r\nUSED_MB=1\r\nTOTAL_MB=2\r\n'), {
      ok: true,
      value: { usedMb: 1, totalMb: 2, freeMb: 3, attributes: {}, other: [] },
    });
  });

  t.test('pairs on one line separated by spaces', async (t) => {
    t.same(parseMonitor('USED_MB=1 TOTAL_MB=2 FREE_MB=3'), {
      ok: true,
      value: { usedMb: 1, totalMb: 2, freeMb: 3, attributes: {}, other: [] },
    });
    t.same(parseMonitor('USED_MB=1\tTOTAL_MB=2   FREE_MB=3 DS_X=7\n'), {
      ok: true,
      value: { usedMb: 1, totalMb: 2, freeMb: 3, attributes: { DS_X: '7' }, other: [] },
    });
  });

  t.test('extra KEY=VALUE pairs land in attributes, quotes removed', async (t) => {
    const parsed = parseMonitor('USED_MB=1\nTOTAL_MB=2\nFREE_MB=3\nFOO=bar BAZ=1\nQUOTED="x"\nEMPTY=\n');
    t.same(parsed, {
      ok: true,
      value: { usedMb: 1, totalMb: 2, freeMb: 3, attributes: { FOO: 'bar', BAZ: '1', QUOTED: 'x', EMPTY: '' }, other: [] },
    });
    t.same(parseMonitor('USED_MB="10"\nTOTAL_MB="20"\nFREE_MB="10"'), {
      ok: true,
      value: { usedMb: 10, totalMb: 20, freeMb: 10, attributes: {}, other: [] },
    }, 'quoted figures');
    t.same(parseMonitor('USED_MB=1.5\nTOTAL_MB=2.25\nFREE_MB=0.75'), {
      ok: true,
      value: { usedMb: 1.5, totalMb: 2.25, freeMb: 0.75, attributes: {}, other: [] },
    }, 'decimal figures');
  });

  t.test('a quoted value holding spaces is one pair', async (t) => {
    t.same(parseMonitor('USED_MB=1\nTOTAL_MB=2\nFREE_MB=3\nDS_NAME="my data store"\n'), {
      ok: true,
      value: { usedMb: 1, totalMb: 2, freeMb: 3, attributes: { DS_NAME: 'my data store' }, other: [] },
    });
    t.same(parseMonitor('DS_NAME="a b" USED_MB=1\nTOTAL_MB=2\nFREE_MB=3\n'), {
      ok: true,
      value: { usedMb: 1, totalMb: 2, freeMb: 3, attributes: { DS_NAME: 'a b' }, other: [] },
    }, 'the figures on the same line are not lost');
  });

  t.test('VM = [ ... ] lines are kept in other, in order', async (t) => {
    const stdout = [
      'USED_MB=1',
      'VM = [ ID = 0, POLL = "DISK_SIZE=[ID=0,SIZE=12]" ]',
      'TOTAL_MB=2',
      'VM = [ ID = 1, POLL = "" ]',
      'FREE_MB=3',
      'not a pair at all',
      '',
    ].join('\n');
    t.same(parseMonitor(stdout), {
      ok: true,
      value: {
        usedMb: 1,
        totalMb: 2,
        freeMb: 3,
        attributes: {},
        other: ['VM = [ ID = 0, POLL = "DISK_SIZE=[ID=0,SIZE=12]" ]', 'VM = [ ID = 1, POLL = "" ]', 'not a pair at all'],
      },
    });
  });

  t.test('a line mixing pairs and other text is kept whole in other', async (t) => {
    const parsed = parseMonitor('USED_MB=1\nTOTAL_MB=2\nFREE_MB=3\nFOO=1 junk\n');
    t.same(parsed, { ok: true, value: { usedMb: 1, totalMb: 2, freeMb: 3, attributes: {}, other: ['FOO=1 junk'] } });
  });

  t.test('missing figures', async (t) => {
    t.match(reasonOf(t, parseMonitor('')), /USED_MB=<MB>, it is missing/);
    t.match(reasonOf(t, parseMonitor('TOTAL_MB=2\nFREE_MB=3\n')), /USED_MB.*missing/);
    t.match(reasonOf(t, parseMonitor('USED_MB=1\nFREE_MB=3\n')), /TOTAL_MB.*missing/);
    t.match(reasonOf(t, parseMonitor('USED_MB=1\nTOTAL_MB=2\n')), /FREE_MB.*missing/);
    t.match(reasonOf(t, parseMonitor('used_mb=1\ntotal_mb=2\nfree_mb=3\n')), /USED_MB.*missing/, 'keys are case-sensitive');
  });

  t.test('non-numeric figures', async (t) => {
    t.match(reasonOf(t, parseMonitor('USED_MB=x\nTOTAL_MB=2\nFREE_MB=3')), /USED_MB=x is not a number of MB/);
    t.match(reasonOf(t, parseMonitor('USED_MB=1\nTOTAL_MB=\nFREE_MB=3')), /TOTAL_MB= is not a number of MB/);
    t.match(reasonOf(t, parseMonitor('USED_MB=1\nTOTAL_MB=2\nFREE_MB=-3')), /FREE_MB=-3 is not a number of MB/);
    t.match(reasonOf(t, parseMonitor('USED_MB=1\nTOTAL_MB=2\nFREE_MB=12MB')), /FREE_MB=12MB/);
    t.match(reasonOf(t, parseMonitor('USED_MB=1e3\nTOTAL_MB=2\nFREE_MB=3')), /USED_MB=1e3/);
  });
});

t.test('parseNothing', async (t) => {
  t.same(parseNothing(''), { ok: true, value: undefined });
  t.same(parseNothing('anything\nat all\n'), { ok: true, value: undefined });
  t.same(parseNothing('USED_MB=not even numbers'), { ok: true, value: undefined });
});

t.test('parseRaw', async (t) => {
  t.same(parseRaw(''), { ok: true, value: '' });
  t.same(parseRaw('a\n'), { ok: true, value: 'a' }, 'one trailing newline removed');
  t.same(parseRaw('a\r\n'), { ok: true, value: 'a' }, 'one trailing CRLF removed');
  t.same(parseRaw('a\n\n'), { ok: true, value: 'a\n' }, 'only one newline removed');
  t.same(parseRaw('a\nb\n'), { ok: true, value: 'a\nb' }, 'inner newlines kept');
  t.same(parseRaw('  a b  '), { ok: true, value: '  a b  ' }, 'blanks kept');
});

t.test('parseMkfsSource and withDumpSize (mkfs: the source alone, as OpenNebula\'s current mkfs prints it)', async (t) => {
  t.same(parseMkfsSource('/ds/1/f00d\n'), { ok: true, value: { source: '/ds/1/f00d' } }, 'the source alone: no size, no format');
  t.same(parseMkfsSource('/ds/1/f00d 16\n'), { ok: true, value: { source: '/ds/1/f00d', sizeMb: 16 } }, 'with a size, as cp\'s');
  t.same(parseMkfsSource('/ds/1/f00d 16 qcow2'), { ok: true, value: { source: '/ds/1/f00d', sizeMb: 16, format: 'qcow2' } });
  t.match(reasonOf(t, parseMkfsSource('')), /got nothing/);
  t.match(reasonOf(t, parseMkfsSource('/ds/1/f00d\n16\n')), /one line/, 'two lines are not a source alone');
  t.match(reasonOf(t, parseMkfsSource('made /ds/1/f00d in 0.1 s')), /more fields/);
  t.match(reasonOf(t, parseImageSource('/ds/1/f00d')), /only the source/, 'cp still needs the size: no dump knows it');

  t.same(withDumpSize({ source: 's' }, '16'), { ok: true, value: { source: 's', sizeMb: 16 } }, 'the size is the dump\'s IMAGE/SIZE');
  t.same(withDumpSize({ source: 's' }, 16), { ok: true, value: { source: 's', sizeMb: 16 } });
  t.same(withDumpSize({ source: 's', sizeMb: 8 }, '16'), { ok: true, value: { source: 's', sizeMb: 8 } }, 'a printed size wins');
  t.same(withDumpSize({ source: 's', format: 'qcow2' }, '16'), { ok: true, value: { source: 's', format: 'qcow2', sizeMb: 16 } }, 'a format-only reply gets the size too');
  t.same(withDumpSize({ source: 's', format: 'qcow2' }, undefined), { ok: true, value: { source: 's', format: 'qcow2' } }, 'a format-only reply without SIZE: as before');
  t.match(reasonOf(t, withDumpSize({ source: '/ds/1/f00d' }, undefined)), /got only the source "\/ds\/1\/f00d", and the dump has no IMAGE\/SIZE to take the size from/);
  t.match(reasonOf(t, withDumpSize({ source: 's' }, null)), /no IMAGE\/SIZE/);
  t.match(reasonOf(t, withDumpSize({ source: 's' }, '1.5')), /IMAGE\/SIZE "1.5", not a whole number of MB/);
  t.match(reasonOf(t, withDumpSize({ source: 's' }, '-1')), /not a whole number/);
});
