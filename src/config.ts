/**
 * Configuration from the environment (GATEWAY.md "Configuration"), checked once at start-up so
 * that a typo fails loudly instead of serving with a default nobody chose.
 *
 * @module
 */

/** A configuration value that cannot be used. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

export interface Config {
  port: number;
  hostname: string;
  /** Settings that were set but not used, each with why: to be told at start-up. */
  ignored: string[];
  /**
   * Where Deno KV lives: a file path, `:memory:`, a KV Connect URL (`http(s)://…` of a shared
   * `denokv`), or `undefined` for the runtime's default database (Deno Deploy's managed KV).
   */
  kvPath: string | undefined;
  /** Bearer token for writes; without one, only loopback clients may write. */
  token: string | undefined;
  /** Base URLs of peer gateways. */
  peers: string[];
  /** Largest accepted upload in bytes. */
  maxUpload: number;
  /** Requests served at once (until their responses are sent) before new ones get 429. */
  maxInFlight: number;
  /**
   * How long a response may wait for its client to take its next piece (64 KiB) before it is
   * cut, as nginx's `send_timeout`: a stalled reader holds its in-flight place until then.
   */
  sendTimeoutMs: number;
  /**
   * How long requests in flight may take to finish once the gateway is asked to stop (SIGTERM,
   * SIGINT) before they are cut.
   */
  shutdownGraceMs: number;
  /** Milliseconds between garbage collections (0 disables the timer). */
  gcIntervalMs: number;
  /** An upload without a heartbeat for this long is presumed dead. */
  uploadStaleMs: number;
  /** Bytes of unpinned peer data kept before least-recently-used eviction. */
  cacheBytes: number;
  /** How long a peer may take to send the first byte of a response. */
  peerTimeoutMs: number;
  /** How long peers' discovery answers are waited for. */
  discoveryTimeoutMs: number;
  /**
   * `GATEWAY_SECRET_KEY`: 32 bytes (64 hex characters) from which the key sealing Willow secret
   * keys at rest is derived. Without it the gateway serves and ingests Willow data but refuses to
   * create namespaces or sign writes (it will not keep secrets in the clear). Keep it apart from
   * the KV and its backups: whoever holds both can sign as the gateway, and whoever loses it
   * loses the secrets.
   */
  secretKey: Uint8Array | undefined;
}

const UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
};

/** Parses a byte size such as `1073741824`, `512MiB` or `4GB`. */
export function parseByteSize(text: string, name: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  const unit = m ? UNITS[m[2].toLowerCase()] : undefined;
  const scaled = m && unit ? Number(m[1]) * unit : NaN;
  // A fraction of a larger unit is rounded to whole bytes; a fraction of a byte is a typo.
  const value = unit === 1 ? scaled : Math.round(scaled);
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new ConfigError(`${name} must be a positive byte size like 4GiB or 500MB, got "${text}"`);
  }
  return value;
}

function integer(text: string, name: string, min: number, max: number): number {
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || n < min || n > max) {
    throw new ConfigError(`${name} must be an integer in ${min}..${max}, got "${text}"`);
  }
  return n;
}

