/**
 * A real Deno KV whose atomic operations report their checks: the most any one commit made.
 * `denokv` refuses a commit with more than ten, so the stores must stay within that.
 */
export function countingChecks(kv: Deno.Kv): { kv: Deno.Kv; most(): number } {
  let most = 0;
  const counting = new Proxy(kv, {
    get(target, prop) {
      if (prop !== "atomic") {
        const value = Reflect.get(target, prop);
        return typeof value === "function" ? value.bind(target) : value;
      }
      return () => {
        const op = target.atomic();
        let checks = 0;
        const check = op.check.bind(op);
        op.check = (...c: Deno.AtomicCheck[]) => {
          checks += c.length;
          most = Math.max(most, checks);
          return check(...c);
        };
        return op;
      };
    },
  });
  return { kv: counting, most: () => most };
}
