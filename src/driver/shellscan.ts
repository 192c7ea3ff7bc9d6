/**
 * A heuristic, static look at a shell script for `echo` and `printf` that
 * write to stdout. Not a shell parser: it tracks quotes, comments, here-docs,
 * command substitutions, pipes, redirections and the compound commands that
 * can carry a redirection (`{ } >&2`, `do ... done >file`, `( ) | cmd`,
 * `if ... fi >&2`), which is what tells "prints to stdout" from "prints
 * somewhere else" in driver scripts. Code inside functions is not reported:
 * a function's output is usually captured with $(...), and whether it is
 * cannot be told without running the script.
 *
 * Longer than ferry's other modules on purpose: it is one scanner whose
 * states (quotes, here-docs, nesting) only make sense together.
 */

export interface StdoutWrite {
  /** 1-based line of the command. */
  line: number;
  command: 'echo' | 'printf';
  /** The command's arguments as written (quotes kept, redirections dropped). */
  args: string;
}

type BlockKind = 'brace' | 'function' | 'do' | 'if' | 'case' | 'subshell';

interface Block {
  kind: BlockKind;
  found: StdoutWrite[];
  /** case only: the next words are a pattern, up to `)`. */
  expectPattern?: boolean;
}

interface Command {
  words: string[];
  line: number;
  /** stdout of this command goes somewhere else (`>`, `>>`, `>&2`, `&>`, `1>`). */
  redirected: boolean;
  /** The block this command closes (`}`, `done`, `fi`, `esac`, `)`), whose fate the command's redirections decide. */
  closes?: Block;
  /** Started with `case`: the block opens after the word `in`. */
  isCase?: boolean;
}

const OPENERS_SKIPPED = new Set(['then', 'else', 'elif', '!', 'time', 'while', 'until']);
const LOG_PREFIX = /^\W*(INFO|WARN(ING)?|ERROR|DEBUG|NOTE)\b/;
const ASSIGNMENT = /^[A-Za-z_][A-Za-z0-9_]*(\[[^\]]*\])?\+?=/;
const FUNCTION_HEADER = /^[A-Za-z_][A-Za-z0-9_:.-]*$/;

