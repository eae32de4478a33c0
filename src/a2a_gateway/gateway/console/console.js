// The a2a-gateway console: one page, no framework, no build step.
//
// It speaks the 0.3 JSON-RPC binding of the agent it talks to. `message/stream` is a POST
// read with fetch as it arrives (EventSource cannot POST); when a stream ends before its
// final event (the gateway's resume frame at a deadline or drain, a dropped connection,
// 429/502/503/504) it resubscribes with `tasks/resubscribe` and `Last-Event-ID`, after a
// full-jitter backoff (or the server's Retry-After), and drops any event it has already
// shown (ids are Redis stream ids, `ms-seq`, compared as numbers). Everything an agent
// says is shown as text (textContent), never as HTML.

const RETRY = { base: 250, cap: 8000, maxAttempts: 12 };
const RETRYABLE = new Set([429, 502, 503, 504]);
const TERMINAL = new Set(["completed", "canceled", "failed", "rejected"]);
const INTERRUPTED = new Set(["input-required", "auth-required"]);

const $ = (id) => document.getElementById(id);
const root = new URL("../", window.location.href); // the gateway's root: the console is at /console/

const ui = {
  agent: $("agent"),
  scheme: $("auth-scheme"),
  credential: $("auth-value"),
  text: $("text"),
  file: $("file"),
  json: $("json"),
  send: $("send"),
  cancel: $("cancel"),
  newTask: $("new-task"),
  reply: $("reply"),
  replyText: $("reply-text"),
  replyQuestion: $("reply-question"),
  error: $("error"),
  state: $("state"),
  taskId: $("task-id"),
  connection: $("connection"),
  statusMessage: $("status-message"),
  artifacts: $("artifacts"),
  timeline: $("timeline"),
};

const session = {
  index: null, // agents.json
  agent: null, // the picked entry of index.agents
  card: null,
  taskId: null,
  contextId: null,
  state: null,
  lastId: null, // the id of the last event shown, as the server wrote it
  follow: null, // the AbortController of the stream being followed
};

// --- small helpers ---------------------------------------------------------------------

function el(tag, attrs = {}, text = "") {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  if (text) node.textContent = text;
  return node;
}

function phase(name) {
  document.body.dataset.phase = name;
}

function showError(message) {
  ui.error.textContent = message;
  ui.error.hidden = !message;
}

function parseId(id) {
  const match = /^(\d{1,20})-(\d{1,20})$/.exec(id ?? "");
  return match ? [BigInt(match[1]), BigInt(match[2])] : null;
}

function after(a, b) {
  return a[0] > b[0] || (a[0] === b[0] && a[1] > b[1]);
}

function sleep(ms, signal) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

function backoff(attempt) {
  return Math.random() * Math.min(RETRY.cap, RETRY.base * 2 ** attempt);
}

function retryAfter(response) {
  const value = response.headers.get("retry-after");
  if (!value) return null;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const when = Date.parse(value);
  return Number.isNaN(when) ? null : Math.max(0, when - Date.now());
}

function headers(extra = {}) {
  const out = { "Content-Type": "application/json", ...extra };
  const value = ui.credential.value.trim();
  if (value && ui.scheme.value === "bearer") out.Authorization = `Bearer ${value}`;
  if (value && ui.scheme.value === "apikey") out["X-API-Key"] = value;
  return out;
}

