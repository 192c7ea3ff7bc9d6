/**
 * Checks of one action script, read but never run: its run bit, its #!
 * line and interpreter, the files it sources next to itself, and what it
 * prints to stdout (read by shellscan.ts).
 */
import { constants } from 'node:fs';
import { access, open, readFile, stat } from 'node:fs/promises';
import { basename, delimiter, dirname, isAbsolute, join } from 'node:path';
import type { Kind } from '../../contract/table.js';
import { baseAction, rowsOf } from '../../contract/lookup.js';
import { looksLikeMessage, stdoutWrites } from '../shellscan.js';
import type { Add } from './findings.js';
import type { Entry } from './walk.js';

const SHELL_INTERPRETER = /^(sh|bash|dash|ksh|ash|busybox)$/;
const ELF = Buffer.from([0x7f, 0x45, 0x4c, 0x46]);

/**
 * Checks an action script; returns true when it is a shell script (to lint).
 * `kind` undefined: the driver's kind is not known, so stdout is not judged.
 */
export async function checkScript(kind: Kind | undefined, entry: Entry, entries: readonly Entry[], executable: boolean, add: Add, path: string | undefined): Promise<boolean> {
  if (!executable) add('error', 'not-executable', entry.path, `${entry.name} is not executable, so ferry refuses to run it`, `chmod +x ${entry.path}`);
  const shell = await checkShebang(entry, await readHead(entry.path), add, path);
  if (!shell) return false;
  await checkSources(entry, add);
  if (kind) await checkStdout(kind, entry, entries, add);
  return true;
}

export async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** `command` (a name, or a path) is an executable file on `path` (default: this process's PATH). */
export async function onPath(command: string, path: string | undefined): Promise<boolean> {
  if (command.includes('/')) return isExecutable(command);
  for (const folder of (path ?? process.env.PATH ?? '').split(delimiter)) {
    if (folder === '') continue;
    const candidate = join(folder, command);
    if ((await stat(candidate).catch(() => undefined))?.isFile() && (await isExecutable(candidate))) return true;
  }
  return false;
}

async function readHead(path: string): Promise<Buffer> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(256);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** Checks the #! line; returns true for a shell script (to lint). */
async function checkShebang(entry: Entry, head: Buffer, add: Add, path: string | undefined): Promise<boolean> {
  if (head.subarray(0, 4).equals(ELF)) return false; // a compiled program
  const text = head.toString('utf8');
  if (!text.startsWith('#!')) {
    add(
      'error',
      'no-shebang',
      entry.path,
      `${entry.name} has no #! line: exec() refuses it (ENOEXEC) and it runs only through the C library's fallback to /bin/sh`,
      `make its first line #!/bin/sh (or #!/bin/bash, or the interpreter it is written for)`,
      1,
    );
    return false;
  }
  const first = text.split('\n')[0] as string;
  if (first.endsWith('\r')) {
    add('error', 'bad-interpreter', entry.path, `${entry.name} has Windows line endings: the kernel looks for an interpreter named "${first.slice(2).trim()}\\r"`, `convert it to Unix line endings: sed -i 's/\\r$//' ${entry.path}`, 1);
    return false;
  }
  const program = await checkInterpreter(entry, first.slice(2).trim(), add, path);
  return program !== undefined && SHELL_INTERPRETER.test(program);
}

/** The interpreter of a #! line (`line` without the #!) exists; returns the program it runs (through env too), undefined when it cannot run. */
async function checkInterpreter(entry: Entry, line: string, add: Add, path: string | undefined): Promise<string | undefined> {
  const words = line.split(/\s+/);
  const interpreter = words[0] ?? '';
  if (interpreter === '' || !isAbsolute(interpreter)) {
    add('error', 'bad-interpreter', entry.path, `the #! line of ${entry.name} names ${interpreter === '' ? 'no interpreter' : `"${interpreter}", not an absolute path`}`, 'write the interpreter\'s full path: #!/bin/sh, #!/usr/bin/env bash', 1);
    return undefined;
  }
  const program = basename(interpreter);
  if (!(await isExecutable(interpreter))) {
    add('error', 'bad-interpreter', entry.path, `the interpreter ${interpreter} on the #! line of ${entry.name} does not exist on this machine (running it fails with ENOENT)`, `fix the #! line (e.g. #!/bin/sh), or install ${program}`, 1);
    return undefined;
  }
  if (program !== 'env') return program;
  const command = words.slice(1).find((word) => !word.startsWith('-')) ?? '';
  if (command !== '' && !(await onPath(command, path))) {
    add('warning', 'bad-interpreter', entry.path, `${entry.name} runs ${command} (#!${line}), which is not on this machine's PATH`, `install ${command}, or name an interpreter that exists`, 1);
  }
  return command;
}

/** `. "$(dirname "$0")/x"` or `source ...`: a file sourced relative to the script, as the helper library and lib/ are. */
const SOURCED = /^\s*(?:\.|source)\s+"?\$\(dirname\s+"?\$0"?\)"?\/([^"\s;|&]+)"?/;

/**
 * Files a script sources next to itself must exist: a driver copied or
 * renamed keeps paths such as ../shared/lib/tm_lib.sh that point at
 * another driver's folder. Resolved from the script's path as ferry runs it
 * (inside the remotes folder, links not followed), as "$0" is.
 */
async function checkSources(entry: Entry, add: Add): Promise<void> {
  const text = await readFile(entry.path, 'utf8').catch(() => '');
  for (const [index, line] of text.split('\n').entries()) {
    const match = SOURCED.exec(line);
    if (!match) continue;
    const sourced = join(dirname(entry.path), match[1] as string);
    if (await stat(sourced).then((info) => info.isFile()).catch(() => false)) continue;
    add('error', 'source-missing', entry.path, `${entry.name} sources ${match[1]}, which does not exist (${sourced})`, 'fix the path, or copy the file it needs into the driver (lib/ for shared code)', index + 1);
  }
}

/**
 * stdout is the result for actions that return one (cp, stat, monitor ...)
 * and ignored for the others. So: in an action that returns nothing, any
 * echo/printf to stdout is reported; in one that returns something, only
 * those that read like log messages. A script linked under several action
 * names is held to the lenient rule when any of them returns something.
 */
async function checkStdout(kind: Kind, entry: Entry, entries: readonly Entry[], add: Add): Promise<void> {
  const table = rowsOf(kind);
  // Driver-specific actions print what they like; a script linked under several names is read once, for all of them.
  const sharing = entries.filter((other) => other.real === entry.real && Object.hasOwn(table, baseAction(other.name)));
  if (sharing[0] !== entry) return;
  const names = [...new Set(sharing.map((other) => baseAction(other.name)))];
  const returning = names.filter((name) => table[name]?.returns);
  const text = await readFile(entry.real, 'utf8').catch(() => '');
  for (const write of stdoutWrites(text)) {
    const shown = `${write.command} ${write.args.slice(0, 60)}`;
    if (returning.length === 0) {
      add('warning', 'stdout-output', entry.real, `${shown} prints to stdout, but ${names.join('/')} returns nothing: the text ends up as the action's result`, `send it to stderr (${write.command} ... >&2), where ferry logs it, or drop it`, write.line);
    } else if (looksLikeMessage(write.args)) {
      const only = returning.length === 1 ? ` (${table[returning[0] as string]?.summary})` : '';
      add('warning', 'stdout-output', entry.real, `${shown} prints a message to stdout, where ${returning.join('/')} must print only its result${only}`, `send messages to stderr: ${write.command} ... >&2`, write.line);
    }
  }
}
