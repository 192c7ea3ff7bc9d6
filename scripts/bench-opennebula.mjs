#!/usr/bin/env node
// OpenNebula's own fs datastore driver, unmodified, under its own driver
// process (one_datastore.rb with OpenNebula's xpath.rb, under Debian's Ruby)
// and under `ferry mad datastore` (ferry's xpath drop-in), in the same run:
// the same requests, one at a time as oned's queue for one image sends them,
// the two sides alternating by round. A third side, ferry mad with
// OpenNebula's Ruby xpath.rb, tells the driver process's share from
// xpath's. Also the field lookup alone: xpath.rb against the drop-in.
//
// Needs OpenNebula's sources (FERRY_OPENNEBULA_SRC, default
// ../shared/opennebula), ruby and qemu-img. `npm run bench` runs this as a
// section (--no-opennebula skips it); alone: node scripts/bench-opennebula.mjs [--json].
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const ferry = join(root, 'dist', 'bin', 'ferry.js');
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/** A driver process on the line protocol; request() resolves with the reply line. */
function lineDriver(command, args, env, cwd) {
  const child = spawn(command, args, { env, cwd, stdio: ['pipe', 'pipe', 'ignore'] });
  let waiting;
  createInterface({ input: child.stdout }).on('line', (line) => {
    if (waiting && waiting.match.test(line)) {
      const resolve = waiting.resolve;
      waiting = undefined;
      resolve(line);
    }
  });
  return {
    request: (verb, id, payload) =>
      new Promise((resolve) => {
        waiting = { match: new RegExp(`^${verb} (SUCCESS|FAILURE) ${id}`), resolve };
        child.stdin.write(`${verb} ${id} ${payload}\n`);
      }),
    close: () =>
      new Promise((resolve) => {
        child.once('close', resolve);
        child.stdin.end('FINALIZE\n');
      }),
  };
}

const b64 = (xml) => Buffer.from(xml).toString('base64');