/** Every echo/printf whose output goes to the script's stdout, outside functions. */
export function stdoutWrites(text: string): StdoutWrite[] {
  const top: Block = { kind: 'brace', found: [] };
  const stack: Block[] = [top];
  let line = 1;
  let command: Command = { words: [], line, redirected: false };
  let word = '';
  let wordStarted = false;
  /** The next word is a redirection's target (`>&2`, `> file`), not an argument. */
  let redirectTarget = false;
  /** Words of the last finished command, for `name()` on one line and `{` on the next. */
  let lastWords: string[] = [];
  /** Here-doc delimiters waiting for the end of the current line. */
  let heredocs: Array<{ delimiter: string; stripTabs: boolean }> = [];
  /** After `exec >&2` (or the like) every later write goes elsewhere. */
  let execRedirected = false;

  const current = (): Block => stack[stack.length - 1] as Block;
  /** Marks the start of a word; a command's line is the line of its first word. */
  const begin = (): void => {
    if (!wordStarted && command.words.length === 0 && command.closes === undefined) command.line = line;
    wordStarted = true;
  };

  /** Takes text[i, stop) (quoted text, a substitution, an arithmetic group) into the current word. */
  const takeGroup = (stop: number): void => {
    begin();
    line += countLines(text, i, stop);
    word += text.slice(i, stop);
    i = stop;
  };

  const endWord = (): void => {
    if (!wordStarted) return;
    const value = word;
    word = '';
    wordStarted = false;
    if (redirectTarget) {
      redirectTarget = false;
      return;
    }
    const atStart = command.words.length === 0 && command.closes === undefined;
    const block = current();
    if (block.kind === 'case' && block.expectPattern && atStart) {
      // Patterns were consumed by the `)` handling; a word here is `esac`.
      if (value === 'esac') {
        stack.pop();
        command.closes = block;
        return;
      }
    }
    if (atStart) {
      if (value === '{') {
        stack.push({ kind: isFunctionHeader(lastWords) ? 'function' : 'brace', found: [] });
        return;
      }
      if (value === 'do') {
        stack.push({ kind: 'do', found: [] });
        return;
      }
      if (value === 'if') {
        stack.push({ kind: 'if', found: [] });
        return;
      }
      if (OPENERS_SKIPPED.has(value)) return;
      if (value === '}' || value === 'done' || value === 'fi' || value === 'esac') {
        const wanted: BlockKind[] = value === '}' ? ['brace', 'function'] : value === 'done' ? ['do'] : value === 'fi' ? ['if'] : ['case'];
        if (stack.length > 1 && wanted.includes(current().kind)) command.closes = stack.pop();
        return;
      }
      if (ASSIGNMENT.test(value)) return;
    }
    // `name() {` and `function name {`: the brace opens a function body.
    if (value === '{' && isFunctionHeader(command.words)) {
      stack.push({ kind: 'function', found: [] });
      command = { words: [], line, redirected: false };
      return;
    }
    if (command.words.length === 0 && value === 'case') command.isCase = true;
    command.words.push(value);
    if (command.isCase && value === 'in' && command.words.length >= 3) {
      finishCommand(';');
      stack.push({ kind: 'case', found: [], expectPattern: true });
    }
  };

  const finishCommand = (separator: string): void => {
    endWord();
    const { words, closes } = command;
    const piped = separator === '|' || separator === '|&';
    const goesElsewhere = command.redirected || piped || execRedirected;
    if (closes) {
      if (!goesElsewhere && closes.kind !== 'function') current().found.push(...closes.found);
    }
    const name = words[0];
    if ((name === 'echo' || name === 'printf') && !goesElsewhere && !(name === 'printf' && words[1] === '-v')) {
      current().found.push({ line: command.line, command: name, args: words.slice(1).join(' ') });
    }
    if (name === 'exec' && command.redirected && words.length === 1) execRedirected = true;
    lastWords = words;
    redirectTarget = false;
    command = { words: [], line, redirected: false };
  };

  let i = 0;
  const n = text.length;
  let atLineStart = true;
  while (i < n) {
    const c = text[i] as string;
    if (atLineStart && heredocs.length > 0) {
      // Skip here-doc bodies: data, not commands.
      const doc = heredocs.shift() as { delimiter: string; stripTabs: boolean };
      for (;;) {
        const end = text.indexOf('\n', i);
        const raw = text.slice(i, end < 0 ? n : end);
        i = end < 0 ? n : end + 1;
        line += 1;
        if ((doc.stripTabs ? raw.replace(/^\t+/, '') : raw) === doc.delimiter || i >= n) break;
      }
      continue;
    }
    atLineStart = false;
    if (c === '\n') {
      finishCommand('\n');
      line += 1;
      command.line = line;
      i += 1;
      atLineStart = true;
      continue;
    }
    if (c === '\\') {
      if (text[i + 1] === '\n') {
        line += 1;
        i += 2;
        continue;
      }
      begin();
      word += text.slice(i, i + 2);
      i += 2;
      continue;
    }
    if (c === '#' && !wordStarted) {
      while (i < n && text[i] !== '\n') i += 1;
      continue;
    }
    if (c === "'") {
      const end = text.indexOf("'", i + 1);
      const stop = end < 0 ? n : end + 1;
      takeGroup(stop);
      continue;
    }
    if (c === '"' || c === '`' || (c === '$' && (text[i + 1] === '(' || text[i + 1] === '{'))) {
      // Quoted text, $(...), $((...)), ${...} and `...`: part of the word; anything printed inside a substitution is captured.
      const stop = skipGroup(text, i);
      takeGroup(stop);
      continue;
    }
    if (c === ' ' || c === '\t') {
      endWord();
      i += 1;
      continue;
    }
    if (c === ';') {
      if (text[i + 1] === ';' || text[i + 1] === '&') {
        // `;;`, `;&`, `;;&`: end of a case arm, a pattern comes next.
        finishCommand(';');
        const block = current();
        if (block.kind === 'case') block.expectPattern = true;
        i += text[i + 2] === '&' ? 3 : 2;
        continue;
      }
      finishCommand(';');
      i += 1;
      continue;
    }
    if (c === '|') {
      if (text[i + 1] === '|') {
        finishCommand('||');
        i += 2;
      } else {
        finishCommand(text[i + 1] === '&' ? '|&' : '|');
        i += text[i + 1] === '&' ? 2 : 1;
      }
      continue;
    }
    if (c === '&') {
      if (text[i + 1] === '&') {
        finishCommand('&&');
        i += 2;
        continue;
      }
      if (text[i + 1] === '>') {
        endWord();
        command.redirected = true;
        i += text[i + 2] === '>' ? 3 : 2;
        redirectTarget = true;
        continue;
      }
      finishCommand('&');
      i += 1;
      continue;
    }
    if (c === '>' || c === '<') {
      // The fd a redirection applies to is the digits just before it, in the same word.
      const fd = wordStarted && /^\d+$/.test(word) ? word : '';
      if (fd !== '') {
        word = '';
        wordStarted = false;
      } else {
        endWord();
      }
      if (c === '<' && text[i + 1] === '<') {
        if (text[i + 2] === '<') {
          // <<< here-string: its word is input, not a delimiter.
          i += 3;
          redirectTarget = true;
          continue;
        }
        i = readHeredoc(text, i + 2, heredocs);
        continue;
      }
      if (c === '>' && (fd === '' || fd === '1')) {
        // `2>&1` sends stderr to stdout; `>&2`, `>file`, `>>file`, `1>&2` send stdout elsewhere.
        command.redirected = true;
      }
      i += 1;
      while (i < n && (text[i] === '>' || text[i] === '&' || text[i] === '|')) i += 1;
      redirectTarget = true;
      continue;
    }
    if (c === '(' || c === ')') {
      const block = current();
      if (c === ')' && block.kind === 'case' && block.expectPattern) {
        // End of a case pattern: the arm's commands start here.
        word = '';
        wordStarted = false;
        command = { words: [], line, redirected: false };
        block.expectPattern = false;
        i += 1;
        continue;
      }
      if (block.kind === 'case' && block.expectPattern) {
        i += 1;
        continue;
      }
      if (c === '(' && text[i + 1] === '(') {
        // (( arithmetic )): no output.
        const stop = skipParens(text, i);
        takeGroup(stop);
        continue;
      }
      endWord();
      if (c === '(') {
        if (command.words.length === 0 && command.closes === undefined) stack.push({ kind: 'subshell', found: [] });
        else command.words.push('(');
      } else if (command.words.length > 0 && command.words[command.words.length - 1] === '(') {
        command.words.push(')');
      } else {
        finishCommand(')');
        if (stack.length > 1 && current().kind === 'subshell') command.closes = stack.pop();
      }
      i += 1;
      continue;
    }
    const block = current();
    if (block.kind === 'case' && block.expectPattern && command.words.length === 0 && command.closes === undefined) {
      // Inside a pattern (`a | b)`), or `esac`.
      if (text.startsWith('esac', i) && !/[A-Za-z0-9_]/.test(text[i + 4] ?? '')) {
        word = 'esac';
        wordStarted = true;
        i += 4;
        endWord();
        continue;
      }
      i += 1;
      continue;
    }
    begin();
    word += c;
    i += 1;
  }
  finishCommand('\n');
  // Blocks left open (a syntax error, or our misreading): keep what they found.
  while (stack.length > 1) {
    const block = stack.pop() as Block;
    if (block.kind !== 'function') current().found.push(...block.found);
  }
  return top.found.sort((a, b) => a.line - b.line);
}

