// The sampling panel shared by chat and completions, kept in local storage. An empty
// field is left out of the request, so the server's default applies.

const STORAGE = "genrt.sampling";
const form = document.getElementById("sampling");

const INTEGERS = new Set(["top_k", "max_tokens", "seed"]);
const NUMBERS = new Set(["temperature", "top_p", "min_p"]);

export function initSampling() {
  const saved = JSON.parse(localStorage.getItem(STORAGE) ?? "{}");
  for (const [name, value] of Object.entries(saved)) {
    if (form.elements[name]) form.elements[name].value = value;
  }
  form.addEventListener("input", () => {
    const values = {};
    for (const field of form.elements) values[field.name] = field.value;
    localStorage.setItem(STORAGE, JSON.stringify(values));
  });
  form.addEventListener("submit", (event) => event.preventDefault());
  // Open beside the view on a wide screen; folded above it on a phone.
  document.getElementById("sampling-panel").open = window.matchMedia("(min-width: 900px)").matches;
}

// The request fields the panel sets: OpenAI's names and genrt's top_k and min_p.
export function samplingFields() {
  const fields = {};
  for (const field of form.elements) {
    const text = field.value.trim();
    if (text === "" || field.name === "system") continue;
    if (INTEGERS.has(field.name)) fields[field.name] = Number.parseInt(text, 10);
    else if (NUMBERS.has(field.name)) fields[field.name] = Number.parseFloat(text);
    else if (field.name === "stop") fields.stop = stopStrings(field.value);
  }
  return fields;
}

// One stop string a line, as typed; "\n" written out stands for a line break.
function stopStrings(text) {
  return text
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => line.replaceAll("\\n", "\n"));
}

// The chat's system prompt ("" for none).
export function systemPrompt() {
  return form.elements.system.value.trim();
}
