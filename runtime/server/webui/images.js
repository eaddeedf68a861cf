// The image view: /v1/images/generations with the pipeline's options (its default size,
// steps, guidance and scheduler from /v1/models), a progress bar while the job runs and a
// gallery of the results, newest first, each with its parameters. The endpoint answers
// once the images are done, so progress comes from /metrics: the running job's step of its
// steps, read every 250 ms (indeterminate while the job waits for another to finish).

import { postJson } from "./api.js";
import { imageJob, readMetrics, refreshStatus } from "./status.js";

const PROGRESS_POLL_MS = 250;
const form = document.getElementById("image-form");
const sendButton = document.getElementById("image-send");
const progress = document.getElementById("image-progress");
const elapsed = document.getElementById("image-elapsed");
const gallery = document.getElementById("gallery");

// context: {model, showError}; options: /v1/models' "image_options".
export function initImages(context, options) {
  const [width, height] = options.size.split("x");
  form.elements.steps.value = options.steps;
  form.elements.guidance_scale.value = options.guidance_scale;
  form.elements.width.value = width;
  form.elements.height.value = height;
  const schedulers = form.elements.scheduler;
  schedulers.append(new Option(`${options.scheduler} (the pipeline's)`, ""));
  for (const name of options.schedulers) schedulers.append(new Option(name, name));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    generate(context);
  });
}

async function generate(context) {
  const values = form.elements;
  // A seed of the page's own when none is given, so that the gallery can show it.
  const seed = values.seed.value === "" ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed.value);
  const body = {
    model: context.model,
    prompt: values.prompt.value,
    steps: Number(values.steps.value),
    guidance_scale: Number(values.guidance_scale.value),
    seed,
    size: `${values.width.value}x${values.height.value}`,
  };
  if (values.negative_prompt.value !== "") body.negative_prompt = values.negative_prompt.value;
  if (values.scheduler.value !== "") body.scheduler = values.scheduler.value;

  sendButton.disabled = true;
  const started = performance.now();
  const watch = watchProgress(started);
  try {
    const result = await postJson("/v1/images/generations", body);
    const seconds = (performance.now() - started) / 1000;
    for (const image of result.data) gallery.prepend(galleryItem(image.b64_json, body, seconds));
    elapsed.textContent = `done in ${seconds.toFixed(1)} s`;
  } catch (error) {
    context.showError(error.message);
    elapsed.textContent = "";
  } finally {
    clearInterval(watch);
    progress.hidden = true;
    sendButton.disabled = false;
    refreshStatus();
  }
}

// Shows the elapsed time and the running job's step until the returned interval is cleared.
function watchProgress(started) {
  progress.removeAttribute("value"); // indeterminate until the job's first step shows
  progress.hidden = false;
  const update = async () => {
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    try {
      const metrics = await readMetrics();
      const job = imageJob(metrics);
      if (job !== null) progress.value = metrics.get("genrt_image_job_step") / metrics.get("genrt_image_job_steps");
      elapsed.textContent = `${seconds} s${job === null ? "" : `, ${job}`}`;
    } catch {
      elapsed.textContent = `${seconds} s`;
    }
  };
  update();
  return setInterval(update, PROGRESS_POLL_MS);
}

function galleryItem(base64, request, seconds) {
  const item = document.createElement("li");
  const figure = document.createElement("figure");
  const image = document.createElement("img");
  image.src = `data:image/png;base64,${base64}`;
  image.alt = request.prompt;
  const caption = document.createElement("figcaption");
  const prompt = document.createElement("strong");
  prompt.textContent = request.prompt;
  const parameters = [
    request.negative_prompt ? `not: ${request.negative_prompt}` : null,
    request.size,
    `${request.steps} steps`,
    `guidance ${request.guidance_scale}`,
    `seed ${request.seed}`,
    request.scheduler ?? "pipeline's scheduler",
    `${seconds.toFixed(1)} s`,
  ].filter((part) => part !== null);
  const save = document.createElement("a");
  save.href = image.src;
  save.download = `genrt-${request.seed}.png`;
  save.textContent = "Save";
  caption.append(prompt, document.createElement("br"), `${parameters.join(" · ")} · `, save);
  figure.append(image, caption);
  item.append(figure);
  return item;
}