export async function opennebulaFigures({ stats = 30, copies = 10, rounds = 3 } = {}) {
  const src = resolve(process.env.FERRY_OPENNEBULA_SRC ?? join(root, '..', 'shared', 'opennebula'));
  if (!existsSync(join(src, 'src'))) return { skipped: `set FERRY_OPENNEBULA_SRC to a copy of OpenNebula's sources (${src}/src does not exist)` };
  if (spawnSync('ruby', ['-e', '0']).status !== 0) return { skipped: "no ruby: install Debian's ruby (scripts/setup.sh does)" };
  const work = mkdtempSync(join(tmpdir(), 'ferry-bench-one-'));
  try {
    // ferry's root (the drop-in xpath.rb), and OpenNebula's own: the same with OpenNebula's xpath.rb back in place.
    const ferryRoot = join(work, 'ferry');
    execFileSync(process.execPath, [ferry, 'drivers', 'import', src, ferryRoot], { stdio: 'ignore' });
    const oneRoot = join(work, 'one');
    cpSync(ferryRoot, oneRoot, { recursive: true, verbatimSymlinks: true });
    const xpathAt = (r) => join(r, 'var', 'remotes', 'datastore', 'xpath.rb');
    rmSync(xpathAt(oneRoot));
    copyFileSync(join(oneRoot, 'var', 'remotes', 'datastore', 'xpath-rexml.rb'), xpathAt(oneRoot));
    for (const r of [ferryRoot, oneRoot]) writeFileSync(join(r, 'var', 'config'), 'SCRIPTS_REMOTE_DIR=/var/tmp/one\n');

    const image = join(work, 'image.qcow2');
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', image, '64M']);
    const base = join(work, 'ds');
    mkdirSync(base);
    const datastore = `<DATASTORE><ID>100</ID><DS_MAD>fs</DS_MAD><TM_MAD>shared</TM_MAD><BASE_PATH>${base}</BASE_PATH><TYPE>0</TYPE><TEMPLATE><DRIVER><![CDATA[qcow2]]></DRIVER></TEMPLATE></DATASTORE>`;
    const imageDump = (id) => b64(`<DS_DRIVER_ACTION_DATA><IMAGE><ID>${id}</ID><PATH>${image}</PATH><SIZE>64</SIZE><TYPE>0</TYPE><TEMPLATE></TEMPLATE></IMAGE>${datastore}</DS_DRIVER_ACTION_DATA>`);

    const { ONE_LOCATION: _o, RUBYLIB: _r, FERRY_XPATH: _x, ...env } = process.env;
    const sides = {
      'one_datastore.rb + xpath.rb': () => lineDriver('ruby', [join(oneRoot, 'lib', 'mads', 'one_datastore.rb')], { ...env, ONE_LOCATION: oneRoot, RUBYLIB: join(oneRoot, 'lib', 'ruby') }, oneRoot),
      'ferry mad + xpath.rb': () => lineDriver(process.execPath, [ferry, '--remotes', join(oneRoot, 'var', 'remotes'), 'mad', 'datastore'], env, oneRoot),
      'ferry mad + ferry xpath': () => lineDriver(process.execPath, [ferry, '--remotes', join(ferryRoot, 'var', 'remotes'), 'mad', 'datastore'], env, ferryRoot),
    };
    const timings = Object.fromEntries(Object.keys(sides).map((name) => [name, { stat: [], cp: [] }]));
    let id = 1000;
    for (let round = 0; round < rounds; round++) {
      const order = Object.keys(sides);
      if (round % 2 === 1) order.reverse();
      for (const name of order) {
        const driver = sides[name]();
        await driver.request('STAT', 1, imageDump(1)); // warm: the process and the page cache
        let start = performance.now();
        for (let i = 0; i < stats; i++) {
          const reply = await driver.request('STAT', ++id, imageDump(id));
          if (!reply.startsWith('STAT SUCCESS')) throw new Error(`${name}: ${reply}`);
        }
        timings[name].stat.push((performance.now() - start) / stats);
        start = performance.now();
        for (let i = 0; i < copies; i++) {
          const reply = await driver.request('CP', ++id, imageDump(id));
          if (!reply.startsWith('CP SUCCESS')) throw new Error(`${name}: ${reply}`);
          rmSync(reply.split(' ')[3], { force: true });
        }
        timings[name].cp.push((performance.now() - start) / copies);
        await driver.close();
      }
    }
    const per = (name, what) => median(timings[name][what]);
    const one = 'one_datastore.rb + xpath.rb';
    const fast = 'ferry mad + ferry xpath';
    return {
      stats,
      copies,
      rounds,
      sides: Object.fromEntries(Object.keys(sides).map((name) => [name, { statMs: per(name, 'stat'), cpMs: per(name, 'cp') }])),
      statSpeedup: per(one, 'stat') / per(fast, 'stat'),
      cpSpeedup: per(one, 'cp') / per(fast, 'cp'),
      xpath: xpathFigures(ferryRoot, src),
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** One lookup of fs/cp's fields: OpenNebula's xpath.rb under Ruby against ferry's drop-in. */
function xpathFigures(oneRoot, src, calls = 30) {
  const remotes = join(oneRoot, 'var', 'remotes', 'datastore');
  const dump = b64('<DS_DRIVER_ACTION_DATA><IMAGE><ID>7</ID><PATH><![CDATA[/var/tmp/image.qcow2]]></PATH></IMAGE><DATASTORE><ID>1</ID><BASE_PATH>/var/lib/one/datastores/1</BASE_PATH><TYPE>0</TYPE><TEMPLATE><DRIVER>qcow2</DRIVER></TEMPLATE></DATASTORE></DS_DRIVER_ACTION_DATA>');
  const fields = ['DATASTORE/BASE_PATH', 'DATASTORE/TEMPLATE/RESTRICTED_DIRS', 'DATASTORE/TEMPLATE/BRIDGE_LIST', 'DATASTORE/TYPE', 'IMAGE/PATH', 'DATASTORE/TEMPLATE/DRIVER'].map((f) => `/DS_DRIVER_ACTION_DATA/${f}`);
  const { ONE_LOCATION: _o, RUBYLIB: _r, FERRY_XPATH: _x, ...env } = process.env;
  const ways = {
    'xpath.rb (ruby)': ['ruby', ['-I', join(oneRoot, 'lib', 'ruby'), join(src, 'src', 'datastore_mad', 'remotes', 'xpath.rb'), '-b', dump, ...fields], env],
    'drop-in (C)': [join(remotes, 'xpath.rb'), ['-b', dump, ...fields], { ...env, FERRY_XPATH: join(root, 'dist', 'libexec', 'ferry-xpath') }],
  };
  const out = {};
  const outputs = new Set();
  for (const [name, [file, argv, wayEnv]] of Object.entries(ways)) {
    const first = spawnSync(file, argv, { env: wayEnv });
    outputs.add(`${first.status}:${first.stdout.toString('latin1')}`);
    const start = performance.now();
    for (let i = 0; i < calls; i++) spawnSync(file, argv, { env: wayEnv });
    out[name] = (performance.now() - start) / calls;
  }
  return { calls, ms: out, sameOutput: outputs.size === 1, speedup: out['xpath.rb (ruby)'] / out['drop-in (C)'] };
}

export function opennebulaRows(figures) {
  const f = (x) => x.toFixed(2);
  if (figures.skipped) return [`| OpenNebula's fs driver | skipped: ${figures.skipped} | | | |`];
  const one = figures.sides['one_datastore.rb + xpath.rb'];
  const slow = figures.sides['ferry mad + xpath.rb'];
  const fast = figures.sides['ferry mad + ferry xpath'];
  const x = figures.xpath;
  return [
    `| OpenNebula's fs STAT, ${figures.stats} x ${figures.rounds} rounds, one at a time | one_datastore.rb ${f(one.statMs)} ms | ferry mad ${f(fast.statMs)} ms (with Ruby's xpath.rb ${f(slow.statMs)} ms) | ${f(figures.statSpeedup)}x faster | > 1 |`,
    `| OpenNebula's fs CP of a 64 MiB qcow2, ${figures.copies} x ${figures.rounds} rounds | one_datastore.rb ${f(one.cpMs)} ms | ferry mad ${f(fast.cpMs)} ms (with Ruby's xpath.rb ${f(slow.cpMs)} ms) | ${f(figures.cpSpeedup)}x faster | > 1 |`,
    `| xpath lookup of 6 fields, ${x.calls} calls | xpath.rb ${f(x.ms['xpath.rb (ruby)'])} ms | drop-in ${f(x.ms['drop-in (C)'])} ms${x.sameOutput ? ', same bytes' : ', OUTPUT DIFFERS'} | ${f(x.speedup)}x faster | same output |`,
  ];
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const figures = await opennebulaFigures();
  if (process.argv.includes('--json')) console.log(JSON.stringify(figures, null, 2));
  else for (const row of opennebulaRows(figures)) console.log(row);
}
