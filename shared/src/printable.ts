/**
 * Text from other people made safe to show on a terminal.
 *
 * `printable` is for values (paths, names): control characters,
 * bidirectional controls and lone surrogates are written as escapes, the
 * way `ls` shows odd names, and a backslash is doubled so that escapes stay
 * unambiguous; a registered path cannot forge lines, clear a screen, set a
 * window title or pass `evil\u202egpj.exe` off as `evilexe.jpg`.
 *
 * `sanitizeProse` is for messages that arrive from elsewhere (another
 * peer's refusal, the tracker's error text): the same characters become
 * U+FFFD, once, where they arrive, so the message can be shown and stored
 * (in `--json` too) without being escaped a second time.
 *
 * `printableProse` shows this peer's own messages, which may span lines:
 * each line is shown with the same escapes as `printable`, but backslashes
 * are left alone, so prose reads as written. Machine output (JSON) stays exact.
 */

const NAMED: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t", "\\": "\\\\" };

// C0, DEL, C1, the Arabic letter mark, bidi controls (U+200E/F, U+202A–E, U+2066–9), line and paragraph separators, lone surrogates.
const UNSAFE_CLASS = "\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u2028\\u2029\\u202a-\\u202e\\u2066-\\u2069";
const LONE_SURROGATE = "[\\ud800-\\udbff](?![\\udc00-\\udfff])|(?<![\\ud800-\\udbff])[\\udc00-\\udfff]";
const UNSAFE = new RegExp(`[\\\\${UNSAFE_CLASS}]|${LONE_SURROGATE}`, "g");
const UNSAFE_PROSE = new RegExp(`[${UNSAFE_CLASS}]|${LONE_SURROGATE}`, "g");

function escape(char: string): string {
  const named = NAMED[char];
  if (named !== undefined) return named;
  const code = char.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
}

export function printable(text: string): string {
  return text.replace(UNSAFE, escape);
}

export function sanitizeProse(text: string): string {
  return text.replace(UNSAFE_PROSE, "\ufffd");
}

export function printableProse(text: string): string {
  return text
    .split("\n")
    .map((line) => line.replace(UNSAFE_PROSE, escape))
    .join("\n");
}
