/**
 * Meadowcap with real Ed25519 keys: valid owned and communal delegation chains authorise writes,
 * and every way of cheating is refused (delegating outside the parent area, the wrong signer, a
 * read capability, another namespace, the wrong kind of namespace, a tampered entry). Capability
 * encodings round-trip and keep their signatures valid.
 */
import { assert, assertEquals, assertRejects, assertThrows } from "./assert.ts";
import { asHash, fromHex, toHex } from "../src/blake3/hash.ts";
import { hash } from "../src/blake3/tree.ts";
import { type Area, subspaceArea } from "../src/willow/area.ts";
import {
  readEnumerationCapability,
  readMcCapability,
  writeEnumerationCapability,
  writeMcCapability,
} from "../src/willow/capability_encoding.ts";
import { decode, encode } from "../src/willow/codec.ts";
import { type Entry, makeEntry } from "../src/willow/entry.ts";
import {
  delegateEnumeration,
  enumerationCapability,
  isValidEnumerationCapability,
} from "../src/willow/enumeration_capability.ts";
import { InvalidWillowValueError } from "../src/willow/errors.ts";
import { KnownCapabilities } from "../src/willow/known_capabilities.ts";
import {
  generateKeyPair,
  generateNamespaceKeyPair,
  type KeyPair,
  publicKeyOf,
  sign,
  type Signature,
  type SubspaceId,
} from "../src/willow/keys.ts";
import {
  authorise,
  communalCapability,
  delegate,
  grantedArea,
  handover,
  isAuthorisedWrite,
  isValidCapability,
  type McCapability,
  ownedCapability,
  ownedInitialMessage,
  receiver,
} from "../src/willow/meadowcap.ts";
import { pathFromStrings } from "../src/willow/path.ts";
import { timeRange } from "../src/willow/range.ts";

function entryAt(
  namespace: KeyPair,
  subspace: SubspaceId,
  path: string[],
  timestamp = 1000n,
  payload = "hello",
): Entry {
  const bytes = new TextEncoder().encode(payload);
  return makeEntry({
    namespaceId: namespace.publicKey,
    subspaceId: subspace,
    path: pathFromStrings(...path),
    timestamp,
    payloadLength: BigInt(bytes.length),
    payloadDigest: asHash(hash(bytes)),
  });
}

function area(subspace: SubspaceId | "any", path: string[], start = 0n, end?: bigint): Area {
  return { subspace, path: pathFromStrings(...path), times: timeRange(start, end) };
}

/** The capability's encoding decodes to a capability with the same bytes, still valid. */
async function roundTrips(cap: McCapability): Promise<void> {
  const bytes = encode((w) => writeMcCapability(w, cap));
  const back = decode(bytes, readMcCapability);
  assertEquals(encode((w) => writeMcCapability(w, back)), bytes);
  assert(await isValidCapability(back), "decoded capability stays valid");
}

Deno.test("meadowcap: an owned chain of two delegations authorises its last receiver", async () => {
  const ns = await generateNamespaceKeyPair("owned");
  const [alfie, betty, gemma] = await Promise.all([1, 2, 3].map(() => generateKeyPair()));
  const root = await ownedCapability(ns, alfie.publicKey, "write");
  assert(await isValidCapability(root));
  const toBetty = await delegate(root, alfie.secretKey, area("any", ["blog"]), betty.publicKey);
  const toGemma = await delegate(
    toBetty,
    betty.secretKey,
    area(betty.publicKey, ["blog", "ideas"], 500n, 5000n),
    gemma.publicKey,
  );
  assert(await isValidCapability(toGemma));
  assertEquals(receiver(toGemma), gemma.publicKey);
  const e = entryAt(ns, betty.publicKey, ["blog", "ideas", "1"]);
  assert(await isAuthorisedWrite(e, await authorise(e, toGemma, gemma.secretKey)));
  await roundTrips(toGemma);
  // The owner's own capability covers every subspace.
  const anywhere = entryAt(ns, gemma.publicKey, ["x"]);
  assert(await isAuthorisedWrite(anywhere, await authorise(anywhere, root, alfie.secretKey)));
});