function isFunctionHeader(words: readonly string[]): boolean {
  if (words[0] === 'function') return words.length >= 2 && FUNCTION_HEADER.test(words[1] as string);
  return words.length === 3 && FUNCTION_HEADER.test(words[0] as string) && words[1] === '(' && words[2] === ')';
}

function countLines(text: string, from: number, to: number): number {
  let count = 0;
  for (let i = from; i < to; i += 1) if (text[i] === '\n') count += 1;
  return count;
}

/** End (exclusive) of the quoted string or substitution starting at `start`. */
function skipGroup(text: string, start: number): number {
  const n = text.length;
  const c = text[start];
  if (c === '"') {
    let i = start + 1;
    while (i < n && text[i] !== '"') {
      if (text[i] === '\\') i += 2;
      else if (text[i] === '$' && (text[i + 1] === '(' || text[i + 1] === '{')) i = skipGroup(text, i);
      else if (text[i] === '`') i = skipGroup(text, i);
      else i += 1;
    }
    return Math.min(n, i + 1);
  }
  if (c === '`') {
    let i = start + 1;
    while (i < n && text[i] !== '`') i += text[i] === '\\' ? 2 : 1;
    return Math.min(n, i + 1);
  }
  // $( ... ) or ${ ... }: nest, honouring quotes inside.
  const open = text[start + 1] as string;
  const close = open === '(' ? ')' : '}';
  let depth = 0;
  let i = start + 1;
  while (i < n) {
    const ch = text[i];
    if (ch === '\\') {
      i += 2;
      continue;
    }
    if (ch === "'" && open === '(') {
      const end = text.indexOf("'", i + 1);
      i = end < 0 ? n : end + 1;
      continue;
    }
    if (ch === '"' || ch === '`') {
      i = skipGroup(text, i);
      continue;
    }
    if (ch === '#' && open === '(' && /\s/.test(text[i - 1] ?? '')) {
      while (i < n && text[i] !== '\n') i += 1;
      continue;
    }
    if (ch === open) depth += 1;
    else if (ch === close) {
      depth -= 1;
      if (depth === 0) return i + 1;
    }
    i += 1;
  }
  return n;
}

