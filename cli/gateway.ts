/**
 * `gateway`: the command-line client of a verified content gateway (issue 7). Uploads files and
 * directories, and downloads, lists and prints content verified against its BLAKE3 hash by
 * `src/client`, so no byte the gateway sends is written before it is proven.
 *
 * stdout carries only data (hashes, listings, bytes), stderr the progress and one-line errors,
 * and the exit status says what went wrong (exit_codes.ts), so the commands compose in scripts.
 *
 * Run as `deno task cli …`, or install it from the project folder (README: the config carries the
 * import map and lock file): `deno install -g -A -n gateway --config deno.json cli/gateway.ts`.
 *
 * @module
 */

import { type Hash, parseHash, toHex } from "../src/blake3/hash.ts";
import { Hasher } from "../src/blake3/hasher.ts";
import { Collection, InvalidCollectionError, validateName } from "../src/collection/collection.ts";
import { directoryFiles } from "../src/collection/directory.ts";
import { formatSize } from "../src/collection/listing_html.ts";
import {
  type ByteSpan,
  type ClientOptions,
  EntryNotFoundError,
  type FetchLike,
  gatewayContext,
  GatewayError,
  GatewayUnreachableError,
  listCollection,
  NotACollectionError,
  NotFoundError,
  startGet,
  VerifiedCache,
  verifiedFetch,
} from "../src/client/mod.ts";
import { downloadBlob, downloadCollection, type Source } from "./download.ts";
import { writeAll } from "./io.ts";
import { HelpRequested, parseArgv, UsageError } from "./args.ts";
import { EXIT, failure, UnsendableNameError, UploadMismatchError } from "./exit_codes.ts";
import { enterCallerDir } from "./caller_dir.ts";
import { idleTimeoutOf, withIdleTimeout } from "./idle_timeout.ts";
import { finishPlacement, openPlacement, placeOutput } from "./output.ts";
import { sentPieces } from "./sent_file.ts";
import { ProgressLine, SILENT, stderrSink } from "./progress.ts";
import { tarPieces } from "./tar_stream.ts";
import { parseTarget, type Target } from "./target.ts";

const DEFAULT_GATEWAY = "http://127.0.0.1:8080";

const USAGE = `usage: gateway [options] <command> ...

commands:
  put FILE|DIR                   upload a file as a blob, or a directory as a collection
                                 (named as sendme names it); prints the hash, checked
                                 against the hash computed locally
  get HASH|URL [-o OUT] [--range a-b] [--force]
                                 verified download into OUT (default: the entry's name, or
                                 the hash), written to OUT.part and renamed when complete;
                                 an OUT.part left by a cut run is verified and resumed. An
                                 existing OUT is kept if it is the blob, else refused
                                 unless --force; a device or pipe is written directly. A
                                 collection is written as files under OUT (default: . if
                                 its names share a first folder not starting with ".",
                                 else a new folder named by its hash)
  cat HASH|URL [--range a-b]     verified bytes to stdout
  ls HASH|URL                    list a collection, verified: hash, size, name per line
                                 (control characters in names printed as \\xNN)
  info HASH|URL                  what the gateway holds of a blob (its discovery answer)

  HASH is 64 hex or 52 base32 characters; HASH/name names a collection's entry; URL is a
  gateway URL: …/blobs/<hash>, …/collections/<hash> or …/collections/<hash>/<name>.

options:
  --gateway URL    the gateway (env GATEWAY_URL; default ${DEFAULT_GATEWAY})
  --token T        bearer token for uploads, sent to --gateway only (env GATEWAY_TOKEN)
  -o, --output P   where get writes (- for stdout)
  --force          get replaces an existing file that is not the blob
  --range a-b      bytes a to b inclusive (a- for "to the end"), as HTTP ranges count
  --timeout S      give up when a download makes no progress for S seconds (default 30,
                   0 for never; uploads are not timed)
  --via bao|outboard
                   verify Bao streams (default) or plain ranges against the outboard
  --json           machine-readable output (put, ls, info)
  -q, --quiet      no progress on stderr
  -h, --help       this text

exit status: 0 ok, 1 verification failed, 2 usage, 3 not found, 4 unreachable or gateway
error, 5 token refused, 6 local file error (or an existing file in the way), 70 internal
error (please report).`;

