/** What validate knows of OpenNebula's helper files, without the corpus: names, kinds, variants, the common/ folder, the licence header. */
import t from 'tap';
import { isOpenNebulaCommon, isOpenNebulaScript, openNebulaHelper } from '../../../src/driver/validate/opennebula.js';

t.test('helper files by name and kind', async (t) => {
  t.match(openNebulaHelper('datastore', 'fs.conf'), { runs: false, what: /^fs.conf is the fs driver's settings/ });
  t.equal(openNebulaHelper('tm', 'fs.conf'), undefined, 'fs.conf is the datastore driver\'s');
  t.match(openNebulaHelper('tm', 'sshrc'), { runs: false });
  t.match(openNebulaHelper('tm', 'ssh_utils.sh'), { runs: false });
  t.match(openNebulaHelper('tm', 'not_supported.sh'), { runs: true });
  t.match(openNebulaHelper('datastore', 'not_supported.sh'), { runs: true });
  t.equal(openNebulaHelper('datastore', 'dummy.sh'), undefined);
  t.equal(openNebulaHelper('tm', 'helpers.sh'), undefined, 'any other name is not OpenNebula\'s');
});

t.test('variants: .ssh and .replica of a tm action', async (t) => {
  t.match(openNebulaHelper('tm', 'clone.ssh'), { runs: true, what: /ssh variant of clone/ });
  t.match(openNebulaHelper('tm', 'snap_create_live.ssh'), { what: /variant of snap_create_live/ });
  t.match(openNebulaHelper('tm', 'ln.replica'), { what: /REPLICA_HOST/ });
  t.equal(openNebulaHelper('tm', 'clonee.ssh'), undefined, 'of no action');
  t.equal(openNebulaHelper('tm', 'clone.sh'), undefined, 'another suffix');
  t.equal(openNebulaHelper('datastore', 'clone.ssh'), undefined, 'datastore drivers have none');
});

t.test('the common/ folder and OpenNebula\'s own scripts', async (t) => {
  t.ok(isOpenNebulaCommon('common', new Set(['not_supported.sh', 'stat'])));
  t.ok(isOpenNebulaCommon('common', new Set(['dummy.sh'])));
  t.notOk(isOpenNebulaCommon('common', new Set(['not_supported.sh', 'driver.yaml'])), 'a driver.yaml makes it a driver');
  t.notOk(isOpenNebulaCommon('common', new Set(['cp', 'rm'])), 'without OpenNebula\'s stand-in');
  t.notOk(isOpenNebulaCommon('shared', new Set(['not_supported.sh'])));
  t.ok(isOpenNebulaScript('#!/bin/bash\n\n# -----\n# Copyright 2002-2026, OpenNebula Project, OpenNebula Systems   #\n'));
  t.notOk(isOpenNebulaScript('#!/bin/sh\n# Copyright 2024 me\n'));
  t.notOk(isOpenNebulaScript(`#!/bin/sh\n${'#\n'.repeat(1100)}# Copyright 2002-2026, OpenNebula Project\n`), 'only near the top');
});
