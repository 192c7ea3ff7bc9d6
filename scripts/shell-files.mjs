// Finds the shell scripts ferry ships and tests with, by their first line
// (#!/bin/sh, #!/bin/bash, #!/usr/bin/env bash …), extensionless ones included.
import { lstatSync, readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';

const SHELL = /^#!\s*(\/usr\/bin\/env\s+)?(\/bin\/|\/usr\/bin\/)?(sh|bash|dash)\b/;
const FOLDERS = ['remotes', 'fixtures', 'scripts', '.ci'];

/** Paths (relative to root) of every shell script under remotes/, fixtures/, scripts/ and .ci/; links are skipped (their targets are listed). */
export function shellScripts(root) {
  const found = [];
  const visit = (dir) => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) visit(path);
      else if (entry.isFile() && !lstatSync(path).isSymbolicLink()) {
        const head = readFileSync(path, { encoding: 'utf8', flag: 'r' }).slice(0, 100);
        if (SHELL.test(head)) found.push(relative(root, path));
      }
    }
  };
  for (const folder of FOLDERS) visit(join(root, folder));
  return found.sort();
}