function url(text: string, name: string): string {
  try {
    const u = new URL(text);
    if (u.protocol !== "http:" && u.protocol !== "https:") throw new Error();
    // Paths are appended to the base: a query or fragment would swallow them, and `fetch`
    // refuses URLs with credentials.
    if (/[?#]/.test(u.href) || u.username !== "" || u.password !== "") throw new Error();
    return u.href.replace(/\/$/, "");
  } catch {
    throw new ConfigError(
      `${name} must list http(s) base URLs (no query, fragment or credentials), got "${text}"`,
    );
  }
}

function secretKey(text: string | undefined): Uint8Array | undefined {
  if (text === undefined) return undefined;
  if (!/^[0-9a-fA-F]{64}$/.test(text)) {
    throw new ConfigError(
      "GATEWAY_SECRET_KEY must be 64 hex characters (32 random bytes, e.g. `openssl rand -hex 32`)",
    );
  }
  return Uint8Array.from(text.match(/../g)!, (b) => parseInt(b, 16));
}

/** Documented defaults. */
export const DEFAULTS = {
  port: 8080,
  hostname: "127.0.0.1",
  kvPath: "./data/gateway.kv",
  maxUpload: 16 * 2 ** 30,
  maxInFlight: 512,
  sendTimeoutMs: 60_000,
  shutdownGraceMs: 10_000,
  gcIntervalSeconds: 300,
  uploadStaleSeconds: 600,
  cacheBytes: 4 * 2 ** 30,
  peerTimeoutMs: 5000,
  discoveryTimeoutMs: 2000,
} as const;

/**
 * The address to listen on. GATEWAY.md names it `HOSTNAME`, which Docker, Kubernetes and some
 * shells set to the machine's or container's name: taken as an address, that would silently
 * serve on an outside interface, or fail to resolve. So only an address (or `localhost`) is
 * used; a name is ignored, and said so.
 */
function listenAddress(text: string | undefined, ignored: string[]): string {
  if (text === undefined) return DEFAULTS.hostname;
  // `[::1]` as in a URL: the address is what is inside the brackets.
  if (text.startsWith("[") && text.endsWith("]") && text.includes(":")) return text.slice(1, -1);
  if (text === "localhost" || /^\d{1,3}(\.\d{1,3}){3}$/.test(text) || text.includes(":")) {
    return text;
  }
  ignored.push(
    `HOSTNAME=${text} is a name, not an address (the environment may have set it): listening on ` +
      `${DEFAULTS.hostname}; set HOSTNAME=0.0.0.0 (or an address) to listen elsewhere`,
  );
  return DEFAULTS.hostname;
}

/** Reads the configuration from `env` (an object, so tests need not touch the process). */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const ignored: string[] = [];
  const get = (name: string) => {
    const v = env[name];
    return v === undefined || v.trim() === "" ? undefined : v.trim();
  };
  const onDeploy = get("DENO_DEPLOYMENT_ID") !== undefined;
  // Empty is unset: the local file, not Deno's hidden per-script database (Deploy's KV on Deploy).
  const kvPath = get("KV_PATH") ?? (onDeploy ? undefined : DEFAULTS.kvPath);
  if (
    kvPath !== undefined && /^[a-z][a-z0-9+.-]*:\/\//i.test(kvPath) && !/^https?:/i.test(kvPath)
  ) {
    // Deno KV would take it for a file name and create a folder called `ftp:`.
    throw new ConfigError(`KV_PATH must be a file, :memory: or an http(s) URL, got "${kvPath}"`);
  }
  const int = (name: string, fallback: number, min: number, max: number) =>
    integer(get(name) ?? String(fallback), name, min, max);
  const bytes = (name: string, fallback: number) =>
    parseByteSize(get(name) ?? String(fallback), name);
  /** The longest delay a timer takes (2^31 - 1 ms); a longer one would fire at once. */
  const TIMER_SECONDS = 2_147_483;
  const YEAR = 86_400 * 365;
  return {
    port: int("PORT", DEFAULTS.port, 0, 65535),
    hostname: listenAddress(get("HOSTNAME"), ignored),
    ignored,
    kvPath,
    token: get("GATEWAY_TOKEN"),
    peers: (get("GATEWAY_PEERS") ?? "").split(",").map((p) => p.trim()).filter((p) => p !== "")
      .map((p) => url(p, "GATEWAY_PEERS")),
    maxUpload: bytes("GATEWAY_MAX_UPLOAD", DEFAULTS.maxUpload),
    maxInFlight: int("GATEWAY_MAX_INFLIGHT", DEFAULTS.maxInFlight, 1, 1_000_000),
    sendTimeoutMs: int("GATEWAY_SEND_TIMEOUT", DEFAULTS.sendTimeoutMs, 1, 3_600_000),
    shutdownGraceMs: int("GATEWAY_SHUTDOWN_GRACE", DEFAULTS.shutdownGraceMs, 0, 3_600_000),
    gcIntervalMs: 1000 * int("GATEWAY_GC_INTERVAL", DEFAULTS.gcIntervalSeconds, 0, TIMER_SECONDS),
    uploadStaleMs: 1000 * int("GATEWAY_UPLOAD_STALE", DEFAULTS.uploadStaleSeconds, 1, YEAR),
    cacheBytes: bytes("GATEWAY_CACHE_BYTES", DEFAULTS.cacheBytes),
    peerTimeoutMs: int("GATEWAY_PEER_TIMEOUT", DEFAULTS.peerTimeoutMs, 1, 600_000),
    discoveryTimeoutMs: int("GATEWAY_DISCOVERY_TIMEOUT", DEFAULTS.discoveryTimeoutMs, 1, 600_000),
    secretKey: secretKey(get("GATEWAY_SECRET_KEY")),
  };
}