interface Options {
  gateway: string;
  token: string | undefined;
  output: string | undefined;
  force: boolean;
  range: ByteSpan | undefined;
  via: "bao" | "outboard";
  timeoutMs: number;
  json: boolean;
  quiet: boolean;
  positional: string[];
}

/** `a-b` (inclusive) or `a-` → the span `[a, b + 1)` or `[a, end)`. */
function parseRange(text: string): ByteSpan {
  const m = /^(\d+)-(\d*)$/.exec(text);
  const start = Number(m?.[1]), last = m?.[2] ? Number(m[2]) : undefined;
  if (m === null || !Number.isSafeInteger(start) || (last !== undefined && !(last >= start))) {
    throw new UsageError(`--range takes a-b or a- (bytes, inclusive), got "${text}"`);
  }
  return last === undefined ? { start } : { start, end: last + 1 };
}

function parseGateway(text: string): string {
  try {
    const url = new URL(text);
    if (url.protocol === "http:" || url.protocol === "https:") return url.href.replace(/\/+$/, "");
  } catch {
    // reported below
  }
  throw new UsageError(`the gateway must be an http(s) URL, got "${text}"`);
}

function parseArgs(argv: string[], env: Record<string, string | undefined>): Options {
  const options: Options = {
    gateway: parseGateway(env.GATEWAY_URL || DEFAULT_GATEWAY),
    token: env.GATEWAY_TOKEN || undefined,
    output: undefined,
    force: false,
    range: undefined,
    via: "bao",
    timeoutMs: 30_000,
    json: false,
    quiet: false,
    positional: [],
  };
  options.positional = parseArgv(argv, (flag, value) => {
    if (flag === "--gateway") options.gateway = parseGateway(value());
    else if (flag === "--token") options.token = value();
    else if (flag === "-o" || flag === "--output") options.output = value();
    else if (flag === "--force") options.force = true;
    else if (flag === "--range") options.range = parseRange(value());
    else if (flag === "--timeout") {
      const text = value();
      const seconds = Number(text);
      // Timers take at most 2^31 - 1 ms (some 24 days); 0 turns the limit off.
      if (!/^\d+(\.\d+)?$/.test(text) || seconds * 1000 > 2 ** 31 - 1) {
        throw new UsageError(
          `--timeout takes seconds (0 for none, at most 2147483), got "${text}"`,
        );
      }
      options.timeoutMs = Math.ceil(seconds * 1000);
    } else if (flag === "--via") {
      const via = value();
      if (via !== "bao" && via !== "outboard") {
        throw new UsageError(`--via takes bao or outboard, got "${via}"`);
      }
      options.via = via;
    } else if (flag === "--json") options.json = true;
    else if (flag === "-q" || flag === "--quiet") options.quiet = true;
    else return false;
    return true;
  });
  return options;
}

/** "1 file", "2 files". */
function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

function expectOne(options: Options, what: string): string {
  if (options.positional.length !== 1) {
    throw new UsageError(`expected ${what}, got ${options.positional.length} arguments`);
  }
  return options.positional[0];
}

/**
 * `fetch` with the bearer token on writes to the configured gateway only. Reads are open, and
 * a URL argument may name any server: the token must not go to whoever that is (nor over
 * every read, which may be plain HTTP).
 */
function authorizedFetch(token: string | undefined, gateway: string): FetchLike {
  if (token === undefined) return (input, init) => fetch(input, init);
  const origin = new URL(gateway).origin;
  return (input, init = {}) => {
    const method = (init.method ?? "GET").toUpperCase();
    if (method === "GET" || method === "HEAD" || new URL(input).origin !== origin) {
      return fetch(input, init);
    }
    const headers = new Headers(init.headers);
    headers.set("Authorization", `Bearer ${token}`);
    return fetch(input, { ...init, headers });
  };
}