function skipParens(text: string, start: number): number {
  let depth = 0;
  for (let i = start; i < text.length; i += 1) {
    if (text[i] === '(') depth += 1;
    else if (text[i] === ')') {
      depth -= 1;
      if (depth === 0) return i + 1;
    }
  }
  return text.length;
}

/** Reads the delimiter after `<<` / `<<-` and queues the body to be skipped after this line. */
function readHeredoc(text: string, at: number, heredocs: Array<{ delimiter: string; stripTabs: boolean }>): number {
  let i = at;
  const stripTabs = text[i] === '-';
  if (stripTabs) i += 1;
  while (text[i] === ' ' || text[i] === '\t') i += 1;
  const match = /^(?:'([^']*)'|"([^"]*)"|\\?([^\s;&|<>()]+))/.exec(text.slice(i));
  if (!match) return i;
  heredocs.push({ delimiter: (match[1] ?? match[2] ?? match[3] ?? '').replace(/\\/g, ''), stripTabs });
  return i + match[0].length;
}

/**
 * Whether printed text reads like a log message rather than a result: two
 * or more words of letters once variables, format directives and escapes
 * are taken out, or a log prefix (INFO:, ERROR: ...). `"$DST $SIZE"`, `USED_MB=%s` and `dummy_path 1024` are
 * results; `"copying $SRC to $DST"` is a log line.
 */
export function looksLikeMessage(args: string): boolean {
  if (LOG_PREFIX.test(args.replace(/^(-[neE]+\s+)+/, ''))) return true;
  const text = args
    .replace(/^(-[neE]+\s+)+/, '')
    .replace(/\$\{[^}]*\}|\$\([^)]*\)|\$[A-Za-z_][A-Za-z0-9_]*|\$[0-9#@*?$!-]/g, ' ')
    .replace(/%[-+ #0]*\d*(\.\d+)?[a-zA-Z]/g, ' ')
    .replace(/\\[a-z]/g, ' ')
    .replace(/["'`]/g, ' ');
  const words = text.match(/(?<![A-Za-z0-9_=/.-])[A-Za-z]{2,}(?![A-Za-z0-9_=/.-])/g) ?? [];
  return words.length >= 2;
}
