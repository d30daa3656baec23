/**
 * Text from other people (paths, names, messages) made safe to show on a
 * terminal: control characters, bidirectional overrides and lone surrogates
 * are written as escapes, the way `ls` shows odd names, so a registered path
 * cannot forge lines, clear a screen or set a window title. A backslash is
 * doubled so that escapes stay unambiguous. Machine output (JSON) stays exact.
 */

const NAMED: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t", "\\": "\\\\" };

// C0, DEL, C1, bidi controls (U+200E/F, U+202A–E, U+2066–9), line and paragraph separators, lone surrogates.
const UNSAFE = /[\\\u0000-\u001f\u007f-\u009f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

export function printable(text: string): string {
  return text.replace(UNSAFE, (char) => {
    const named = NAMED[char];
    if (named !== undefined) return named;
    const code = char.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
  });
}
