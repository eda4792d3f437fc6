/**
 * `deno task bench [suite…]`: runs the benchmark suites (all by default) and prints each figure
 * beside its same-run baseline and target. Exits 1 if a target was missed.
 */
import { collectionsBench } from "./collections.ts";
import { coreBench } from "./core.ts";
import { httpBench } from "./http.ts";
import { loadBench } from "./load.ts";
import { peersBench } from "./peers.ts";
import { willowBench } from "./willow.ts";

const SUITES: Record<string, () => Promise<boolean>> = {
  core: coreBench,
  collections: collectionsBench,
  http: httpBench,
  load: loadBench,
  peers: peersBench,
  willow: willowBench,
};

const wanted = Deno.args.length > 0 ? Deno.args : Object.keys(SUITES);
let ok = true;
for (const name of wanted) {
  const suite = SUITES[name];
  if (!suite) {
    console.error(`unknown suite "${name}"; suites: ${Object.keys(SUITES).join(", ")}`);
    Deno.exit(2);
  }
  ok = (await suite()) && ok;
}
console.log(ok ? "\nall targets met" : "\nsome targets MISSED");
Deno.exit(ok ? 0 : 1);
