/**
 * The streaming `multipart/form-data` reader: bodies as Deno's own `FormData` serializer writes
 * them, split at random points; hand-written bodies for preamble, padding and epilogue; every
 * kind of malformed body; and random and mutated bodies, which must end in the typed error.
 */
import { assert, assertEquals, assertRejects } from "./assert.ts";
import {
  formDataBoundary,
  MalformedFormDataError,
  MAX_PART_HEADER,
  readFormData,
} from "../src/collection/form_data.ts";
import { mutated, randomPieces, readEntries } from "./archive_helpers.ts";
import { randomBytes, randomInt, seededRandom } from "./random.ts";

const ENC = new TextEncoder();

/** The body and boundary `fetch` would send for `form`. */
async function serialize(form: FormData): Promise<{ body: Uint8Array; boundary: string }> {
  const request = new Request("http://localhost/", { method: "POST", body: form });
  const boundary = formDataBoundary(request.headers.get("Content-Type")!);
  return { body: new Uint8Array(await request.arrayBuffer()), boundary };
}

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}

/** Contents full of near-delimiters: CRLF, dashes and boundary prefixes. */
function tricky(boundary: string, rand: () => number): Uint8Array<ArrayBuffer> {
  const bits = [`\r\n--${boundary.slice(0, -1)}`, "\r\n--", "\r\n", "--", "\r", boundary];
  let text = "";
  for (let i = 0; i < 200; i++) text += rand() < 0.5 ? bits[randomInt(rand, 0, 5)] : "x";
  return ENC.encode(text);
}

Deno.test("form-data: Deno's FormData bodies read back byte-exact at random split points", async () => {
  const rand = seededRandom(11);
  const files: [string, Uint8Array<ArrayBuffer>][] = [
    ["dir/a.txt", ENC.encode("hello")],
    ["empty", new Uint8Array(0)],
    ['say "hi"\n.txt', randomBytes(70_000, rand)],
    ["ünï/cødé ✓.bin", randomBytes(1, rand)],
  ];
  const form = new FormData();
  for (const [name, data] of files) form.append("files", new File([data], name));
  form.append("plain-field", "field value");
  const { body, boundary } = await serialize(form);
  // Contents with near-delimiters need the real boundary, so they go in a second form.
  const form2 = new FormData();
  const near = tricky(boundary, rand);
  form2.append("f", new File([near], "near.bin"));
  const second = await serialize(form2);
  for (let round = 0; round < 40; round++) {
    const got = await readEntries(readFormData(randomPieces(body, rand, 5000), boundary));
    assertEquals(got, [
      ...files.map(([name, data]) => ({ type: "file" as const, name, data })),
      { type: "file", name: "plain-field", data: ENC.encode("field value") },
    ]);
    const tricks = await readEntries(
      readFormData(randomPieces(second.body, rand, 64), second.boundary),
    );
    assertEquals(tricks, [{ type: "file", name: "near.bin", data: near }]);
  }
});

Deno.test("form-data: preamble, transport padding, no headers but disposition, epilogue", async () => {
  const b = "XyZ";
  const text = `this is the preamble\r\n--${b}  \t\r\n` +
    `content-disposition: form-data; name="f"; filename=a.txt\r\nContent-Type: text/plain\r\n\r\n` +
    `one\r\n--${b}\r\n` +
    `Content-Disposition:form-data;name=g\r\n\r\n` +
    `\r\n--${b}--\r\nthe epilogue --${b} is ignored`;
  const got = await readEntries(readFormData(once(ENC.encode(text)), b));
  assertEquals(got, [
    { type: "file", name: "a.txt", data: ENC.encode("one") },
    { type: "file", name: "g", data: new Uint8Array(0) },
  ]);
});

Deno.test("form-data: a part left unread or half read is skipped", async () => {
  const rand = seededRandom(12);
  const form = new FormData();
  const data = [randomBytes(100_000, rand), randomBytes(30_000, rand), ENC.encode("last")];
  data.forEach((d, i) => form.append("f", new File([d], `f${i}`)));
  const { body, boundary } = await serialize(form);
  let i = -1;
  for await (const entry of readFormData(randomPieces(body, rand), boundary)) {
    i++;
    if (i === 0) continue; // never read
    if (i === 1) {
      for await (const _ of entry.body) break; // one piece only
    }
    if (i === 2) {
      const pieces: Uint8Array[] = [];
      for await (const p of entry.body) pieces.push(p);
      assertEquals(pieces.map((p) => new TextDecoder().decode(p)).join(""), "last");
    }
  }
  assertEquals(i, 2);
});

