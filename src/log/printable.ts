/**
 * Text from input or from drivers, made safe to write to a terminal: control
 * characters (C0 but tab and newline, DEL, C1) become visible `\xHH`
 * escapes, so a name or a driver's message cannot move the cursor, clear the
 * screen or retitle the window.
 */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

export function printable(text: string): string {
  return text.replace(CONTROL, (char) => `\\x${char.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** True when the text holds a character printable() would escape. */
export function hasControl(text: string): boolean {
  CONTROL.lastIndex = 0;
  const found = CONTROL.test(text);
  CONTROL.lastIndex = 0;
  return found;
}