// crypto.randomUUID exists only in secure contexts (https, loopback): a gateway reached over
// plain http by another name (HOST=0.0.0.0 make dev, from another machine) still gets
// random version-4 ids.
function uuid() {
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function rpc(method, params) {
  return { jsonrpc: "2.0", id: uuid(), method, params };
}

function agentUrl() {
  return new URL(session.agent.path, root);
}

function base64Size(text) {
  const padding = text.endsWith("==") ? 2 : text.endsWith("=") ? 1 : 0;
  return Math.floor((text.length * 3) / 4) - padding;
}

function partsText(parts) {
  return (parts ?? [])
    .map((part) => {
      if (part.kind === "text") return part.text;
      // Parts other than text start a line of their own.
      if (part.kind === "file") {
        const file = part.file ?? {};
        const size = file.bytes ? ` ${base64Size(file.bytes)} bytes` : "";
        return `\n[file ${file.name ?? file.uri ?? ""} ${file.mimeType ?? ""}${size}]`;
      }
      if (part.kind === "data") return `\n${JSON.stringify(part.data)}`;
      return `\n[${part.kind} part]`;
    })
    .join("");
}

// --- errors as a person reads them -----------------------------------------------------

function errorText(error) {
  return `${error.message} (${error.code})`;
}

// What went wrong, from a response that is not the event stream or result asked for: an
// HTTP error, or a JSON-RPC error (or something else) answered with 200.
async function errorOf(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    /* not JSON */
  }
  const error = body?.error;
  if (response.ok) {
    if (error) return errorText(error);
    return `unexpected response (${response.headers.get("content-type") ?? "no content type"})`;
  }
  const detail = error ? errorText(error) : `HTTP ${response.status}`;
  if (response.status === 401) return `Not authenticated: ${detail}. Enter a credential above.`;
  if (response.status === 403) return `Not allowed: ${detail}`;
  return detail;
}

// --- the agent picker -------------------------------------------------------------------

async function loadAgents() {
  const response = await fetch(new URL("console/agents.json", root));
  if (!response.ok) throw new Error(`agents.json: HTTP ${response.status}`);
  session.index = await response.json();
  ui.agent.replaceChildren();
  for (const agent of session.index.agents) {
    const option = el("option", { value: agent.name }, agent.name);
    if (agent.default) option.selected = true;
    ui.agent.append(option);
  }
  const modes = session.index.auth ?? [];
  if (!modes.includes("none")) {
    ui.scheme.value = modes.includes("apikey") ? "apikey" : "bearer";
  }
  await pickAgent();
}

async function pickAgent() {
  session.follow?.abort();
  phase("loading");
  session.agent = session.index.agents.find((a) => a.name === ui.agent.value);
  const response = await fetch(new URL(session.agent.card, root));
  session.card = response.ok ? await response.json() : null;
  const card = session.card ?? {};
  $("card-description").textContent = card.description ?? "";
  const skills = $("card-skills");
  skills.replaceChildren();
  for (const skill of card.skills ?? []) {
    const example = skill.examples?.[0];
    const item = el("li", {}, `${skill.name}: ${skill.description ?? ""}`);
    if (example) {
      const use = el("button", { type: "button", class: "example" }, example);
      use.addEventListener("click", () => {
        ui.text.value = example;
      });
      item.append(" ", use);
    }
    skills.append(item);
  }
  const schemes = Object.keys(card.securitySchemes ?? {});
  $("card-security").textContent = schemes.length ? `Security: ${schemes.join(", ")}` : "";
  newTask();
}

// --- the task view ----------------------------------------------------------------------

function newTask() {
  session.follow?.abort();
  session.follow = null;
  Object.assign(session, { taskId: null, contextId: null, state: null, lastId: null });
  ui.timeline.replaceChildren();
  ui.artifacts.replaceChildren();
  ui.statusMessage.textContent = "";
  ui.taskId.textContent = "";
  ui.taskId.dataset.taskId = "";
  setState(null);
  ui.reply.hidden = true;
  ui.cancel.disabled = true;
  connection("idle");
  showError("");
  phase("idle");
}

function setState(state) {
  session.state = state;
  ui.state.dataset.state = state ?? "";
  ui.state.textContent = state ?? "no task";
  ui.cancel.disabled = !session.taskId || !state || TERMINAL.has(state);
}

function connection(name, text = "") {
  ui.connection.dataset.connection = name;
  ui.connection.textContent = text;
}