Deno.test("meadowcap: a chain with any one bad signature is invalid; validity is checked once", async () => {
  const ns = await generateNamespaceKeyPair("owned");
  const keys = await Promise.all([0, 1, 2, 3].map(() => generateKeyPair()));
  let cap = await ownedCapability(ns, keys[0].publicKey, "read");
  for (let i = 1; i < keys.length; i++) {
    cap = await delegate(cap, keys[i - 1].secretKey, area("any", ["a"]), keys[i].publicKey);
  }
  assert(await isValidCapability(cap));
  // The signatures are checked side by side: a bad one anywhere in the chain still fails it.
  for (let i = 0; i < cap.delegations.length; i++) {
    const signature = new Uint8Array(cap.delegations[i].signature) as Signature;
    signature[7] ^= 1;
    const delegations = cap.delegations.map((d, j) => j === i ? { ...d, signature } : d);
    assert(!await isValidCapability({ ...cap, delegations }), `bad signature at ${i}`);
  }
  // The same capability decoded afresh (as from each request) is the one already checked.
  const known = new KnownCapabilities();
  const again = decode(encode((w) => writeMcCapability(w, cap)), readMcCapability);
  const first = known.isValid(cap);
  assert(known.isValid(again) === first, "one check for one capability");
  assert(await first);
});

Deno.test("meadowcap: a communal chain stays in its user's subspace", async () => {
  const ns = await generateNamespaceKeyPair("communal");
  const [alfie, betty] = await Promise.all([1, 2].map(() => generateKeyPair()));
  const root = communalCapability(ns.publicKey, alfie.publicKey, "write");
  assertEquals(grantedArea(root), subspaceArea(alfie.publicKey));
  const toBetty = await delegate(
    root,
    alfie.secretKey,
    area(alfie.publicKey, ["blog"]),
    betty.publicKey,
  );
  assert(await isValidCapability(toBetty));
  await roundTrips(toBetty);
  const own = entryAt(ns, alfie.publicKey, ["blog", "post"]);
  assert(await isAuthorisedWrite(own, await authorise(own, toBetty, betty.secretKey)));
  const bettys = entryAt(ns, betty.publicKey, ["blog", "post"]);
  assert(
    !await isAuthorisedWrite(bettys, await authorise(bettys, toBetty, betty.secretKey)),
    "the delegation does not reach Betty's own subspace",
  );
  await assertRejects(
    () => delegate(root, alfie.secretKey, area("any", []), betty.publicKey),
    InvalidWillowValueError,
    "a communal capability cannot grant other subspaces",
  );
});

Deno.test("meadowcap: delegation outside the parent area is refused and invalid", async () => {
  const ns = await generateNamespaceKeyPair("owned");
  const [alfie, betty, gemma] = await Promise.all([1, 2, 3].map(() => generateKeyPair()));
  const root = await ownedCapability(ns, alfie.publicKey, "write");
  const toBetty = await delegate(
    root,
    alfie.secretKey,
    area("any", ["blog"], 0n, 100n),
    betty.publicKey,
  );
  for (
    const outside of [
      area("any", ["wiki"], 0n, 100n),
      area("any", ["blog"], 50n, 200n),
      area("any", ["blog"]),
    ]
  ) {
    await assertRejects(
      () => delegate(toBetty, betty.secretKey, outside, gemma.publicKey),
      InvalidWillowValueError,
    );
    // Forged by hand: even a signature over something cannot make it valid.
    const forged: McCapability = {
      ...toBetty,
      delegations: [...toBetty.delegations, {
        area: outside,
        user: gemma.publicKey,
        signature: await sign(betty.secretKey, Uint8Array.of(0)),
      }],
    };
    assert(!await isValidCapability(forged));
  }
});