/** One invocation: its options, the client settings, and the progress line on screen. */
class Run {
  readonly client: ClientOptions;
  #line: ProgressLine | undefined;

  constructor(readonly options: Options) {
    this.client = {
      fetch: withIdleTimeout(authorizedFetch(options.token, options.gateway), options.timeoutMs),
      cache: new VerifiedCache(),
    };
  }

  source(target?: Target): Source {
    return {
      gateway: target?.gateway ?? this.options.gateway,
      client: this.client,
      via: this.options.via,
    };
  }

  progress(label: string, total?: number): ProgressLine {
    this.#line = new ProgressLine(label, total, this.options.quiet ? SILENT : stderrSink());
    return this.#line;
  }

  /** Clears a live progress line so an error message starts on its own line. */
  abandonProgress(): void {
    this.#line?.abandon();
  }

  print(text: string): void {
    console.log(text);
  }
}

/** The error for a POST answered with an error status, from the gateway's JSON body. */
async function statusFailure(res: Response): Promise<GatewayError> {
  const text = await res.text();
  let error = res.statusText, detail = text.slice(0, 500);
  try {
    const body = JSON.parse(text);
    if (typeof body?.error === "string") error = body.error;
    if (typeof body?.detail === "string") detail = body.detail;
  } catch {
    // not the gateway's JSON: keep the text
  }
  const Type = res.status === 404 ? NotFoundError : GatewayError;
  return new Type(res.status, error, detail);
}

interface Stored {
  hash: string;
  size?: number;
  entries?: { name: string; hash: string; size: number }[];
}

/**
 * The JSON a gateway answered with, or a `GatewayError` (exit 4) when the body is not JSON of
 * the expected shape (`valid`): a proxy's HTML page, say, which no field access may trip over.
 */
async function jsonAnswer<T>(res: Response, valid: (body: unknown) => body is T): Promise<T> {
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    // reported below
  }
  if (!valid(body)) {
    const start = JSON.stringify(text.slice(0, 80));
    throw new GatewayError(res.status, "unexpected answer", `not the gateway's JSON: ${start}`);
  }
  return body;
}

function isStored(body: unknown): body is Stored {
  return typeof (body as Stored | null)?.hash === "string";
}

/**
 * POSTs `pieces` as a streamed body. A failure of the body itself (a file that changed or could
 * not be read) is reported as such, not as the connection error it causes.
 */
async function post(
  run: Run,
  path: string,
  contentType: string,
  pieces: AsyncIterable<Uint8Array>,
): Promise<Stored> {
  const url = run.options.gateway + path;
  let bodyError: unknown;
  const watched = async function* () {
    try {
      yield* pieces;
    } catch (e) {
      bodyError = e;
      throw e;
    }
  };
  let res: Response;
  try {
    res = await run.client.fetch!(url, {
      method: "POST",
      headers: { "Content-Type": contentType },
      body: ReadableStream.from(watched()),
    });
  } catch (e) {
    throw bodyError ?? new GatewayUnreachableError(url, e);
  }
  if (!res.ok) throw await statusFailure(res);
  return await jsonAnswer(res, isStored);
}

/** What a resumed download kept, exactly, for the final line. */
function kept(bytes: number): string {
  return bytes > 0 ? `, kept ${bytes} verified bytes already there` : "";
}

/** The last path segment, for labels. */
function baseName(path: string): string {
  return path.replace(/\/+$/, "").split("/").pop() || path;
}

function short(hex: string): string {
  return `${hex.slice(0, 12)}…`;
}

async function putFile(run: Run, path: string, size: number): Promise<void> {
  const progress = run.progress(`put ${baseName(path)}`, size);
  const hasher = new Hasher();
  const pieces = async function* () {
    for await (const piece of sentPieces(path, size)) {
      hasher.update(piece);
      progress.add(piece.length);
      yield piece;
    }
  };
  const stored = await post(run, "/blobs", "application/octet-stream", pieces());
  const local = toHex(hasher.finalize());
  if (stored.hash !== local) {
    throw new UploadMismatchError(
      `the gateway answered ${stored.hash}; the file hashes to ${local}`,
    );
  }
  progress.finish(`stored blob ${short(local)}`);
  run.print(run.options.json ? JSON.stringify(stored) : local);
}

