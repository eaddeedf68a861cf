// The status strip: the model, and the server's own /metrics read every 2 s while the page
// is visible. For a language model: tokens/s (the server's, over its last 10 s), time to
// first token (the mean over the first tokens since the previous read), KV-cache use, and
// the sequences running and waiting (the queue). For an image pipeline: the images made,
// the mean time of a denoising step, and the running job's step.

const POLL_MS = 2000;
const strip = document.getElementById("status");

// GET /metrics as a Map from each unlabelled sample's name to its value.
export async function readMetrics() {
  const response = await fetch("/metrics");
  if (!response.ok) throw new Error(`/metrics answered ${response.status}`);
  const samples = new Map();
  for (const line of (await response.text()).split("\n")) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*) (\S+)$/.exec(line);
    if (match) samples.set(match[1], Number(match[2]));
  }
  return samples;
}

// The mean of a histogram's observations (seconds, shown in ms) between two reads, or of
// all of them on the first read; `shown` stays while nothing new was observed.
function recentMean(name, now, before, shown) {
  const count = now.get(`${name}_count`) - (before === now ? 0 : before.get(`${name}_count`));
  const sum = now.get(`${name}_sum`) - (before === now ? 0 : before.get(`${name}_sum`));
  if (!(count > 0)) return shown === "…" ? "–" : shown;
  return `${Math.round((sum / count) * 1000)} ms`;
}

// The running image job's progress, "step 3 of 30", or null when none runs.
export function imageJob(metrics) {
  const steps = metrics.get("genrt_image_job_steps");
  return steps > 0 ? `step ${metrics.get("genrt_image_job_step")} of ${steps}` : null;
}

// Per kind, each field's id (status-ID), label and text from (metrics now, metrics at the
// previous read, the text shown).
const FIELDS = {
  text: [
    { id: "tokens-per-second", label: "Tokens/s", show: (m) => m.get("genrt_generation_tokens_per_second").toFixed(1) },
    {
      id: "first-token",
      label: "First token",
      show: (m, before, shown) => recentMean("genrt_time_to_first_token_seconds", m, before, shown),
    },
    {
      id: "kv-cache",
      label: "KV cache",
      show: (m) => {
        const used = m.get("genrt_kv_blocks_used");
        const total = used + m.get("genrt_kv_blocks_free");
        return `${((100 * used) / total).toFixed(1)}% of ${total} blocks`;
      },
    },
    { id: "running", label: "Running", show: (m) => String(m.get("genrt_requests_running")) },
    { id: "queue", label: "Queue", show: (m) => String(m.get("genrt_requests_waiting")) },
  ],
  images: [
    { id: "images", label: "Images", show: (m) => String(m.get("genrt_images_generated_total")) },
    {
      id: "step-time",
      label: "Step",
      show: (m, before, shown) => recentMean("genrt_diffusion_step_seconds", m, before, shown),
    },
    { id: "image-job", label: "Job", show: (m) => imageJob(m) ?? "idle" },
  ],
};

// Reads /metrics again now (a view calls it when its request ends); set by initStatus.
export let refreshStatus = () => {};

// kind: "text" or "images" (anything else shows the model alone).
export function initStatus(model, kind) {
  document.getElementById("status-model").textContent = model;
  const fields = FIELDS[kind] ?? [];
  const cells = fields.map(addField);
  if (fields.length === 0) return;
  let previous = null;
  const update = async () => {
    if (document.hidden) return;
    try {
      const now = await readMetrics();
      fields.forEach((field, i) => (cells[i].textContent = field.show(now, previous ?? now, cells[i].textContent)));
      previous = now;
    } catch {
      cells.forEach((cell) => (cell.textContent = "–"));
    }
  };
  refreshStatus = update;
  update();
  setInterval(update, POLL_MS);
  document.addEventListener("visibilitychange", update);
}

function addField({ id, label }) {
  const group = document.createElement("div");
  const term = document.createElement("dt");
  term.textContent = label;
  const value = document.createElement("dd");
  value.id = `status-${id}`;
  value.textContent = "…";
  group.append(term, value);
  strip.append(group);
  return value;
}