Deno.test("meadowcap: a delegation or an entry signed by anyone but the receiver is refused", async () => {
  const ns = await generateNamespaceKeyPair("owned");
  const [alfie, betty, mallory] = await Promise.all([1, 2, 3].map(() => generateKeyPair()));
  const root = await ownedCapability(ns, alfie.publicKey, "write");
  const inside = area("any", ["blog"]);
  await assertRejects(
    () => delegate(root, mallory.secretKey, inside, betty.publicKey),
    InvalidWillowValueError,
  );
  const signedByMallory: McCapability = {
    ...root,
    delegations: [{
      area: inside,
      user: betty.publicKey,
      signature: await sign(mallory.secretKey, handover(root, 0, inside, betty.publicKey)),
    }],
  };
  assert(!await isValidCapability(signedByMallory));
  const e = entryAt(ns, alfie.publicKey, ["blog"]);
  assert(!await isAuthorisedWrite(e, await authorise(e, root, mallory.secretKey)));
  const forgedRoot: McCapability = {
    ...root,
    initialAuthorisation: await sign(
      mallory.secretKey,
      ownedInitialMessage("write", alfie.publicKey),
    ),
  };
  assert(!await isValidCapability(forgedRoot), "initial authorisation not by the namespace");
  const readToWrite: McCapability = { ...root, accessMode: "read" };
  assert(!await isValidCapability(readToWrite), "the mode is part of what the namespace signed");
});

Deno.test("meadowcap: read capabilities, other namespaces and tampered entries do not write", async () => {
  const ns = await generateNamespaceKeyPair("owned");
  const other = await generateNamespaceKeyPair("owned");
  const alfie = await generateKeyPair();
  const reader = await ownedCapability(ns, alfie.publicKey, "read");
  assert(await isValidCapability(reader));
  const e = entryAt(ns, alfie.publicKey, ["blog"]);
  assert(!await isAuthorisedWrite(e, await authorise(e, reader, alfie.secretKey)), "read mode");
  const writer = await ownedCapability(ns, alfie.publicKey, "write");
  const elsewhere = entryAt(other, alfie.publicKey, ["blog"]);
  assert(
    !await isAuthorisedWrite(elsewhere, await authorise(elsewhere, writer, alfie.secretKey)),
    "a capability for another namespace",
  );
  const token = await authorise(e, writer, alfie.secretKey);
  assert(await isAuthorisedWrite(e, token));
  const tampered = makeEntry({ ...e, payloadLength: e.payloadLength + 1n });
  assert(!await isAuthorisedWrite(tampered, token), "the signature covers the whole entry");
  const limited = await delegate(
    writer,
    alfie.secretKey,
    area("any", [], 0n, 10n),
    alfie.publicKey,
  );
  assert(
    !await isAuthorisedWrite(e, await authorise(e, limited, alfie.secretKey)),
    "outside times",
  );
});

Deno.test("meadowcap: communal and owned keys cannot be used as the other kind", async () => {
  const communalNs = await generateNamespaceKeyPair("communal");
  const ownedNs = await generateNamespaceKeyPair("owned");
  const alfie = await generateKeyPair();
  await assertRejects(
    () => ownedCapability(communalNs, alfie.publicKey, "write"),
    InvalidWillowValueError,
  );
  assertThrows(
    () => communalCapability(ownedNs.publicKey, alfie.publicKey, "write"),
    InvalidWillowValueError,
  );
  const ownedOverCommunal: McCapability = {
    kind: "owned",
    accessMode: "write",
    namespaceKey: communalNs.publicKey,
    userKey: alfie.publicKey,
    initialAuthorisation: await sign(
      communalNs.secretKey,
      ownedInitialMessage("write", alfie.publicKey),
    ),
    delegations: [],
  };
  assert(!await isValidCapability(ownedOverCommunal), "communal namespace key used as owned");
  const e = entryAt(communalNs, alfie.publicKey, ["x"]);
  assert(!await isAuthorisedWrite(e, await authorise(e, ownedOverCommunal, alfie.secretKey)));
  const communalOverOwned: McCapability = {
    kind: "communal",
    accessMode: "write",
    namespaceKey: ownedNs.publicKey,
    userKey: alfie.publicKey,
    delegations: [],
  };
  assert(!await isValidCapability(communalOverOwned), "owned namespace key used as communal");
  const f = entryAt(ownedNs, alfie.publicKey, ["x"]);
  assert(!await isAuthorisedWrite(f, await authorise(f, communalOverOwned, alfie.secretKey)));
});