function notice(kind, text) {
  const item = el("li", { class: "notice", "data-notice": kind }, text);
  ui.timeline.append(item);
  item.scrollIntoView({ block: "nearest" });
}

function showArtifact(artifact, append) {
  const id = artifact.artifactId;
  let box = [...ui.artifacts.children].find((node) => node.dataset.artifactId === id);
  if (!box) {
    box = el("figure", { class: "artifact", "data-artifact-id": id });
    box.append(el("figcaption", {}, artifact.name ?? id), el("pre"));
    ui.artifacts.append(box);
  }
  const body = box.querySelector("pre");
  const text = partsText(artifact.parts);
  body.textContent = append ? body.textContent + text : text;
}

// One event of the stream: shown in the timeline, applied to the task view.
function apply(id, result) {
  const kind = result.kind;
  const item = el("li", { class: "event", "data-kind": kind, "data-event-id": id ?? "" });
  item.append(el("code", { class: "event-id" }, id ?? "(no id)"), el("span", { class: "kind" }, kind));
  let state = null;
  let final = false;
  if (kind === "task") {
    session.taskId = result.id;
    session.contextId = result.contextId;
    state = result.status?.state;
    for (const artifact of result.artifacts ?? []) showArtifact(artifact, false);
    final = TERMINAL.has(state) || INTERRUPTED.has(state);
    const message = result.status?.message;
    ui.statusMessage.textContent = message ? partsText(message.parts) : "";
  } else if (kind === "status-update") {
    session.taskId ??= result.taskId;
    session.contextId ??= result.contextId;
    state = result.status?.state;
    final = result.final === true;
    const said = result.status?.message ? partsText(result.status.message.parts) : "";
    if (said) item.append(el("span", { class: "said" }, said));
    // The agent's latest word: kept while the state stays, gone with a new state.
    if (said || state !== session.state) ui.statusMessage.textContent = said;
  } else if (kind === "artifact-update") {
    showArtifact(result.artifact, result.append === true);
    item.append(el("span", { class: "said" }, partsText(result.artifact?.parts)));
  } else if (kind === "message") {
    const said = partsText(result.parts);
    ui.statusMessage.textContent = said;
    item.append(el("span", { class: "said" }, said));
    final = true;
  }
  if (state) {
    item.dataset.state = state;
    item.append(el("span", { class: "state", "data-state": state }, state));
    setState(state);
  }
  item.dataset.final = String(final);
  ui.taskId.textContent = session.taskId ?? "";
  ui.taskId.dataset.taskId = session.taskId ?? "";
  ui.timeline.append(item);
  item.scrollIntoView({ block: "nearest" });
  return final;
}

function settle() {
  const state = session.state;
  connection("closed");
  if (INTERRUPTED.has(state)) {
    ui.replyQuestion.textContent = `The agent asks: ${ui.statusMessage.textContent || state}`;
    ui.reply.hidden = false;
    ui.replyText.focus();
    phase("input-required");
  } else {
    phase("done");
  }
}

// --- reading a stream ------------------------------------------------------------------

// The SSE events of a fetch body, as {id, data, retry} (data null for a frame without
// data: the gateway's resume frame, which ends the connection).
async function* sseEvents(body) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let event = { id: null, data: [], retry: null };
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      let cut;
      while ((cut = buffer.search(/\r\n|\r|\n/)) >= 0) {
        const line = buffer.slice(0, cut);
        buffer = buffer.slice(cut + (buffer.startsWith("\r\n", cut) ? 2 : 1));
        if (line === "") {
          if (event.data.length || event.id !== null || event.retry !== null) {
            yield { id: event.id, data: event.data.length ? event.data.join("\n") : null, retry: event.retry };
          }
          event = { id: null, data: [], retry: null };
          continue;
        }
        if (line.startsWith(":")) continue;
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        let value = colon < 0 ? "" : line.slice(colon + 1);
        if (value.startsWith(" ")) value = value.slice(1);
        if (field === "data") event.data.push(value);
        else if (field === "id") event.id = value;
        else if (field === "retry") event.retry = Number(value);
      }
    }
  } finally {
    reader.releaseLock();
  }
}