Deno.test("form-data: boundary parameter", () => {
  assertEquals(formDataBoundary("multipart/form-data; boundary=abc"), "abc");
  assertEquals(formDataBoundary('multipart/form-data;BOUNDARY="a b:c"'), "a b:c");
  assertEquals(formDataBoundary("multipart/form-data; charset=x; boundary=z; q=1"), "z");
  for (
    const bad of [
      "multipart/form-data",
      "multipart/form-data; boundary=",
      'multipart/form-data; boundary=""',
      `multipart/form-data; boundary=${"a".repeat(71)}`,
      'multipart/form-data; boundary="ends with space "',
      "multipart/form-data; boundary=a\\b",
      "multipart/form-data; xboundary=abc",
    ]
  ) {
    let threw = false;
    try {
      formDataBoundary(bad);
    } catch (e) {
      threw = e instanceof MalformedFormDataError;
    }
    assert(threw, bad);
  }
});

Deno.test("form-data: every kind of malformed body is a MalformedFormDataError", async () => {
  const b = "bnd";
  const part = (headers: string, body = "x") => `--${b}\r\n${headers}\r\n\r\n${body}\r\n`;
  const ok = 'Content-Disposition: form-data; name="f"';
  const cases: Record<string, string> = {
    "empty body": "",
    "no delimiter at all": "just some bytes",
    "no close delimiter": part(ok),
    "ends inside a part body": `--${b}\r\n${ok}\r\n\r\nabc`,
    "ends inside the headers": `--${b}\r\n${ok}`,
    "ends after a delimiter": `--${b}`,
    "garbage after the boundary": `--${b}x\r\n${ok}\r\n\r\nx\r\n--${b}--`,
    "bare LF after the boundary": `--${b}\n${ok}\r\n\r\nx\r\n--${b}--`,
    "too much padding": `--${b}${" ".repeat(300)}\r\n${ok}\r\n\r\nx\r\n--${b}--`,
    "no Content-Disposition": part("Content-Type: text/plain") + `--${b}--`,
    "two Content-Dispositions": part(`${ok}\r\n${ok}`) + `--${b}--`,
    "not form-data": part('Content-Disposition: attachment; name="f"') + `--${b}--`,
    "no name": part('Content-Disposition: form-data; filename="a"') + `--${b}--`,
    "repeated parameter": part('Content-Disposition: form-data; name="a"; name="b"') + `--${b}--`,
    "unterminated quote": part('Content-Disposition: form-data; name="a') + `--${b}--`,
    "missing =": part("Content-Disposition: form-data; name") + `--${b}--`,
    "junk after a value": part('Content-Disposition: form-data; name="a" junk') + `--${b}--`,
    "folded header": part(`${ok}\r\n  continued`) + `--${b}--`,
    "line without a colon": part(`${ok}\r\nnot a header`) + `--${b}--`,
    "bare LF in the header": part(`${ok}\nX-A: b`) + `--${b}--`,
    "header too long": part(`${ok}\r\nX-Pad: ${"p".repeat(MAX_PART_HEADER)}`) + `--${b}--`,
    "endless header": `--${b}\r\nX-Pad: ${"p".repeat(MAX_PART_HEADER + 10)}`,
  };
  for (const [what, text] of Object.entries(cases)) {
    await assertRejects(
      readEntries(readFormData(once(ENC.encode(text)), b)),
      MalformedFormDataError,
      what,
    );
  }
  const badUtf8 = new Uint8Array([
    ...ENC.encode(`--${b}\r\n${ok}; filename="`),
    0xff,
    ...ENC.encode(`"\r\n\r\nx\r\n--${b}--`),
  ]);
  await assertRejects(readEntries(readFormData(once(badUtf8), b)), MalformedFormDataError, "UTF-8");
});

Deno.test("form-data: random and mutated bodies end in the typed error or parse", async () => {
  const rand = seededRandom(13);
  const form = new FormData();
  form.append("a", new File([randomBytes(3000, rand)], "x/y.bin"));
  form.append("b", "text");
  form.append("c", new File([tricky("zz", rand)], "c"));
  const { body, boundary } = await serialize(form);
  let parsed = 0;
  for (let i = 0; i < 3000; i++) {
    const input = mutated(body, rand);
    try {
      await readEntries(readFormData(randomPieces(input, rand, 512), boundary));
      parsed++;
    } catch (e) {
      assert(e instanceof MalformedFormDataError, `case ${i}: ${e}`);
    }
  }
  // Most single edits land in contents, which stay valid.
  assert(parsed > 100 && parsed < 3000, `parsed ${parsed}`);
});