async function putDirectory(run: Run, path: string): Promise<void> {
  const files = await directoryFiles(path);
  for (const file of files) {
    try {
      validateName(file.name);
    } catch (e) {
      if (!(e instanceof InvalidCollectionError)) throw e;
      throw new UnsendableNameError(`cannot upload ${file.path}: ${e.message}`);
    }
  }
  const sizes = await Promise.all(files.map(async (f) => (await Deno.stat(f.path)).size));
  const progress = run.progress(`put ${baseName(path)}`, sizes.reduce((a, b) => a + b, 0));
  const hashers = files.map(() => new Hasher());
  const pieces = tarPieces(files, (i, bytes) => {
    hashers[i].update(bytes);
    progress.add(bytes.length);
  });
  const stored = await post(run, "/collections", "application/x-tar", pieces);
  const local = toHex(
    Collection.create(files.map((f, i) => ({ name: f.name, hash: hashers[i].finalize() }))).hash,
  );
  if (stored.hash !== local) {
    throw new UploadMismatchError(
      `the gateway answered ${stored.hash}; the directory's collection hashes to ${local}`,
    );
  }
  progress.finish(`stored collection ${short(local)} of ${count(files.length, "file")}`);
  run.print(run.options.json ? JSON.stringify(stored) : local);
}

async function put(run: Run): Promise<void> {
  const path = expectOne(run.options, "FILE|DIR");
  const info = await Deno.stat(path);
  if (info.isDirectory) return await putDirectory(run, path);
  if (!info.isFile) throw new UsageError(`${path} is neither a file nor a directory`);
  await putFile(run, path, info.size);
}

/** The hash of the entry `name` of a verified collection. */
async function entryHash(run: Run, target: Target & { kind: "entry" }): Promise<Hash> {
  const listing = await listCollection(run.source(target).gateway, target.hash, {
    ...run.client,
    sizes: false,
  });
  const entry = listing.entries.find((e) => e.name === target.name);
  if (entry === undefined) throw new EntryNotFoundError(target.name);
  return parseHash(entry.hash);
}

/** The blob a target names (an entry is looked up in its verified collection). */
async function blobOf(run: Run, target: Target): Promise<Hash> {
  if (target.kind === "collection") {
    throw new UsageError("that names a whole collection: use get -o DIR, or ls");
  }
  return target.kind === "entry" ? await entryHash(run, target) : target.hash;
}

/**
 * Whether the gateway's discovery says `hash` is a hash sequence, so that `get HASH` of a
 * collection writes its files. A hint only: the listing that follows is verified, and a hash
 * seq that is not a collection is fetched as the blob it is. A gateway that stays silent is
 * given up on here: asking it again would only wait as long once more.
 */
async function hintsCollection(run: Run, target: Target): Promise<boolean> {
  const ctx = gatewayContext(run.source(target).gateway, run.client);
  try {
    const res = await startGet(ctx, `/discovery/${toHex(target.hash)}`).response;
    return Array.isArray((await res.json())?.children);
  } catch (e) {
    if (idleTimeoutOf(e) !== undefined) throw e;
    return false;
  }
}

/** Verified bytes of a blob (or of `--range` of it) into `dest`. */
async function streamTo(
  run: Run,
  target: Target,
  label: string,
  dest: () => Promise<WritableStream<Uint8Array>>,
): Promise<void> {
  const hash = await blobOf(run, target);
  const progress = run.progress(label);
  const res = await verifiedFetch(run.source(target).gateway, hash, {
    ...run.client,
    via: run.options.via,
    range: run.options.range,
    onProgress: (p) => {
      progress.total = p.total;
      progress.update(p.verified);
    },
  });
  await res.body!.pipeTo(await dest());
  progress.finish(`verified ${short(toHex(hash))}`);
}