// Follows a stream to its final event: `first` is the message/stream request (null to
// resubscribe). The message names its task (the page picks a new task's id), so the
// gateway recognises a repeat: until the first event arrives it is sent again; after,
// the stream is resumed with tasks/resubscribe after the last event shown. Returns when
// the final event was shown, the person moved on, or it gave up.
async function follow(first) {
  session.follow?.abort();
  const control = new AbortController();
  session.follow = control;
  const { signal } = control;
  let attempt = 0; // reconnections since the last event shown
  let cause = null; // why the stream was interrupted (null while it is not)
  let wait = null; // the server's Retry-After, ms
  let received = false; // an event of this follow arrived: the task is known
  phase("streaming");
  while (!signal.aborted) {
    if (cause) {
      if (attempt >= RETRY.maxAttempts) {
        connection("failed", `gave up after ${attempt} reconnections (${cause})`);
        showError(`The stream could not be resumed (${cause}). The task may still be running.`);
        phase("error");
        return;
      }
      connection("reconnecting", `reconnecting (${cause})…`);
      phase("reconnecting");
      await sleep(wait ?? backoff(attempt), signal);
      attempt += 1;
      if (signal.aborted) return;
    }
    const resuming = !first || received;
    const request = resuming ? rpc("tasks/resubscribe", { id: session.taskId }) : first;
    const extra = { Accept: "text/event-stream" };
    if (resuming && session.lastId) extra["Last-Event-ID"] = session.lastId;
    let response;
    try {
      response = await fetch(agentUrl(), {
        method: "POST",
        headers: headers(extra),
        body: JSON.stringify(request),
        signal,
        cache: "no-store",
      });
    } catch (error) {
      if (signal.aborted) return;
      cause ??= `connection failed: ${error.message || error.name}`;
      wait = null;
      continue;
    }
    if (RETRYABLE.has(response.status)) {
      cause ??= `HTTP ${response.status}`;
      wait = retryAfter(response);
      await response.body?.cancel();
      continue;
    }
    const type = response.headers.get("content-type") ?? "";
    if (!response.ok || !type.startsWith("text/event-stream")) {
      showError(await errorOf(response));
      connection("closed");
      phase("error");
      return;
    }
    connection("open", "live");
    const resumedAfter = cause ? session.lastId : undefined;
    let reported = !cause;
    let reason = "the stream ended early";
    try {
      for await (const frame of sseEvents(response.body)) {
        if (frame.data === null) {
          reason = "the gateway ended the stream (resume frame)";
          continue;
        }
        const message = JSON.parse(frame.data);
        if (message.error) {
          showError(errorText(message.error));
          connection("closed");
          phase("error");
          return;
        }
        received = true;
        const position = parseId(frame.id);
        const last = parseId(session.lastId);
        if (position && last && !after(position, last)) continue; // seen
        if (!reported) {
          // The first event after a reconnection: a replay after Last-Event-ID continues
          // exactly; a Task snapshot means the events in between were trimmed.
          const gap = message.result?.kind === "task" && resumedAfter;
          notice(
            gap ? "resynced" : "reconnected",
            gap
              ? `reconnected after ${cause}; older events were trimmed, showing the task as it is now`
              : `reconnected; nothing missed (${cause}, resumed after ${resumedAfter ?? "the start"})`,
          );
          reported = true;
        }
        if (position) session.lastId = frame.id;
        attempt = 0;
        cause = null;
        wait = null;
        if (apply(frame.id, message.result)) {
          settle();
          return;
        }
      }
    } catch (error) {
      if (signal.aborted) return;
      reason = `connection lost: ${error.message || error.name}`;
    }
    if (signal.aborted) return;
    cause ??= reason;
    wait = null;
  }
}

