/// <reference lib="dom" />
/**
 * The home page's script (home_page.ts), bundled for browsers by `deno task build:web`:
 * uploads by drag and drop or file picker, and downloads verified in the browser by
 * `src/client`, with progress and the hash the bytes were proven against.
 *
 * Uploads go with `XMLHttpRequest` because it reports upload progress and `fetch` does not. The
 * token, when the gateway wants one, lives in `sessionStorage`: this tab only, gone when it
 * closes, never in a cookie that would ride along on other requests.
 *
 * @module
 */

import { formatSize } from "../../collection/listing_html.ts";
import { verifiedFetch } from "../../client/mod.ts";

const TOKEN_KEY = "gateway-token";

function element<T extends HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (found === null) throw new Error(`the page has no #${id}`);
  return found as T;
}

function setStatus(target: HTMLElement, text: string, tone: "" | "ok" | "bad" = ""): void {
  target.textContent = text;
  target.className = `status ${tone}`.trim();
}

/** `1234 of 5678 bytes verified (21%)`. */
function progressText(done: number, total: number): string {
  const percent = total === 0 ? 100 : Math.floor((done / total) * 100);
  return `${done} of ${total} bytes verified (${percent}%)`;
}

interface Stored {
  hash: string;
  size?: number;
  entries?: unknown[];
  error?: string;
  detail?: string;
}

/** POSTs `body` with upload progress; resolves with the status and the parsed JSON answer. */
function post(
  url: string,
  body: Blob | FormData,
  token: string,
  onProgress: (loaded: number, total: number) => void,
): Promise<{ status: number; answer: Stored }> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", url);
    if (token !== "") xhr.setRequestHeader("Authorization", `Bearer ${token}`);
    xhr.upload.onprogress = (e) => onProgress(e.loaded, e.total);
    xhr.onload = () => {
      try {
        resolve({ status: xhr.status, answer: JSON.parse(xhr.responseText) });
      } catch {
        reject(new Error(`the gateway answered ${xhr.status} without JSON`));
      }
    };
    xhr.onerror = () => reject(new Error("the upload could not reach the gateway"));
    xhr.send(body);
  });
}

function setUpUpload(verifyHash: HTMLInputElement): void {
  const zone = element<HTMLDivElement>("drop-zone");
  const input = element<HTMLInputElement>("file-input");
  // Present only when the gateway wants a token.
  const token = document.getElementById("token") as HTMLInputElement | null;
  const status = element<HTMLParagraphElement>("upload-status");
  if (token !== null) {
    token.value ||= sessionStorage.getItem(TOKEN_KEY) ?? "";
    token.addEventListener("input", () => sessionStorage.setItem(TOKEN_KEY, token.value));
  }

  const upload = async (files: File[]) => {
    if (files.length === 0) return;
    if (token !== null && token.value === "") {
      setStatus(status, "This gateway needs a token to accept uploads: enter it above.", "bad");
      token.focus();
      return;
    }
    let body: Blob | FormData = files[0], url = "/blobs";
    if (files.length > 1) {
      const form = new FormData();
      for (const file of files) form.append("file", file, file.name);
      body = form;
      url = "/collections";
    }
    const what = files.length === 1 ? files[0].name : `${files.length} files`;
    try {
      const { status: code, answer } = await post(
        url,
        body,
        token?.value ?? "",
        (loaded, total) => {
          setStatus(status, `Uploading ${what}: ${formatSize(loaded)} of ${formatSize(total)}`);
        },
      );
      if (code !== 200 && code !== 201) {
        setStatus(status, `Upload refused (${code}): ${answer.detail ?? answer.error}`, "bad");
        return;
      }
      const kind = files.length === 1 ? "blob" : "collection";
      setStatus(status, `Stored ${what} as ${kind} ${answer.hash}`, "ok");
      status.dataset.hash = answer.hash;
      if (kind === "blob") verifyHash.value = answer.hash;
    } catch (e) {
      setStatus(status, e instanceof Error ? e.message : String(e), "bad");
    }
  };

  input.addEventListener("change", () => upload([...(input.files ?? [])]));
  zone.addEventListener("dragover", (e) => {
    e.preventDefault();
    zone.classList.add("over");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    zone.classList.remove("over");
    upload([...(e.dataTransfer?.files ?? [])]);
  });
}

function setUpDownload(verifyHash: HTMLInputElement): void {
  const form = element<HTMLFormElement>("verify-form");
  const bar = element<HTMLProgressElement>("verify-progress");
  const status = element<HTMLParagraphElement>("verify-status");
  const result = element<HTMLParagraphElement>("verify-result");
  const shown = element<HTMLElement>("verified-hash");
  const save = element<HTMLAnchorElement>("save-link");
  let controller: AbortController | undefined;

  const verify = async (hash: string) => {
    controller?.abort();
    const current = controller = new AbortController();
    result.classList.add("hidden");
    if (save.href.startsWith("blob:")) URL.revokeObjectURL(save.href);
    bar.value = 0;
    setStatus(status, "Proving the size…");
    try {
      const res = await verifiedFetch(location.origin, hash, {
        signal: current.signal,
        onProgress: ({ verified, total }) => {
          bar.value = total === 0 ? 1 : verified / total;
          setStatus(status, progressText(verified, total));
        },
      });
      // Every piece of the body verified before it was handed over; keep them for the file.
      const parts: Uint8Array<ArrayBuffer>[] = [];
      for await (const piece of res.body!) parts.push(piece as Uint8Array<ArrayBuffer>);
      const total = parts.reduce((n, p) => n + p.length, 0);
      bar.value = 1;
      setStatus(status, progressText(total, total), "ok");
      // The ETag names the hash every byte was checked against.
      shown.textContent = res.headers.get("ETag")!.replaceAll('"', "");
      // Typed, so that the browser adds no extension of its own guessing to the name.
      save.href = URL.createObjectURL(new Blob(parts, { type: res.headers.get("Content-Type")! }));
      save.download = shown.textContent;
      result.classList.remove("hidden");
    } catch (e) {
      if (current.signal.aborted) return;
      // The client's typed errors say what failed: CorruptDataError, NotFoundError, …
      setStatus(status, e instanceof Error ? `${e.name}: ${e.message}` : String(e), "bad");
    }
  };

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    verify(verifyHash.value.trim());
  });
  document.addEventListener("click", (e) => {
    const button = (e.target as Element).closest<HTMLButtonElement>("button.verify");
    if (button === null) return;
    verifyHash.value = button.dataset.hash ?? "";
    verify(verifyHash.value);
  });
}

const verifyHash = element<HTMLInputElement>("verify-hash");
setUpUpload(verifyHash);
setUpDownload(verifyHash);
// The BLAKE3 kernel loads by top-level await, which the page's load event does not wait for:
// this says the handlers are in place (tests wait for it).
document.documentElement.dataset.ready = "true";