/** stdout as a stream that stays open for whatever is printed after. */
function stdout(): Promise<WritableStream<Uint8Array>> {
  return Promise.resolve(
    new WritableStream({ write: (bytes) => writeAll(Deno.stdout, bytes) }),
  );
}

/**
 * Names of stdout itself: written as `-` is, not opened as a path (which would need every
 * permission in Deno, and whose target, a file the shell redirected to, must not be replaced).
 */
const STDOUT_PATHS = new Set(["/dev/stdout", "/dev/fd/1", "/proc/self/fd/1"]);

async function get(run: Run): Promise<void> {
  const target = parseTarget(expectOne(run.options, "HASH|URL"));
  const given = run.options.output;
  const out = given !== undefined && STDOUT_PATHS.has(given) ? "-" : given;
  const whole = run.options.range === undefined;
  if (
    target.kind === "collection" ||
    (target.kind === "blob" && whole && out !== "-" && await hintsCollection(run, target))
  ) {
    if (out === "-" || !whole) throw new UsageError("a collection is written as files: use -o DIR");
    try {
      const progress = run.progress(`get ${short(toHex(target.hash))}`);
      const done = await downloadCollection(
        run.source(target),
        target.hash,
        out,
        progress,
        run.options.force,
      );
      progress.finish(`${count(done.files, "file")} verified into ${done.dir}` + kept(done.kept));
      return;
    } catch (e) {
      if (!(e instanceof NotACollectionError) || target.kind === "collection") throw e;
    }
  }
  if (out === "-") return await streamTo(run, target, "get", stdout);
  const file = out ?? (target.kind === "entry" ? baseName(target.name) : toHex(target.hash));
  if (!whole) {
    // A range is not resumed: the file holds the range alone.
    const placement = await placeOutput(file, run.options.force);
    await streamTo(run, target, `get ${baseName(file)}`, async () => {
      return (await openPlacement(file, placement, true)).writable;
    });
    return await finishPlacement(placement);
  }
  const hash = await blobOf(run, target);
  const progress = run.progress(`get ${baseName(file)}`);
  const done = await downloadBlob(run.source(target), hash, file, progress, {
    force: run.options.force,
  });
  progress.finish(
    `${file} verified as ${short(toHex(hash))}` +
      kept(done.kept),
  );
}

async function cat(run: Run): Promise<void> {
  await streamTo(run, parseTarget(expectOne(run.options, "HASH|URL")), "cat", stdout);
}

/**
 * `text` with C0 and C1 control characters and DEL as `\xNN`, so a name (anyone's to choose)
 * cannot move the cursor, recolour or clear the terminal, or split its line in two. Collection
 * names hold no backslash, so the escape is unambiguous.
 */