// --- what the person does ---------------------------------------------------------------

function readFile(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).split(",", 2)[1] ?? "");
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
}

async function composeParts(text) {
  const parts = [];
  if (text.trim()) parts.push({ kind: "text", text });
  const file = ui.file.files?.[0];
  if (file) {
    const limit = session.index.maxBodyBytes;
    if (limit && (file.size * 4) / 3 > limit - 4096) {
      throw new Error(`The file is ${file.size} bytes; this gateway takes requests of at most ${limit} bytes.`);
    }
    const bytes = await readFile(file);
    parts.push({ kind: "file", file: { name: file.name, mimeType: file.type || "application/octet-stream", bytes } });
  }
  const json = ui.json.value.trim();
  if (json) {
    let data;
    try {
      data = JSON.parse(json);
    } catch (error) {
      throw new Error(`The JSON part is not valid JSON: ${error.message}`);
    }
    if (data === null || typeof data !== "object" || Array.isArray(data)) {
      throw new Error("The JSON part must be an object ({…}).");
    }
    parts.push({ kind: "data", data });
  }
  if (!parts.length) throw new Error("Write a message, or add a file or JSON part.");
  return parts;
}

async function send(text, continuing) {
  showError("");
  let parts;
  try {
    parts = continuing ? [{ kind: "text", text }] : await composeParts(text);
  } catch (error) {
    showError(error.message);
    return;
  }
  if (!continuing) {
    newTask();
    session.taskId = uuid(); // ours, so that a repeated send is recognised
  }
  const message = { kind: "message", role: "user", messageId: uuid(), parts };
  message.taskId = session.taskId;
  if (session.contextId) message.contextId = session.contextId;
  const line = el("li", { class: "sent" }, `you: ${partsText(parts)}`);
  ui.timeline.append(line);
  await follow(rpc("message/stream", { message }));
}

async function cancelTask() {
  if (!session.taskId) return;
  ui.cancel.disabled = true;
  const response = await fetch(agentUrl(), {
    method: "POST",
    headers: headers(),
    body: JSON.stringify(rpc("tasks/cancel", { id: session.taskId })),
  });
  const body = response.ok ? await response.json() : null;
  if (!response.ok) showError(await errorOf(response));
  else if (body.error) showError(errorText(body.error));
  // The stream being followed shows the canceled state as its final event; a task no
  // longer followed (a reply pending) is shown from the answer.
  else if (!session.follow || session.follow.signal.aborted || document.body.dataset.phase !== "streaming") {
    setState(body.result?.status?.state ?? session.state);
    ui.reply.hidden = true;
    phase("done");
  }
}

function start() {
  $("message").addEventListener("submit", (event) => {
    event.preventDefault();
    send(ui.text.value, false);
  });
  ui.reply.addEventListener("submit", (event) => {
    event.preventDefault();
    const answer = ui.replyText.value;
    if (!answer.trim()) return;
    ui.reply.hidden = true;
    ui.replyText.value = "";
    send(answer, true);
  });
  ui.cancel.addEventListener("click", () => cancelTask().catch((error) => showError(error.message)));
  ui.newTask.addEventListener("click", newTask);
  ui.agent.addEventListener("change", () => pickAgent().catch((error) => showError(error.message)));
  ui.credential.value = sessionStorage.getItem("a2a-console-credential") ?? "";
  ui.scheme.addEventListener("change", () => sessionStorage.setItem("a2a-console-scheme", ui.scheme.value));
  ui.credential.addEventListener("change", () => sessionStorage.setItem("a2a-console-credential", ui.credential.value));
  loadAgents()
    .then(() => {
      const scheme = sessionStorage.getItem("a2a-console-scheme");
      if (scheme) ui.scheme.value = scheme;
    })
    .catch((error) => {
      showError(`Could not load the agents: ${error.message}`);
      phase("error");
    });
}

start();
