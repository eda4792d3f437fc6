/**
 * HTML by tagged template, escaped by default: every value put into `markup`…`` is escaped as
 * text unless it is itself `Html` made by the template, so a page cannot forget to escape a
 * name, a type or a cursor. Escaping `& < > " '` makes a value safe both as element text and
 * inside a quoted attribute (HTML Standard §13.1.2.3, attribute values).
 *
 * @module
 */

const ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** Markup that is already safe. */
export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

/** A value as markup: `Html` as is, arrays joined, nothing for `undefined`/`null`/`false`. */
function render(value: unknown): string {
  if (value instanceof Html) return value.text;
  if (Array.isArray(value)) return value.map(render).join("");
  if (value === undefined || value === null || value === false) return "";
  return escapeHtml(String(value));
}

/**
 * The template tag: literal parts as written, every value through `render`. (Not named `html`:
 * `deno fmt` would reformat templates by that name, placeholders and all.)
 */
export function markup(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let out = strings[0];
  for (let i = 0; i < values.length; i++) out += render(values[i]) + strings[i + 1];
  return new Html(out);
}
