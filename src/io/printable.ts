/**
 * Text from outside (a path, a flag, a name in a file) made safe to echo in a message: a terminal
 * must never receive a control character it would act on (an escape sequence that recolours or
 * clears the screen, a carriage return that overwrites the line, a newline that forges a second
 * `nn-ts:` message) or a bidirectional override that reorders what is shown.
 *
 * Pure and free of Node built-ins, so the core's decoders use it too.
 *
 * @since 0.2.0
 * @internal
 */

/**
 * Characters a message must not echo as they are: C0 controls, DEL, C1 controls, the Unicode line and
 * paragraph separators, bidirectional marks, embeddings, overrides and isolates, and lone surrogates
 * (which cannot be written as UTF-8 at all).
 */
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

const UNPRINTABLE_ALL = new RegExp(UNPRINTABLE.source, 'g')

const SHORT_ESCAPES: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' }

const escapeOne = (c: string): string => {
  const short = SHORT_ESCAPES[c]
  if (short !== undefined) return short
  const code = c.charCodeAt(0)
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`
}

/**
 * `text` as it may appear in a message: unchanged when every character is printable (the common case,
 * so ordinary paths read as they are); otherwise quoted like a JSON string, with `"` and `\` escaped
 * and each unprintable character written as `\n`, `\r`, `\t`, `\xHH` or `\uHHHH`, so the result is
 * one line, shows exactly which characters the text holds, and cannot be mistaken for plain text.
 * @internal
 */
export const printable = (text: string): string =>
  UNPRINTABLE.test(text) ? `"${text.replace(/["\\]/g, (c) => `\\${c}`).replace(UNPRINTABLE_ALL, escapeOne)}"` : text

/**
 * A whole message for a terminal: like `printable`, but keeps its line breaks (a message may list
 * several problems one per line) and is never quoted. For the last step before printing, where the
 * parts that came from outside should already have passed through `printable`; this catches any
 * that did not.
 * @internal
 */
export const printableMessage = (message: string): string =>
  message
    .split('\n')
    .map((line) => line.replace(UNPRINTABLE_ALL, escapeOne))
    .join('\n')
