// A generation's line under its output: "12 tokens · 85.3 tokens/s · first token 20 ms · length",
// timed in the browser (performance.now() values): what this person waited, network included.

// tokens: how many were generated (null: unknown); firstToken: when the first arrived
// (null: none did); finish: the finish reason, "stopped" or null.
export function generationStats({ tokens, started, firstToken, ended, finish }) {
  const parts = [];
  if (tokens !== null) parts.push(`${tokens} tokens`);
  if (tokens > 1 && firstToken !== null && ended > firstToken) {
    parts.push(`${(((tokens - 1) * 1000) / (ended - firstToken)).toFixed(1)} tokens/s`);
  }
  if (firstToken !== null) parts.push(`first token ${Math.round(firstToken - started)} ms`);
  if (finish) parts.push(finish);
  return parts.join(" · ");
}