Deno.test("meadowcap: a first communal delegation is encoded in the full area, signed in the subspace area", async () => {
  const ns = await generateNamespaceKeyPair("communal");
  const [alfie, betty] = await Promise.all([1, 2].map(() => generateKeyPair()));
  const base = communalCapability(ns.publicKey, alfie.publicKey, "read");
  const within = area(alfie.publicKey, []);
  const cap = await delegate(base, alfie.secretKey, within, betty.publicKey);
  const bytes = encode((w) => writeMcCapability(w, cap));
  // header, namespace, user, then the area relative to the full area (willow-rs and the official
  // vectors): the subspace differs from "any", so its id follows; then user and signature.
  assertEquals(bytes.length, 1 + 32 + 32 + (1 + 32 + 1 + 1) + 32 + 64);
  assertEquals(bytes[65] & 0x80, 0x80);
  assertEquals(toHex(bytes.subarray(66, 98)), toHex(alfie.publicKey));
  // The handover names the area relative to the subspace area: no id in it.
  assertEquals(handover(base, 0, within, betty.publicKey).length, 1 + 32 + 3 + 32);
  const back = decode(bytes, readMcCapability);
  assertEquals(back, cap);
  assert(await isValidCapability(back));
  const owned = await ownedCapability(
    await generateNamespaceKeyPair("owned"),
    alfie.publicKey,
    "read",
  );
  const ownedBytes = encode((w) => writeMcCapability(w, owned));
  assertEquals(ownedBytes.length, 1 + 32 + 32 + 64);
});

Deno.test("meadowcap: enumeration capabilities delegate, verify and round-trip", async () => {
  const ns = await generateNamespaceKeyPair("owned");
  const [alfie, betty, mallory] = await Promise.all([1, 2, 3].map(() => generateKeyPair()));
  const cap = await delegateEnumeration(
    await enumerationCapability(ns, alfie.publicKey),
    alfie.secretKey,
    betty.publicKey,
  );
  assert(await isValidEnumerationCapability(cap));
  const bytes = encode((w) => writeEnumerationCapability(w, cap));
  const back = decode(bytes, readEnumerationCapability);
  assertEquals(encode((w) => writeEnumerationCapability(w, back)), bytes);
  assert(await isValidEnumerationCapability(back));
  await assertRejects(
    () => delegateEnumeration(cap, mallory.secretKey, mallory.publicKey),
    InvalidWillowValueError,
  );
  const wrongSigner = {
    ...cap,
    delegations: [{
      user: betty.publicKey,
      signature: await sign(mallory.secretKey, Uint8Array.of(1)) as Signature,
    }],
  };
  assert(!await isValidEnumerationCapability(wrongSigner));
});

Deno.test("meadowcap: the Willow'25 default authorisation token signs the default entry", async () => {
  // willowprotocol.org willow25.tsx, "Default Values" (listed there in decimal).
  const secretKey = fromHex("5e14ace4d2c8028fc89a8f04765b19d2cd752d91bb373c0c9ed476276b5c4541")!;
  const namespaceId = fromHex("934e6021339e1f013ba94900edc25d8d74c0b4e573768910ae0f507d8c817318")!;
  const digest = fromHex("96d34c5478458231e364767952aaea02a31d2203c66f4365692ef91f351068d2")!;
  const signature = fromHex(
    "2ac93ad2c13fedb696345dbac6e71254e99cb444e5e81b916fca0878f0a8a993" +
      "2bd1a4e846e1ca83377b740a29b8570a85038d50662ba8af66e5683c93521401",
  )!;
  const key = await publicKeyOf(secretKey);
  assertEquals(toHex(key), toHex(namespaceId));
  const defaultEntry = makeEntry({
    namespaceId: key,
    subspaceId: key,
    path: pathFromStrings(),
    timestamp: 0n,
    payloadLength: 0n,
    payloadDigest: asHash(digest),
  });
  const capability = communalCapability(key, key, "write");
  const token = await authorise(defaultEntry, capability, secretKey);
  assertEquals(
    toHex(token.signature),
    toHex(signature),
    "encode_entry matches the spec's byte for byte",
  );
  assert(await isAuthorisedWrite(defaultEntry, token));
});
