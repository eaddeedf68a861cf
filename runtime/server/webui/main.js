// The playground's start: asks the server what it holds (GET /v1/models: the model and the
// endpoints it answers), shows the views that fit, and owns the tabs, the error banner and
// the API-key dialog.

import { ApiError, getJson, setKeyPrompt } from "./api.js";
import { initChat } from "./chat.js";
import { initCompletions } from "./completions.js";
import { initImages } from "./images.js";
import { initSampling } from "./settings.js";
import { initStatus } from "./status.js";

const VIEW_STORAGE = "genrt.view";
const LOADING_RETRY_MS = 1000;
const errorBanner = document.getElementById("error");
const samplingPanel = document.getElementById("sampling-panel");

const VIEWS = {
  chat: { endpoint: "/v1/chat/completions", sampling: true },
  completions: { endpoint: "/v1/completions", sampling: true },
  images: { endpoint: "/v1/images/generations", sampling: false },
};

function showError(message) {
  document.getElementById("error-text").textContent = message;
  errorBanner.hidden = false;
}

function hideError() {
  errorBanner.hidden = true;
}

// The key dialog; resolves to the typed key, or null when cancelled. Concurrent requests
// that meet a 401 share one dialog.
let keyPrompt = null;
function askForKey(reason) {
  keyPrompt ??= new Promise((resolve) => {
    const dialog = document.getElementById("key-dialog");
    const keyForm = document.getElementById("key-form");
    const input = document.getElementById("key-input");
    document.getElementById("key-reason").textContent = reason;
    input.value = "";
    const finish = (key) => {
      keyForm.onsubmit = null;
      dialog.oncancel = null;
      document.getElementById("key-cancel").onclick = null;
      dialog.close();
      keyPrompt = null;
      resolve(key);
    };
    keyForm.onsubmit = (event) => {
      event.preventDefault();
      finish(input.value);
    };
    dialog.oncancel = (event) => {
      event.preventDefault();
      finish(null);
    };
    document.getElementById("key-cancel").onclick = () => finish(null);
    dialog.showModal();
  });
  return keyPrompt;
}

// The served model, waiting while the server is still loading it (503).
async function servedModel() {
  for (;;) {
    try {
      return (await getJson("/v1/models")).data[0];
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 503)) throw error;
      showError(error.message);
      await new Promise((resolve) => setTimeout(resolve, LOADING_RETRY_MS));
    }
  }
}

function selectView(name) {
  for (const view of Object.keys(VIEWS)) {
    const selected = view === name;
    const tab = document.getElementById(`tab-${view}`);
    tab.setAttribute("aria-selected", String(selected));
    tab.tabIndex = selected ? 0 : -1;
    document.getElementById(`view-${view}`).hidden = !selected;
  }
  samplingPanel.hidden = !VIEWS[name].sampling;
  document.getElementById("system-label").hidden = name !== "chat";
  localStorage.setItem(VIEW_STORAGE, name);
}

// Tabs as the ARIA tabs pattern has them: click, or the arrow keys between them.
function initTabs(available) {
  available.forEach((name, i) => {
    const tab = document.getElementById(`tab-${name}`);
    tab.hidden = false;
    tab.addEventListener("click", () => selectView(name));
    tab.addEventListener("keydown", (event) => {
      const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
      if (step === undefined) return;
      const next = available[(i + step + available.length) % available.length];
      selectView(next);
      document.getElementById(`tab-${next}`).focus();
    });
  });
  const saved = localStorage.getItem(VIEW_STORAGE);
  selectView(available.includes(saved) ? saved : available[0]);
}

async function main() {
  setKeyPrompt(askForKey);
  document.getElementById("error-close").addEventListener("click", hideError);
  initSampling();
  let model;
  try {
    model = await servedModel();
  } catch (error) {
    showError(error.message);
    return;
  }
  hideError();
  const endpoints = new Set(model.endpoints ?? []);
  const available = Object.keys(VIEWS).filter((view) => endpoints.has(VIEWS[view].endpoint));
  const context = { model: model.id, showError };
  initStatus(model.id, endpoints.has("/v1/images/generations") ? "images" : available.length > 0 ? "text" : "none");
  if (available.length === 0) {
    showError(`'${model.id}' answers ${[...endpoints].join(", ")}, which the playground has no view for.`);
    return;
  }
  if (available.includes("chat")) initChat(context);
  if (available.includes("completions")) initCompletions(context);
  if (available.includes("images")) initImages(context, model.image_options);
  initTabs(available);
  document.body.dataset.ready = "true";
}

main();
