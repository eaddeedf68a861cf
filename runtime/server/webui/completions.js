// The completions view: /v1/completions streamed with logprobs. The prompt is shown plain
// and each generated token as a span tinted by its probability; hovering, focusing or
// tapping one shows its logprob and the likeliest tokens at its place.

import { isAbort, postStream } from "./api.js";
import { samplingFields } from "./settings.js";
import { generationStats } from "./stats.js";
import { refreshStatus } from "./status.js";

const TOP_LOGPROBS = 5;
const form = document.getElementById("completion-form");
const promptInput = document.getElementById("completion-prompt");
const sendButton = document.getElementById("completion-send");
const stopButton = document.getElementById("completion-stop");
const output = document.getElementById("completion-output");
const meta = document.getElementById("completion-meta");
const info = document.getElementById("token-info");

let generation = null; // the AbortController of the completion in flight

// context: {model, showError}
export function initCompletions(context) {
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    complete(context);
  });
  stopButton.addEventListener("click", () => generation?.abort());
  for (const type of ["mouseover", "focusin", "click"]) {
    output.addEventListener(type, (event) => {
      if (event.target.classList.contains("token")) showTokenInfo(event.target);
    });
  }
  output.addEventListener("mouseleave", () => (info.hidden = true));
  output.addEventListener("focusout", () => (info.hidden = true));
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") info.hidden = true;
  });
}

async function complete(context) {
  if (generation) return;
  const prompt = promptInput.value;
  const promptSpan = document.createElement("span");
  promptSpan.className = "prompt";
  promptSpan.textContent = prompt;
  output.replaceChildren(promptSpan);
  meta.textContent = "";
  info.hidden = true;
  generation = new AbortController();
  setBusy(true);

  // Tokens that are part of a character ("bytes:\xNN") show once the character is whole.
  const decoder = new TextDecoder();
  const started = performance.now();
  let firstToken = null;
  let tokens = 0;
  let finish = null;
  try {
    const body = { model: context.model, prompt, logprobs: TOP_LOGPROBS, ...samplingFields() };
    await postStream("/v1/completions", body, generation.signal, (chunk) => {
      const choice = chunk.choices?.[0];
      const logprobs = choice?.logprobs;
      if (logprobs) {
        firstToken ??= performance.now();
        logprobs.tokens.forEach((token, i) => {
          output.append(tokenSpan(decoder, token, logprobs.token_logprobs[i], logprobs.top_logprobs[i]));
          tokens += 1;
        });
      }
      if (choice?.finish_reason) finish = choice.finish_reason;
    });
  } catch (error) {
    if (isAbort(error)) finish = "stopped";
    else context.showError(error.message);
  } finally {
    generation = null;
    setBusy(false);
    meta.textContent = generationStats({ tokens, started, firstToken, ended: performance.now(), finish });
    output.dataset.finish = finish ?? "error";
    refreshStatus();
  }
}

function tokenSpan(decoder, token, logprob, top) {
  const span = document.createElement("span");
  const probability = Math.exp(logprob);
  span.className = `token ${probability >= 0.5 ? "p-high" : probability >= 0.1 ? "p-mid" : "p-low"}`;
  span.tabIndex = 0;
  span.textContent = decoder.decode(tokenBytes(token), { stream: true });
  span.dataset.token = token;
  span.dataset.logprob = String(logprob);
  span.dataset.top = JSON.stringify(top ?? {});
  return span;
}

// A token's bytes: its text in UTF-8, or the bytes of "bytes:\xe2\x80" as OpenAI writes a
// token that is not UTF-8 by itself.
function tokenBytes(token) {
  if (!token.startsWith("bytes:")) return new TextEncoder().encode(token);
  const hex = token.slice("bytes:".length).split("\\x").filter((part) => part !== "");
  return Uint8Array.from(hex, (part) => Number.parseInt(part, 16));
}

function showTokenInfo(span) {
  const table = document.createElement("table");
  const caption = document.createElement("caption");
  caption.textContent = `logprob ${Number(span.dataset.logprob).toFixed(4)}`;
  table.append(caption);
  for (const [token, logprob] of Object.entries(JSON.parse(span.dataset.top))) {
    const row = table.insertRow();
    if (token === span.dataset.token) row.className = "chosen";
    row.insertCell().textContent = JSON.stringify(token);
    row.insertCell().textContent = logprob.toFixed(3);
    row.insertCell().textContent = `${(Math.exp(logprob) * 100).toFixed(1)}%`;
  }
  info.replaceChildren(table);
  const box = span.getBoundingClientRect();
  info.style.left = `${Math.max(8, Math.min(box.left + window.scrollX, window.innerWidth - 360))}px`;
  info.style.top = `${box.bottom + window.scrollY + 4}px`;
  info.hidden = false;
}

function setBusy(busy) {
  sendButton.disabled = busy;
  stopButton.hidden = !busy;
}
