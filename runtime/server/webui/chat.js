// The chat view: a conversation (kept in local storage) whose replies stream from
// /v1/chat/completions token by token, with Stop, Regenerate and New chat.

import { isAbort, postStream } from "./api.js";
import { samplingFields, systemPrompt } from "./settings.js";
import { generationStats } from "./stats.js";
import { refreshStatus } from "./status.js";

const STORAGE = "genrt.chat";
const log = document.getElementById("chat-log");
const form = document.getElementById("chat-form");
const input = document.getElementById("chat-input");
const sendButton = document.getElementById("chat-send");
const stopButton = document.getElementById("chat-stop");
const regenerateButton = document.getElementById("chat-regenerate");
const clearButton = document.getElementById("chat-clear");

let messages = []; // {role, content, finish?, meta?}
let generation = null; // the AbortController of the reply in flight

// context: {model, showError}
export function initChat(context) {
  messages = JSON.parse(localStorage.getItem(STORAGE) ?? "[]");
  render();
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    send(context);
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  stopButton.addEventListener("click", () => generation?.abort());
  regenerateButton.addEventListener("click", () => regenerate(context));
  clearButton.addEventListener("click", () => {
    messages = [];
    save();
    render();
  });
}

function send(context) {
  const text = input.value.trim();
  if (text === "" || generation) return;
  input.value = "";
  messages.push({ role: "user", content: text });
  generate(context);
}

// Asks again for the last reply (or answers the last message if no reply came).
function regenerate(context) {
  if (generation) return;
  if (messages.at(-1)?.role === "assistant") messages.pop();
  if (messages.length > 0) generate(context);
}

async function generate(context) {
  const history = messages.map(({ role, content }) => ({ role, content }));
  const system = systemPrompt();
  if (system !== "") history.unshift({ role: "system", content: system });
  const reply = { role: "assistant", content: "" };
  messages.push(reply);
  render();
  const item = log.lastElementChild;
  const content = item.querySelector(".content");
  item.classList.add("streaming");
  generation = new AbortController();
  setBusy(true);

  const started = performance.now();
  let firstToken = null;
  let usage = null;
  try {
    const body = { model: context.model, messages: history, ...samplingFields(), stream_options: { include_usage: true } };
    await postStream("/v1/chat/completions", body, generation.signal, (chunk) => {
      const choice = chunk.choices?.[0];
      if (choice?.delta?.content) {
        firstToken ??= performance.now();
        reply.content += choice.delta.content;
        content.textContent = reply.content;
        item.scrollIntoView({ block: "end" });
      }
      if (choice?.finish_reason) reply.finish = choice.finish_reason;
      if (chunk.usage) usage = chunk.usage;
    });
    const tokens = usage?.completion_tokens ?? null;
    reply.meta = generationStats({ tokens, started, firstToken, ended: performance.now(), finish: reply.finish });
  } catch (error) {
    if (isAbort(error)) {
      reply.finish = "stopped";
      reply.meta = "stopped";
    } else {
      context.showError(error.message);
      if (reply.content === "") messages.pop();
    }
  } finally {
    generation = null;
    setBusy(false);
    save();
    render();
    refreshStatus();
  }
}

function setBusy(busy) {
  sendButton.disabled = busy;
  regenerateButton.disabled = busy;
  clearButton.disabled = busy;
  stopButton.hidden = !busy;
}

function save() {
  localStorage.setItem(STORAGE, JSON.stringify(messages));
}

function render() {
  log.replaceChildren(...messages.map(messageItem));
}

function messageItem(message) {
  const item = document.createElement("li");
  item.className = `message ${message.role}`;
  if (message.finish) item.dataset.finish = message.finish;
  const role = document.createElement("div");
  role.className = "role";
  role.textContent = message.role;
  const content = document.createElement("p");
  content.className = "content";
  content.textContent = message.content;
  item.append(role, content);
  if (message.meta) {
    const meta = document.createElement("p");
    meta.className = "meta";
    meta.textContent = message.meta;
    item.append(meta);
  }
  return item;
}
