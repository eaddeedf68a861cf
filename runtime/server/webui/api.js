// The server's own API as the page calls it: the API key (typed once, kept for the
// browser session), errors in the server's words, and streamed responses.

const KEY_STORAGE = "genrt.apiKey";

// An answer other than 2xx; `message` is the server's error message as it wrote it.
export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

// Asks the person for the key and resolves to it (null: they declined). main.js sets it.
let askForKey = async () => null;
export function setKeyPrompt(prompt) {
  askForKey = prompt;
}

// fetch() of one of the server's paths with the key; a 401 asks for the key and retries.
export async function request(path, { body, signal } = {}) {
  for (;;) {
    const key = sessionStorage.getItem(KEY_STORAGE);
    const headers = {};
    if (key) headers.Authorization = `Bearer ${key}`;
    const init = { method: "GET", headers, signal };
    if (body !== undefined) {
      init.method = "POST";
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const response = await fetch(path, init);
    if (response.ok) return response;
    const message = await errorMessage(response);
    if (response.status === 401) {
      const typed = await askForKey(message);
      if (typed) {
        sessionStorage.setItem(KEY_STORAGE, typed);
        continue;
      }
    }
    throw new ApiError(response.status, message);
  }
}

async function errorMessage(response) {
  const text = await response.text();
  try {
    return JSON.parse(text).error.message;
  } catch {
    return text || `${response.status} ${response.statusText}`;
  }
}

export async function getJson(path) {
  return (await request(path)).json();
}

export async function postJson(path, body, signal) {
  return (await request(path, { body, signal })).json();
}

// Posts a request with "stream": true and calls onEvent(json) with each Server-Sent
// Event's data as it arrives, until `data: [DONE]`.
export async function postStream(path, body, signal, onEvent) {
  const response = await request(path, { body: { ...body, stream: true }, signal });
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let pending = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    pending += value.replaceAll("\r\n", "\n");
    for (let end = pending.indexOf("\n\n"); end >= 0; end = pending.indexOf("\n\n")) {
      const event = pending.slice(0, end);
      pending = pending.slice(end + 2);
      const data = event
        .split("\n")
        .filter((line) => line.startsWith("data:"))
        .map((line) => line.slice(5).trimStart())
        .join("\n");
      if (data === "[DONE]") return;
      if (!data) continue;
      const json = JSON.parse(data);
      if (json.error) throw new ApiError(0, json.error.message);
      onEvent(json);
    }
  }
}

// Whether `error` is the person pressing Stop (an aborted fetch).
export function isAbort(error) {
  return error?.name === "AbortError";
}
