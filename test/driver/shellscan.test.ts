// The stdout heuristic of `ferry drivers validate`: which echo/printf reach the script's stdout.
import t from 'tap';
import { looksLikeMessage, stdoutWrites } from '../../src/driver/shellscan.js';

const lines = (script: string): number[] => stdoutWrites(script).map((write) => write.line);

t.test('plain echo and printf to stdout are found, with their line', async (t) => {
  const script = ['#!/bin/sh', 'set -eu', 'echo "$DST $SIZE"', "printf 'USED_MB=%s\\n' \"$USED\"", ''].join('\n');
  t.same(stdoutWrites(script), [
    { line: 3, command: 'echo', args: '"$DST $SIZE"' },
    { line: 4, command: 'printf', args: "'USED_MB=%s\\n' \"$USED\"" },
  ]);
});

t.test('redirected, piped and captured output is not stdout', async (t) => {
  const script = [
    '#!/bin/sh',
    'echo "to stderr" >&2', // 2
    'echo "to stderr" 1>&2', // 3
    'echo "to a file" >"$LOG"', // 4
    'echo "appended" >> /tmp/x', // 5
    'echo "piped" | tr a b', // 6
    'x=$(echo captured)', // 7
    'y=`echo captured`', // 8
    'printf -v z "%s" assigned', // 9
    'echo "both" &>/dev/null', // 10
    'echo "stdout still" 2>/dev/null', // 11
    'echo "stderr to stdout" 2>&1', // 12
    '',
  ].join('\n');
  t.same(lines(script), [11, 12]);
});

t.test('a separator starts a new command: || and && and ;', async (t) => {
  const script = ['[ -n "$X" ] || echo "missing X"', 'true && echo done; echo again', 'test -f x || { echo "no x" >&2; exit 1; }', ''].join('\n');
  t.same(lines(script), [1, 2, 2]);
});

t.test('compound commands carry their redirection to what is inside', async (t) => {
  const script = [
    '{', // 1
    '  echo "in a redirected group"', // 2
    '} >&2', // 3
    'while read -r line; do', // 4
    '  echo "$line"', // 5
    'done <input >output', // 6
    'for i in 1 2; do echo "$i"; done | sort', // 7
    'if true; then', // 8
    '  echo "in a redirected if"', // 9
    'fi >&2', // 10
    '( echo "in a subshell" ) >&2', // 11
    'while false; do', // 12
    '  echo "in a plain loop"', // 13
    'done', // 14
    '',
  ].join('\n');
  t.same(lines(script), [13]);
});

t.test('functions are skipped: their output is usually captured', async (t) => {
  const script = [
    'die() {',
    '  echo "$*"',
    '  exit 1',
    '}',
    'size_mb()',
    '{',
    '  echo 4',
    '}',
    'function other { echo hi; }',
    'echo "outside"', // 10
    '',
  ].join('\n');
  t.same(lines(script), [10]);
});

t.test('case arms: patterns with | are not pipes', async (t) => {
  const script = [
    'case "$action" in',
    '    cp | mkfs) echo "/ds/1 40" ;;', // 2
    "    '' | *[!0-9]*)",
    '        echo "bad" >&2', // 4
    '        ;;',
    '    stat)',
    '        echo 40', // 7
    '        ;;',
    '    *) : ;;',
    'esac',
    'echo after', // 11
    '',
  ].join('\n');
  t.same(lines(script), [2, 7, 11]);
});

t.test('comments, quotes, here-docs and here-strings hide nothing and invent nothing', async (t) => {
  const script = [
    '# echo "in a comment"',
    "msg='echo \"in a string\"'",
    'cat <<EOF',
    'echo "in a here-doc"',
    'EOF',
    'read -r a b <<<"$SIZES"',
    'echo "$a" # trailing comment', // 7
    'cat <<-\'END\' >&2',
    '\techo "in another here-doc"',
    '\tEND',
    'echo "multi',
    'line string"', // 11 (the command starts there)
    'printf "%s\\n" \\',
    '  "continued"', // 13
    '',
  ].join('\n');
  t.same(lines(script), [7, 11, 13]);
});

t.test('exec >&2 sends everything after it to stderr', async (t) => {
  t.same(lines(['echo before', 'exec >&2', 'echo after', ''].join('\n')), [1]);
  t.same(lines(['exec 3>&1', 'echo after', ''].join('\n')), [2], 'exec of another fd changes nothing');
});

t.test('looksLikeMessage: results are not messages, sentences and log prefixes are', async (t) => {
  for (const result of ['"$DST $SIZE"', '"$DST"', 'dummy_path 1024', "'USED_MB=%s\\nTOTAL_MB=%s\\n' \"$U\" \"$T\"", '"$SIZE${FORMAT:+ $FORMAT}"', '/var/lib/one/datastores/1/f00d 40', '-n "$x"']) {
    t.notOk(looksLikeMessage(result), `result: ${result}`);
  }
  for (const message of ['"copying $SRC to $DST"', '"the image is $SIZE MB"', '"INFO: started"', "'ERROR: failed'", '-e "done with it now"']) {
    t.ok(looksLikeMessage(message), `message: ${message}`);
  }
});

t.test('the scanner ends on malformed scripts', async (t) => {
  for (const script of ['echo "unterminated', "echo 'unterminated", 'x=$(echo', '{ echo open', 'case x in a) echo y', 'cat <<EOF\nno end', 'echo `tick', '( echo (']) {
    t.doesNotThrow(() => stdoutWrites(script), JSON.stringify(script));
  }
  t.same(lines('{ echo open\n'), [1], 'an unclosed group keeps what it found');
});