function printable(text: string): string {
  // Cc is exactly U+0000–U+001F, U+007F and U+0080–U+009F; Cf holds the invisible format
  // characters, bidirectional overrides among them (which show `atxt.exe` for `a\u202eexe.txt`).
  return text.replace(/[\p{Cc}\p{Cf}]/gu, (c) => {
    const code = c.codePointAt(0)!;
    return code < 0x100 ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u{${code.toString(16)}}`;
  });
}

async function ls(run: Run): Promise<void> {
  const target = parseTarget(expectOne(run.options, "HASH|URL"));
  if (target.kind === "entry") {
    throw new UsageError("ls lists a collection, not one of its entries");
  }
  const listing = await listCollection(run.source(target).gateway, target.hash, run.client);
  if (run.options.json) return run.print(JSON.stringify(listing));
  const width = String(Math.max(0, ...listing.entries.map((e) => e.size ?? 0))).length;
  for (const e of listing.entries) {
    run.print(`${e.hash}  ${String(e.size).padStart(width)}  ${printable(e.name)}`);
  }
  if (!run.options.quiet) {
    console.error(
      `${count(listing.entries.length, "file")}, ${formatSize(listing.totalSize ?? 0)} (verified)`,
    );
  }
}

/** Discovery's answer (GATEWAY.md `GET /discovery/:hash`), as far as `info` shows it. */
interface Discovery {
  hash: string;
  size: number | null;
  validated: boolean;
  complete: boolean;
  ranges: [number, number | null][];
  children?: { complete: boolean }[];
  /** How many children there are, when more than are listed (see discovery). */
  childCount?: number;
}

function isDiscovery(body: unknown): body is Discovery {
  const d = body as Discovery | null;
  const span = (r: unknown) =>
    Array.isArray(r) && typeof r[0] === "number" && (r[1] === null || typeof r[1] === "number");
  return typeof d?.hash === "string" && (d.size === null || typeof d.size === "number") &&
    Array.isArray(d.ranges) && d.ranges.every(span) &&
    (d.children === undefined || Array.isArray(d.children) && d.children.every((c) => c !== null));
}

function describe(d: Discovery): string[] {
  const held = d.size === null
    ? "nothing"
    : d.complete
    ? "all of it"
    : `chunks ${d.ranges.map(([a, b]) => `${a}..${b ?? ""}`).join(", ")} (1 KiB chunks)`;
  const lines = [
    `hash       ${d.hash}`,
    `size       ${d.size === null ? "unknown" : `${d.size} bytes (${formatSize(d.size)})`}`,
    `held       ${held}`,
    `validated  ${d.validated ? "yes (the last chunk proves the size)" : "no"}`,
  ];
  if (d.children !== undefined) {
    const complete = d.children.filter((c) => c.complete).length;
    const count = typeof d.childCount === "number" ? d.childCount : d.children.length;
    const listed = count > d.children.length ? `, of the first ${d.children.length}` : "";
    lines.push(`children   ${count} (${complete} complete${listed}): a hash sequence`);
  }
  return lines;
}

async function info(run: Run): Promise<void> {
  const target = parseTarget(expectOne(run.options, "HASH|URL"));
  const hash = target.kind === "entry" ? await entryHash(run, target) : target.hash;
  const ctx = gatewayContext(run.source(target).gateway, run.client);
  const res = await startGet(ctx, `/discovery/${toHex(hash)}`).response;
  const discovery = await jsonAnswer(res, isDiscovery);
  if (run.options.json) run.print(JSON.stringify(discovery));
  else for (const line of describe(discovery)) run.print(line);
  if (discovery.size === null) {
    throw new NotFoundError(404, "not found", `the gateway holds nothing of ${toHex(hash)}`);
  }
}

const COMMANDS: Record<string, (run: Run) => Promise<void>> = { put, get, cat, ls, info };

export async function main(
  argv: string[],
  env: Record<string, string | undefined>,
): Promise<number> {
  let run: Run | undefined;
  let name: string | undefined;
  try {
    const options = parseArgs(argv, env);
    name = options.positional.shift();
    if (name === undefined || !Object.hasOwn(COMMANDS, name)) {
      const given = name;
      name = undefined;
      throw new UsageError(given === undefined ? "no command given" : `unknown command "${given}"`);
    }
    run = new Run(options);
    await COMMANDS[name](run);
    return EXIT.ok;
  } catch (e) {
    run?.abandonProgress();
    if (e instanceof HelpRequested) {
      console.log(USAGE);
      return EXIT.ok;
    }
    const prefix = `gateway${name ? ` ${name}` : ""}`;
    const known = failure(e);
    if (known === undefined) {
      // A bug: one line all the same, and a status no expected failure has.
      console.error(
        `${prefix}: unexpected error: ${printable(e instanceof Error ? e.message : String(e))}`,
      );
      return EXIT.internal;
    }
    // Messages quote paths and names that a collection's maker chose.
    console.error(`${prefix}: ${printable(known.message)}`);
    if (e instanceof UsageError) console.error("(gateway --help for usage)");
    return known.code;
  }
}

if (import.meta.main) {
  enterCallerDir(EXIT.local);
  Deno.exit(await main(Deno.args, Deno.env.toObject()));
}
